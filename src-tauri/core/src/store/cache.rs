//! The last known key list of each profile, so the app opens instantly and works offline. Generic over
//! the key type (anything serde can round-trip), so the store does not depend on the API models.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;

/// The writes to one profile's cached keys (in memory, per store): how many, and for each key
/// changed or dropped one by one, the count at its latest change and whether it was dropped.
#[derive(Debug, Default)]
pub(crate) struct CacheChanges {
    count: u64,
    keys: HashMap<String, (u64, bool)>,
}

/// One cached key object as it was last fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedKey<T> {
    pub key_hash: String,
    pub key: T,
    pub fetched_at: DateTime<Utc>,
}

/// How fresh a profile's cache is, and why the last refresh failed if it did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheMeta {
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

fn to_json<T: Serialize>(key: &T) -> Result<String, Error> {
    let json = serde_json::to_string(key).map_err(json_error)?;
    refuse_secrets("a key to the cache", &json)?;
    Ok(json)
}

fn cached_key_from_parts<T: DeserializeOwned>(
    key_hash: String,
    json: &str,
    fetched_at: DateTime<Utc>,
) -> Result<CachedKey<T>, Error> {
    let key = serde_json::from_str(json).map_err(|err| Error::Store {
        message: format!(
            "the cached key {key_hash} no longer matches this version's key format ({err}); refresh the list"
        ),
        source: Some(err.into()),
    })?;
    Ok(CachedKey {
        key_hash,
        key,
        fetched_at,
    })
}

impl Store {
    /// Replaces a profile's cached list with `keys` (given in the API's order, newest first) in one
    /// transaction, marks the cache refreshed at `fetched_at` and clears its last error. A key hash
    /// seen twice keeps its first position. Returns how many keys are cached.
    pub fn replace_cached_keys<T, F>(
        &self,
        profile_id: &str,
        keys: &[T],
        key_hash: F,
        fetched_at: DateTime<Utc>,
    ) -> Result<usize, Error>
    where
        T: Serialize,
        F: Fn(&T) -> &str,
    {
        self.replace_cached_keys_since(profile_id, keys, key_hash, fetched_at, None)
    }

    /// [`replace_cached_keys`](Self::replace_cached_keys) with a list that left the server after
    /// `since` (a [`cache_changes`](Self::cache_changes) count read before listing): a key changed
    /// or dropped through this store after that keeps its cached row (or stays dropped) instead of
    /// the listed one, which may predate the change.
    pub fn replace_cached_keys_since<T, F>(
        &self,
        profile_id: &str,
        keys: &[T],
        key_hash: F,
        fetched_at: DateTime<Utc>,
        since: Option<u64>,
    ) -> Result<usize, Error>
    where
        T: Serialize,
        F: Fn(&T) -> &str,
    {
        // Serialize (and screen for secrets) before touching the database.
        let rows = keys
            .iter()
            .map(|key| Ok((key_hash(key), to_json(key)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let newer = since.map_or_else(HashMap::new, |since| self.changed_since(profile_id, since));
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        self.require_profile(profile_id)?;
        // The rows changed through Keyward meanwhile, as they are now (a dropped one is absent).
        let mut kept = Vec::new();
        for hash in newer.keys() {
            let row: Option<(String, DateTime<Utc>)> = tx
                .query_row(
                    "SELECT json, fetched_at FROM cached_keys WHERE profile_id = ?1 AND key_hash = ?2",
                    [profile_id, hash.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(store_error)?;
            if let Some((json, at)) = row {
                kept.push((hash.as_str(), json, at));
            }
        }
        tx.execute(
            "DELETE FROM cached_keys WHERE profile_id = ?1",
            [profile_id],
        )
        .map_err(store_error)?;
        let mut cached = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO cached_keys (profile_id, key_hash, position, json, fetched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )
                .map_err(store_error)?;
            let mut listed_at = HashMap::new();
            for (position, (hash, json)) in rows.iter().enumerate() {
                let position = i64::try_from(position).unwrap_or(i64::MAX);
                listed_at.entry(*hash).or_insert(position);
                if newer.contains_key(*hash) {
                    continue;
                }
                cached += insert
                    .execute(params![profile_id, hash, position, json, fetched_at])
                    .map_err(store_error)?;
            }
            // A kept row takes its listed place; one the list lacks (created meanwhile) goes first.
            let mut first: i64 = 0;
            for (hash, json, at) in &kept {
                let position = listed_at.get(hash).copied().unwrap_or_else(|| {
                    first -= 1;
                    first
                });
                cached += insert
                    .execute(params![profile_id, hash, position, json, at])
                    .map_err(store_error)?;
            }
        }
        tx.execute(
            "INSERT INTO cache_meta (profile_id, last_refresh_at, last_error, last_error_at)
             VALUES (?1, ?2, NULL, NULL)
             ON CONFLICT (profile_id) DO UPDATE
             SET last_refresh_at = excluded.last_refresh_at, last_error = NULL, last_error_at = NULL",
            params![profile_id, fetched_at],
        )
        .map_err(store_error)?;
        tx.commit().map_err(store_error)?;
        self.note_cache_change(profile_id, None);
        Ok(cached)
    }

    /// A profile's cached keys in the order they were fetched (newest first).
    pub fn cached_keys<T: DeserializeOwned>(
        &self,
        profile_id: &str,
    ) -> Result<Vec<CachedKey<T>>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT key_hash, json, fetched_at FROM cached_keys
                 WHERE profile_id = ?1 ORDER BY position",
            )
            .map_err(store_error)?;
        let rows = statement
            .query_map([profile_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, DateTime<Utc>>(2)?,
                ))
            })
            .map_err(store_error)?;
        rows.map(|row| {
            let (hash, json, fetched_at) = row.map_err(store_error)?;
            cached_key_from_parts(hash, &json, fetched_at)
        })
        .collect()
    }

