//! The rotation journal: one row per rotation holding its whole state machine, rewritten in the same
//! transaction as the append-only journal rows that explain each change (intent before a step runs,
//! result after), so a crash at any moment leaves the two consistent. Nothing secret is written.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;
use crate::rotation::{JournalEntry, Rotation, RotationStatus};

/// A journal row as read: seq, at, step, phase, outcome, detail (JSON text).
type JournalRow = (i64, DateTime<Utc>, String, String, Option<String>, String);

/// A journal word (step, phase, outcome) as stored: its snake_case name.
fn parse_word<T: std::str::FromStr>(what: &str, word: &str) -> Result<T, Error> {
    word.parse().map_err(|_| Error::Store {
        message: format!("unknown journal {what} {word:?}"),
        source: None,
    })
}

fn state_json(rotation: &Rotation) -> Result<String, Error> {
    let json = serde_json::to_string(rotation).map_err(json_error)?;
    refuse_secrets("the rotation journal", &json)?;
    Ok(json)
}

fn rotation_from_json(id: &str, json: &str, version: i64) -> Result<Rotation, Error> {
    let mut rotation: Rotation = serde_json::from_str(json).map_err(|err| Error::Store {
        message: format!(
            "rotation {id} was written by another version of Keyward and can't be read ({err})"
        ),
        source: Some(err.into()),
    })?;
    rotation.version = version;
    Ok(rotation)
}

/// An insert refused by the index that allows one unfinished rotation per key is a conflict.
fn insert_error(rotation: &Rotation, err: rusqlite::Error) -> Error {
    let unique = matches!(
        &err,
        rusqlite::Error::SqliteFailure(code, _)
            if code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    );
    if unique {
        return Error::Conflict {
            message: format!(
                "key \"{}\" already has an unfinished rotation (started by another Keyward \
                 process?); finish, roll back or abandon it first",
                rotation.old.name
            ),
        };
    }
    store_error(err)
}

