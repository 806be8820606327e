//! What the background watcher keeps between cycles and restarts: usage snapshots per key (pruned by
//! age), the ledger of notified alerts, the open alerts of the latest evaluation, snoozes, the pause,
//! the keys Keyward disabled itself, and daily spend fetched from GET /activity. Alert types belong to
//! the alerts module; open alerts are stored as JSON of any serde type, so the store stays generic.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;
use crate::alerts::AlertKind;
pub use crate::alerts::LedgerEntry;

/// The settings key under which the watcher's pause is kept.
const PAUSED_UNTIL_SETTING: &str = "watch_paused_until";

/// `activity_days.key_hash` of a profile-wide (all keys) activity answer.
pub(super) const ALL_KEYS: &str = "";

/// A key's numbers as one refresh saw them.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct UsageSnapshot {
    pub key_hash: String,
    pub taken_at: DateTime<Utc>,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_weekly: f64,
    pub usage_monthly: f64,
    pub byok_usage: f64,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<String>,
    pub disabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl UsageSnapshot {
    /// Same numbers (the time aside): a new row would say nothing new.
    fn same_state(&self, other: &UsageSnapshot) -> bool {
        self.usage == other.usage
            && self.usage_daily == other.usage_daily
            && self.usage_weekly == other.usage_weekly
            && self.usage_monthly == other.usage_monthly
            && self.byok_usage == other.byok_usage
            && self.limit == other.limit
            && self.limit_remaining == other.limit_remaining
            && self.limit_reset == other.limit_reset
            && self.disabled == other.disabled
            && self.expires_at == other.expires_at
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<UsageSnapshot> {
        Ok(UsageSnapshot {
            key_hash: row.get(0)?,
            taken_at: row.get(1)?,
            usage: row.get(2)?,
            usage_daily: row.get(3)?,
            usage_weekly: row.get(4)?,
            usage_monthly: row.get(5)?,
            byok_usage: row.get(6)?,
            limit: row.get(7)?,
            limit_remaining: row.get(8)?,
            limit_reset: row.get(9)?,
            disabled: row.get(10)?,
            expires_at: row.get(11)?,
        })
    }
}

const SNAPSHOT_COLUMNS: &str = "key_hash, taken_at, usage, usage_daily, usage_weekly, \
     usage_monthly, byok_usage, \"limit\", limit_remaining, limit_reset, disabled, expires_at";

/// A key's alerts are silent until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Snooze {
    pub profile_id: String,
    pub key_hash: String,
    pub until: DateTime<Utc>,
}

/// Daily spend from GET /activity as last fetched for a profile (and key).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StoredActivity {
    /// The UTC day of the fetch: the answer covers the 30 days before it.
    pub fetched_on: NaiveDate,
    pub fetched_at: DateTime<Utc>,
    /// Oldest first; days without spend are absent.
    pub days: Vec<(NaiveDate, f64)>,
}

impl Store {
    // --- Usage snapshots ---------------------------------------------------------------------------

