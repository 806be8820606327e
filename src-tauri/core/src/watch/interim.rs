//! Stand-ins for the alert and usage rules of `crate::alerts` / `crate::usage` (written in parallel),
//! with the contract's view types, so the watcher runs and is tested end to end meanwhile. Only the
//! limit and expiry rules, de-duplication and grouping are here; this module is replaced by
//! re-exports of those modules once they land.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Error;
use crate::api::{ApiKey, LimitReset};
use crate::store::{LedgerEntry, UsageSnapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Expiry,
    Limit,
    Forecast,
    Anomaly,
    Disabled,
    RotationDue,
}

impl AlertKind {
    fn as_str(self) -> &'static str {
        match self {
            AlertKind::Expiry => "expiry",
            AlertKind::Limit => "limit",
            AlertKind::Forecast => "forecast",
            AlertKind::Anomaly => "anomaly",
            AlertKind::Disabled => "disabled",
            AlertKind::RotationDue => "rotation_due",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AlertView {
    pub id: String,
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    pub kind: AlertKind,
    pub severity: AlertSeverity,
    pub threshold: String,
    pub period: String,
    pub title: String,
    pub body: String,
    pub action: String,
    pub raised_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct AlertsSnapshot {
    pub alerts: Vec<AlertView>,
    pub paused_until: Option<DateTime<Utc>>,
    pub last_check_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NotifyKinds {
    pub expiry: bool,
    pub limit: bool,
    pub forecast: bool,
    pub anomaly: bool,
    pub disabled: bool,
    pub rotation_due: bool,
}

impl Default for NotifyKinds {
    fn default() -> Self {
        NotifyKinds {
            expiry: true,
            limit: true,
            forecast: true,
            anomaly: true,
            disabled: true,
            rotation_due: true,
        }
    }
}

impl NotifyKinds {
    fn allows(&self, kind: AlertKind) -> bool {
        match kind {
            AlertKind::Expiry => self.expiry,
            AlertKind::Limit => self.limit,
            AlertKind::Forecast => self.forecast,
            AlertKind::Anomaly => self.anomaly,
            AlertKind::Disabled => self.disabled,
            AlertKind::RotationDue => self.rotation_due,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WatchSettings {
    pub interval_secs: u32,
    pub expiry_days: Vec<u32>,
    pub limit_percents: Vec<u32>,
    pub anomaly_factor: f64,
    pub anomaly_min_usd: f64,
    pub notify: NotifyKinds,
    pub quiet_hours: Option<QuietHours>,
    pub notifications_enabled: bool,
    pub start_at_login: bool,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            interval_secs: 300,
            expiry_days: vec![7, 1],
            limit_percents: vec![80, 95, 100],
            anomaly_factor: 3.0,
            anomaly_min_usd: 1.0,
            notify: NotifyKinds::default(),
            quiet_hours: None,
            notifications_enabled: true,
            start_at_login: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub profile_id: Option<String>,
    pub key_hash: Option<String>,
    pub alert_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct DailySpend {
    #[ts(type = "string")]
    pub date: NaiveDate,
    pub spend: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SpendForecast {
    pub burn_per_day: f64,
    pub projected_period_spend: f64,
    pub hits_limit_at: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageHistory {
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    pub days: Vec<DailySpend>,
    pub limit: Option<f64>,
    pub limit_reset: Option<crate::views::LimitReset>,
    pub period_spend: f64,
    pub forecast: Option<SpendForecast>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TopKey {
    pub key_hash: String,
    pub key_name: String,
    pub spend_30d: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageOverview {
    pub profile_id: String,
    pub days: Vec<DailySpend>,
    pub top_keys: Vec<TopKey>,
}

/// InvalidInput naming the field for settings the UI should not have let through.
pub(crate) fn validate_settings(
    settings: &WatchSettings,
    min_interval_secs: u32,
) -> Result<(), Error> {
    if settings.interval_secs < min_interval_secs {
        return Err(Error::invalid(
            "interval_secs",
            format!("must be at least {min_interval_secs} seconds"),
        ));
    }
    if settings.limit_percents.iter().any(|p| *p == 0 || *p > 1000) {
        return Err(Error::invalid(
            "limit_percents",
            "each must be between 1 and 1000",
        ));
    }
    if settings.expiry_days.iter().any(|d| *d == 0 || *d > 365) {
        return Err(Error::invalid(
            "expiry_days",
            "each must be between 1 and 365",
        ));
    }
    if !(settings.anomaly_factor.is_finite() && settings.anomaly_factor >= 1.0) {
        return Err(Error::invalid("anomaly_factor", "must be at least 1"));
    }
    if !(settings.anomaly_min_usd.is_finite() && settings.anomaly_min_usd >= 0.0) {
        return Err(Error::invalid("anomaly_min_usd", "must not be negative"));
    }
    Ok(())
}

/// The reset period a limit alert belongs to.
fn period_of(reset: Option<&LimitReset>, now: DateTime<Utc>) -> String {
    match reset {
        Some(LimitReset::Daily) => now.format("%Y-%m-%d").to_string(),
        Some(LimitReset::Weekly) => {
            let week = now.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        Some(LimitReset::Monthly) => now.format("%Y-%m").to_string(),
        _ => "none".to_owned(),
    }
}

fn alert_id(
    profile_id: &str,
    hash: &str,
    kind: AlertKind,
    threshold: &str,
    period: &str,
) -> String {
    format!("{profile_id}|{hash}|{}|{threshold}|{period}", kind.as_str())
}

/// The open alerts of a profile's keys (limit, expiry, disabled outside Keyward).
pub(crate) fn evaluate_alerts(
    profile_id: &str,
    keys: &[ApiKey],
    previous: &HashMap<String, UsageSnapshot>,
    disabled_by_keyward: &HashSet<String>,
    notified: &HashSet<String>,
    settings: &WatchSettings,
    now: DateTime<Utc>,
) -> Vec<AlertView> {
    let mut alerts = Vec::new();
    for key in keys {
        let mut push = |kind,
                        severity,
                        threshold: String,
                        period: String,
                        title,
                        body,
                        action: &str,
                        due_at| {
            alerts.push(AlertView {
                id: alert_id(profile_id, &key.hash, kind, &threshold, &period),
                profile_id: profile_id.to_owned(),
                key_hash: key.hash.clone(),
                key_name: key.name.clone(),
                kind,
                severity,
                threshold,
                period,
                title,
                body,
                action: action.to_owned(),
                raised_at: now,
                due_at,
                snoozed_until: None,
            });
        };
        if let Some(expires_at) = key.expires_at {
            let left = expires_at - now;
            if left <= chrono::Duration::zero() {
                push(
                    AlertKind::Expiry,
                    AlertSeverity::Critical,
                    "expired".into(),
                    "none".into(),
                    format!("{} has expired", key.name),
                    format!(
                        "The key expired at {}.",
                        expires_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    "Rotate the key",
                    Some(expires_at),
                );
            } else if let Some(days) = settings
                .expiry_days
                .iter()
                .copied()
                .filter(|days| left <= chrono::Duration::days(i64::from(*days)))
                .min()
            {
                push(
                    AlertKind::Expiry,
                    if days <= 1 {
                        AlertSeverity::Critical
                    } else {
                        AlertSeverity::Warning
                    },
                    format!("{days}d"),
                    "none".into(),
                    format!("{} expires within {days} day(s)", key.name),
                    format!(
                        "The key expires at {}.",
                        expires_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    "Rotate the key or extend its life",
                    Some(expires_at),
                );
            }
        }
        if let Some(limit) = key.limit.filter(|limit| *limit > 0.0) {
            let spent = match key.limit_remaining {
                Some(remaining) => limit - remaining,
                None => key.usage,
            };
            let percent = spent / limit * 100.0;
            if let Some(threshold) = settings
                .limit_percents
                .iter()
                .copied()
                .filter(|threshold| percent >= f64::from(*threshold))
                .max()
            {
                push(
                    AlertKind::Limit,
                    if threshold >= 95 {
                        AlertSeverity::Critical
                    } else {
                        AlertSeverity::Warning
                    },
                    threshold.to_string(),
                    period_of(key.limit_reset.as_ref(), now),
                    format!("{} has used {threshold} % of its limit", key.name),
                    format!("${spent:.2} of ${limit:.2} spent."),
                    "Raise the limit or rotate the key",
                    None,
                );
            }
        }
        let disabled_id = alert_id(
            profile_id,
            &key.hash,
            AlertKind::Disabled,
            "outside",
            "none",
        );
        let just_disabled = previous
            .get(&key.hash)
            .is_some_and(|before| !before.disabled);
        if key.disabled
            && !disabled_by_keyward.contains(&key.hash)
            && (just_disabled || notified.contains(&disabled_id))
        {
            push(
                AlertKind::Disabled,
                AlertSeverity::Warning,
                "outside".into(),
                "none".into(),
                format!("{} was disabled outside Keyward", key.name),
                "Someone disabled the key on OpenRouter.".into(),
                "Check who disabled it",
                None,
            );
        }
    }
    alerts
}

/// The ledger entry of a notified alert; `limit` is the key's limit now.
pub(crate) fn alert_ledger_entry(
    alert: &AlertView,
    limit: Option<f64>,
    now: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        alert_id: alert.id.clone(),
        profile_id: alert.profile_id.clone(),
        key_hash: alert.key_hash.clone(),
        kind: alert.kind.as_str().to_owned(),
        threshold: alert.threshold.clone(),
        period: alert.period.clone(),
        limit_at_notice: limit,
        notified_at: now,
    }
}

/// One notification per alert when few are due, else one per kind.
pub(crate) fn group_notifications(
    due: &[AlertView],
    settings: &WatchSettings,
) -> Vec<Notification> {
    let due: Vec<&AlertView> = due
        .iter()
        .filter(|a| settings.notify.allows(a.kind))
        .collect();
    if due.len() <= 3 {
        return due
            .iter()
            .map(|alert| Notification {
                title: alert.title.clone(),
                body: format!("{} {}.", alert.body, alert.action),
                profile_id: Some(alert.profile_id.clone()),
                key_hash: Some(alert.key_hash.clone()),
                alert_ids: vec![alert.id.clone()],
            })
            .collect();
    }
    let mut kinds: Vec<AlertKind> = Vec::new();
    for alert in &due {
        if !kinds.contains(&alert.kind) {
            kinds.push(alert.kind);
        }
    }
    kinds
        .into_iter()
        .map(|kind| {
            let group: Vec<&&AlertView> = due.iter().filter(|a| a.kind == kind).collect();
            let names: Vec<&str> = group.iter().map(|a| a.key_name.as_str()).collect();
            Notification {
                title: format!("{} keys need attention ({})", group.len(), kind.as_str()),
                body: names.join(", "),
                profile_id: None,
                key_hash: None,
                alert_ids: group.iter().map(|a| a.id.clone()).collect(),
            }
        })
        .collect()
}

/// Daily spend of the 30 UTC days ending today: completed days from activity when there is some,
/// else from the snapshots' lifetime usage; today from the newest snapshot's daily usage.
pub(crate) fn daily_spend(
    today: NaiveDate,
    activity: Option<&[(NaiveDate, f64)]>,
    snapshots: &[UsageSnapshot],
) -> Vec<DailySpend> {
    let by_day: HashMap<NaiveDate, f64> = activity
        .map(|days| days.iter().copied().collect())
        .unwrap_or_default();
    // Lifetime usage at the end of each day with snapshots.
    let mut end_of_day: Vec<(NaiveDate, f64)> = Vec::new();
    for snapshot in snapshots {
        let day = snapshot.taken_at.date_naive();
        match end_of_day.last_mut() {
            Some((last, usage)) if *last == day => *usage = snapshot.usage,
            _ => end_of_day.push((day, snapshot.usage)),
        }
    }
    (0..30)
        .rev()
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
        .map(|date| {
            let spend = if date == today {
                snapshots
                    .iter()
                    .rev()
                    .find(|s| s.taken_at.date_naive() == today)
                    .map_or(0.0, |s| s.usage_daily)
            } else if activity.is_some() {
                by_day.get(&date).copied().unwrap_or(0.0)
            } else {
                let at_end = end_of_day
                    .iter()
                    .find(|(day, _)| *day == date)
                    .map(|(_, u)| *u);
                let before = end_of_day
                    .iter()
                    .rev()
                    .find(|(day, _)| *day < date)
                    .map(|(_, u)| *u);
                match (at_end, before) {
                    (Some(end), Some(start)) => (end - start).max(0.0),
                    _ => 0.0,
                }
            };
            DailySpend { date, spend }
        })
        .collect()
}

/// Not forecast by the stand-in.
pub(crate) fn forecast(
    _days: &[DailySpend],
    _key: &ApiKey,
    _now: DateTime<Utc>,
) -> Option<SpendForecast> {
    None
}
