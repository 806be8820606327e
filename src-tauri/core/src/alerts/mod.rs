//! Alert rules and notification planning, pure: which keys need attention now (expiry, limit,
//! forecast, anomaly, disabled outside Keyward, rotation due), and which of those alerts become
//! desktop notifications given what was already notified, snoozes, mutes, the pause and quiet
//! hours. No I/O and no clock (`now` is a parameter); the watcher stores and schedules.

mod notify;
mod rules;
mod settings;
mod text;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use notify::{
    GROUP_ABOVE, KeyLimits, Ledger, LedgerEntry, Notification, NotificationPlan, NotifyContext,
    plan_notifications,
};
pub use rules::{KeyContext, carry_over_raised_at, evaluate, evaluate_key};
pub use settings::{
    MAX_EXPIRY_DAYS, MAX_INTERVAL_SECS, MIN_INTERVAL_SECS, NotifyKinds, QuietHours, WatchSettings,
    parse_hhmm,
};

/// Named in snake_case (`"rotation_due"`) in JSON, alert ids and the store; serde and strum agree.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    TS,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AlertKind {
    Expiry,
    Limit,
    Forecast,
    Anomaly,
    Disabled,
    RotationDue,
}

/// Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

/// One open alert about one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AlertView {
    /// Stable de-duplication identity: `profile|hash|kind|threshold|period` (see [`alert_id`]).
    pub id: String,
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    pub kind: AlertKind,
    pub severity: AlertSeverity,
    /// `7d`, `1d`, `expired` (expiry); `80`, `95`, `100` (limit, percent); `forecast`, `anomaly`,
    /// `disabled`, `rotation_due`.
    pub threshold: String,
    /// The period the alert belongs to: `2026-11-23` (daily limit; the day for anomalies),
    /// `2026-W48` (weekly), `2026-11` (monthly), `none` (never resets); for `disabled` the time
    /// Keyward saw the key disabled, for `rotation_due` the due day.
    pub period: String,
    /// Notification text: key name, what, when.
    pub title: String,
    pub body: String,
    /// What to do about it.
    pub action: String,
    /// When Keyward first raised this alert (kept across cycles by [`carry_over_raised_at`]).
    pub raised_at: DateTime<Utc>,
    /// When the key expires, is forecast to hit its limit, or its rotation is due.
    pub due_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The key's limit when the alert was raised (limit and forecast alerts re-arm when it rises).
    pub limit: Option<f64>,
    /// True when a higher threshold of the same key and kind is open too (80 % under 95 %): the
    /// UI may hide it, and only the highest is notified.
    pub superseded: bool,
}

/// Every alert open in the watcher, as the alerts panel and tray show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct AlertsSnapshot {
    pub alerts: Vec<AlertView>,
    pub paused_until: Option<DateTime<Utc>>,
    pub last_check_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
}

/// `profile|hash|kind|threshold|period`: one notification per key, kind, threshold and period.
pub fn alert_id(
    profile_id: &str,
    key_hash: &str,
    kind: AlertKind,
    threshold: &str,
    period: &str,
) -> String {
    format!("{profile_id}|{key_hash}|{kind}|{threshold}|{period}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn kinds_round_trip_as_snake_case() {
        for &kind in AlertKind::VARIANTS {
            let name: &'static str = kind.into();
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(name.parse::<AlertKind>().unwrap(), kind);
            assert_eq!(
                serde_json::from_value::<AlertKind>(name.into()).unwrap(),
                kind
            );
        }
        assert!("expiry ".parse::<AlertKind>().is_err());
        assert!(AlertSeverity::Info < AlertSeverity::Warning);
        assert!(AlertSeverity::Warning < AlertSeverity::Critical);
        assert_eq!(
            alert_id(
                "p",
                "h",
                AlertKind::RotationDue,
                "rotation_due",
                "2026-11-23"
            ),
            "p|h|rotation_due|rotation_due|2026-11-23"
        );
    }
}
