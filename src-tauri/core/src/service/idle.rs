//! Idle keys through the service: each listed key's last use and idle days, from the API's
//! `last_used_at`, the stored usage snapshots (the few that decide, see `Store::idle_snapshots`) and
//! the stored GET /activity (nothing is fetched here: the list stays as fast as the cache). The rule itself is [`crate::idle::key_idle`].

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
        let mut idle = HashMap::with_capacity(keys.len());
        for key in keys {
            let points = store.idle_snapshots(profile_id, &key.hash, since)?;
            let activity = match store.activity(profile_id, Some(&key.hash)) {
                Ok(stored) => {
                    stored.map(|stored| ActivityDays::from_days(&stored.days, stored.fetched_on))
                }
                Err(error) => {
                    tracing::warn!(profile = %profile_id, error = %error, "could not read a key's stored activity");
                    None
                }
            };
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
