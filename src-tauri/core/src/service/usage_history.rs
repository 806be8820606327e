//! Usage history of a key and of a profile: the 30-day daily series from usage snapshots plus
//! GET /activity (fetched at most once a UTC day per profile and key), the limit and the forecast.

use chrono::{DateTime, NaiveDate, Utc};

use super::Keyward;
use super::watch::{by_key, history_start, usage_point};
use crate::Error;
use crate::api::{ActivityQuery, ApiKey};
use crate::store::Profile;
use crate::usage::{self, ActivityDays, KeySeries, UsageHistory, UsageOverview, UsagePoint};

/// How far back the snapshots behind a 30-day series are read.
const HISTORY_WINDOW_DAYS: i64 = 31;

/// How many keys the overview ranks.
const TOP_KEYS: usize = 10;

impl Keyward {
    /// Daily spend of one key over the last 30 UTC days (completed days from GET /activity where
    /// it answers, the rest and today from snapshots), its limit, its spend in the current limit
    /// window and the forecast.
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
            now - chrono::Duration::days(HISTORY_WINDOW_DAYS),
        )?;
        let points: Vec<UsagePoint> = snapshots.iter().map(usage_point).collect();
        let days = usage::daily_spend(&points, activity.as_ref(), now);
        let start = history_start(&key, &snapshots, activity.as_ref(), now);
        Ok(usage::usage_history(&profile.id, &key, days, start, now))
    }

    /// Total daily spend of a profile over the last 30 UTC days and the keys that spent most. Each
    /// key's series comes from its snapshots and the activity stored for it; the total's completed
    /// days come from the account's GET /activity when it answers (it also covers deleted keys).
    pub async fn usage_overview(&self, profile_id: &str) -> Result<UsageOverview, Error> {
        let profile = self.require_profile(profile_id)?;
        let now = self.now();
        let account = self.daily_activity(&profile, None, now).await;
        let mut keys = Vec::new();
        {
            let store = self.inner.store();
            let snapshots = by_key(store.snapshots_since(
                &profile.id,
                None,
                now - chrono::Duration::days(HISTORY_WINDOW_DAYS),
            )?);
            for cached in store.cached_keys::<ApiKey>(&profile.id)? {
                let key = cached.key;
                let activity = store
                    .activity(&profile.id, Some(&key.hash))?
                    .map(|stored| ActivityDays::from_days(&stored.days, stored.fetched_on));
                let points: Vec<UsagePoint> = snapshots
                    .get(&key.hash)
                    .map(|list| list.iter().map(usage_point).collect())
                    .unwrap_or_default();
                keys.push(KeySeries {
                    days: usage::daily_spend(&points, activity.as_ref(), now),
                    key_hash: key.hash,
                    key_name: key.name,
                });
            }
        }
        let mut overview = usage::usage_overview(&profile.id, &keys, TOP_KEYS, now);
        if let Some(account) = account {
            let today = now.date_naive();
            for day in &mut overview.days {
                if day.date < today && account.covers(day.date) {
                    day.spend = account.days.get(&day.date).copied().unwrap_or(0.0);
                }
            }
        }
        Ok(overview)
    }

    /// Completed days' spend from GET /activity (one key, or the whole profile): fetched at most
    /// once per UTC day, else from the store. When it can't be fetched, the last stored answer
    /// (or `None`) is used.
    async fn daily_activity(
        &self,
        profile: &Profile,
        key_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<ActivityDays> {
        let stored = match self.inner.store().activity(&profile.id, key_hash) {
            Ok(stored) => {
                stored.map(|stored| ActivityDays::from_days(&stored.days, stored.fetched_on))
            }
            Err(error) => {
                tracing::warn!(profile = %profile.id, error = %error, "could not read stored activity");
                None
            }
        };
        if let Some(stored) = &stored
            && stored.fetched_on == now.date_naive()
        {
            return Some(stored.clone());
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
                let activity = ActivityDays::from_items(&items, now.date_naive());
                let days: Vec<(NaiveDate, f64)> = activity
                    .days
                    .iter()
                    .map(|(day, spend)| (*day, *spend))
                    .collect();
                if let Err(error) =
                    self.inner
                        .store()
                        .replace_activity(&profile.id, key_hash, &days, now)
                {
                    tracing::warn!(profile = %profile.id, error = %error, "could not store activity");
                }
                Some(activity)
            }
            Err(error) => {
                tracing::warn!(profile = %profile.id, kind = %error.kind(), "could not fetch activity; using what is stored");
                stored
            }
        }
    }
}
