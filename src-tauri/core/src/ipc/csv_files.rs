//! IPC types of the CSV flows: label export/import (preview, then apply) and bulk key creation
//! (preview, then a run with progress and a per-row result). Row numbers are the file's line numbers
//! (header = 1), as a spreadsheet shows them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::LimitReset;
use crate::error::AppError;
use crate::metadata::KeyMetadata;

/// Why a row of a CSV can't be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CsvProblemKind {
    /// No key of the profile has this hash (or name).
    UnknownKey,
    /// Several keys have this name and the row gives no hash.
    AmbiguousName,
    /// An earlier row already names the same key (or the same new key name).
    Duplicate,
    /// A cell breaks a rule (the field is named).
    Invalid,
    /// A cell holds something shaped like an OpenRouter secret: never in a CSV.
    Secret,
    /// Bulk create: a key with this name already exists (so a re-run never creates it twice).
    Exists,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CsvRowProblem {
    pub row: u32,
    pub kind: CsvProblemKind,
    pub field: Option<String>,
    pub message: String,
}

/// One key whose labels an import changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LabelChange {
    pub row: u32,
    pub hash: String,
    pub name: String,
    pub from: KeyMetadata,
    pub to: KeyMetadata,
}

/// What importing a labels file would do; nothing is applied yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LabelsImportPreview {
    /// Data rows in the file.
    pub rows: u32,
    pub changes: Vec<LabelChange>,
    /// Rows that match a key whose labels are already as the file says.
    pub unchanged: u32,
    pub problems: Vec<CsvRowProblem>,
}

/// What an import applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LabelsImportResult {
    pub applied: Vec<LabelChange>,
    /// Rows left out because they had a problem (only with "apply the valid rows").
    pub skipped_rows: Vec<u32>,
}

/// One key a bulk-create file asks for, as it will be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PlannedKey {
    pub row: u32,
    pub name: String,
    pub limit: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    pub include_byok_in_limit: bool,
    pub expires_at: Option<String>,
    pub workspace_id: Option<String>,
    /// The workspace's name when the file named a known one.
    pub workspace_name: Option<String>,
    pub metadata: KeyMetadata,
}

/// What a bulk-create file would create; nothing is sent yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysCsvPreview {
    pub rows: u32,
    pub keys: Vec<PlannedKey>,
    pub problems: Vec<CsvRowProblem>,
}

/// How one row of a bulk create ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum KeysCsvRowResult {
    /// Created; its secret waits in the keychain as pending. `metadata_error`: the labels could not
    /// be saved (the key exists; set them again).
    Created {
        hash: String,
        metadata_error: Option<String>,
    },
    /// Created, but the keychain refused the secret: this is its only copy (the run stopped here).
    CreatedSecretNotSaved {
        hash: String,
        secret: super::ShownSecret,
        error: AppError,
    },
    /// Not created. `may_exist`: the answer was lost after the request may have landed (a retry
    /// first checks the key list, so it never creates the key twice).
    Failed { error: AppError, may_exist: bool },
    /// Left out: a key with this name already exists (e.g. created by an earlier run).
    Exists { hash: String },
    /// Cancelled or stopped before its turn.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysCsvRowOutcome {
    pub row: u32,
    pub name: String,
    pub result: KeysCsvRowResult,
}

/// The end of a bulk-create run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysCsvRun {
    pub outcomes: Vec<KeysCsvRowOutcome>,
    pub created: u32,
    pub failed: u32,
    pub not_run: u32,
    pub cancelled: bool,
}

/// Sent after each row (and while a rate limit is waited out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysCsvProgress {
    pub done: u32,
    pub total: u32,
    pub row: u32,
    pub name: String,
    /// Set while OpenRouter asked to wait before the next request.
    pub waiting_ms: Option<u64>,
}

/// A labels file written by `labels_export_pick`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CsvSaved {
    pub path: String,
    pub keys: u32,
}

/// A labels file the person picked, read and previewed; `file_id` names it for the apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LabelsImportPicked {
    pub file_id: String,
    pub file_name: String,
    pub preview: LabelsImportPreview,
}

/// A bulk-create file the person picked, read and previewed; `file_id` names it for the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysCsvPicked {
    pub file_id: String,
    pub file_name: String,
    pub preview: KeysCsvPreview,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LabelsImportApplyArgs {
    pub profile_id: String,
    pub file_id: String,
    /// Apply the rows without problems and leave out the others.
    #[serde(default)]
    pub valid_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysCsvCreateArgs {
    pub profile_id: String,
    pub file_id: String,
    /// Only these rows ("retry the failed rows"); absent = every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub only_rows: Option<Vec<u32>>,
}
