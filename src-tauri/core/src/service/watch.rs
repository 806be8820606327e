//! Watching keys: the watch settings, one watch cycle (refresh every watched profile through the key
//! list's own refresh path, store usage snapshots, evaluate alerts, de-duplicate them against the
//! ledger and hold back what is snoozed, paused or in quiet hours), the open alerts, snoozes and the
//! pause, and usage history from snapshots plus GET /activity (fetched at most once a UTC day per
//! profile and key).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::Keyward;
use crate::Error;
use crate::api::{ActivityQuery, ApiKey, LimitReset};
use crate::store::{Profile, UsageSnapshot};
use crate::views::{AppError, Connectivity, KeysListArgs, LimitReset as ViewLimitReset};
use crate::watch::{
    AlertView, AlertsSnapshot, DailySpend, ProfileCheck, TopKey, UsageHistory, UsageOverview,
    WatchReport, WatchSettings, WatchShared, alert_ledger_entry, daily_spend, evaluate_alerts,
    forecast, group_notifications, validate_settings,
};

/// The settings key of [`WatchSettings`].
const WATCH_SETTINGS_KEY: &str = "watch";

/// Snapshots older than this are pruned (30 days of history plus a margin).
const SNAPSHOT_RETENTION_DAYS: i64 = 35;

/// Ledger entries older than this are forgotten even if their key still exists.
const LEDGER_RETENTION_DAYS: i64 = 400;

/// The lowest interval the settings accept (the UI's floor); a lower watcher minimum (tests) lowers it.
const MIN_INTERVAL_SECS: u32 = 10;

/// How many keys the overview ranks.
const TOP_KEYS: usize = 10;

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
        limit_reset: key
            .limit_reset
            .as_ref()
            .map(|reset| reset.as_str().to_owned()),
        disabled: key.disabled,
        expires_at: key.expires_at,
    }
}

/// Spend in the key's current limit window (lifetime without a reset), as the limit counts it.
fn period_spend(key: &ApiKey) -> f64 {
    let (spend, byok) = match key.limit_reset {
        Some(LimitReset::Daily) => (key.usage_daily, key.byok_usage_daily),
        Some(LimitReset::Weekly) => (key.usage_weekly, key.byok_usage_weekly),
        Some(LimitReset::Monthly) => (key.usage_monthly, key.byok_usage_monthly),
        _ => (key.usage, key.byok_usage),
    };
    if key.include_byok_in_limit {
        spend + byok
    } else {
        spend
    }
}

fn view_reset(reset: Option<&LimitReset>) -> Option<ViewLimitReset> {
    match reset {
        Some(LimitReset::Daily) => Some(ViewLimitReset::Daily),
        Some(LimitReset::Weekly) => Some(ViewLimitReset::Weekly),
        Some(LimitReset::Monthly) => Some(ViewLimitReset::Monthly),
        _ => None,
    }
}

/// Whether `now` (the person's local time) falls in the quiet hours ("HH:MM" to "HH:MM", possibly
/// across midnight). Unreadable times mean no quiet hours.
fn in_quiet_hours(settings: &WatchSettings, now: DateTime<Utc>) -> bool {
    let Some(quiet) = &settings.quiet_hours else {
        return false;
    };
    let parse = |text: &str| chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
    let (Some(start), Some(end)) = (parse(&quiet.start), parse(&quiet.end)) else {
        return false;
    };
    let local = now.with_timezone(&chrono::Local).time();
    if start <= end {
        local >= start && local < end
    } else {
        local >= start || local < end
    }
}

