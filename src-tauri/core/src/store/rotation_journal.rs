//! The rotation journal: one row per rotation holding its whole state machine, rewritten in the same
//! transaction as the append-only journal rows that explain each change (intent before a step runs,
//! result after), so a crash at any moment leaves the two consistent. Nothing secret is written.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;
use crate::rotation::{JournalEntry, JournalPhase, Rotation, RotationStatus};

/// A journal row as read: seq, at, step, phase, outcome, detail (JSON text).
type JournalRow = (i64, DateTime<Utc>, String, String, Option<String>, String);

fn state_json(rotation: &Rotation) -> Result<String, Error> {
    let json = serde_json::to_string(rotation).map_err(json_error)?;
    refuse_secrets("the rotation journal", &json)?;
    Ok(json)
}

fn rotation_from_json(id: &str, json: &str) -> Result<Rotation, Error> {
    serde_json::from_str(json).map_err(|err| Error::Store {
        message: format!(
            "rotation {id} was written by another version of Keyward and can't be read ({err})"
        ),
    })
}

impl Store {
    /// Writes `rotation` (inserting or replacing its row) and appends `entries` to its journal, in
    /// one transaction. Returns the entries with their sequence numbers.
    pub fn save_rotation(
        &self,
        rotation: &Rotation,
        entries: &[JournalEntry],
    ) -> Result<Vec<JournalEntry>, Error> {
        let json = state_json(rotation)?;
        let mut details = Vec::with_capacity(entries.len());
        for entry in entries {
            let detail = serde_json::to_string(&entry.detail).map_err(json_error)?;
            refuse_secrets("the rotation journal", &detail)?;
            details.push(detail);
        }
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        tx.execute(
            "INSERT INTO rotations (id, profile_id, old_key_hash, new_key_hash, status, state,
                                    started_at, updated_at, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET
                 new_key_hash = excluded.new_key_hash, status = excluded.status,
                 state = excluded.state, updated_at = excluded.updated_at,
                 finished_at = excluded.finished_at",
            params![
                rotation.id,
                rotation.profile_id,
                rotation.old.hash,
                rotation.new_key.as_ref().map(|key| key.hash.as_str()),
                rotation.status.as_str(),
                json,
                rotation.started_at,
                rotation.updated_at,
                rotation.finished_at,
            ],
        )
        .map_err(store_error)?;
        let mut seq: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM rotation_journal WHERE rotation_id = ?1",
                [&rotation.id],
                |row| row.get(0),
            )
            .map_err(store_error)?;
        let mut written = Vec::with_capacity(entries.len());
        for (entry, detail) in entries.iter().zip(details) {
            seq += 1;
            tx.execute(
                "INSERT INTO rotation_journal (rotation_id, seq, at, step, phase, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    rotation.id,
                    seq,
                    entry.at,
                    entry.step,
                    entry.phase.as_str(),
                    entry.outcome,
                    detail
                ],
            )
            .map_err(store_error)?;
            written.push(JournalEntry {
                seq,
                ..entry.clone()
            });
        }
        tx.commit().map_err(store_error)?;
        Ok(written)
    }

    pub fn rotation(&self, id: &str) -> Result<Option<Rotation>, Error> {
        let json: Option<String> = self
            .conn()
            .query_row("SELECT state FROM rotations WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(store_error)?;
        json.map(|json| rotation_from_json(id, &json)).transpose()
    }

    /// Rotations, newest first: of one profile or all; `active_only` leaves out finished ones.
    pub fn rotations(
        &self,
        profile_id: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<Rotation>, Error> {
        self.query_rotations(
            "SELECT id, state FROM rotations
             WHERE (?1 IS NULL OR profile_id = ?1)
               AND (?2 = 0 OR status IN ('running', 'waiting', 'failed'))
             ORDER BY started_at DESC, id",
            params![profile_id, active_only],
        )
    }

    /// Every rotation a key took part in (as the old or the new key), newest first.
    pub fn rotations_of_key(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Vec<Rotation>, Error> {
        self.query_rotations(
            "SELECT id, state FROM rotations
             WHERE profile_id = ?1 AND (old_key_hash = ?2 OR new_key_hash = ?2)
             ORDER BY started_at DESC, id",
            params![profile_id, key_hash],
        )
    }

    /// The unfinished rotation of a key (as the old key), if any.
    pub fn active_rotation_of_key(
        &self,
        profile_id: &str,
        old_key_hash: &str,
    ) -> Result<Option<Rotation>, Error> {
        Ok(self
            .query_rotations(
                "SELECT id, state FROM rotations
                 WHERE profile_id = ?1 AND old_key_hash = ?2
                   AND status IN ('running', 'waiting', 'failed')
                 ORDER BY started_at DESC, id LIMIT 1",
                params![profile_id, old_key_hash],
            )?
            .pop())
    }

    /// Every key hash a rotation of the profile created (so reconciliation never takes another
    /// rotation's key for its own).
    pub fn rotation_new_key_hashes(&self, profile_id: &str) -> Result<Vec<String>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT new_key_hash FROM rotations WHERE profile_id = ?1 AND new_key_hash IS NOT NULL",
            )
            .map_err(store_error)?;
        statement
            .query_map([profile_id], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(store_error)
    }

    /// When the key was last rotated in: the finish of the completed rotation that created it.
    pub fn last_rotation_of_key(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        self.conn()
            .query_row(
                "SELECT MAX(finished_at) FROM rotations
                 WHERE profile_id = ?1 AND new_key_hash = ?2 AND status = ?3",
                params![profile_id, key_hash, RotationStatus::Completed.as_str()],
                |row| row.get(0),
            )
            .map_err(store_error)
    }

    /// A rotation's journal, oldest first.
    pub fn rotation_journal(&self, rotation_id: &str) -> Result<Vec<JournalEntry>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT seq, at, step, phase, outcome, detail FROM rotation_journal
                 WHERE rotation_id = ?1 ORDER BY seq",
            )
            .map_err(store_error)?;
        let rows: Vec<JournalRow> = statement
            .query_map([rotation_id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .and_then(Iterator::collect)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(seq, at, step, phase, outcome, detail)| {
                Ok(JournalEntry {
                    seq,
                    at,
                    step,
                    phase: JournalPhase::parse(&phase).ok_or_else(|| Error::Store {
                        message: format!("unknown journal phase {phase:?}"),
                    })?,
                    outcome,
                    detail: serde_json::from_str(&detail).map_err(json_error)?,
                })
            })
            .collect()
    }

    fn query_rotations(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Rotation>, Error> {
        let mut statement = self.conn().prepare_cached(sql).map_err(store_error)?;
        let rows: Vec<(String, String)> = statement
            .query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(store_error)?;
        rows.iter()
            .map(|(id, json)| rotation_from_json(id, json))
            .collect()
    }
}
