//! Many-key operations: one operation (disable, enable, set or clear a limit, assign a guardrail,
//! delete) over many keys of a profile, with bounded concurrency, rate-limit awareness (a 429 waits
//! as told and is retried; it is never a failure), progress, cancel and a per-key result list; and
//! the emergency revoke built on it (disable every matching key, then delete or re-enable).
//!
//! This module holds the types front ends see, the generic runner (`runner`) and the filter
//! language (`filter`); the service methods that bind them to a profile's client and cache are in
//! `service::batch`.

pub mod filter;
pub mod runner;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Error;
use crate::api::{LimitReset, Patch, UpdateKeyRequest};
use crate::error::AppError;

pub use filter::KeyFilter;
pub use runner::{CancelFlag, RunnerConfig};

/// Requests in flight at once when the front end asks for no other number. With 50 ms of latency
/// and 5 % of requests answered 429 (each waiting its Retry-After of a second), 64 disables 1,000
/// keys in about three seconds; 32 took twice that, as the rate-limit waits hold their slots. A 429
/// never fails a key, so a server that wants fewer at once only slows the run down.
pub const DEFAULT_CONCURRENCY: u32 = 64;
/// The most requests in flight a front end may ask for.
pub const MAX_CONCURRENCY: u32 = 64;

/// What a batch does to each key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BatchOperation {
    Disable,
    Enable,
    /// Sets the spending limit (USD); `limit_reset` set when given, kept otherwise.
    SetLimit {
        limit: f64,
        #[serde(default)]
        limit_reset: Option<LimitReset>,
    },
    /// Removes the limit and its reset.
    ClearLimit,
    AssignGuardrail {
        guardrail_id: String,
    },
    Delete,
}

impl BatchOperation {
    /// A short name for logs and the CLI.
    pub fn as_str(&self) -> &'static str {
        match self {
            BatchOperation::Disable => "disable",
            BatchOperation::Enable => "enable",
            BatchOperation::SetLimit { .. } => "set_limit",
            BatchOperation::ClearLimit => "clear_limit",
            BatchOperation::AssignGuardrail { .. } => "assign_guardrail",
            BatchOperation::Delete => "delete",
        }
    }

    /// The PATCH this operation sends, for the operations that are one.
    pub fn update_request(&self) -> Option<UpdateKeyRequest> {
        let request = match self {
            BatchOperation::Disable => UpdateKeyRequest {
                disabled: Some(true),
                ..UpdateKeyRequest::default()
            },
            BatchOperation::Enable => UpdateKeyRequest {
                disabled: Some(false),
                ..UpdateKeyRequest::default()
            },
            BatchOperation::SetLimit { limit, limit_reset } => UpdateKeyRequest {
                limit: Patch::Set(*limit),
                limit_reset: limit_reset.clone().map_or(Patch::Keep, Patch::Set),
                ..UpdateKeyRequest::default()
            },
            BatchOperation::ClearLimit => UpdateKeyRequest {
                limit: Patch::Clear,
                limit_reset: Patch::Clear,
                ..UpdateKeyRequest::default()
            },
            BatchOperation::AssignGuardrail { .. } | BatchOperation::Delete => return None,
        };
        Some(request)
    }

    /// Refuses a bad operation before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(request) = self.update_request() {
            return request.validate();
        }
        if let BatchOperation::AssignGuardrail { guardrail_id } = self
            && guardrail_id.trim().is_empty()
        {
            return Err(Error::invalid("guardrail_id", "choose a guardrail"));
        }
        Ok(())
    }
}

/// Arguments of `batch_run`. `run_id` is chosen by the front end (a UUID) so it can cancel the run
/// while it is under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BatchArgs {
    pub profile_id: String,
    pub run_id: String,
    /// Key hashes; duplicates are dropped (no key is touched twice in a run).
    pub hashes: Vec<String>,
    pub operation: BatchOperation,
    /// Requests in flight at once (1 to 64); `null`: the default (64).
    #[serde(default)]
    #[ts(optional)]
    pub concurrency: Option<u32>,
}

/// Arguments of `batch_cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BatchCancelArgs {
    pub run_id: String,
}

/// How one key of a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyOutcome {
    /// The key is in the requested state.
    Done,
    /// It is not: `error` says why (retrying it may help).
    Failed,
    /// The run was cancelled before this key was sent (or while it waited out a rate limit).
    NotRun,
}

/// One key's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BatchKeyResult {
    pub hash: String,
    /// The key's name from the cache, when known.
    pub name: Option<String>,
    pub outcome: KeyOutcome,
    pub error: Option<AppError>,
    /// E.g. "already deleted" for a delete answered 404.
    pub note: Option<String>,
    /// How many 429 answers this key waited out.
    pub rate_limited: u32,
}

/// The whole run: one result per key, in the order asked (duplicates dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BatchReport {
    pub run_id: String,
    pub profile_id: String,
    pub operation: BatchOperation,
    pub results: Vec<BatchKeyResult>,
    pub total: u32,
    pub done: u32,
    pub failed: u32,
    pub not_run: u32,
    pub cancelled: bool,
}

impl BatchReport {
    /// The keys to send again with "retry the failed".
    pub fn failed_hashes(&self) -> Vec<String> {
        self.hashes_with(KeyOutcome::Failed)
    }

