//! Watching keys: the watch settings, one watch cycle (refresh every watched profile through the key
//! list's own refresh path, store usage snapshots, evaluate the alert rules of [`crate::alerts`] per
//! key, and plan notifications against the ledger, holding back what is snoozed, paused or in quiet
//! hours), the open alerts, snoozes and the pause. Usage history is in `usage_history`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};

use super::Keyward;
use super::account::{AccountFacts, watch_budgets};
use crate::AppError;
use crate::Error;
use crate::alerts::{
    self, AlertKind, AlertView, AlertsSnapshot, KeyContext, KeyLimits, Ledger, NotifyContext,
    WatchSettings,
};
use crate::api::ApiKey;
use crate::ipc::{Connectivity, KeysListArgs};
use crate::store::{Profile, UsageSnapshot};
use crate::usage::{self, ActivityDays, UsagePoint};
use crate::watch::{ProfileCheck, WatchReport, WatchShared};

/// The settings key of [`WatchSettings`].
const WATCH_SETTINGS_KEY: &str = "watch";

/// Snapshots older than this are pruned (30 days of history plus a margin).
const SNAPSHOT_RETENTION_DAYS: i64 = 35;

/// Ledger entries of alerts no longer open are forgotten this long after their notification
/// (longer than any reset period, so a closed alert of the current period can't fire twice).
const LEDGER_RETENTION_DAYS: i64 = 60;

/// How far back a cycle reads snapshots for the alert rules: the burn rate and the anomaly
/// baseline look at most 7 days back, plus the snapshot before them. Reading less than the
/// chart's 30 days keeps a cycle cheap with many busy keys.
const ALERT_WINDOW_DAYS: i64 = {
    let rules = if usage::BURN_WINDOW_DAYS > usage::BASELINE_DAYS {
        usage::BURN_WINDOW_DAYS
    } else {
        usage::BASELINE_DAYS
    };
    rules as i64 + 2
};

/// The lowest interval the settings accept (the UI's floor); a lower watcher minimum (tests) lowers it.
const MIN_INTERVAL_SECS: u32 = 10;

fn snapshot_of(key: &ApiKey, taken_at: DateTime<Utc>) -> UsageSnapshot {
    UsageSnapshot {
        key_hash: key.hash.clone(),
        taken_at,
        usage: key.usage,
        usage_daily: key.usage_daily,
        usage_weekly: key.usage_weekly,
        usage_monthly: key.usage_monthly,
        byok_usage: key.byok_usage,
        limit: key.limit,
        limit_remaining: key.limit_remaining,
        limit_reset: key.limit_reset.as_ref().map(ToString::to_string),
        disabled: key.disabled,
        expires_at: key.expires_at,
    }
}

pub(super) fn usage_point(snapshot: &UsageSnapshot) -> UsagePoint {
    UsagePoint {
        at: snapshot.taken_at,
        usage: snapshot.usage,
        usage_daily: Some(snapshot.usage_daily),
    }
}

/// A key's snapshots (oldest first), by key hash.
pub(super) fn by_key(snapshots: Vec<UsageSnapshot>) -> HashMap<String, Vec<UsageSnapshot>> {
    let mut grouped: HashMap<String, Vec<UsageSnapshot>> = HashMap::new();
    for snapshot in snapshots {
        grouped
            .entry(snapshot.key_hash.clone())
            .or_default()
            .push(snapshot);
    }
    grouped
}

/// When a key's spend series starts to mean something: its creation when activity (30 days of
/// account data) backs the series, else the first snapshot Keyward took of it (`now` if none yet).
pub(super) fn history_start(
    key: &ApiKey,
    snapshots: &[UsageSnapshot],
    activity: Option<&ActivityDays>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if activity.is_some() {
        return key.created_at;
    }
    Some(snapshots.first().map_or(now, |first| first.taken_at))
}

/// When Keyward first saw the key disabled after having seen it enabled (the latest such change),
/// from its snapshots (oldest first).
fn disabled_since(snapshots: &[UsageSnapshot]) -> Option<DateTime<Utc>> {
    let mut seen_enabled = false;
    let mut since = None;
    for snapshot in snapshots {
        if !snapshot.disabled {
            seen_enabled = true;
            since = None;
        } else if seen_enabled && since.is_none() {
            since = Some(snapshot.taken_at);
        }
    }
    since
}

