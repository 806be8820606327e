//! From open alerts to desktop notifications: de-duplication against the ledger of what was
//! already notified, snoozes, muted kinds, the pause, quiet hours and grouping.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::rules::threshold_rank;
use super::text::name_list;
use super::{AlertKind, AlertSeverity, AlertView, WatchSettings};

/// More new notifications of one kind than this become one grouped notification.
pub const GROUP_ABOVE: usize = 3;
/// How many key names a grouped notification lists before "and N more".
const GROUP_NAMES_SHOWN: usize = 5;

/// One alert that was notified (or deliberately not: muted, notifications off), so it is not
/// notified again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The alert's id, `profile|hash|kind|threshold|period`.
    pub alert_id: String,
    pub profile_id: String,
    pub key_hash: String,
    pub kind: AlertKind,
    pub threshold: String,
    pub period: String,
    /// The key's limit when it was notified: a higher limit now re-arms limit and forecast alerts.
    pub limit_at_notice: Option<f64>,
    pub notified_at: DateTime<Utc>,
}

impl LedgerEntry {
    fn of(alert: &AlertView, now: DateTime<Utc>) -> LedgerEntry {
        LedgerEntry {
            alert_id: alert.id.clone(),
            profile_id: alert.profile_id.clone(),
            key_hash: alert.key_hash.clone(),
            kind: alert.kind,
            threshold: alert.threshold.clone(),
            period: alert.period.clone(),
            limit_at_notice: alert.limit,
            notified_at: now,
        }
    }
}

/// Every notified alert identity, by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    entries: BTreeMap<String, LedgerEntry>,
}

impl Ledger {
    pub fn new(entries: impl IntoIterator<Item = LedgerEntry>) -> Ledger {
        Ledger {
            entries: entries
                .into_iter()
                .map(|entry| (entry.alert_id.clone(), entry))
                .collect(),
        }
    }

    pub fn contains(&self, alert_id: &str) -> bool {
        self.entries.contains_key(alert_id)
    }

    pub fn get(&self, alert_id: &str) -> Option<&LedgerEntry> {
        self.entries.get(alert_id)
    }

    /// By id.
    pub fn entries(&self) -> impl Iterator<Item = &LedgerEntry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, entry: LedgerEntry) {
        self.entries.insert(entry.alert_id.clone(), entry);
    }

    fn remove(&mut self, alert_id: &str) -> Option<LedgerEntry> {
        self.entries.remove(alert_id)
    }
}

/// A desktop notification: one alert, or a group of alerts of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Notification {
    pub title: String,
    pub body: String,
    /// `null` when a group spans several profiles.
    pub profile_id: Option<String>,
    /// The key to open on activation; `null` for a group.
    pub key_hash: Option<String>,
    /// The alerts it speaks for.
    pub alert_ids: Vec<String>,
    /// The highest severity among them (a notification urgency).
    pub severity: AlertSeverity,
    /// What activating it opens on the key (an expiry alert: the "Extend expiry" dialog).
    #[serde(default)]
    pub key_action: Option<crate::ipc::OpenKeyAction>,
}

/// Each key's current limit, by `(profile_id, key_hash)`; keys absent here keep their ledger
/// entries untouched.
pub type KeyLimits = HashMap<(String, String), Option<f64>>;

/// Everything besides the alerts and the ledger that decides what is notified now.
#[derive(Debug, Clone, Copy)]
pub struct NotifyContext<'a> {
    pub now: DateTime<Utc>,
    pub settings: &'a WatchSettings,
    /// Alerts paused (tray "Pause alerts for 1 h") until then: notifications wait.
    pub paused_until: Option<DateTime<Utc>>,
    /// The local time's offset from UTC, for quiet hours.
    pub local_offset: FixedOffset,
    /// See [`KeyLimits`].
    pub key_limits: &'a KeyLimits,
}

/// What [`plan_notifications`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPlan {
    /// To show now, most important first.
    pub notifications: Vec<Notification>,
    /// The ledger after this step.
    pub ledger: Ledger,
    /// Entries added to the ledger (persist these)...
    pub recorded: Vec<LedgerEntry>,
    /// ... and alert ids removed from it (re-armed because the limit was raised or removed).
    pub forgotten: Vec<String>,
    /// Some notifications wait for the pause or quiet hours to end: check again then.
    pub held_until: Option<DateTime<Utc>>,
}