    pub fn hashes_with(&self, outcome: KeyOutcome) -> Vec<String> {
        self.results
            .iter()
            .filter(|result| result.outcome == outcome)
            .map(|result| result.hash.clone())
            .collect()
    }
}

/// The `batch-progress` event: counts so far and the key that just finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BatchProgressEvent {
    pub run_id: String,
    pub profile_id: String,
    pub total: u32,
    pub done: u32,
    pub failed: u32,
    pub not_run: u32,
    pub last: BatchKeyResult,
}

/// Which keys an emergency revoke acts on: the UI's selection, or a filter expression (the CLI and
/// the tray), e.g. `name:prod-* status:active`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevokeSelection {
    Hashes { hashes: Vec<String> },
    Filter { expression: String },
}

/// Arguments of `revoke_preview`: which keys a revoke would disable (from a fresh list when
/// `refresh`, falling back to the cache when OpenRouter can't be reached).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokePreviewArgs {
    pub profile_id: String,
    pub selection: RevokeSelection,
    #[serde(default)]
    pub refresh: bool,
}

/// A key a revoke matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokeMatch {
    pub hash: String,
    pub name: String,
    /// Already disabled: the revoke leaves it (and a re-enable will not touch it).
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokePreview {
    pub profile_id: String,
    pub matched: Vec<RevokeMatch>,
}

/// Arguments of `revoke_start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokeArgs {
    pub profile_id: String,
    pub run_id: String,
    pub selection: RevokeSelection,
}

/// Arguments of `revoke_delete` and `revoke_reenable`: one stored revoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokeFollowUpArgs {
    pub profile_id: String,
    pub run_id: String,
    pub revoke_id: String,
}

/// A revoke as stored: what it matched and which keys it disabled itself (the only ones a
/// re-enable turns back on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokeRecord {
    pub id: String,
    pub profile_id: String,
    pub created_at: DateTime<Utc>,
    /// The filter expression, or "selection of N keys".
    pub selection: String,
    pub matched: Vec<String>,
    pub disabled: Vec<String>,
    pub reenabled_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What `revoke_start` returns: the stored revoke and the disable run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RevokeReport {
    pub revoke: RevokeRecord,
    /// Matched keys that were already disabled (not part of the run).
    pub already_disabled: Vec<String>,
    pub report: BatchReport,
}

/// The `emergency-revoke-open` event (the tray's "Emergency revoke…"): the window opens the flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EmergencyRevokeOpenEvent {}

/// The cancel flags of the runs under way, by run id.
#[derive(Default)]
pub(crate) struct RunningBatches(Mutex<HashMap<String, CancelFlag>>);

impl RunningBatches {
    /// Registers a run; refused when a run with this id is under way.
    pub(crate) fn start(&self, run_id: &str) -> Result<RunGuard<'_>, Error> {
        if run_id.trim().is_empty() {
            return Err(Error::invalid("run_id", "must not be empty"));
        }
        let mut runs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if runs.contains_key(run_id) {
            return Err(Error::Conflict {
                message: format!("batch run {run_id} is already under way"),
            });
        }
        let flag = CancelFlag::default();
        runs.insert(run_id.to_owned(), flag.clone());
        Ok(RunGuard {
            runs: self,
            run_id: run_id.to_owned(),
            flag,
        })
    }

    /// Cancels a run under way; `false` when there is none with this id.
    pub(crate) fn cancel(&self, run_id: &str) -> bool {
        let runs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match runs.get(run_id) {
            Some(flag) => {
                flag.cancel();
                true
            }
            None => false,
        }
    }
}

/// A registered run; unregistered when dropped (a finished or failed run can't be cancelled).
pub(crate) struct RunGuard<'a> {
    runs: &'a RunningBatches,
    run_id: String,
    pub(crate) flag: CancelFlag,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.runs
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.run_id);
    }
}

/// Drops repeated hashes (and blanks), keeping the first of each in order.
pub fn dedupe(hashes: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    hashes
        .iter()
        .map(|hash| hash.trim())
        .filter(|hash| !hash.is_empty() && seen.insert(hash.to_owned()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_keeps_first_order_and_drops_blanks() {
        let input: Vec<String> = ["b", "a", " b ", "", "c", "a"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(dedupe(&input), ["b", "a", "c"]);
    }

    #[test]
    fn operations_are_validated_before_sending() {
        assert!(
            BatchOperation::SetLimit {
                limit: -1.0,
                limit_reset: None
            }
            .validate()
            .is_err()
        );
        assert!(
            BatchOperation::AssignGuardrail {
                guardrail_id: " ".into()
            }
            .validate()
            .is_err()
        );
        assert!(BatchOperation::Disable.validate().is_ok());
        assert!(BatchOperation::ClearLimit.validate().is_ok());
    }

    #[test]
    fn a_run_id_is_registered_once_and_freed_when_done() {
        let runs = RunningBatches::default();
        let guard = runs.start("r1").unwrap();
        assert!(runs.start("r1").is_err());
        assert!(runs.cancel("r1"));
        assert!(guard.flag.is_cancelled());
        drop(guard);
        assert!(!runs.cancel("r1"));
        assert!(runs.start("r1").is_ok());
    }
}
