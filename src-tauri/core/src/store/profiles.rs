//! Profile rows (name, base URL, workspace) and which profile is active. The management key of a
//! profile is in the keychain, never here; `ProfileManager` keeps the two in step.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Store, store_error};
use crate::Error;
use crate::api::endpoint::check_base_url;

/// OpenRouter's API root, the base URL of a new profile unless another is given.
pub use crate::api::DEFAULT_BASE_URL;

const MAX_NAME_CHARS: usize = 64;

/// A profile: one management key's account on one OpenRouter-compatible server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub workspace_id: Option<String>,
    /// A profile on the embedded emulator with demo data, never a real account.
    pub is_sandbox: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a person gives to create a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProfile {
    pub name: String,
    /// `None` means [`DEFAULT_BASE_URL`].
    pub base_url: Option<String>,
    pub workspace_id: Option<String>,
    pub is_sandbox: bool,
}

/// A partial update: `None` leaves a field alone; `workspace_id: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChanges {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub workspace_id: Option<Option<String>>,
}

const PROFILE_COLUMNS: &str =
    "id, name, base_url, workspace_id, is_sandbox, created_at, updated_at, last_used_at";

fn profile_from_row(row: &Row<'_>) -> rusqlite::Result<Profile> {
    Ok(Profile {
        id: row.get(0)?,
        name: row.get(1)?,
        base_url: row.get(2)?,
        workspace_id: row.get(3)?,
        is_sandbox: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        last_used_at: row.get(7)?,
    })
}

