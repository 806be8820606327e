//! The last saved scan in the store (`key_locations`, `key_location_scans`, schema v8) and the
//! chosen folders (the [`super::FOLDERS_SETTING`] setting). Only hashes and places: a row holding
//! anything secret-shaped is refused before it is written.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{FOLDERS_SETTING, Place, PlaceKind, ScanSummary};
use crate::Error;
use crate::store::{Store, json_error, refuse_secrets, store_error};

impl Store {
    /// The folders to scan, in the order they were added.
    pub fn locate_folders(&self) -> Result<Vec<String>, Error> {
        Ok(self.setting(FOLDERS_SETTING)?.unwrap_or_default())
    }

    pub fn set_locate_folders(&self, folders: &[String]) -> Result<(), Error> {
        self.set_setting(FOLDERS_SETTING, folders)
    }

    /// Replaces the stored findings with a scan's, in one transaction.
    pub fn save_key_locations(&self, summary: &ScanSummary, places: &[Place]) -> Result<(), Error> {
        let summary_json = serde_json::to_string(summary).map_err(json_error)?;
        refuse_secrets("a scan summary", &summary_json)?;
        for place in places {
            refuse_secrets(
                "a key location",
                &format!("{} {}", place.path, place.variable),
            )?;
        }
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        tx.execute("DELETE FROM key_locations", [])
            .map_err(store_error)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO key_locations
                     (kind, path, variable, line, key_hash, modified_at, found_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(store_error)?;
            for place in places {
                insert
                    .execute(params![
                        place.kind.as_str(),
                        place.path,
                        place.variable,
                        place.line,
                        place.key_hash,
                        place.modified_at,
                        place.found_at,
                    ])
                    .map_err(store_error)?;
            }
        }
        tx.execute(
            "INSERT INTO key_location_scans (singleton, summary, finished_at) VALUES (1, ?1, ?2)
             ON CONFLICT (singleton) DO UPDATE
             SET summary = excluded.summary, finished_at = excluded.finished_at",
            params![summary_json, summary.finished_at],
        )
        .map_err(store_error)?;
        tx.commit().map_err(store_error)
    }

    /// The stored findings, of one key hash or all, by path and line.
    pub fn key_locations(&self, key_hash: Option<&str>) -> Result<Vec<Place>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT kind, path, variable, line, key_hash, modified_at, found_at
                 FROM key_locations WHERE (?1 IS NULL OR key_hash = ?1)
                 ORDER BY kind, path, line, variable",
            )
            .map_err(store_error)?;
        statement
            .query_map(params![key_hash], |row| {
                let kind: String = row.get(0)?;
                Ok(Place {
                    kind: if kind == PlaceKind::Keychain.as_str() {
                        PlaceKind::Keychain
                    } else {
                        PlaceKind::EnvFile
                    },
                    path: row.get(1)?,
                    variable: row.get(2)?,
                    line: row.get(3)?,
                    key_hash: row.get(4)?,
                    modified_at: row.get::<_, Option<DateTime<Utc>>>(5)?,
                    found_at: row.get(6)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(store_error)
    }

    /// The summary of the last saved scan.
    pub fn last_key_location_scan(&self) -> Result<Option<ScanSummary>, Error> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT summary FROM key_location_scans WHERE singleton = 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(store_error)?;
        json.map(|json| serde_json::from_str(&json).map_err(json_error))
            .transpose()
    }
}
