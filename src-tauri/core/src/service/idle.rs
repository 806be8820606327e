//! Idle keys through the service: each listed key's last use and idle days, from the API's
//! `last_used_at`, the stored usage snapshots (the few that decide, see `Store::idle_snapshots`) and
//! the stored GET /activity (nothing is fetched here: the list stays as fast as the cache), read for
//! all listed keys at once. The rule itself is [`crate::idle::key_idle`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Keyward;
use crate::Error;
use crate::api::ApiKey;
use crate::idle::{KeyIdle, UseEvidence, key_idle};
use crate::store::Store;
use crate::usage::ActivityDays;

/// Snapshots are pruned after 35 days; read a little more so none is missed.
const SNAPSHOT_WINDOW_DAYS: i64 = 40;

impl Keyward {
    /// Each key's [`KeyIdle`], by hash. A key whose stored activity can't be read is judged on the
    /// rest (logged); a store that can't list snapshots is an error.
    pub(super) fn idle_by_key(
        store: &Store,
        profile_id: &str,
        keys: &[&ApiKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, KeyIdle>, Error> {
        let since = now - chrono::Duration::days(SNAPSHOT_WINDOW_DAYS);
        // Many keys (the list): one grouped statement for the snapshots, two for the activity. One
        // key (its details): its own indexed look-ups, not the profile's whole activity.
        let (mut snapshots, mut activities) = if keys.len() > 1 {
            let hashes: Vec<&str> = keys.iter().map(|key| key.hash.as_str()).collect();
            let activities = store.key_activities(profile_id).unwrap_or_else(|error| {
                tracing::warn!(profile = %profile_id, error = %error, "could not read the keys' stored activity");
                HashMap::new()
            });
            (
                Some(store.idle_snapshots_of(profile_id, &hashes, since)?),
                Some(activities),
            )
        } else {
            (None, None)
        };
        let mut idle = HashMap::with_capacity(keys.len());
        for key in keys {
            let points = match snapshots.as_mut() {
                Some(grouped) => grouped.remove(&key.hash).unwrap_or_default(),
                None => store.idle_snapshots(profile_id, &key.hash, since)?,
            };
            let stored = match activities.as_mut() {
                Some(grouped) => grouped.remove(&key.hash),
                None => store
                    .activity(profile_id, Some(&key.hash))
                    .unwrap_or_else(|error| {
                        tracing::warn!(profile = %profile_id, error = %error, "could not read a key's stored activity");
                        None
                    }),
            };
            let activity =
                stored.map(|stored| ActivityDays::from_days(&stored.days, stored.fetched_on));
            let evidence = UseEvidence {
                last_used_at: key.last_used_at,
                created_at: key.created_at,
                lifetime_usage: key.usage,
                snapshots: &points,
                activity: activity.as_ref(),
            };
            idle.insert(key.hash.clone(), key_idle(&evidence, now));
        }
        Ok(idle)
    }
}