impl Store {
    /// Writes `rotation` and appends `entries` to its journal, in one transaction; returns the
    /// entries with their sequence numbers. A rotation never saved (`version` 0) is inserted, and
    /// refused (`Conflict`) while its key has another unfinished rotation. Otherwise the row is
    /// updated only if it is still at `rotation.version`: when another process wrote it in between,
    /// nothing is written and the answer is a `Conflict` (reload and decide again, never overwrite).
    /// On success `rotation.version` is the row's new version.
    pub fn save_rotation(
        &self,
        rotation: &mut Rotation,
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
        let new_key_hash = rotation.new_key.as_ref().map(|key| key.hash.as_str());
        if rotation.version == 0 {
            tx.execute(
                "INSERT INTO rotations (id, profile_id, old_key_hash, new_key_hash, status, state,
                                        started_at, updated_at, finished_at, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)",
                params![
                    rotation.id,
                    rotation.profile_id,
                    rotation.old.hash,
                    new_key_hash,
                    rotation.status.as_str(),
                    json,
                    rotation.started_at,
                    rotation.updated_at,
                    rotation.finished_at,
                ],
            )
            .map_err(|err| insert_error(rotation, err))?;
        } else {
            let changed = tx
                .execute(
                    "UPDATE rotations SET new_key_hash = ?3, status = ?4, state = ?5,
                         updated_at = ?6, finished_at = ?7, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        rotation.id,
                        rotation.version,
                        new_key_hash,
                        rotation.status.as_str(),
                        json,
                        rotation.updated_at,
                        rotation.finished_at,
                    ],
                )
                .map_err(store_error)?;
            if changed == 0 {
                return Err(Error::Conflict {
                    message: format!(
                        "rotation {} was changed by another Keyward process (the app or \
                         keyward-cli) since this one read it; nothing was written: look at it again \
                         before acting",
                        rotation.id
                    ),
                });
            }
        }
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
                    <&str>::from(entry.step),
                    <&str>::from(entry.phase),
                    entry.outcome.map(<&str>::from),
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
        rotation.version += 1;
        Ok(written)
    }

    /// A rotation as last written, with its version.
    pub fn rotation(&self, id: &str) -> Result<Option<Rotation>, Error> {
        let row: Option<(String, i64)> = self
            .conn()
            .query_row(
                "SELECT state, version FROM rotations WHERE id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(store_error)?;
        row.map(|(json, version)| rotation_from_json(id, &json, version))
            .transpose()
    }

    /// Rotations, newest first: of one profile or all; `active_only` leaves out finished ones.
    pub fn rotations(
        &self,
        profile_id: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<Rotation>, Error> {
        self.query_rotations(
            "SELECT id, state, version FROM rotations
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
            "SELECT id, state, version FROM rotations
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
        self.unfinished_rotation_by(profile_id, "old_key_hash", old_key_hash)
    }

    /// The unfinished rotation whose new key is `key_hash` (it still needs that key's held secret).
    pub fn unfinished_rotation_needing(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<Rotation>, Error> {
        self.unfinished_rotation_by(profile_id, "new_key_hash", key_hash)
    }

    /// The newest unfinished rotation whose `column` (one of the two key-hash columns) is `hash`.
    fn unfinished_rotation_by(
        &self,
        profile_id: &str,
        column: &'static str,
        hash: &str,
    ) -> Result<Option<Rotation>, Error> {
        Ok(self
            .query_rotations(
                &format!(
                    "SELECT id, state, version FROM rotations
                     WHERE profile_id = ?1 AND {column} = ?2
                       AND status IN ('running', 'waiting', 'failed')
                     ORDER BY started_at DESC, id LIMIT 1"
                ),
                params![profile_id, hash],
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
                    step: parse_word("step", &step)?,
                    phase: parse_word("phase", &phase)?,
                    outcome: outcome
                        .map(|outcome| parse_word("outcome", &outcome))
                        .transpose()?,
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
        let rows: Vec<(String, String, i64)> = statement
            .query_map(params, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .and_then(Iterator::collect)
            .map_err(store_error)?;
        rows.iter()
            .map(|(id, json, version)| rotation_from_json(id, json, *version))
            .collect()
    }
}

#[cfg(test)]
pub(in crate::store) mod tests {
    use super::*;
    use crate::rotation::{JournalOutcome, JournalPhase, JournalStep};

    /// Journal rows as versions with string steps and outcomes wrote them (raw SQL, the words
    /// spelled out here, not taken from the enums).
    fn store_with_rows(rows: &[(&str, &str, Option<&str>)]) -> Store {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute(
            "INSERT INTO rotations (id, profile_id, old_key_hash, status, state, started_at, updated_at)
             VALUES ('r1', 'p1', 'h', 'running', '{}', '2026-11-23T12:00:00Z', '2026-11-23T12:00:00Z')",
            [],
        )
        .unwrap();
        for (seq, (step, phase, outcome)) in (1_i64..).zip(rows) {
            conn.execute(
                "INSERT INTO rotation_journal (rotation_id, seq, at, step, phase, outcome, detail)
                 VALUES ('r1', ?1, '2026-11-23T12:00:00Z', ?2, ?3, ?4, '{}')",
                params![seq, step, phase, outcome],
            )
            .unwrap();
        }
        store
    }

    #[test]
    fn rows_written_with_the_old_strings_read_as_the_enums() {
        let steps = [
            ("create", JournalStep::Create),
            ("store_secret", JournalStep::StoreSecret),
            ("deploy", JournalStep::Deploy),
            ("verify", JournalStep::Verify),
            ("drain", JournalStep::Drain),
            ("disable_old", JournalStep::DisableOld),
            ("delete_old", JournalStep::DeleteOld),
            ("roll_back", JournalStep::RollBack),
            ("rotation", JournalStep::Rotation),
        ];
        let outcomes = [
            ("done", JournalOutcome::Done),
            ("skipped", JournalOutcome::Skipped),
            ("waiting", JournalOutcome::Waiting),
            ("failed", JournalOutcome::Failed),
            ("restarted", JournalOutcome::Restarted),
            ("started", JournalOutcome::Started),
            ("resumed", JournalOutcome::Resumed),
            ("interrupted", JournalOutcome::Interrupted),
            ("reconciled", JournalOutcome::Reconciled),
            ("resume", JournalOutcome::Resume),
            ("retry", JournalOutcome::Retry),
            ("confirm_drained", JournalOutcome::ConfirmDrained),
            ("delete_now", JournalOutcome::DeleteNow),
            ("roll_back", JournalOutcome::RollBack),
            ("abandon", JournalOutcome::Abandon),
            ("rolled_back", JournalOutcome::RolledBack),
            ("create_reconciled", JournalOutcome::CreateReconciled),
            ("old_key_reenabled", JournalOutcome::OldKeyReenabled),
            ("deploys_undone", JournalOutcome::DeploysUndone),
            ("new_key_deleted", JournalOutcome::NewKeyDeleted),
            ("new_secret_released", JournalOutcome::NewSecretReleased),
        ];
        let mut rows = vec![("create", "intent", None)];
        rows.extend(steps.iter().map(|(step, _)| (*step, "note", Some("done"))));
        rows.extend(
            outcomes
                .iter()
                .map(|(word, _)| ("rotation", "action", Some(*word))),
        );
        let store = store_with_rows(&rows);

        let journal = store.rotation_journal("r1").unwrap();
        assert_eq!(journal.len(), rows.len());
        assert_eq!(journal[0].step, JournalStep::Create);
        assert_eq!(journal[0].phase, JournalPhase::Intent);
        assert_eq!(journal[0].outcome, None);
        for ((_, step), entry) in steps.iter().zip(&journal[1..]) {
            assert_eq!(entry.step, *step);
            assert_eq!(entry.phase, JournalPhase::Note);
        }
        for ((_, outcome), entry) in outcomes.iter().zip(&journal[1 + steps.len()..]) {
            assert_eq!(entry.outcome, Some(*outcome));
            assert_eq!(entry.phase, JournalPhase::Action);
        }

        // Written back, they are the same words.
        let written: Vec<(String, Option<String>)> = store
            .conn()
            .prepare(
                "SELECT step, outcome FROM rotation_journal WHERE rotation_id = 'r1' ORDER BY seq",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // Another key: `r1` is the unfinished rotation of `h`.
        let old = crate::rotation::OldKey {
            hash: "h2".into(),
            name: "k".into(),
            label: "l".into(),
            limit: None,
            limit_reset: None,
            include_byok_in_limit: false,
            expires_at: None,
            created_at: None,
            workspace_id: None,
        };
        let settings = crate::rotation::RotationSettings::from_policy(
            &crate::rotation::RotationPolicy::default_for("p1", "h"),
            false,
        );
        let mut rotation =
            Rotation::new("r2".into(), "p1".into(), old, settings, chrono::Utc::now());
        let entries: Vec<JournalEntry> = journal
            .iter()
            .map(|entry| JournalEntry {
                seq: 0,
                ..entry.clone()
            })
            .collect();
        store.save_rotation(&mut rotation, &entries).unwrap();
        let rewritten: Vec<(String, Option<String>)> = store
            .conn()
            .prepare(
                "SELECT step, outcome FROM rotation_journal WHERE rotation_id = 'r2' ORDER BY seq",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rewritten, written);
    }

    pub(in crate::store) fn rotation_of(id: &str, key: &str) -> Rotation {
        let old = crate::rotation::OldKey {
            hash: key.into(),
            name: format!("key {key}"),
            label: "l".into(),
            limit: None,
            limit_reset: None,
            include_byok_in_limit: false,
            expires_at: None,
            created_at: None,
            workspace_id: None,
        };
        let settings = crate::rotation::RotationSettings::from_policy(
            &crate::rotation::RotationPolicy::default_for("p1", key),
            false,
        );
        Rotation::new(id.into(), "p1".into(), old, settings, chrono::Utc::now())
    }

    /// Two connections to one file, as the app and the CLI have; the profile `p1` exists.
    pub(in crate::store) fn two_stores() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open_in_dir(dir.path()).unwrap();
        first
            .conn()
            .execute(
                "INSERT INTO profiles (id, name, base_url, created_at, updated_at)
                 VALUES ('p1', 'Work', 'http://127.0.0.1:1', '2026-01-01T00:00:00Z',
                         '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        let second = Store::open_in_dir(dir.path()).unwrap();
        (dir, first, second)
    }

    #[test]
    fn a_write_over_another_processes_write_is_refused_not_applied() {
        let (_dir, app, cli) = two_stores();
        let mut rotation = rotation_of("r1", "h1");
        app.save_rotation(&mut rotation, &[]).unwrap();
        assert_eq!(rotation.version, 1);

        // Both read version 1; the CLI writes first.
        let mut in_app = app.rotation("r1").unwrap().unwrap();
        let mut in_cli = cli.rotation("r1").unwrap().unwrap();
        assert_eq!((in_app.version, in_cli.version), (1, 1));
        in_cli.detail = Some("rolled back by the CLI".into());
        cli.save_rotation(&mut in_cli, &[]).unwrap();
        assert_eq!(in_cli.version, 2);

        in_app.detail = Some("the app deleted the old key".into());
        let note = JournalEntry::new(
            chrono::Utc::now(),
            JournalStep::Rotation,
            JournalPhase::Note,
            None,
            serde_json::json!({}),
        );
        let error = app.save_rotation(&mut in_app, &[note]).unwrap_err();
        assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
        assert!(
            error.to_string().contains("another Keyward process"),
            "{error}"
        );
        assert_eq!(in_app.version, 1);
        // Nothing of the losing write landed: neither the state nor its journal row.
        let stored = app.rotation("r1").unwrap().unwrap();
        assert_eq!(stored.detail.as_deref(), Some("rolled back by the CLI"));
        assert_eq!(stored.version, 2);
        assert!(app.rotation_journal("r1").unwrap().is_empty());
    }

    #[test]
    fn a_key_has_at_most_one_unfinished_rotation_across_processes() {
        let (_dir, app, cli) = two_stores();
        app.save_rotation(&mut rotation_of("r1", "h1"), &[])
            .unwrap();
        let error = cli
            .save_rotation(&mut rotation_of("r2", "h1"), &[])
            .unwrap_err();
        assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
        assert!(error.to_string().contains("unfinished rotation"), "{error}");
        assert!(cli.rotation("r2").unwrap().is_none());
        // Another key is fine; so is the same key once the first rotation has finished.
        cli.save_rotation(&mut rotation_of("r3", "h2"), &[])
            .unwrap();
        let mut first = app.rotation("r1").unwrap().unwrap();
        first.status = RotationStatus::RolledBack;
        app.save_rotation(&mut first, &[]).unwrap();
        cli.save_rotation(&mut rotation_of("r4", "h1"), &[])
            .unwrap();
    }

    #[test]
    fn the_database_on_disk_syncs_every_commit() {
        let (_dir, app, _cli) = two_stores();
        // 2 = FULL: a commit (a journal intent) is on disk before its side effect runs.
        assert_eq!(app.synchronous().unwrap(), 2);
    }

    #[test]
    fn an_unknown_word_is_a_store_error() {
        let store = store_with_rows(&[("create", "note", Some("exploded"))]);
        let error = store.rotation_journal("r1").unwrap_err();
        assert!(
            matches!(&error, Error::Store { message, .. } if message.contains("\"exploded\"")),
            "{error:?}"
        );
    }
}
