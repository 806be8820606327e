//! The few usage snapshots that decide when a key was last used (see [`crate::idle`]), read with
//! indexed look-ups instead of the key's whole history: the key list asks for every key on each
//! listing, and an active key can have hundreds of snapshots a day. The list asks for all its keys
//! at once ([`Store::idle_snapshots_of`], [`Store::key_activities`]): one statement per profile
//! instead of about five per key (50,000 for 10,000 keys), the same indexed look-ups inside SQLite.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::watch_state::ALL_KEYS;
use super::{Store, StoredActivity, store_error};
use crate::Error;
use crate::usage::UsagePoint;

/// [`Store::idle_snapshots`] for many keys in one statement: per key (from the JSON array ?3) the
/// newest snapshot at or after ?2 (`n`), the last one below its usage (`b`, "before"), then the
/// first one, the newest, `b`, and the first after `b` ("reached"), each an indexed seek on the
/// primary key (profile_id, key_hash, taken_at).
const IDLE_SNAPSHOTS_OF: &str = "
WITH k(hash) AS MATERIALIZED (SELECT value FROM json_each(?3)),
n(hash, at, usage) AS MATERIALIZED (
    SELECT k.hash, s.taken_at, s.usage FROM k JOIN usage_snapshots s
    ON s.profile_id = ?1 AND s.key_hash = k.hash AND s.taken_at = (
        SELECT taken_at FROM usage_snapshots
        WHERE profile_id = ?1 AND key_hash = k.hash AND taken_at >= ?2
        ORDER BY taken_at DESC LIMIT 1)),
b(hash, at) AS MATERIALIZED (
    SELECT n.hash, (
        SELECT taken_at FROM usage_snapshots
        WHERE profile_id = ?1 AND key_hash = n.hash AND taken_at >= ?2 AND usage < n.usage - ?4
        ORDER BY taken_at DESC LIMIT 1) FROM n),
points(hash, at) AS (
    SELECT hash, at FROM n
    UNION ALL SELECT n.hash, (
        SELECT taken_at FROM usage_snapshots
        WHERE profile_id = ?1 AND key_hash = n.hash AND taken_at >= ?2
        ORDER BY taken_at LIMIT 1) FROM n
    UNION ALL SELECT hash, at FROM b WHERE at IS NOT NULL
    UNION ALL SELECT b.hash, (
        SELECT taken_at FROM usage_snapshots
        WHERE profile_id = ?1 AND key_hash = b.hash AND taken_at >= ?2 AND taken_at > b.at
        ORDER BY taken_at LIMIT 1) FROM b WHERE b.at IS NOT NULL)
SELECT p.hash, s.taken_at, s.usage, s.usage_daily FROM points p JOIN usage_snapshots s
ON s.profile_id = ?1 AND s.key_hash = p.hash AND s.taken_at = p.at";

/// A rise of the counter smaller than this (USD) is rounding noise.
const EPSILON: f64 = 1e-9;