/// Decides which of the open `alerts` to notify now, and the ledger after that.
///
/// - An alert whose id is in the ledger was notified already (one notification per key, kind,
///   threshold and period; a new period is a new id, so it re-arms by itself).
/// - A key whose limit rose (or was removed) since a limit or forecast alert was notified gets
///   those entries forgotten first, so they can fire again under the new limit. A lowered limit
///   keeps them: the higher thresholds it crosses are new ids anyway.
/// - Snoozed keys: listed but not notified, and not recorded (they notify when the snooze ends if
///   still open). The pause and quiet hours hold every notification the same way (`held_until`).
/// - Muted kinds and notifications switched off: not notified, but recorded as handled, so
///   turning them back on does not replay old alerts.
/// - Of several new thresholds of one key and kind (80 % and 95 % at once) only the highest is
///   notified; all are recorded.
/// - More than [`GROUP_ABOVE`] new notifications of one kind become one grouped notification.
pub fn plan_notifications(
    alerts: &[AlertView],
    ledger: &Ledger,
    context: &NotifyContext<'_>,
) -> NotificationPlan {
    let now = context.now;
    let mut ledger = ledger.clone();
    let forgotten = rearm_raised_limits(&mut ledger, context.key_limits);

    let fresh: Vec<&AlertView> = alerts
        .iter()
        .filter(|alert| !ledger.contains(&alert.id))
        .filter(|alert| alert.snoozed_until.is_none_or(|until| until <= now))
        .collect();

    let mut recorded = Vec::new();
    let mut deliver: Vec<&AlertView> = Vec::new();
    let mut held: Vec<&AlertView> = Vec::new();
    let hold_until = hold_until(context);
    for alert in fresh {
        let wanted =
            context.settings.notifications_enabled && context.settings.notify.allows(alert.kind);
        if !wanted {
            recorded.push(LedgerEntry::of(alert, now));
        } else if hold_until.is_some() {
            held.push(alert);
        } else {
            deliver.push(alert);
        }
    }

    // One notification per key and kind: the highest new threshold speaks for the others.
    let mut highest: BTreeMap<(&str, &str, AlertKind), &AlertView> = BTreeMap::new();
    for alert in &deliver {
        recorded.push(LedgerEntry::of(alert, now));
        let slot = (
            alert.profile_id.as_str(),
            alert.key_hash.as_str(),
            alert.kind,
        );
        highest
            .entry(slot)
            .and_modify(|top| {
                if threshold_rank(alert.kind, &alert.threshold)
                    > threshold_rank(top.kind, &top.threshold)
                {
                    *top = alert;
                }
            })
            .or_insert(alert);
    }
    let mut by_kind: BTreeMap<AlertKind, Vec<(&AlertView, Vec<String>)>> = BTreeMap::new();
    for ((profile_id, key_hash, kind), top) in &highest {
        let ids = deliver
            .iter()
            .filter(|alert| {
                alert.profile_id == *profile_id
                    && alert.key_hash == *key_hash
                    && alert.kind == *kind
            })
            .map(|alert| alert.id.clone())
            .collect();
        by_kind.entry(*kind).or_default().push((top, ids));
    }
    let mut notifications = Vec::new();
    for (kind, mut members) in by_kind {
        members.sort_by(|a, b| {
            b.0.severity
                .cmp(&a.0.severity)
                .then_with(|| a.0.key_name.cmp(&b.0.key_name))
        });
        if members.len() > GROUP_ABOVE {
            notifications.push(group_notification(kind, &members));
        } else {
            notifications.extend(members.into_iter().map(|(alert, ids)| {
                Notification {
                    title: alert.title.clone(),
                    body: format!("{} {}.", alert.body, alert.action),
                    profile_id: Some(alert.profile_id.clone()),
                    key_hash: Some(alert.key_hash.clone()),
                    alert_ids: ids,
                    severity: alert.severity,
                    key_action: (alert.kind == AlertKind::Expiry)
                        .then_some(crate::ipc::OpenKeyAction::ExtendExpiry),
                }
            }));
        }
    }
    notifications.sort_by_key(|notification| std::cmp::Reverse(notification.severity));

    for entry in &recorded {
        ledger.insert(entry.clone());
    }
    NotificationPlan {
        notifications,
        ledger,
        recorded,
        forgotten,
        held_until: if held.is_empty() { None } else { hold_until },
    }
}

/// When notifications are held now (pause or quiet hours), until when.
fn hold_until(context: &NotifyContext<'_>) -> Option<DateTime<Utc>> {
    let paused = context.paused_until.filter(|until| *until > context.now);
    let quiet = context
        .settings
        .quiet_hours
        .as_ref()
        .and_then(|quiet| quiet.active_until(context.now, context.local_offset));
    match (paused, quiet) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Forgets limit and forecast entries of keys whose limit is now higher than (or gone since) the
/// one they were notified under; returns the forgotten ids.
fn rearm_raised_limits(ledger: &mut Ledger, key_limits: &KeyLimits) -> Vec<String> {
    let stale: Vec<String> = ledger
        .entries()
        .filter(|entry| matches!(entry.kind, AlertKind::Limit | AlertKind::Forecast))
        .filter(|entry| {
            let key = (entry.profile_id.clone(), entry.key_hash.clone());
            match (key_limits.get(&key), entry.limit_at_notice) {
                (None, _) => false,
                (Some(None), _) => true,
                (Some(Some(now)), Some(then)) => *now > then + 1e-9,
                (Some(Some(_)), None) => true,
            }
        })
        .map(|entry| entry.alert_id.clone())
        .collect();
    for id in &stale {
        ledger.remove(id);
    }
    stale
}

fn group_notification(kind: AlertKind, members: &[(&AlertView, Vec<String>)]) -> Notification {
    let count = members.len();
    let title = match kind {
        AlertKind::Expiry => format!("{count} keys expire soon or have expired"),
        AlertKind::Limit => format!("{count} keys are near their limit"),
        AlertKind::Forecast => format!("{count} keys will hit their limit before it resets"),
        AlertKind::Anomaly => format!("{count} keys are spending unusually fast"),
        AlertKind::Disabled => format!("{count} keys were disabled outside Keyward"),
        AlertKind::RotationDue => format!("{count} keys are due for rotation"),
    };
    let names: Vec<&str> = members
        .iter()
        .map(|(alert, _)| alert.key_name.as_str())
        .collect();
    let first_profile = members.first().map(|(alert, _)| alert.profile_id.clone());
    let one_profile = members
        .iter()
        .all(|(alert, _)| Some(&alert.profile_id) == first_profile.as_ref());
    Notification {
        title,
        body: format!(
            "{}. Open Keyward's alerts to see each.",
            name_list(&names, GROUP_NAMES_SHOWN)
        ),
        profile_id: if one_profile { first_profile } else { None },
        key_hash: None,
        key_action: None,
        alert_ids: members
            .iter()
            .flat_map(|(_, ids)| ids.iter().cloned())
            .collect(),
        severity: members
            .iter()
            .map(|(alert, _)| alert.severity)
            .max()
            .unwrap_or(AlertSeverity::Info),
    }
}

#[cfg(test)]
mod tests;
