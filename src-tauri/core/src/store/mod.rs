//! Keyward's local SQLite store: profiles, the active profile, settings, the last known key list per
//! profile (so the app opens instantly and works offline) and the index of created keys' secrets held
//! in the keychain. Nothing secret is ever written here: secrets live only in [`crate::vault`].
//!
//! A [`Store`] owns one connection; it is `Send` but not `Sync`, so share it behind a mutex. Calls are
//! short local disk operations; from async code prefer `tokio::task::spawn_blocking` for bulk writes.

mod cache;
mod command_approvals;
mod idle_evidence;
mod key_metadata;
mod migrations;
mod profile_manager;
mod profiles;
mod revokes;
mod rotation_journal;
mod rotation_leases;
mod rotation_policies;
mod secret_index;
mod settings;
mod watch_state;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::Error;

pub use cache::{CacheMeta, CachedKey};
pub use profile_manager::ProfileManager;
pub use profiles::{DEFAULT_BASE_URL, NewProfile, Profile, ProfileChanges};
pub use rotation_leases::LeaseHolder;
pub use secret_index::{NewSecretIndexEntry, SecretIndexEntry, SecretState};
pub use watch_state::{LedgerEntry, Snooze, StoredActivity, UsageSnapshot};

/// The schema version of a database this build has brought up to date.
pub const SCHEMA_VERSION: usize = migrations::LATEST_VERSION;

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "keyward.sqlite3";

/// How long a write waits for another connection (a second Keyward process, the CLI) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The desktop app's bundle identifier (`tauri.conf.json`), which names its data directory.
pub const APP_IDENTIFIER: &str = "dev.keyward.app";

/// Keyward's data directory for this OS user — the one the desktop app uses (Tauri's
/// `app_data_dir`: the OS data directory joined with [`APP_IDENTIFIER`]), so the CLI and the app
/// share profiles, cache and rotations: `~/.local/share/dev.keyward.app` on Linux,
/// `~/Library/Application Support/dev.keyward.app` on macOS, `%APPDATA%\dev.keyward.app` on Windows.
pub fn default_data_dir() -> Result<PathBuf, Error> {
    directories::BaseDirs::new()
        .map(|dirs| dirs.data_dir().join(APP_IDENTIFIER))
        .ok_or_else(|| Error::Store {
            message: "cannot find this user's home directory to keep Keyward's data in; set HOME \
                      (or pass an explicit data directory)"
                .to_owned(),
            source: None,
        })
}

/// The local store. See the module docs.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    /// Per profile, the writes to its cached keys (see `cache_changes`).
    cache_changes: std::cell::RefCell<std::collections::HashMap<String, cache::CacheChanges>>,
    /// Which front end this process is: recorded in every audit entry it appends.
    front_end: std::cell::Cell<crate::audit::FrontEnd>,
}