impl Store {
    /// At most four of a key's snapshots taken at or after `since`, oldest first: the first, the last
    /// one before the counter reached its current value, the one that reached it, and the newest.
    /// [`crate::idle::key_idle`] gives the same answer on these as on every snapshot: the latest rise
    /// is into the third, and after it the counter is flat (so `usage_daily` is non-zero only on
    /// that snapshot's day).
    pub fn idle_snapshots(
        &self,
        profile_id: &str,
        key_hash: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<UsagePoint>, Error> {
        let conn = self.conn();
        let one = |sql: &str, extra: Option<f64>, after: Option<DateTime<Utc>>| {
            let mut statement = conn.prepare_cached(sql).map_err(store_error)?;
            statement
                .query_row(params![profile_id, key_hash, since, extra, after], |row| {
                    Ok(UsagePoint {
                        at: row.get(0)?,
                        usage: row.get(1)?,
                        usage_daily: Some(row.get(2)?),
                    })
                })
                .optional()
                .map_err(store_error)
        };
        const BASE: &str = "SELECT taken_at, usage, usage_daily FROM usage_snapshots
             WHERE profile_id = ?1 AND key_hash = ?2 AND taken_at >= ?3
               AND (?4 IS NULL OR usage < ?4) AND (?5 IS NULL OR taken_at > ?5)";
        let Some(newest) = one(
            &format!("{BASE} ORDER BY taken_at DESC LIMIT 1"),
            None,
            None,
        )?
        else {
            return Ok(Vec::new());
        };
        let mut points = Vec::with_capacity(4);
        if let Some(first) = one(&format!("{BASE} ORDER BY taken_at LIMIT 1"), None, None)? {
            points.push(first);
        }
        let before = one(
            &format!("{BASE} ORDER BY taken_at DESC LIMIT 1"),
            Some(newest.usage - EPSILON),
            None,
        )?;
        if let Some(before) = before {
            points.push(before);
            if let Some(reached) = one(
                &format!("{BASE} ORDER BY taken_at LIMIT 1"),
                None,
                Some(before.at),
            )? {
                points.push(reached);
            }
        }
        points.push(newest);
        points.sort_by_key(|point| point.at);
        points.dedup_by_key(|point| point.at);
        Ok(points)
    }

    /// [`Store::idle_snapshots`] of each of `key_hashes`, in one statement; a key without
    /// snapshots since `since` is absent.
    pub fn idle_snapshots_of(
        &self,
        profile_id: &str,
        key_hashes: &[&str],
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, Vec<UsagePoint>>, Error> {
        let hashes = serde_json::to_string(key_hashes).map_err(|err| Error::Store {
            message: format!("encoding key hashes: {err}"),
            source: Some(err.into()),
        })?;
        let mut statement = self
            .conn()
            .prepare_cached(IDLE_SNAPSHOTS_OF)
            .map_err(store_error)?;
        let rows = statement
            .query_map(params![profile_id, since, hashes, EPSILON], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    UsagePoint {
                        at: row.get(1)?,
                        usage: row.get(2)?,
                        usage_daily: Some(row.get(3)?),
                    },
                ))
            })
            .map_err(store_error)?;
        let mut by_key: HashMap<String, Vec<UsagePoint>> = HashMap::new();
        for row in rows {
            let (hash, point) = row.map_err(store_error)?;
            by_key.entry(hash).or_default().push(point);
        }
        for points in by_key.values_mut() {
            points.sort_by_key(|point| point.at);
            points.dedup_by_key(|point| point.at);
        }
        Ok(by_key)
    }

    /// The stored per-key activity of a profile ([`Store::activity`] of each key that has one), in
    /// two statements.
    pub fn key_activities(
        &self,
        profile_id: &str,
    ) -> Result<HashMap<String, StoredActivity>, Error> {
        let conn = self.conn();
        let mut fetches = conn
            .prepare_cached(
                "SELECT key_hash, fetched_on, fetched_at FROM activity_fetches
                 WHERE profile_id = ?1 AND key_hash <> ?2",
            )
            .map_err(store_error)?;
        let mut by_key = fetches
            .query_map(params![profile_id, ALL_KEYS], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    StoredActivity {
                        fetched_on: row.get(1)?,
                        fetched_at: row.get(2)?,
                        days: Vec::new(),
                    },
                ))
            })
            .map_err(store_error)?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(store_error)?;
        if by_key.is_empty() {
            return Ok(by_key);
        }
        let mut days = conn
            .prepare_cached(
                "SELECT key_hash, day, spend FROM activity_days
                 WHERE profile_id = ?1 AND key_hash <> ?2 ORDER BY key_hash, day",
            )
            .map_err(store_error)?;
        let rows = days
            .query_map(params![profile_id, ALL_KEYS], |row| {
                Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(store_error)?;
        for row in rows {
            let (hash, day, spend) = row.map_err(store_error)?;
            if let Some(activity) = by_key.get_mut(&hash) {
                activity.days.push((day, spend));
            }
        }
        Ok(by_key)
    }
}
