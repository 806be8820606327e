//! Emergency revokes as the store keeps them: what each matched and which keys it disabled itself,
//! so a later "re-enable" (from any front end, even another process) turns on exactly those.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, store_error};
use crate::Error;
use crate::batch::RevokeRecord;

fn hashes_json(hashes: &[String]) -> Result<String, Error> {
    serde_json::to_string(hashes).map_err(|error| Error::Internal {
        message: format!("could not encode key hashes ({error})"),
        source: Some(error.into()),
    })
}

fn parse_hashes(text: &str) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, error.into())
    })
}

fn record(row: &Row<'_>) -> rusqlite::Result<RevokeRecord> {
    Ok(RevokeRecord {
        id: row.get(0)?,
        profile_id: row.get(1)?,
        created_at: row.get(2)?,
        selection: row.get(3)?,
        matched: parse_hashes(&row.get::<_, String>(4)?)?,
        disabled: parse_hashes(&row.get::<_, String>(5)?)?,
        reenabled_at: row.get(6)?,
        deleted_at: row.get(7)?,
    })
}

const COLUMNS: &str =
    "id, profile_id, created_at, selection, matched, disabled, reenabled_at, deleted_at";

impl Store {
    /// Saves a revoke (new, or with its lists and times updated).
    pub fn save_revoke(&self, revoke: &RevokeRecord) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO revokes (id, profile_id, created_at, selection, matched, disabled,
                                      reenabled_at, deleted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET matched = excluded.matched,
                     disabled = excluded.disabled, reenabled_at = excluded.reenabled_at,
                     deleted_at = excluded.deleted_at",
                params![
                    revoke.id,
                    revoke.profile_id,
                    revoke.created_at,
                    revoke.selection,
                    hashes_json(&revoke.matched)?,
                    hashes_json(&revoke.disabled)?,
                    revoke.reenabled_at,
                    revoke.deleted_at,
                ],
            )
            .map_err(store_error)?;
        Ok(())
    }

    pub fn revoke(&self, profile_id: &str, id: &str) -> Result<Option<RevokeRecord>, Error> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM revokes WHERE profile_id = ?1 AND id = ?2"),
                [profile_id, id],
                record,
            )
            .optional()
            .map_err(store_error)
    }

    /// A profile's revokes, newest first.
    pub fn revokes(&self, profile_id: &str) -> Result<Vec<RevokeRecord>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM revokes WHERE profile_id = ?1
                 ORDER BY created_at DESC, rowid DESC"
            ))
            .map_err(store_error)?;
        statement
            .query_map([profile_id], record)
            .and_then(Iterator::collect)
            .map_err(store_error)
    }

    /// Marks a revoke re-enabled or deleted at `at`.
    pub fn mark_revoke(
        &self,
        id: &str,
        reenabled_at: Option<DateTime<Utc>>,
        deleted_at: Option<DateTime<Utc>>,
    ) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE revokes SET reenabled_at = COALESCE(?2, reenabled_at),
                                    deleted_at = COALESCE(?3, deleted_at) WHERE id = ?1",
                params![id, reenabled_at, deleted_at],
            )
            .map_err(store_error)?;
        Ok(())
    }
}

impl Store {
    /// Runs `write` inside one transaction (one sync to disk for all its statements): a batch
    /// run's cache updates are written this way, many keys at a time.
    pub fn in_transaction<T>(
        &self,
        write: impl FnOnce(&Store) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        let out = write(self)?;
        tx.commit().map_err(store_error)?;
        Ok(out)
    }
}