impl Store {
    /// Opens (creating if needed, with its parent directories) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Self, Error> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private_fs::ensure_private_dir(parent).map_err(|err| Error::Store {
                message: format!(
                    "cannot create the data directory {}: {err}",
                    parent.display()
                ),
                source: Some(err.into()),
            })?;
        }
        create_private(path);
        let conn = Connection::open(path).map_err(|err| Error::Store {
            message: format!("cannot open the database {}: {err}", path.display()),
            source: Some(err.into()),
        })?;
        let store = Self::prepare(conn, Some(path.to_path_buf()))?;
        tracing::debug!(path = %path.display(), "opened store");
        Ok(store)
    }

    /// Opens `keyward.sqlite3` inside `dir`.
    pub fn open_in_dir(dir: &Path) -> Result<Self, Error> {
        Self::open(&dir.join(DATABASE_FILE))
    }

    /// A private database that lives only as long as this value (the sandbox, tests).
    pub fn open_in_memory() -> Result<Self, Error> {
        let conn = Connection::open_in_memory().map_err(store_error)?;
        Self::prepare(conn, None)
    }

    fn prepare(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, Error> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(store_error)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(store_error)?;
        // Every transaction takes the write lock when it begins (waiting up to BUSY_TIMEOUT for
        // another process): a deferred one that reads first and writes later fails at once with
        // "database is locked" when another process (the CLI, the app) wrote in between.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        if path.is_some() {
            // WAL: readers (the CLI) never block the app's writes, and a crash mid-write is harmless.
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(store_error)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(%mode, "SQLite refused WAL mode; continuing with this journal mode");
            }
            // FULL, not NORMAL: with NORMAL a power loss can drop the last commits of the WAL, so a
            // rotation's intent could vanish while its effect (a created key, a written `.env`)
            // stays, and recovery would go the wrong way. FULL syncs the WAL at every commit; the
            // store is written rarely (a refresh, a rotation step), so the cost is a few fsyncs.
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(store_error)?;
        }
        migrations::migrate(&mut conn)?;
        Ok(Self {
            conn,
            path,
            cache_changes: std::cell::RefCell::default(),
            front_end: std::cell::Cell::default(),
        })
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version the database is at (the number of migrations applied).
    pub fn schema_version(&self) -> Result<u32, Error> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(store_error)
    }

    /// The journal mode in force (`wal` for databases on disk).
    pub fn journal_mode(&self) -> Result<String, Error> {
        self.conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .map_err(store_error)
    }

    /// SQLite's `synchronous` setting in force (2 = FULL for databases on disk).
    pub fn synchronous(&self) -> Result<i64, Error> {
        self.conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .map_err(store_error)
    }

    /// Moves everything in the WAL into the main file (e.g. before a backup or on exit).
    pub fn checkpoint(&self) -> Result<(), Error> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(store_error)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The front end audit entries appended through this store are recorded as.
    pub fn audit_front_end(&self) -> crate::audit::FrontEnd {
        self.front_end.get()
    }

    pub fn set_audit_front_end(&self, front_end: crate::audit::FrontEnd) {
        self.front_end.set(front_end);
    }
}

/// Nothing in the store is secret, but key names and spend are nobody else's business: the file is
/// created 0600 before SQLite opens it (SQLite then gives the `-wal` and `-shm` files it creates the
/// database file's mode), and an existing file or sidecar that grants more is narrowed. A failure is
/// logged: SQLite reports a database it cannot open.
fn create_private(path: &Path) {
    use crate::private_fs::{PRIVATE_FILE_MODE, ensure_private_file, narrow_if_present};
    if let Err(err) = ensure_private_file(path) {
        tracing::warn!(path = %path.display(), error = %err, "could not create the database private to its owner");
    }
    for sidecar in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(sidecar);
        if let Err(err) = narrow_if_present(Path::new(&name), PRIVATE_FILE_MODE) {
            tracing::warn!(path = %path.display(), error = %err, "could not restrict a database file to its owner");
        }
    }
}

pub(crate) fn store_error(err: rusqlite::Error) -> Error {
    Error::Store {
        message: err.to_string(),
        source: Some(err.into()),
    }
}

pub(crate) fn json_error(err: serde_json::Error) -> Error {
    Error::Store {
        message: format!("cannot convert a stored value to or from JSON: {err}"),
        source: Some(err.into()),
    }
}

/// Refuses text that carries an OpenRouter secret (`sk-or-v1-` and at least 32 hex digits). Masked
/// labels (`sk-or-v1-d35...55d`) pass; a full key, e.g. a create response cached by mistake, does not.
pub(crate) fn refuse_secrets(what: &str, text: &str) -> Result<(), Error> {
    const PREFIX: &str = "sk-or-v1-";
    let carries_secret = text.match_indices(PREFIX).any(|(at, _)| {
        text[at + PREFIX.len()..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .count()
            >= 32
    });
    if carries_secret {
        return Err(Error::Store {
            message: format!(
                "refused to write {what}: it contains an OpenRouter secret, and secrets are kept only \
                 in the system keychain"
            ),
            source: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_full_secrets_but_not_masked_labels() {
        refuse_secrets("x", r#"{"label":"sk-or-v1-d35...55d"}"#).unwrap();
        refuse_secrets("x", "sk-or-v1-local-management-key").unwrap();
        let full = format!("{{\"key\":\"sk-or-v1-{}\"}}", "d3558566a246d575".repeat(4));
        let err = refuse_secrets("the cached key list", &full).unwrap_err();
        assert_eq!(err.kind(), "store");
        assert!(!err.to_string().contains("d3558566a246d575"));
    }
}