    pub fn cached_key<T: DeserializeOwned>(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<CachedKey<T>>, Error> {
        let row = self
            .conn()
            .query_row(
                "SELECT json, fetched_at FROM cached_keys WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key_hash],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, DateTime<Utc>>(1)?)),
            )
            .optional()
            .map_err(store_error)?;
        row.map(|(json, fetched_at)| cached_key_from_parts(key_hash.to_owned(), &json, fetched_at))
            .transpose()
    }

    /// Updates one cached key after a change made through Keyward; a key not cached yet (just
    /// created) goes first, as the newest.
    pub fn upsert_cached_key<T: Serialize>(
        &self,
        profile_id: &str,
        key_hash: &str,
        key: &T,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let json = to_json(key)?;
        self.require_profile(profile_id)?;
        self.conn()
            .execute(
                "INSERT INTO cached_keys (profile_id, key_hash, position, json, fetched_at)
                 VALUES (?1, ?2,
                         (SELECT COALESCE(MIN(position), 0) - 1 FROM cached_keys WHERE profile_id = ?1),
                         ?3, ?4)
                 ON CONFLICT (profile_id, key_hash) DO UPDATE
                 SET json = excluded.json, fetched_at = excluded.fetched_at",
                params![profile_id, key_hash, json, fetched_at],
            )
            .map_err(store_error)?;
        self.note_cache_change(profile_id, Some((key_hash, false)));
        Ok(())
    }

    /// Drops one key from a profile's cache (deleted through Keyward); returns whether it was there.
    pub fn remove_cached_key(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        let removed = self
            .conn()
            .execute(
                "DELETE FROM cached_keys WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key_hash],
            )
            .map(|removed| removed > 0)
            .map_err(store_error)?;
        self.note_cache_change(profile_id, Some((key_hash, true)));
        Ok(removed)
    }

    /// How many writes this store has made to a profile's cached keys since it was opened (a
    /// refresh, a key changed or dropped). A refresh reads it before listing: when it moved by the
    /// time the list is in, a change landed while the list was on its way, and the list may
    /// predate it; [`replace_cached_keys_since`](Self::replace_cached_keys_since) keeps those
    /// changes.
    pub fn cache_changes(&self, profile_id: &str) -> u64 {
        self.cache_changes
            .borrow()
            .get(profile_id)
            .map_or(0, |changes| changes.count)
    }

    /// The keys changed (`false`) or dropped (`true`) one by one after the count `since`.
    fn changed_since(&self, profile_id: &str, since: u64) -> HashMap<String, bool> {
        self.cache_changes
            .borrow()
            .get(profile_id)
            .map(|changes| {
                changes
                    .keys
                    .iter()
                    .filter(|(_, (at, _))| *at > since)
                    .map(|(hash, (_, dropped))| (hash.clone(), *dropped))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Counts a write to a profile's cache; `key`: one key changed or (`true`) dropped.
    fn note_cache_change(&self, profile_id: &str, key: Option<(&str, bool)>) {
        let mut all = self.cache_changes.borrow_mut();
        let changes = all.entry(profile_id.to_owned()).or_default();
        changes.count = changes.count.wrapping_add(1);
        if let Some((hash, dropped)) = key {
            changes
                .keys
                .insert(hash.to_owned(), (changes.count, dropped));
        }
    }

    /// How fresh a profile's cache is; `None` if it was never refreshed nor failed.
    pub fn cache_meta(&self, profile_id: &str) -> Result<Option<CacheMeta>, Error> {
        self.conn()
            .query_row(
                "SELECT last_refresh_at, last_error, last_error_at FROM cache_meta WHERE profile_id = ?1",
                [profile_id],
                |row| {
                    Ok(CacheMeta {
                        last_refresh_at: row.get(0)?,
                        last_error: row.get(1)?,
                        last_error_at: row.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(store_error)
    }

    /// Records why a refresh failed (shown beside the stale list); the cached keys stay as they were.
    pub fn record_cache_error(
        &self,
        profile_id: &str,
        message: &str,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        refuse_secrets("a refresh error", message)?;
        self.require_profile(profile_id)?;
        self.conn()
            .execute(
                "INSERT INTO cache_meta (profile_id, last_error, last_error_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (profile_id) DO UPDATE
                 SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                params![profile_id, message, at],
            )
            .map_err(store_error)?;
        Ok(())
    }
}
