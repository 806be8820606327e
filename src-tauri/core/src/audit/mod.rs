//! The audit trail: a local, append-only, hash-chained log of every change Keyward makes (or tries
//! to make) — from the app or the CLI — with when, which profile, which front end, what, which key,
//! the values before and after, and how it ended. Never a secret: before/after come from the typed
//! [`AuditValue`] structs, which have no field a secret could go in, and every text is also passed
//! through [`redact`] before it is written.
//!
//! Each entry stores the hash of the entry before it (`prev_hash`) and its own `hash`: SHA-256 over a
//! canonical encoding of all its fields and `prev_hash` ([`chain`]). The newest entry's seq and hash
//! (the head) are also kept in the settings table, so removing entries from the end is detected.
//! [`verify`] walks the chain and names the first entry that was edited, removed, inserted or
//! reordered, or where the log was truncated. Limit: whoever can rewrite the whole database can
//! rebuild a consistent chain and head; the log proves integrity against partial edits, not against
//! an attacker with full write access to the file (that would need a key outside the file).

mod chain;
mod export;
mod log;
mod rotation;
mod values;
mod verify;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use chain::{GENESIS_HASH, entry_hash};
pub use export::{AuditExportFormat, export, write_export_file};
pub use log::HEAD_SETTING;
pub use rotation::rotation_entries;
pub use values::{
    AssignmentChange, AuditValue, BatchSummary, BudgetChange, DeployChange, GuardrailSettings,
    KeySettings, ProfileSettings, RotationChange, SecretResolution,
};
pub use verify::{AuditHead, AuditProblem, AuditProblemKind, AuditVerification, verify};

use crate::Error;

/// Which front end made a change.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FrontEnd {
    #[default]
    App,
    Cli,
}

/// What was done. The snake_case names are stable: they are stored, hashed and exported.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditAction {
    KeyCreate,
    KeyUpdate,
    KeyDisable,
    KeyEnable,
    KeyDelete,
    RotationStart,
    RotationStep,
    RotationAction,
    RotationEnd,
    Deploy,
    GuardrailCreate,
    GuardrailUpdate,
    GuardrailDelete,
    GuardrailAssign,
    GuardrailUnassign,
    WorkspaceBudgetUpdate,
    ProfileAdd,
    ProfileRemove,
    ProfileRename,
    ProfileReplaceKey,
    SecretResolve,
    // Reserved for the fleet operations (batch, emergency revoke, metadata, bulk create, import).
    BatchRun,
    EmergencyRevoke,
    EmergencyReenable,
    MetadataSet,
    BulkCreate,
    Import,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditOutcome {
    Ok,
    Failed,
}

/// An entry to append: the store adds seq, time, front end, profile name and the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub profile_id: String,
    /// Looked up from the profile when `None` (give it when the profile is gone or not yet saved).
    pub profile_name: Option<String>,
    pub action: AuditAction,
    pub key_hash: Option<String>,
    pub key_name: Option<String>,
    pub before: Option<AuditValue>,
    pub after: Option<AuditValue>,
    /// `None`: ok; `Some((kind, message))`: failed.
    pub failure: Option<(String, String)>,
}

impl NewAuditEntry {
    pub fn new(profile_id: impl Into<String>, action: AuditAction) -> Self {
        NewAuditEntry {
            profile_id: profile_id.into(),
            profile_name: None,
            action,
            key_hash: None,
            key_name: None,
            before: None,
            after: None,
            failure: None,
        }
    }

    pub fn key(mut self, hash: Option<&str>, name: Option<&str>) -> Self {
        self.key_hash = hash.map(str::to_owned);
        self.key_name = name.map(str::to_owned);
        self
    }

    pub fn profile_name(mut self, name: impl Into<String>) -> Self {
        self.profile_name = Some(name.into());
        self
    }

    pub fn before(mut self, value: impl Into<Option<AuditValue>>) -> Self {
        self.before = value.into();
        self
    }

    pub fn after(mut self, value: impl Into<Option<AuditValue>>) -> Self {
        self.after = value.into();
        self
    }

    /// Marks the entry failed with `error`'s kind and message.
    pub fn failed(mut self, error: &Error) -> Self {
        self.failure = Some((error.kind().to_string(), error.to_string()));
        self
    }

    /// Ok, or failed with the error of `result`.
    pub fn outcome<T>(self, result: &Result<T, Error>) -> Self {
        match result {
            Ok(_) => self,
            Err(error) => self.failed(error),
        }
    }
}

/// One stored entry, as listed and exported. `before`/`after` are JSON text (an [`AuditValue`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub profile_id: String,
    pub profile_name: String,
    pub front_end: FrontEnd,
    pub action: AuditAction,
    pub key_hash: Option<String>,
    pub key_name: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// What changed, for people: `limit: 10 → 20; disabled: false → true`.
    pub change: String,
    pub outcome: AuditOutcome,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Which entries to list or export; every filter is optional. Newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AuditFilter {
    #[ts(optional)]
    pub profile_id: Option<String>,
    #[ts(optional)]
    pub action: Option<AuditAction>,
    /// Part of a key's hash or name (case-insensitive).
    #[ts(optional)]
    pub key: Option<String>,
    #[ts(optional)]
    pub front_end: Option<FrontEnd>,
    #[ts(optional)]
    pub since: Option<DateTime<Utc>>,
    #[ts(optional)]
    pub until: Option<DateTime<Utc>>,
    /// Only entries older than this seq (the next page: the last seq of the previous one).
    #[ts(optional, type = "number")]
    pub before_seq: Option<i64>,
    /// At most this many (listing defaults to 200; export to all).
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// A page of entries, newest first; `next_before_seq` asks for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    #[ts(type = "number | null")]
    pub next_before_seq: Option<i64>,
}

/// Arguments of `audit_export`: which entries, in which format (the file is chosen in a native
/// save dialog opened by the shell, never named by the web view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditExportArgs {
    #[serde(default)]
    pub filter: AuditFilter,
    pub format: AuditExportFormat,
}

/// The result of `audit_export`: where it was written (`None`: the person cancelled) and how many
/// entries it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditExported {
    pub path: Option<String>,
    pub count: u32,
}

/// Replaces every OpenRouter secret (`sk-or-v1-` + 32 or more hex digits) in `text` with
/// `sk-or-v1-[redacted]`. The typed values can't hold one; error messages from elsewhere might.
pub fn redact(text: &str) -> String {
    const PREFIX: &str = "sk-or-v1-";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let after = &rest[at + PREFIX.len()..];
        let hex = after
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count();
        out.push_str(&rest[..at + PREFIX.len()]);
        if hex >= 16 {
            out.push_str("[redacted]");
            rest = &after[hex..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn action_names_are_stable_snake_case() {
        assert_eq!(AuditAction::KeyCreate.as_str(), "key_create");
        assert_eq!(
            AuditAction::WorkspaceBudgetUpdate.as_str(),
            "workspace_budget_update"
        );
        for action in AuditAction::VARIANTS {
            let json = serde_json::to_string(action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
        }
    }

    #[test]
    fn redact_removes_secrets_and_keeps_labels() {
        let secret = format!("sk-or-v1-{}", "ab12".repeat(16));
        assert_eq!(
            redact(&format!("bad key {secret}, ok")),
            "bad key sk-or-v1-[redacted], ok"
        );
        assert_eq!(redact("sk-or-v1-d35...55d"), "sk-or-v1-d35...55d");
    }
}