fn checked_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("profile name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "profile name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "profile name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// https only (plain http only to loopback), no credentials: `api::endpoint::check_base_url`.
fn checked_base_url(base_url: &str) -> Result<String, Error> {
    check_base_url(base_url).map_err(|why| Error::invalid("base URL", why))?;
    Ok(base_url.trim().trim_end_matches('/').to_owned())
}

fn checked_workspace(workspace_id: Option<&str>) -> Option<String> {
    workspace_id
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

/// Turns a unique-name violation into the message a person needs; other errors pass through.
fn name_conflict(err: rusqlite::Error, name: &str) -> Error {
    let unique = matches!(
        &err,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    );
    if unique {
        Error::ProfileNameTaken {
            name: name.to_owned(),
        }
    } else {
        store_error(err)
    }
}

impl Store {
    /// Adds a profile with a fresh id. Names are unique regardless of case.
    pub fn create_profile(&self, new: &NewProfile) -> Result<Profile, Error> {
        let name = checked_name(&new.name)?;
        let base_url = checked_base_url(new.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let now = Utc::now();
        let profile = Profile {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            base_url,
            workspace_id: checked_workspace(new.workspace_id.as_deref()),
            is_sandbox: new.is_sandbox,
            created_at: now,
            updated_at: now,
            last_used_at: None,
        };
        self.conn()
            .execute(
                "INSERT INTO profiles (id, name, base_url, workspace_id, is_sandbox, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![
                    profile.id,
                    profile.name,
                    profile.base_url,
                    profile.workspace_id,
                    profile.is_sandbox,
                    now
                ],
            )
            .map_err(|err| name_conflict(err, &profile.name))?;
        tracing::info!(profile = %profile.id, name = %profile.name, "created profile");
        Ok(profile)
    }

    pub fn profile(&self, id: &str) -> Result<Option<Profile>, Error> {
        self.conn()
            .query_row(
                &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1"),
                [id],
                profile_from_row,
            )
            .optional()
            .map_err(store_error)
    }

    /// Like [`Store::profile`], but a missing profile is an error.
    pub fn require_profile(&self, id: &str) -> Result<Profile, Error> {
        self.profile(id)?
            .ok_or_else(|| Error::ProfileNotFound { id: id.to_owned() })
    }

    /// Looks a profile up by name, ignoring case.
    pub fn profile_by_name(&self, name: &str) -> Result<Option<Profile>, Error> {
        self.conn()
            .query_row(
                &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE name = ?1"),
                [name.trim()],
                profile_from_row,
            )
            .optional()
            .map_err(store_error)
    }

    /// All profiles, by name.
    pub fn profiles(&self) -> Result<Vec<Profile>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {PROFILE_COLUMNS} FROM profiles ORDER BY name, created_at"
            ))
            .map_err(store_error)?;
        statement
            .query_map([], profile_from_row)
            .and_then(Iterator::collect)
            .map_err(store_error)
    }

    pub fn rename_profile(&self, id: &str, new_name: &str) -> Result<Profile, Error> {
        self.update_profile(
            id,
            &ProfileChanges {
                name: Some(new_name.to_owned()),
                ..ProfileChanges::default()
            },
        )
    }

    /// Applies `changes` and returns the updated profile.
    pub fn update_profile(&self, id: &str, changes: &ProfileChanges) -> Result<Profile, Error> {
        let mut profile = self.require_profile(id)?;
        if let Some(name) = &changes.name {
            profile.name = checked_name(name)?;
        }
        if let Some(base_url) = &changes.base_url {
            profile.base_url = checked_base_url(base_url)?;
        }
        if let Some(workspace_id) = &changes.workspace_id {
            profile.workspace_id = checked_workspace(workspace_id.as_deref());
        }
        profile.updated_at = Utc::now();
        self.conn()
            .execute(
                "UPDATE profiles SET name = ?2, base_url = ?3, workspace_id = ?4, updated_at = ?5
                 WHERE id = ?1",
                params![
                    profile.id,
                    profile.name,
                    profile.base_url,
                    profile.workspace_id,
                    profile.updated_at
                ],
            )
            .map_err(|err| name_conflict(err, &profile.name))?;
        Ok(profile)
    }

    /// Records that a profile was just used (for "recently used" ordering).
    pub fn touch_profile(&self, id: &str) -> Result<(), Error> {
        let changed = self
            .conn()
            .execute(
                "UPDATE profiles SET last_used_at = ?2 WHERE id = ?1",
                params![id, Utc::now()],
            )
            .map_err(store_error)?;
        if changed == 0 {
            return Err(Error::ProfileNotFound { id: id.to_owned() });
        }
        Ok(())
    }

    /// Removes a profile row and, by cascade, its cached keys, cache state and secret index rows.
    /// The keychain is not touched: use [`super::ProfileManager::remove`] to remove both.
    /// Returns whether the profile existed.
    pub fn remove_profile(&self, id: &str) -> Result<bool, Error> {
        let removed = self
            .conn()
            .execute("DELETE FROM profiles WHERE id = ?1", [id])
            .map_err(store_error)?;
        if removed > 0 {
            tracing::info!(profile = %id, "removed profile");
        }
        Ok(removed > 0)
    }

    /// The active profile's id, if one is set (and still exists).
    pub fn active_profile_id(&self) -> Result<Option<String>, Error> {
        self.conn()
            .query_row(
                "SELECT profile_id FROM active_profile WHERE singleton = 1",
                [],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(store_error)
    }

    pub fn active_profile(&self) -> Result<Option<Profile>, Error> {
        match self.active_profile_id()? {
            Some(id) => self.profile(&id),
            None => Ok(None),
        }
    }

    /// Switches to a profile (and marks it used), or clears the choice with `None`.
    pub fn set_active_profile(&self, id: Option<&str>) -> Result<(), Error> {
        if let Some(id) = id {
            self.require_profile(id)?;
        }
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        tx.execute(
            "INSERT INTO active_profile (singleton, profile_id) VALUES (1, ?1)
             ON CONFLICT (singleton) DO UPDATE SET profile_id = excluded.profile_id",
            [id],
        )
        .map_err(store_error)?;
        if let Some(id) = id {
            tx.execute(
                "UPDATE profiles SET last_used_at = ?2 WHERE id = ?1",
                params![id, Utc::now()],
            )
            .map_err(store_error)?;
        }
        tx.commit().map_err(store_error)
    }
}
