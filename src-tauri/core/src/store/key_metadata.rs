//! The `key_metadata` table: each key's local tags, environment, project, owner and notes (see
//! [`crate::metadata`]). Callers pass metadata already normalized; nothing here is ever sent anywhere.

use std::collections::HashMap;

use chrono::Utc;
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;
use crate::metadata::KeyMetadata;

const COLUMNS: &str = "tags, environment, project, owner, notes";

fn from_row(
    row: &Row<'_>,
    first: usize,
) -> rusqlite::Result<(String, Option<String>, [Option<String>; 3])> {
    Ok((
        row.get::<_, String>(first)?,
        row.get(first + 1)?,
        [
            row.get(first + 2)?,
            row.get(first + 3)?,
            row.get(first + 4)?,
        ],
    ))
}

fn decode(
    (tags, environment, [project, owner, notes]): (String, Option<String>, [Option<String>; 3]),
) -> Result<KeyMetadata, Error> {
    Ok(KeyMetadata {
        tags: serde_json::from_str(&tags).map_err(json_error)?,
        environment,
        project,
        owner,
        notes,
    })
}

impl Store {
    /// A key's metadata; the default (nothing set) when it has none.
    pub fn key_metadata(&self, profile_id: &str, key_hash: &str) -> Result<KeyMetadata, Error> {
        let row = self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM key_metadata WHERE profile_id = ?1 AND key_hash = ?2"
                ),
                params![profile_id, key_hash],
                |row| from_row(row, 0),
            )
            .optional()
            .map_err(store_error)?;
        row.map(decode).transpose().map(Option::unwrap_or_default)
    }

    /// Every key of a profile that has metadata, by key hash.
    pub fn profile_key_metadata(
        &self,
        profile_id: &str,
    ) -> Result<HashMap<String, KeyMetadata>, Error> {
        let mut statement = self
            .conn()
            .prepare(&format!(
                "SELECT key_hash, {COLUMNS} FROM key_metadata WHERE profile_id = ?1"
            ))
            .map_err(store_error)?;
        let rows = statement
            .query_map([profile_id], |row| {
                Ok((row.get::<_, String>(0)?, from_row(row, 1)?))
            })
            .map_err(store_error)?;
        let mut all = HashMap::new();
        for row in rows {
            let (hash, raw) = row.map_err(store_error)?;
            all.insert(hash, decode(raw)?);
        }
        Ok(all)
    }

    /// Replaces a key's metadata (`metadata` normalized by the caller); empty metadata removes the row.
    /// Text carrying an OpenRouter secret is refused (notes are free text).
    pub fn set_key_metadata(
        &self,
        profile_id: &str,
        key_hash: &str,
        metadata: &KeyMetadata,
    ) -> Result<(), Error> {
        if metadata.is_empty() {
            return self.remove_key_metadata(profile_id, key_hash).map(drop);
        }
        let tags = serde_json::to_string(&metadata.tags).map_err(json_error)?;
        for text in [
            Some(tags.as_str()),
            metadata.environment.as_deref(),
            metadata.project.as_deref(),
            metadata.owner.as_deref(),
            metadata.notes.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            refuse_secrets("key metadata", text)?;
        }
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO key_metadata (profile_id, key_hash, {COLUMNS}, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (profile_id, key_hash) DO UPDATE SET
                       tags = excluded.tags, environment = excluded.environment,
                       project = excluded.project, owner = excluded.owner, notes = excluded.notes,
                       updated_at = excluded.updated_at"
                ),
                params![
                    profile_id,
                    key_hash,
                    tags,
                    metadata.environment,
                    metadata.project,
                    metadata.owner,
                    metadata.notes,
                    Utc::now()
                ],
            )
            .map_err(store_error)?;
        Ok(())
    }

    /// Forgets a key's metadata (the key was deleted); returns whether it had any.
    pub fn remove_key_metadata(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        self.conn()
            .execute(
                "DELETE FROM key_metadata WHERE profile_id = ?1 AND key_hash = ?2",
                params![profile_id, key_hash],
            )
            .map(|removed| removed > 0)
            .map_err(store_error)
    }

    /// Gives `to` the metadata of `from` (a rotation's new key takes over the old one's), unless `to`
    /// already has its own. `from` keeps its copy until it is deleted. Returns whether it copied.
    pub fn copy_key_metadata(&self, profile_id: &str, from: &str, to: &str) -> Result<bool, Error> {
        self.conn()
            .execute(
                &format!(
                    "INSERT OR IGNORE INTO key_metadata (profile_id, key_hash, {COLUMNS}, updated_at)
                     SELECT profile_id, ?3, {COLUMNS}, ?4 FROM key_metadata
                     WHERE profile_id = ?1 AND key_hash = ?2"
                ),
                params![profile_id, from, to, Utc::now()],
            )
            .map(|copied| copied > 0)
            .map_err(store_error)
    }
}
