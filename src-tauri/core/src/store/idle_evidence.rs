//! The few usage snapshots that decide when a key was last used (see [`crate::idle`]), read with
//! indexed look-ups instead of the key's whole history: the key list asks for every key on each
//! listing, and an active key can have hundreds of snapshots a day.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, store_error};
use crate::Error;
use crate::usage::UsagePoint;

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
}
