//! The log in the store: append (one transaction: read the head, chain, insert, move the head),
//! list with filters, and read everything in order for `verify`.

use chrono::{DateTime, Utc};
use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};

use super::chain::{ChainFields, GENESIS_HASH, format_at, hash_fields};
use super::values::summarize_json;
use super::{AuditAction, AuditEntry, AuditFilter, AuditOutcome, AuditPage, NewAuditEntry, redact};
use crate::Error;
use crate::store::{Store, json_error, store_error};

/// The settings key holding the chain head (seq and hash of the newest entry).
pub const HEAD_SETTING: &str = "audit.head";

/// How many entries a listing returns when the filter names no limit.
const DEFAULT_PAGE: u32 = 200;

/// The chain head as kept in the settings table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredHead {
    pub seq: i64,
    pub hash: String,
}

const COLUMNS: &str = "seq, at, profile_id, profile_name, front_end, action, key_hash, key_name, \
                       before, after, outcome, error_kind, error_message, prev_hash, hash";

fn word<T: std::str::FromStr>(index: usize, text: &str) -> rusqlite::Result<T> {
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown audit word {text:?}").into(),
        )
    })
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let at: String = row.get(1)?;
    let at = DateTime::parse_from_rfc3339(&at)
        .map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, err.into())
        })?
        .with_timezone(&Utc);
    let front_end: String = row.get(4)?;
    let action: String = row.get(5)?;
    let outcome: String = row.get(10)?;
    let before: Option<String> = row.get(8)?;
    let after: Option<String> = row.get(9)?;
    Ok(AuditEntry {
        seq: row.get(0)?,
        at,
        profile_id: row.get(2)?,
        profile_name: row.get(3)?,
        front_end: word(4, &front_end)?,
        action: word(5, &action)?,
        key_hash: row.get(6)?,
        key_name: row.get(7)?,
        change: summarize_json(before.as_deref(), after.as_deref()),
        before,
        after,
        outcome: match outcome.as_str() {
            "ok" => AuditOutcome::Ok,
            _ => AuditOutcome::Failed,
        },
        error_kind: row.get(11)?,
        error_message: row.get(12)?,
        prev_hash: row.get(13)?,
        hash: row.get(14)?,
    })
}

