//! The log in the store: append (one transaction: read the head, chain, insert, move the head),
//! list with filters, and read everything in order for `verify`.

use chrono::{DateTime, Utc};
use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};

use super::chain::{GENESIS_HASH, format_at};
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
        let mut written = self.append_audits(std::slice::from_ref(entry), at)?;
        written.pop().ok_or_else(|| Error::Internal {
            message: "an audit append wrote nothing".to_owned(),
            source: None,
        })
    }

    /// Appends several entries in one transaction (one disk sync: a batch of a thousand keys
    /// records its thousand entries at the cost of one).
    pub fn append_audits(
        &self,
        entries: &[NewAuditEntry],
        at: DateTime<Utc>,
    ) -> Result<Vec<AuditEntry>, Error> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let at_text = format_at(at);
        let at = DateTime::parse_from_rfc3339(&at_text)
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or(at);
        let front_end = self.audit_front_end();
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
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
        let (mut seq, mut prev_hash) = match last {
            Some((seq, hash)) => (seq, hash),
            None => (0, GENESIS_HASH.to_owned()),
        };
        let mut written = Vec::with_capacity(entries.len());
        for entry in entries {
            seq += 1;
            let profile_name = match &entry.profile_name {
                Some(name) => name.clone(),
                None => self
                    .profile(&entry.profile_id)?
                    .map(|profile| profile.name)
                    .unwrap_or_default(),
            };
            let stored = stored_entry(entry, seq, at, profile_name, front_end, prev_hash)?;
            tx.execute(
                &format!(
                    "INSERT INTO audit_log ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                ),
                params![
                    stored.seq,
                    at_text,
                    stored.profile_id,
                    stored.profile_name,
                    <&str>::from(stored.front_end),
                    stored.action.as_str(),
                    stored.key_hash,
                    stored.key_name,
                    stored.before,
                    stored.after,
                    <&str>::from(stored.outcome),
                    stored.error_kind,
                    stored.error_message,
                    stored.prev_hash,
                    stored.hash
                ],
            )
            .map_err(store_error)?;
            prev_hash = stored.hash.clone();
            written.push(stored);
        }
        self.set_setting(
            HEAD_SETTING,
            &StoredHead {
                seq,
                hash: prev_hash,
            },
        )?;
        tx.commit().map_err(store_error)?;
        Ok(written)
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

/// The entry as it will be stored: texts redacted, values as JSON, chained to `prev_hash`.
fn stored_entry(
    entry: &NewAuditEntry,
    seq: i64,
    at: DateTime<Utc>,
    profile_name: String,
    front_end: super::FrontEnd,
    prev_hash: String,
) -> Result<AuditEntry, Error> {
    let json = |value: &Option<super::AuditValue>| {
        value
            .as_ref()
            .map(|value| serde_json::to_string(value).map(|json| redact(&json)))
            .transpose()
            .map_err(json_error)
    };
    let (before, after) = (json(&entry.before)?, json(&entry.after)?);
    let (error_kind, error_message) = match &entry.failure {
        Some((kind, message)) => (Some(kind.clone()), Some(redact(message))),
        None => (None, None),
    };
    let mut stored = AuditEntry {
        seq,
        at,
        profile_id: entry.profile_id.clone(),
        profile_name: redact(&profile_name),
        front_end,
        action: entry.action,
        key_hash: entry.key_hash.clone(),
        key_name: entry.key_name.as_deref().map(redact),
        change: summarize_json(before.as_deref(), after.as_deref()),
        before,
        after,
        outcome: if entry.failure.is_some() {
            AuditOutcome::Failed
        } else {
            AuditOutcome::Ok
        },
        error_kind,
        error_message,
        prev_hash,
        hash: String::new(),
    };
    stored.hash = super::chain::entry_hash(&stored);
    Ok(stored)
}
