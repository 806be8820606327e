//! The index of created keys whose secret sits in the keychain: `pending` from the moment a key is
//! created until the person says they stored it elsewhere, or `kept` when they asked Keyward to keep
//! it. The keychain cannot list entries, so this is how they are found again after a crash. It holds
//! names and hashes only, never a secret.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Store, refuse_secrets, store_error};
use crate::Error;

/// Stored as its snake_case name; serde (the UI) and strum (the database column) agree.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ts_rs::TS,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SecretState {
    /// Shown once, not yet confirmed as stored elsewhere: list it until resolved.
    Pending,
    /// The person chose to keep it in the keychain.
    Kept,
}

impl SecretState {
    fn parse(text: &str) -> rusqlite::Result<Self> {
        text.parse().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("unknown secret state {text:?}").into(),
            )
        })
    }
}

/// What to record when a key is created, before its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecretIndexEntry {
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    /// The masked label OpenRouter gives (`sk-or-v1-d35...55d`), to recognise the key.
    pub label: Option<String>,
}

impl NewSecretIndexEntry {
    /// The row for a key OpenRouter just returned (its name and masked label, never the secret).
    pub fn for_key(profile_id: &str, key: &crate::api::ApiKey) -> Self {
        Self {
            profile_id: profile_id.to_owned(),
            key_hash: key.hash.clone(),
            key_name: key.name.clone(),
            label: Some(key.label.clone()),
        }
    }
}

/// A created key whose secret Keyward holds in the keychain (listed in the UI's pending secrets).
/// Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SecretIndexEntry {
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub state: SecretState,
}

const INDEX_COLUMNS: &str = "profile_id, key_hash, key_name, label, created_at, state";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<SecretIndexEntry> {
    Ok(SecretIndexEntry {
        profile_id: row.get(0)?,
        key_hash: row.get(1)?,
        key_name: row.get(2)?,
        label: row.get(3)?,
        created_at: row.get(4)?,
        state: SecretState::parse(&row.get::<_, String>(5)?)?,
    })
}

impl Store {
    /// Records a just-created key's secret as pending (re-recording one resets it to pending).
    pub fn record_pending_secret(
        &self,
        new: &NewSecretIndexEntry,
    ) -> Result<SecretIndexEntry, Error> {
        refuse_secrets("the secret index", &new.key_name)?;
        if let Some(label) = &new.label {
            refuse_secrets("the secret index", label)?;
        }
        self.require_profile(&new.profile_id)?;
        let entry = SecretIndexEntry {
            profile_id: new.profile_id.clone(),
            key_hash: new.key_hash.clone(),
            key_name: new.key_name.clone(),
            label: new.label.clone(),
            created_at: Utc::now(),
            state: SecretState::Pending,
        };
        self.conn()
            .execute(
                "INSERT INTO pending_secrets (profile_id, key_hash, key_name, label, created_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (profile_id, key_hash) DO UPDATE
                 SET key_name = excluded.key_name, label = excluded.label,
                     created_at = excluded.created_at, state = excluded.state",
                params![
                    entry.profile_id,
                    entry.key_hash,
                    entry.key_name,
                    entry.label,
                    entry.created_at,
                    <&str>::from(entry.state)
                ],
            )
            .map_err(store_error)?;
        Ok(entry)
    }

    /// Every indexed secret, optionally of one profile and/or one state, oldest first.
    pub fn secret_index(
        &self,
        profile_id: Option<&str>,
        state: Option<SecretState>,
    ) -> Result<Vec<SecretIndexEntry>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {INDEX_COLUMNS} FROM pending_secrets
                 WHERE (?1 IS NULL OR profile_id = ?1) AND (?2 IS NULL OR state = ?2)
                 ORDER BY created_at, key_name"
            ))
            .map_err(store_error)?;
        statement
            .query_map(params![profile_id, state.map(<&str>::from)], entry_from_row)
            .and_then(Iterator::collect)
            .map_err(store_error)
    }

    /// Unresolved secrets across all profiles: what the app lists until each is resolved.
    pub fn pending_secrets(&self) -> Result<Vec<SecretIndexEntry>, Error> {
        self.secret_index(None, Some(SecretState::Pending))
    }

    pub fn secret_index_entry(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<SecretIndexEntry>, Error> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {INDEX_COLUMNS} FROM pending_secrets WHERE profile_id = ?1 AND key_hash = ?2"
                ),
                [profile_id, key_hash],
                entry_from_row,
            )
            .optional()
            .map_err(store_error)
    }

    /// Marks a secret as kept in the keychain; returns whether it was indexed.
    pub fn mark_secret_kept(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        self.conn()
            .execute(
                "UPDATE pending_secrets SET state = 'kept' WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key_hash],
            )
            .map(|changed| changed > 0)
            .map_err(store_error)
    }

    /// Forgets an indexed secret once its keychain entry is gone; returns whether it was indexed.
    pub fn remove_secret_index_entry(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<bool, Error> {
        self.conn()
            .execute(
                "DELETE FROM pending_secrets WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key_hash],
            )
            .map(|removed| removed > 0)
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_agree_in_serde_and_the_database() {
        for (state, name) in [
            (SecretState::Pending, "pending"),
            (SecretState::Kept, "kept"),
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), name);
            assert_eq!(<&str>::from(state), name);
            assert_eq!(SecretState::parse(name).unwrap(), state);
        }
        assert!(SecretState::parse("lost").is_err());
    }
}