impl Store {
    /// Appends an entry at `at` (front end: this store's [`Store::audit_front_end`]) and moves the
    /// head, in one transaction. Texts are redacted of secrets before they are written.
    pub fn append_audit(
        &self,
        entry: &NewAuditEntry,
        at: DateTime<Utc>,
    ) -> Result<AuditEntry, Error> {
        let before = entry
            .before
            .as_ref()
            .map(|value| serde_json::to_string(value).map(|json| redact(&json)))
            .transpose()
            .map_err(json_error)?;
        let after = entry
            .after
            .as_ref()
            .map(|value| serde_json::to_string(value).map(|json| redact(&json)))
            .transpose()
            .map_err(json_error)?;
        let key_name = entry.key_name.as_deref().map(redact);
        let (error_kind, error_message) = match &entry.failure {
            Some((kind, message)) => (Some(kind.clone()), Some(redact(message))),
            None => (None, None),
        };
        let outcome = if entry.failure.is_some() {
            AuditOutcome::Failed
        } else {
            AuditOutcome::Ok
        };
        let at_text = format_at(at);
        let front_end = self.audit_front_end();

        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        let profile_name = match &entry.profile_name {
            Some(name) => name.clone(),
            None => self
                .profile(&entry.profile_id)?
                .map(|profile| profile.name)
                .unwrap_or_default(),
        };
        // The head is the table's newest row; the copy in settings is only for detecting a cut tail.
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map(Some)
            .or_else(|err| match err {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(other),
            })
            .map_err(store_error)?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let fields = ChainFields {
            seq,
            at: &at_text,
            profile_id: &entry.profile_id,
            profile_name: &profile_name,
            front_end: front_end.into(),
            action: entry.action.as_str(),
            key_hash: entry.key_hash.as_deref(),
            key_name: key_name.as_deref(),
            before: before.as_deref(),
            after: after.as_deref(),
            outcome: outcome.into(),
            error_kind: error_kind.as_deref(),
            error_message: error_message.as_deref(),
            prev_hash: &prev_hash,
        };
        let hash = hash_fields(&fields);
        tx.execute(
            &format!("INSERT INTO audit_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
            params![
                seq,
                at_text,
                entry.profile_id,
                profile_name,
                fields.front_end,
                fields.action,
                entry.key_hash,
                key_name,
                before,
                after,
                fields.outcome,
                error_kind,
                error_message,
                prev_hash,
                hash
            ],
        )
        .map_err(store_error)?;
        self.set_setting(
            HEAD_SETTING,
            &StoredHead {
                seq,
                hash: hash.clone(),
            },
        )?;
        tx.commit().map_err(store_error)?;
        let at = DateTime::parse_from_rfc3339(&at_text)
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or(at);
        Ok(AuditEntry {
            seq,
            at,
            profile_id: entry.profile_id.clone(),
            profile_name,
            front_end,
            action: entry.action,
            key_hash: entry.key_hash.clone(),
            key_name,
            change: summarize_json(before.as_deref(), after.as_deref()),
            before,
            after,
            outcome,
            error_kind,
            error_message,
            prev_hash,
            hash,
        })
    }

    /// Entries matching `filter`, newest first, at most `filter.limit` (default 200; 0 = all).
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
        let key = filter
            .key
            .as_deref()
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(|key| {
                format!(
                    "%{}%",
                    key.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            });
        let limit = match filter.limit {
            Some(0) => -1,
            Some(limit) => i64::from(limit),
            None => i64::from(DEFAULT_PAGE),
        };
        let mut statement = self
            .conn()
            .prepare(&format!(
                "SELECT {COLUMNS} FROM audit_log
                 WHERE (?1 IS NULL OR profile_id = ?1)
                   AND (?2 IS NULL OR action = ?2)
                   AND (?3 IS NULL OR key_hash LIKE ?3 ESCAPE '\\' OR key_name LIKE ?3 ESCAPE '\\')
                   AND (?4 IS NULL OR front_end = ?4)
                   AND (?5 IS NULL OR at >= ?5)
                   AND (?6 IS NULL OR at <= ?6)
                   AND (?7 IS NULL OR seq < ?7)
                 ORDER BY seq DESC
                 LIMIT ?8"
            ))
            .map_err(store_error)?;
        let rows = statement
            .query_map(
                params![
                    filter.profile_id,
                    filter.action.map(AuditAction::as_str),
                    key,
                    filter.front_end.map(<&str>::from),
                    filter.since.map(format_at),
                    filter.until.map(format_at),
                    filter.before_seq,
                    limit
                ],
                entry_from_row,
            )
            .map_err(store_error)?;
        rows.collect::<Result<_, _>>().map_err(store_error)
    }

    /// A page of entries, newest first, with where the next page starts.
    pub fn audit_page(&self, filter: &AuditFilter) -> Result<AuditPage, Error> {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE);
        let entries = self.audit_entries(filter)?;
        let full = limit > 0 && entries.len() >= limit as usize;
        Ok(AuditPage {
            next_before_seq: if full {
                entries.last().map(|entry| entry.seq)
            } else {
                None
            },
            entries,
        })
    }

    /// Every entry in seq order, for `verify`.
    pub(crate) fn audit_chain(&self) -> Result<Vec<AuditEntry>, Error> {
        let mut statement = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"))
            .map_err(store_error)?;
        let rows = statement
            .query_map([], entry_from_row)
            .map_err(store_error)?;
        rows.collect::<Result<_, _>>().map_err(store_error)
    }

    pub(crate) fn audit_head(&self) -> Result<Option<StoredHead>, Error> {
        self.setting(HEAD_SETTING)
    }
}
