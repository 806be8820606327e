//! The command deploy targets the person approved, by digest (`deploy::target_digest`): never the
//! target itself, and nothing the web view can write (only a front end's approval prompt, through
//! the rotation service, records one).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, store_error};
use crate::Error;

impl Store {
    /// Records that the person approved the command target with this digest.
    pub fn approve_command(&self, digest: &str, at: DateTime<Utc>) -> Result<(), Error> {
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("digest", "must be a SHA-256 in hex"));
        }
        self.conn()
            .execute(
                "INSERT INTO command_approvals (digest, approved_at) VALUES (?1, ?2)
                 ON CONFLICT (digest) DO NOTHING",
                params![digest, at],
            )
            .map_err(store_error)?;
        Ok(())
    }

    /// Whether the command target with this digest was approved.
    pub fn is_command_approved(&self, digest: &str) -> Result<bool, Error> {
        self.conn()
            .query_row(
                "SELECT 1 FROM command_approvals WHERE digest = ?1",
                [digest],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(store_error)
    }

    /// Every approved digest.
    pub fn approved_commands(&self) -> Result<HashSet<String>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT digest FROM command_approvals")
            .map_err(store_error)?;
        statement
            .query_map([], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(store_error)
    }
}