/// The `disabled_since` an open "disabled outside Keyward" alert of the key was raised with (its
/// period), so the alert keeps its identity after the snapshots of the change are pruned.
fn open_disabled_since(previous: &[AlertView], key_hash: &str) -> Option<DateTime<Utc>> {
    previous
        .iter()
        .filter(|alert| alert.kind == AlertKind::Disabled && alert.key_hash == key_hash)
        .find_map(|alert| DateTime::parse_from_rfc3339(&alert.period).ok())
        .map(|since| since.with_timezone(&Utc))
}

/// One profile's part of a cycle, before the alerts are evaluated.
struct Checked {
    check: ProfileCheck,
    /// The cached keys after the refresh, each with the time its numbers were fetched.
    keys: Vec<(ApiKey, DateTime<Utc>)>,
    fresh: bool,
    /// Guardrails, assignments, workspace budgets and credits, read once this tick (fresh lists
    /// only; `None` when they could not be read).
    facts: Option<AccountFacts>,
}

/// One profile's evaluated alerts.
struct Evaluated {
    profile_id: String,
    alerts: Vec<AlertView>,
    current_keys: HashSet<String>,
    fresh: bool,
}

impl Keyward {
    pub(crate) fn watch_shared(&self) -> &WatchShared {
        &self.inner.watch
    }