/// One profile's part of a cycle, before notifications are decided.
struct Checked {
    check: ProfileCheck,
    keys: Vec<ApiKey>,
    previous: HashMap<String, UsageSnapshot>,
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
        validate_settings(&settings, floor)?;
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
    /// stores snapshots, evaluates alerts and returns the ones newly due, grouped. A profile that
    /// can't be refreshed is evaluated from its cache. Cycles never overlap.
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
                    tracing::warn!(profile = %profile.id, kind = error.kind(), "could not check the profile");
                }
            }
        }

        let now = self.now();
        let mut due = Vec::new();
        {
            let store = self.inner.store();
            let paused = store.paused_until(now)?.is_some();
            let snoozed: HashSet<(String, String)> = store
                .snoozes(None, now)?
                .into_iter()
                .map(|snooze| (snooze.profile_id, snooze.key_hash))
                .collect();
            let held_back =
                paused || !settings.notifications_enabled || in_quiet_hours(&settings, now);
            for Checked {
                check,
                keys,
                previous,
            } in &checked
            {
                let profile_id = check.profile_id.as_str();
                let limits: HashMap<&str, Option<f64>> = keys
                    .iter()
                    .map(|key| (key.hash.as_str(), key.limit))
                    .collect();
                // A changed limit re-arms its key's limit alerts: raising it clears them, and
                // crossing a threshold of the new limit notifies again.
                let rearmed: Vec<String> = store
                    .alert_ledger(profile_id)?
                    .into_iter()
                    .filter(|entry| entry.kind == "limit" || entry.kind == "forecast")
                    .filter(|entry| {
                        limits
                            .get(entry.key_hash.as_str())
                            .is_some_and(|limit| *limit != entry.limit_at_notice)
                    })
                    .map(|entry| entry.alert_id)
                    .collect();
                store.forget_notified(&rearmed)?;
                let notified: HashSet<String> = store
                    .alert_ledger(profile_id)?
                    .into_iter()
                    .map(|entry| entry.alert_id)
                    .collect();
                let disabled_by_keyward = store.disabled_by_keyward(profile_id)?;
                let open = evaluate_alerts(
                    profile_id,
                    keys,
                    previous,
                    &disabled_by_keyward,
                    &notified,
                    &settings,
                    now,
                );
                let newly_due: Vec<&AlertView> = open
                    .iter()
                    .filter(|alert| !notified.contains(&alert.id))
                    .filter(|alert| {
                        !held_back
                            && !snoozed
                                .contains(&(alert.profile_id.clone(), alert.key_hash.clone()))
                    })
                    .collect();
                let entries: Vec<_> = newly_due
                    .iter()
                    .map(|alert| {
                        let limit = limits.get(alert.key_hash.as_str()).copied().flatten();
                        alert_ledger_entry(alert, limit, now)
                    })
                    .collect();
                store.record_notified(&entries)?;
                due.extend(newly_due.into_iter().cloned());
                let rows: Vec<(&str, &str, &AlertView)> = open
                    .iter()
                    .map(|alert| (alert.id.as_str(), alert.key_hash.as_str(), alert))
                    .collect();
                store.replace_open_alerts(profile_id, &rows)?;
            }
            let cutoff = now - chrono::Duration::days(SNAPSHOT_RETENTION_DAYS);
            let pruned = store.prune_snapshots(cutoff)?;
            if pruned > 0 {
                tracing::debug!(pruned, "pruned old usage snapshots");
            }
        }
        self.inner.watch.set_last_check(now);
        let notifications = group_notifications(&due, &settings);
        if !notifications.is_empty() {
            tracing::info!(
                alerts = due.len(),
                notifications = notifications.len(),
                "alerts due"
            );
        }
        Ok(WatchReport {
            notifications,
            snapshot: self.alerts(None)?,
            profiles: checked.into_iter().map(|done| done.check).collect(),
            checked_at: now,
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
                tracing::warn!(profile = %profile.id, kind = error.kind(), "refresh failed; alerts come from the cached list");
                (Connectivity::Online, false, Some(AppError::from(&error)))
            }
        };
        let now = self.now();
        let store = self.inner.store();
        let keys: Vec<ApiKey> = store
            .cached_keys::<ApiKey>(&profile.id)?
            .into_iter()
            .map(|cached| cached.key)
            .collect();
        let previous = store.latest_snapshots(&profile.id)?;
        let mut snapshots_written = 0;
        if fresh {
            let snapshots: Vec<UsageSnapshot> =
                keys.iter().map(|key| snapshot_of(key, now)).collect();
            snapshots_written = store.record_snapshots(&profile.id, &snapshots)?;
            let current: HashSet<String> = keys.iter().map(|key| key.hash.clone()).collect();
            let ledger_cutoff = now - chrono::Duration::days(LEDGER_RETENTION_DAYS);
            store.prune_ledger(&profile.id, &current, ledger_cutoff)?;
            store.prune_activity(&profile.id, &current)?;
        }
        Ok(Checked {
            check: ProfileCheck {
                profile_id: profile.id.clone(),
                connectivity,
                error,
                keys: keys.len(),
                snapshots_written,
            },
            keys,
            previous,
        })
    }

    /// Daily spend of one key over the last 30 UTC days (today last, from the latest snapshot), its
    /// limit, its spend in the current limit window and the forecast.
    pub async fn usage_history(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<UsageHistory, Error> {
        let profile = self.require_profile(profile_id)?;
        let key = self
            .inner
            .store()
            .cached_key::<ApiKey>(&profile.id, key_hash)?
            .map(|cached| cached.key)
            .ok_or_else(|| Error::NotFound {
                message: format!("no key {key_hash} in the list of this profile"),
            })?;
        let now = self.now();
        let activity = self.daily_activity(&profile, Some(key_hash), now).await;
        let snapshots = self.inner.store().snapshots_since(
            &profile.id,
            Some(key_hash),
            now - chrono::Duration::days(31),
        )?;
        let days = daily_spend(now.date_naive(), activity.as_deref(), &snapshots);
        Ok(UsageHistory {
            profile_id: profile.id.clone(),
            key_hash: key.hash.clone(),
            key_name: key.name.clone(),
            forecast: forecast(&days, &key, now),
            days,
            limit: key.limit,
            limit_reset: view_reset(key.limit_reset.as_ref()),
            period_spend: period_spend(&key),
        })
    }

    /// Total daily spend of a profile over the last 30 UTC days and the keys that spent most.
    pub async fn usage_overview(&self, profile_id: &str) -> Result<UsageOverview, Error> {
        let profile = self.require_profile(profile_id)?;
        let now = self.now();
        let today = now.date_naive();
        let activity = self.daily_activity(&profile, None, now).await;
        let (keys, snapshots) = {
            let store = self.inner.store();
            let keys: Vec<ApiKey> = store
                .cached_keys::<ApiKey>(&profile.id)?
                .into_iter()
                .map(|cached| cached.key)
                .collect();
            let snapshots =
                store.snapshots_since(&profile.id, None, now - chrono::Duration::days(31))?;
            (keys, snapshots)
        };
        let mut by_key: HashMap<&str, Vec<UsageSnapshot>> = HashMap::new();
        for snapshot in &snapshots {
            by_key
                .entry(snapshot.key_hash.as_str())
                .or_default()
                .push(snapshot.clone());
        }
        let mut top_keys = Vec::new();
        let mut total_by_day: HashMap<NaiveDate, f64> = HashMap::new();
        for key in &keys {
            let stored = self.inner.store().activity(&profile.id, Some(&key.hash))?;
            let history = by_key.get(key.hash.as_str()).map_or(&[][..], Vec::as_slice);
            let days = daily_spend(today, stored.as_ref().map(|a| a.days.as_slice()), history);
            for day in &days {
                *total_by_day.entry(day.date).or_default() += day.spend;
            }
            let spend_30d: f64 = days.iter().map(|day| day.spend).sum();
            if spend_30d > 0.0 {
                top_keys.push(TopKey {
                    key_hash: key.hash.clone(),
                    key_name: key.name.clone(),
                    spend_30d,
                });
            }
        }
        top_keys.sort_by(|a, b| b.spend_30d.total_cmp(&a.spend_30d));
        top_keys.truncate(TOP_KEYS);
        // The account's activity covers deleted keys too; today comes from the keys themselves.
        let days: Vec<DailySpend> = match activity {
            Some(activity) => {
                let from_activity: HashMap<NaiveDate, f64> = activity.into_iter().collect();
                let today_spend: f64 = keys.iter().map(|key| key.usage_daily).sum();
                daily_spend(today, Some(&[]), &[])
                    .into_iter()
                    .map(|day| DailySpend {
                        date: day.date,
                        spend: if day.date == today {
                            today_spend
                        } else {
                            from_activity.get(&day.date).copied().unwrap_or(0.0)
                        },
                    })
                    .collect()
            }
            None => daily_spend(today, Some(&[]), &[])
                .into_iter()
                .map(|day| DailySpend {
                    date: day.date,
                    spend: total_by_day.get(&day.date).copied().unwrap_or(0.0),
                })
                .collect(),
        };
        Ok(UsageOverview {
            profile_id: profile.id.clone(),
            days,
            top_keys,
        })
    }

    /// Completed days' spend from GET /activity (one key, or the whole profile): fetched at most
    /// once per UTC day, else from the store. When it can't be fetched, the last stored answer
    /// (or `None`) is used.
    async fn daily_activity(
        &self,
        profile: &Profile,
        key_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<Vec<(NaiveDate, f64)>> {
        let stored = match self.inner.store().activity(&profile.id, key_hash) {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!(profile = %profile.id, error = %error, "could not read stored activity");
                None
            }
        };
        if let Some(stored) = &stored
            && stored.fetched_on == now.date_naive()
        {
            return Some(stored.days.clone());
        }
        let fetched = async {
            let client = self.client_for(profile).await?;
            client
                .activity(&ActivityQuery {
                    date: None,
                    api_key_hash: key_hash.map(str::to_owned),
                })
                .await
        }
        .await;
        match fetched {
            Ok(items) => {
                let days: Vec<(NaiveDate, f64)> = items
                    .iter()
                    .filter_map(|item| item.day().map(|day| (day, item.usage)))
                    .collect();
                if let Err(error) =
                    self.inner
                        .store()
                        .replace_activity(&profile.id, key_hash, &days, now)
                {
                    tracing::warn!(profile = %profile.id, error = %error, "could not store activity");
                }
                // Several models a day: the store sums them; read back the same shape.
                match self.inner.store().activity(&profile.id, key_hash) {
                    Ok(Some(stored)) => Some(stored.days),
                    _ => Some(sum_by_day(&days)),
                }
            }
            Err(error) => {
                tracing::warn!(profile = %profile.id, kind = error.kind(), "could not fetch activity; using what is stored");
                stored.map(|stored| stored.days)
            }
        }
    }
}

fn sum_by_day(days: &[(NaiveDate, f64)]) -> Vec<(NaiveDate, f64)> {
    let mut summed: Vec<(NaiveDate, f64)> = Vec::new();
    let mut sorted = days.to_vec();
    sorted.sort_by_key(|(day, _)| *day);
    for (day, spend) in sorted {
        match summed.last_mut() {
            Some((last, total)) if *last == day => *total += spend,
            _ => summed.push((day, spend)),
        }
    }
    summed
}
