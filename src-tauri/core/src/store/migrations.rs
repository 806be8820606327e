//! The store's schema, as an append-only list of migrations (the version is SQLite's `user_version`).
//! Never edit a released migration: add a new one.

use rusqlite::Connection;
use rusqlite_migration::{M, MigrationDefinitionError, Migrations};

use crate::Error;

const V1_PROFILES_CACHE_SECRET_INDEX: &str = r#"
CREATE TABLE profiles (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    base_url     TEXT NOT NULL,
    workspace_id TEXT,
    is_sandbox   INTEGER NOT NULL DEFAULT 0 CHECK (is_sandbox IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    last_used_at TEXT
) STRICT;

-- One row at most; the foreign key clears it when its profile is removed.
CREATE TABLE active_profile (
    singleton  INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    profile_id TEXT REFERENCES profiles (id) ON DELETE SET NULL
) STRICT;

CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL
) STRICT;

-- The key list as last fetched, per profile; `position` keeps the API's order (newest first).
CREATE TABLE cached_keys (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL,
    position   INTEGER NOT NULL,
    json       TEXT NOT NULL CHECK (json_valid(json)),
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (profile_id, key_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX cached_keys_by_position ON cached_keys (profile_id, position);

CREATE TABLE cache_meta (
    profile_id      TEXT PRIMARY KEY NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    last_refresh_at TEXT,
    last_error      TEXT,
    last_error_at   TEXT
) STRICT;

-- Which created keys have a secret in the keychain (pending until resolved, or kept on request).
-- The secret itself is never here.
CREATE TABLE pending_secrets (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL,
    key_name   TEXT NOT NULL,
    label      TEXT,
    created_at TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'kept')),
    PRIMARY KEY (profile_id, key_hash)
) STRICT;
"#;

const MIGRATIONS: &[M<'static>] = &[
    M::up(V1_PROFILES_CACHE_SECRET_INDEX).comment("profiles, cache, secret index"),
    M::up(include_str!("schema/v2_watch.sql")).comment("usage snapshots, alert ledger, snoozes"),
    M::up(include_str!("schema/v3_rotation.sql"))
        .comment("rotation journal, policies, deploy targets"),
    M::up(include_str!("schema/v4_rotation_leases.sql"))
        .comment("rotation versions and leases, one unfinished rotation per key"),
    M::up(include_str!("schema/v5_command_approvals.sql"))
        .comment("approved command deploy targets (digests)"),
    M::up(include_str!("schema/v6_audit_log.sql")).comment("hash-chained audit log"),
    M::up(include_str!("schema/v7_key_metadata.sql"))
        .comment("local key metadata: tags, environment, project, owner, notes"),
    M::up(include_str!("schema/v8_key_locations.sql"))
        .comment("where each key lives: hashes of found secrets and their places"),
    M::up(include_str!("schema/v9_revokes.sql"))
        .comment("emergency revokes: matched and disabled key hashes"),
];

/// How many migrations exist, i.e. the schema version of an up-to-date database.
pub(crate) const LATEST_VERSION: usize = MIGRATIONS.len();

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    Migrations::from_slice(MIGRATIONS)
        .to_latest(conn)
        .map_err(|err| {
            let message = match &err {
                rusqlite_migration::Error::MigrationDefinition(
                    MigrationDefinitionError::DatabaseTooFarAhead,
                ) => "the database was written by a newer Keyward: update Keyward to open it"
                    .to_owned(),
                other => format!("cannot update the database schema: {other}"),
            };
            Error::Store {
                message,
                source: Some(err.into()),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
        assert_eq!(LATEST_VERSION, 9);
    }

    /// A version-3 database where two processes had raced (two unfinished rotations of one key):
    /// the update keeps the newest, marks the other abandoned (its state too) and builds the index.
    #[test]
    fn version_4_resolves_two_unfinished_rotations_of_one_key() {
        let mut conn = Connection::open_in_memory().unwrap();
        Migrations::from_slice(MIGRATIONS)
            .to_version(&mut conn, 3)
            .unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO rotations (id, profile_id, old_key_hash, status, state, started_at, updated_at)
             VALUES ('older', 'p1', 'h', 'running', '{\"status\":\"running\"}',
                     '2026-11-23T12:00:00Z', '2026-11-23T12:05:00Z'),
                    ('newer', 'p1', 'h', 'waiting', '{\"status\":\"waiting\"}',
                     '2026-11-23T12:01:00Z', '2026-11-23T12:06:00Z'),
                    ('other', 'p1', 'k', 'running', '{\"status\":\"running\"}',
                     '2026-11-23T12:00:00Z', '2026-11-23T12:05:00Z');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, String, String, i64)> = conn
            .prepare(
                "SELECT id, status, json_extract(state, '$.status'), version FROM rotations ORDER BY id",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("newer".into(), "waiting".into(), "waiting".into(), 1),
                ("older".into(), "abandoned".into(), "abandoned".into(), 1),
                ("other".into(), "running".into(), "running".into(), 1),
            ]
        );
        let duplicate = conn.execute(
            "INSERT INTO rotations (id, profile_id, old_key_hash, status, state, started_at, updated_at)
             VALUES ('third', 'p1', 'h', 'failed', '{}', '2026-11-24T00:00:00Z', '2026-11-24T00:00:00Z')",
            [],
        );
        assert!(duplicate.is_err(), "{duplicate:?}");
    }
}