    /// Stores the snapshots of one refresh of a profile in one transaction. A key's snapshot is
    /// written only when its numbers differ from the key's newest row or that row is from an earlier
    /// UTC day, so an idle key costs one row a day. Returns how many rows were written.
    pub fn record_snapshots(
        &self,
        profile_id: &str,
        snapshots: &[UsageSnapshot],
    ) -> Result<usize, Error> {
        let latest = self.latest_snapshots(profile_id)?;
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        self.require_profile(profile_id)?;
        let mut written = 0;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO usage_snapshots (profile_id, {SNAPSHOT_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT DO NOTHING"
                ))
                .map_err(store_error)?;
            for snapshot in snapshots {
                let unchanged = latest.get(&snapshot.key_hash).is_some_and(|newest| {
                    newest.same_state(snapshot)
                        && newest.taken_at.date_naive() == snapshot.taken_at.date_naive()
                });
                if unchanged {
                    continue;
                }
                written += insert
                    .execute(params![
                        profile_id,
                        snapshot.key_hash,
                        snapshot.taken_at,
                        snapshot.usage,
                        snapshot.usage_daily,
                        snapshot.usage_weekly,
                        snapshot.usage_monthly,
                        snapshot.byok_usage,
                        snapshot.limit,
                        snapshot.limit_remaining,
                        snapshot.limit_reset,
                        snapshot.disabled,
                        snapshot.expires_at,
                    ])
                    .map_err(store_error)?;
            }
        }
        tx.commit().map_err(store_error)?;
        Ok(written)
    }

    /// The newest snapshot of each key of a profile, by key hash.
    pub fn latest_snapshots(
        &self,
        profile_id: &str,
    ) -> Result<HashMap<String, UsageSnapshot>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM usage_snapshots AS s
                 WHERE profile_id = ?1 AND taken_at = (
                     SELECT MAX(taken_at) FROM usage_snapshots
                     WHERE profile_id = s.profile_id AND key_hash = s.key_hash)"
            ))
            .map_err(store_error)?;
        let rows = statement
            .query_map([profile_id], UsageSnapshot::from_row)
            .map_err(store_error)?;
        rows.map(|row| {
            let snapshot = row.map_err(store_error)?;
            Ok((snapshot.key_hash.clone(), snapshot))
        })
        .collect()
    }

    /// A key's snapshots taken at or after `since`, oldest first; `key_hash: None` = every key of
    /// the profile.
    pub fn snapshots_since(
        &self,
        profile_id: &str,
        key_hash: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<UsageSnapshot>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM usage_snapshots
                 WHERE profile_id = ?1 AND (?2 IS NULL OR key_hash = ?2) AND taken_at >= ?3
                 ORDER BY taken_at, key_hash"
            ))
            .map_err(store_error)?;
        let rows = statement
            .query_map(
                params![profile_id, key_hash, since],
                UsageSnapshot::from_row,
            )
            .map_err(store_error)?;
        rows.map(|row| row.map_err(store_error)).collect()
    }

    /// Forgets snapshots taken before `before` (every profile); returns how many.
    pub fn prune_snapshots(&self, before: DateTime<Utc>) -> Result<usize, Error> {
        self.conn()
            .execute("DELETE FROM usage_snapshots WHERE taken_at < ?1", [before])
            .map_err(store_error)
    }

    // --- The alert ledger --------------------------------------------------------------------------

    /// Every notified alert of a profile.
    pub fn alert_ledger(&self, profile_id: &str) -> Result<Vec<LedgerEntry>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT alert_id, profile_id, key_hash, kind, threshold, period, limit_at_notice,
                        notified_at
                 FROM alert_ledger WHERE profile_id = ?1 ORDER BY notified_at, alert_id",
            )
            .map_err(store_error)?;
        type LedgerRow = (
            String,
            String,
            String,
            String,
            String,
            String,
            Option<f64>,
            DateTime<Utc>,
        );
        let rows = statement
            .query_map([profile_id], |row| {
                Ok::<LedgerRow, _>((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            })
            .map_err(store_error)?;
        let mut entries = Vec::new();
        for row in rows {
            let (alert_id, profile_id, key_hash, kind, threshold, period, limit_at_notice, at) =
                row.map_err(store_error)?;
            // A kind this version does not know (a newer Keyward wrote it) can't re-fire here.
            let Ok(kind) = kind.parse::<AlertKind>() else {
                continue;
            };
            entries.push(LedgerEntry {
                alert_id,
                profile_id,
                key_hash,
                kind,
                threshold,
                period,
                limit_at_notice,
                notified_at: at,
            });
        }
        Ok(entries)
    }

    /// Adds (or refreshes) ledger entries in one transaction.
    pub fn record_notified(&self, entries: &[LedgerEntry]) -> Result<(), Error> {
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO alert_ledger (alert_id, profile_id, key_hash, kind, threshold,
                                               period, limit_at_notice, notified_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (alert_id) DO UPDATE
                     SET limit_at_notice = excluded.limit_at_notice,
                         notified_at = excluded.notified_at",
                )
                .map_err(store_error)?;
            for entry in entries {
                refuse_secrets("an alert ledger entry", &entry.alert_id)?;
                insert
                    .execute(params![
                        entry.alert_id,
                        entry.profile_id,
                        entry.key_hash,
                        <&str>::from(entry.kind),
                        entry.threshold,
                        entry.period,
                        entry.limit_at_notice,
                        entry.notified_at,
                    ])
                    .map_err(store_error)?;
            }
        }
        tx.commit().map_err(store_error)
    }

    /// Drops ledger entries (re-arming those alerts); returns how many were there.
    pub fn forget_notified(&self, alert_ids: &[String]) -> Result<usize, Error> {
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        let mut forgotten = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM alert_ledger WHERE alert_id = ?1")
                .map_err(store_error)?;
            for id in alert_ids {
                forgotten += delete.execute([id]).map_err(store_error)?;
            }
        }
        tx.commit().map_err(store_error)?;
        Ok(forgotten)
    }

    /// Drops the ledger entries whose alert is no longer open (not in `open_alerts`) and whose
    /// key is gone (not in `current_keys`) or that were notified before `before`; returns how many.
    /// An open alert keeps its entry however old: alerts of no reset period (`none`: an expired
    /// key, a limit that never resets) would otherwise be notified again.
    pub fn prune_ledger(
        &self,
        profile_id: &str,
        current_keys: &HashSet<String>,
        open_alerts: &HashSet<String>,
        before: DateTime<Utc>,
    ) -> Result<usize, Error> {
        let gone: Vec<String> = self
            .alert_ledger(profile_id)?
            .into_iter()
            .filter(|entry| !open_alerts.contains(&entry.alert_id))
            .filter(|entry| !current_keys.contains(&entry.key_hash) || entry.notified_at < before)
            .map(|entry| entry.alert_id)
            .collect();
        self.forget_notified(&gone)
    }

    // --- Open alerts -------------------------------------------------------------------------------

    /// Replaces a profile's open alerts with `alerts` (`(alert_id, key_hash, alert)`, in the order
    /// to list them) in one transaction.
    pub fn replace_open_alerts<T: Serialize>(
        &self,
        profile_id: &str,
        alerts: &[(&str, &str, &T)],
    ) -> Result<(), Error> {
        let rows = alerts
            .iter()
            .map(|(id, hash, alert)| {
                let json = serde_json::to_string(alert).map_err(json_error)?;
                refuse_secrets("an alert", &json)?;
                Ok((*id, *hash, json))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        self.require_profile(profile_id)?;
        tx.execute(
            "DELETE FROM open_alerts WHERE profile_id = ?1",
            [profile_id],
        )
        .map_err(store_error)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO open_alerts (profile_id, alert_id, key_hash, position, json)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )
                .map_err(store_error)?;
            for (position, (id, hash, json)) in rows.iter().enumerate() {
                let position = i64::try_from(position).unwrap_or(i64::MAX);
                insert
                    .execute(params![profile_id, id, hash, position, json])
                    .map_err(store_error)?;
            }
        }
        tx.commit().map_err(store_error)
    }

    /// The open alerts of one profile, or of every profile (by profile, in stored order).
    pub fn open_alerts<T: DeserializeOwned>(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<T>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT json FROM open_alerts WHERE ?1 IS NULL OR profile_id = ?1
                 ORDER BY profile_id, position",
            )
            .map_err(store_error)?;
        let rows = statement
            .query_map([profile_id], |row| row.get::<_, String>(0))
            .map_err(store_error)?;
        rows.map(|row| {
            let json = row.map_err(store_error)?;
            serde_json::from_str(&json).map_err(json_error)
        })
        .collect()
    }

    // --- Snoozes and the pause ---------------------------------------------------------------------

    /// Snoozes a key's alerts until `until`; `None` lifts the snooze.
    pub fn set_snooze(
        &self,
        profile_id: &str,
        key_hash: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), Error> {
        match until {
            Some(until) => {
                self.require_profile(profile_id)?;
                self.conn()
                    .execute(
                        "INSERT INTO alert_snoozes (profile_id, key_hash, until) VALUES (?1, ?2, ?3)
                         ON CONFLICT (profile_id, key_hash) DO UPDATE SET until = excluded.until",
                        params![profile_id, key_hash, until],
                    )
                    .map_err(store_error)?;
            }
            None => {
                self.conn()
                    .execute(
                        "DELETE FROM alert_snoozes WHERE profile_id = ?1 AND key_hash = ?2",
                        [profile_id, key_hash],
                    )
                    .map_err(store_error)?;
            }
        }
        Ok(())
    }

    /// Snoozes still running at `now`, of one profile or all (expired ones are dropped).
    pub fn snoozes(
        &self,
        profile_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Snooze>, Error> {
        self.conn()
            .execute("DELETE FROM alert_snoozes WHERE until <= ?1", [now])
            .map_err(store_error)?;
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT profile_id, key_hash, until FROM alert_snoozes
                 WHERE ?1 IS NULL OR profile_id = ?1 ORDER BY profile_id, key_hash",
            )
            .map_err(store_error)?;
        let rows = statement
            .query_map([profile_id], |row| {
                Ok(Snooze {
                    profile_id: row.get(0)?,
                    key_hash: row.get(1)?,
                    until: row.get(2)?,
                })
            })
            .map_err(store_error)?;
        rows.map(|row| row.map_err(store_error)).collect()
    }

    /// Until when every notification is held back, if a pause is still running at `now`.
    pub fn paused_until(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(self
            .setting::<Option<DateTime<Utc>>>(PAUSED_UNTIL_SETTING)?
            .flatten()
            .filter(|until| *until > now))
    }

    /// Pauses notifications until `until`; `None` resumes them.
    pub fn set_paused_until(&self, until: Option<DateTime<Utc>>) -> Result<(), Error> {
        match until {
            Some(until) => self.set_setting(PAUSED_UNTIL_SETTING, &Some(until)),
            None => self.remove_setting(PAUSED_UNTIL_SETTING).map(|_| ()),
        }
    }

    // --- Keys Keyward disabled ---------------------------------------------------------------------

    /// Records that Keyward disabled (`true`) or re-enabled (`false`) a key.
    pub fn set_disabled_by_keyward(
        &self,
        profile_id: &str,
        key_hash: &str,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        if disabled {
            self.require_profile(profile_id)?;
            self.conn()
                .execute(
                    "INSERT INTO keyward_disabled_keys (profile_id, key_hash, disabled_at)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (profile_id, key_hash) DO UPDATE SET disabled_at = excluded.disabled_at",
                    params![profile_id, key_hash, at],
                )
                .map_err(store_error)?;
        } else {
            self.conn()
                .execute(
                    "DELETE FROM keyward_disabled_keys WHERE profile_id = ?1 AND key_hash = ?2",
                    [profile_id, key_hash],
                )
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// The hashes of a profile's keys that Keyward disabled.
    pub fn disabled_by_keyward(&self, profile_id: &str) -> Result<HashSet<String>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT key_hash FROM keyward_disabled_keys WHERE profile_id = ?1")
            .map_err(store_error)?;
        let rows = statement
            .query_map([profile_id], |row| row.get::<_, String>(0))
            .map_err(store_error)?;
        rows.map(|row| row.map_err(store_error)).collect()
    }

    // --- Activity ----------------------------------------------------------------------------------

    /// Replaces the stored activity of a profile (`key_hash: None`: all keys together) with the
    /// daily spend of one fetch.
    pub fn replace_activity(
        &self,
        profile_id: &str,
        key_hash: Option<&str>,
        days: &[(NaiveDate, f64)],
        fetched_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let key = key_hash.unwrap_or(ALL_KEYS);
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        self.require_profile(profile_id)?;
        tx.execute(
            "DELETE FROM activity_days WHERE profile_id = ?1 AND key_hash = ?2",
            [profile_id, key],
        )
        .map_err(store_error)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO activity_days (profile_id, key_hash, day, spend)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO UPDATE SET spend = spend + excluded.spend",
                )
                .map_err(store_error)?;
            for (day, spend) in days {
                insert
                    .execute(params![profile_id, key, day, spend])
                    .map_err(store_error)?;
            }
        }
        tx.execute(
            "INSERT INTO activity_fetches (profile_id, key_hash, fetched_on, fetched_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (profile_id, key_hash) DO UPDATE
             SET fetched_on = excluded.fetched_on, fetched_at = excluded.fetched_at",
            params![profile_id, key, fetched_at.date_naive(), fetched_at],
        )
        .map_err(store_error)?;
        tx.commit().map_err(store_error)
    }

    /// The stored activity of a profile (`key_hash: None`: all keys together), if ever fetched.
    pub fn activity(
        &self,
        profile_id: &str,
        key_hash: Option<&str>,
    ) -> Result<Option<StoredActivity>, Error> {
        let key = key_hash.unwrap_or(ALL_KEYS);
        let fetch: Option<(NaiveDate, DateTime<Utc>)> = self
            .conn()
            .query_row(
                "SELECT fetched_on, fetched_at FROM activity_fetches
                 WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(store_error)?;
        let Some((fetched_on, fetched_at)) = fetch else {
            return Ok(None);
        };
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT day, spend FROM activity_days WHERE profile_id = ?1 AND key_hash = ?2
                 ORDER BY day",
            )
            .map_err(store_error)?;
        let days = statement
            .query_map([profile_id, key], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(store_error)?
            .map(|row| row.map_err(store_error))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Some(StoredActivity {
            fetched_on,
            fetched_at,
            days,
        }))
    }

    /// Forgets the activity of a profile's keys that are gone (not in `current_keys`).
    pub fn prune_activity(
        &self,
        profile_id: &str,
        current_keys: &HashSet<String>,
    ) -> Result<usize, Error> {
        let stored: Vec<String> = {
            let mut statement = self
                .conn()
                .prepare_cached(
                    "SELECT key_hash FROM activity_fetches WHERE profile_id = ?1 AND key_hash != ''",
                )
                .map_err(store_error)?;
            let rows = statement
                .query_map([profile_id], |row| row.get::<_, String>(0))
                .map_err(store_error)?;
            rows.map(|row| row.map_err(store_error))
                .collect::<Result<_, Error>>()?
        };
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        let mut pruned = 0;
        for hash in stored.iter().filter(|hash| !current_keys.contains(*hash)) {
            tx.execute(
                "DELETE FROM activity_days WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, hash],
            )
            .map_err(store_error)?;
            pruned += tx
                .execute(
                    "DELETE FROM activity_fetches WHERE profile_id = ?1 AND key_hash = ?2",
                    [profile_id, hash],
                )
                .map_err(store_error)?;
        }
        tx.commit().map_err(store_error)?;
        Ok(pruned)
    }
}
