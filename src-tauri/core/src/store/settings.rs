//! App settings as key → JSON value, so each module owns its settings' types without schema changes.

use chrono::Utc;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;

impl Store {
    /// The value of a setting, or `None` if it was never set.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let json: Option<String> = self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(store_error)?;
        json.map(|json| serde_json::from_str(&json).map_err(json_error))
            .transpose()
    }

    /// Sets (or replaces) a setting. A value carrying an OpenRouter secret is refused.
    pub fn set_setting<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), Error> {
        let json = serde_json::to_string(value).map_err(json_error)?;
        refuse_secrets(&format!("setting {key:?}"), &json)?;
        self.conn()
            .execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![key, json, Utc::now()],
            )
            .map_err(store_error)?;
        Ok(())
    }

    /// Removes a setting; returns whether it was set.
    pub fn remove_setting(&self, key: &str) -> Result<bool, Error> {
        self.conn()
            .execute("DELETE FROM settings WHERE key = ?1", [key])
            .map(|removed| removed > 0)
            .map_err(store_error)
    }
}