    /// The watch settings (the defaults until changed; also when the stored ones can't be read).
    pub fn watch_settings(&self) -> WatchSettings {
        match self
            .inner
            .store()
            .setting::<WatchSettings>(WATCH_SETTINGS_KEY)
        {
            Ok(settings) => settings.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(error = %error, "could not read the watch settings; using the defaults");
                WatchSettings::default()
            }
        }
    }

    /// Validates (`InvalidInput` naming the field) and stores the watch settings; a running
    /// watcher picks the new interval up at once.
    pub fn set_watch_settings(&self, settings: WatchSettings) -> Result<WatchSettings, Error> {
        let floor = u32::try_from(self.inner.watch.config.min_interval.as_secs())
            .unwrap_or(u32::MAX)
            .clamp(1, MIN_INTERVAL_SECS);
        settings.validate_with_min_interval(floor)?;
        self.inner
            .store()
            .set_setting(WATCH_SETTINGS_KEY, &settings)?;
        self.inner.watch.settings_changed.notify_waiters();
        Ok(settings)
    }

    /// The open alerts (of one profile, or all) as last evaluated, with snoozes applied.
    pub fn alerts(&self, profile_id: Option<&str>) -> Result<AlertsSnapshot, Error> {
        let now = self.now();
        let store = self.inner.store();
        let snoozes: HashMap<(String, String), DateTime<Utc>> = store
            .snoozes(profile_id, now)?
            .into_iter()
            .map(|snooze| ((snooze.profile_id, snooze.key_hash), snooze.until))
            .collect();
        let mut alerts: Vec<AlertView> = store.open_alerts(profile_id)?;
        for alert in &mut alerts {
            alert.snoozed_until = snoozes
                .get(&(alert.profile_id.clone(), alert.key_hash.clone()))
                .copied();
        }
        Ok(AlertsSnapshot {
            alerts,
            paused_until: store.paused_until(now)?,
            last_check_at: self.inner.watch.last_check(),
            next_check_at: self.inner.watch.next_check(),
        })
    }

    /// Holds back a key's notifications until `until` (`None`: lifts the snooze). Its alerts stay
    /// listed; those still open when the snooze ends are notified then.
    pub fn snooze_alerts(
        &self,
        profile_id: &str,
        key_hash: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<AlertsSnapshot, Error> {
        self.require_profile(profile_id)?;
        self.inner.store().set_snooze(profile_id, key_hash, until)?;
        self.alerts_changed()
    }

    /// Holds back every notification until `until` (`None`: resumes).
    pub fn pause_alerts(&self, until: Option<DateTime<Utc>>) -> Result<AlertsSnapshot, Error> {
        self.inner.store().set_paused_until(until)?;
        self.alerts_changed()
    }

    /// The snapshot after a change, also handed to a running watcher's notifier (the tray).
    fn alerts_changed(&self) -> Result<AlertsSnapshot, Error> {
        let snapshot = self.alerts(None)?;
        if let Some(notifier) = self.inner.watch.notifier() {
            notifier.alerts_changed(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// Records on which keys Keyward itself changed `disabled`, so a key disabled anywhere else
    /// can be told apart. Called by every path that disables or enables a key.
    pub(crate) fn note_disabled_by_keyward(
        &self,
        profile_id: &str,
        key_hash: &str,
        disabled: bool,
    ) {
        let now = self.now();
        if let Err(error) = self
            .inner
            .store()
            .set_disabled_by_keyward(profile_id, key_hash, disabled, now)
        {
            tracing::warn!(profile = %profile_id, key = %key_hash, error = %error, "could not record a key disabled by Keyward");
        }
    }

    /// One watch cycle: refreshes every profile but a stopped sandbox (through the key list's
    /// refresh, so the cache, events and connectivity stay as an explicit refresh leaves them),
    /// stores snapshots, evaluates the alert rules per key and returns the notifications newly due,
    /// grouped. A profile that can't be refreshed is evaluated from its cache. Cycles never overlap.
    pub async fn watch_cycle(&self) -> Result<WatchReport, Error> {
        let _one_at_a_time = self.inner.watch.cycle.lock().await;
        let settings = self.watch_settings();
        // A stopped sandbox is not started just to be watched.
        let sandbox_running = self.sandbox_control_url().await.is_some();
        let profiles: Vec<Profile> = self
            .inner
            .store()
            .profiles()?
            .into_iter()
            .filter(|profile| !profile.is_sandbox || sandbox_running)
            .collect();

        let mut checked = Vec::with_capacity(profiles.len());
        for profile in &profiles {
            match self.check_profile(profile).await {
                Ok(done) => checked.push(done),
                Err(error) => {
                    tracing::warn!(profile = %profile.id, kind = %error.kind(), "could not check the profile");
                }
            }
        }

        let now = self.now();
        let mut evaluated = Vec::with_capacity(checked.len());
        for done in &checked {
            evaluated.push(self.evaluate_profile(done, &settings, now)?);
        }

        let store = self.inner.store();
        let mut ledger_entries = Vec::new();
        let mut key_limits = KeyLimits::new();
        for done in &checked {
            ledger_entries.extend(store.alert_ledger(&done.check.profile_id)?);
            for (key, _) in &done.keys {
                key_limits.insert((done.check.profile_id.clone(), key.hash.clone()), key.limit);
            }
        }
        let ledger = Ledger::new(ledger_entries);
        let paused_until = store.paused_until(now)?;
        let context = NotifyContext {
            now,
            settings: &settings,
            paused_until,
            local_offset: chrono::Local.offset_from_utc_datetime(&now.naive_utc()),
            key_limits: &key_limits,
        };
        let open: Vec<AlertView> = evaluated
            .iter()
            .flat_map(|profile| profile.alerts.iter().cloned())
            .collect();
        let plan = alerts::plan_notifications(&open, &ledger, &context);
        store.forget_notified(&plan.forgotten)?;
        store.record_notified(&plan.recorded)?;
        for profile in &evaluated {
            let rows: Vec<(&str, &str, &AlertView)> = profile
                .alerts
                .iter()
                .map(|alert| (alert.id.as_str(), alert.key_hash.as_str(), alert))
                .collect();
            store.replace_open_alerts(&profile.profile_id, &rows)?;
            if profile.fresh {
                let open_ids: HashSet<String> = profile
                    .alerts
                    .iter()
                    .map(|alert| alert.id.clone())
                    .collect();
                let cutoff = now - chrono::Duration::days(LEDGER_RETENTION_DAYS);
                store.prune_ledger(
                    &profile.profile_id,
                    &profile.current_keys,
                    &open_ids,
                    cutoff,
                )?;
                store.prune_activity(&profile.profile_id, &profile.current_keys)?;
            }
        }
        let pruned =
            store.prune_snapshots(now - chrono::Duration::days(SNAPSHOT_RETENTION_DAYS))?;
        if pruned > 0 {
            tracing::debug!(pruned, "pruned old usage snapshots");
        }
        drop(store);

        // Held notifications and snoozed alerts never notified are due again when the pause, the
        // quiet hours or the snooze ends: the watcher wakes up then.
        let snooze_ends = open
            .iter()
            .filter(|alert| !plan.ledger.contains(&alert.id))
            .filter_map(|alert| alert.snoozed_until)
            .filter(|until| *until > now)
            .min();
        let wake_at = match (plan.held_until, snooze_ends) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.inner.watch.set_last_check(now);
        if !plan.notifications.is_empty() {
            tracing::info!(
                alerts = plan.recorded.len(),
                notifications = plan.notifications.len(),
                "alerts due"
            );
        }
        Ok(WatchReport {
            notifications: plan.notifications,
            snapshot: self.alerts(None)?,
            profiles: checked.into_iter().map(|done| done.check).collect(),
            checked_at: now,
            wake_at,
        })
    }

    /// The alert rules over one profile's keys, with what the store knows about each: its daily
    /// spend, who disabled it, its rotation policy and snooze; `raised_at` carried over from the
    /// alerts open before.
    fn evaluate_profile(
        &self,
        done: &Checked,
        settings: &WatchSettings,
        now: DateTime<Utc>,
    ) -> Result<Evaluated, Error> {
        let profile_id = done.check.profile_id.as_str();
        // Before taking the store: `rotation_due` reads it itself.
        let mut rotation_due: HashMap<&str, DateTime<Utc>> = HashMap::new();
        for (key, _) in &done.keys {
            if let Some(due) = self.rotation_due(profile_id, &key.hash)? {
                rotation_due.insert(key.hash.as_str(), due);
            }
        }
        let store = self.inner.store();
        let previous: Vec<AlertView> = store.open_alerts(Some(profile_id))?;
        let disabled_by_keyward = store.disabled_by_keyward(profile_id)?;
        let snoozes: HashMap<String, DateTime<Utc>> = store
            .snoozes(Some(profile_id), now)?
            .into_iter()
            .map(|snooze| (snooze.key_hash, snooze.until))
            .collect();
        let snapshots = by_key(store.snapshots_since(
            profile_id,
            None,
            now - chrono::Duration::days(ALERT_WINDOW_DAYS),
        )?);
        let mut series = Vec::with_capacity(done.keys.len());
        for (key, _) in &done.keys {
            let activity = store
                .activity(profile_id, Some(&key.hash))?
                .map(|stored| ActivityDays::from_days(&stored.days, stored.fetched_on));
            let points: Vec<UsagePoint> = snapshots
                .get(&key.hash)
                .map(|list| list.iter().map(usage_point).collect())
                .unwrap_or_default();
            let days = usage::daily_spend(&points, activity.as_ref(), now);
            let of_key = snapshots.get(&key.hash).map_or(&[][..], Vec::as_slice);
            series.push((days, history_start(key, of_key, activity.as_ref(), now)));
        }
        drop(store);

        // Budgets besides each key's own limit, from this tick's account facts.
        let budgets = watch_budgets(done.facts.as_ref(), &done.keys, &series, now);

        let contexts = done.keys.iter().zip(&series).zip(&budgets).map(
            |(((key, observed_at), (days, history_start)), budgets)| {
                let of_key = snapshots.get(&key.hash).map_or(&[][..], Vec::as_slice);
                let context = KeyContext {
                    days,
                    history_start: *history_start,
                    observed_at: Some(*observed_at),
                    disabled_by_keyward: disabled_by_keyward.contains(&key.hash),
                    disabled_since: disabled_since(of_key)
                        .or_else(|| open_disabled_since(&previous, &key.hash)),
                    rotation_due_at: rotation_due.get(key.hash.as_str()).copied(),
                    snoozed_until: snoozes.get(&key.hash).copied(),
                    budgets,
                };
                (key, context)
            },
        );
        let mut open = alerts::evaluate(profile_id, contexts, settings, now);
        alerts::carry_over_raised_at(&mut open, &previous);
        Ok(Evaluated {
            profile_id: profile_id.to_owned(),
            alerts: open,
            current_keys: done.keys.iter().map(|(key, _)| key.hash.clone()).collect(),
            fresh: done.fresh,
        })
    }

    /// Refreshes one profile and stores its snapshots (only numbers fresh from OpenRouter).
    async fn check_profile(&self, profile: &Profile) -> Result<Checked, Error> {
        let listed = self
            .keys_list(KeysListArgs {
                profile_id: profile.id.clone(),
                include_disabled: true,
                include_expired: true,
                refresh: true,
            })
            .await;
        let (connectivity, fresh, error) = match listed {
            Ok(snapshot) => (snapshot.connectivity, !snapshot.from_cache, None),
            Err(error) => {
                tracing::warn!(profile = %profile.id, kind = %error.kind(), "refresh failed; alerts come from the cached list");
                (Connectivity::Online, false, Some(AppError::from(&error)))
            }
        };
        let now = self.now();
        let (keys, snapshots_written) = {
            let store = self.inner.store();
            let keys: Vec<(ApiKey, DateTime<Utc>)> = store
                .cached_keys::<ApiKey>(&profile.id)?
                .into_iter()
                .map(|cached| (cached.key, cached.fetched_at))
                .collect();
            let mut snapshots_written = 0;
            if fresh {
                let snapshots: Vec<UsageSnapshot> =
                    keys.iter().map(|(key, _)| snapshot_of(key, now)).collect();
                snapshots_written = store.record_snapshots(&profile.id, &snapshots)?;
            }
            (keys, snapshots_written)
        };
        let facts = if fresh {
            self.account_facts(profile, &keys).await
        } else {
            None
        };
        Ok(Checked {
            facts,
            check: ProfileCheck {
                profile_id: profile.id.clone(),
                connectivity,
                error,
                keys: keys.len(),
                snapshots_written,
            },
            keys,
            fresh,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, hour, 0, 0).unwrap()
    }

    fn snapshot(hour: u32, disabled: bool) -> UsageSnapshot {
        UsageSnapshot {
            key_hash: "h".into(),
            taken_at: at(hour),
            usage: 0.0,
            usage_daily: 0.0,
            usage_weekly: 0.0,
            usage_monthly: 0.0,
            byok_usage: 0.0,
            limit: None,
            limit_remaining: None,
            limit_reset: None,
            disabled,
            expires_at: None,
        }
    }

    #[test]
    fn disabled_since_is_the_first_disabled_snapshot_after_an_enabled_one() {
        // (disabled flags at hours 1, 2, 3, ..., expected hour)
        let cases: [(&[bool], Option<u32>); 6] = [
            (&[], None),
            (&[false, false], None),
            (&[true, true], None),
            (&[false, true, true], Some(2)),
            (&[false, true, false], None),
            (&[false, true, false, false, true], Some(5)),
        ];
        for (flags, expected) in cases {
            let snapshots: Vec<UsageSnapshot> = flags
                .iter()
                .zip(1..)
                .map(|(disabled, hour)| snapshot(hour, *disabled))
                .collect();
            assert_eq!(disabled_since(&snapshots), expected.map(at), "{flags:?}");
        }
    }

    #[test]
    fn an_open_disabled_alert_keeps_its_time_of_change() {
        let alert = AlertView {
            id: "p|h|disabled|disabled|2026-11-23T09:00:00Z".into(),
            profile_id: "p".into(),
            key_hash: "h".into(),
            key_name: "k".into(),
            kind: AlertKind::Disabled,
            severity: crate::alerts::AlertSeverity::Warning,
            threshold: "disabled".into(),
            period: "2026-11-23T09:00:00Z".into(),
            title: String::new(),
            body: String::new(),
            action: String::new(),
            raised_at: at(10),
            due_at: None,
            snoozed_until: None,
            limit: None,
            superseded: false,
        };
        assert_eq!(
            open_disabled_since(std::slice::from_ref(&alert), "h"),
            Some(at(9))
        );
        assert_eq!(
            open_disabled_since(std::slice::from_ref(&alert), "other"),
            None
        );
        let limit = AlertView {
            kind: AlertKind::Limit,
            ..alert
        };
        assert_eq!(open_disabled_since(&[limit], "h"), None);
    }

    #[test]
    fn history_starts_at_creation_with_activity_else_at_the_first_snapshot() {
        let mut key: ApiKey = serde_json::from_value(serde_json::json!({
            "hash": "h", "name": "k", "label": "sk-or-v1-abc...def", "disabled": false,
            "limit": null, "limit_remaining": null, "limit_reset": null,
            "include_byok_in_limit": false, "usage": 0.0, "usage_daily": 0.0,
            "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
            "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
            "created_at": "2026-11-01T00:00:00Z"
        }))
        .unwrap();
        let activity = ActivityDays::default();
        let snapshots = [snapshot(3, false), snapshot(4, false)];
        assert_eq!(
            history_start(&key, &snapshots, Some(&activity), at(5)),
            key.created_at
        );
        assert_eq!(history_start(&key, &snapshots, None, at(5)), Some(at(3)));
        assert_eq!(history_start(&key, &[], None, at(5)), Some(at(5)));
        key.created_at = None;
        assert_eq!(
            history_start(&key, &snapshots, Some(&activity), at(5)),
            None
        );
    }
}
