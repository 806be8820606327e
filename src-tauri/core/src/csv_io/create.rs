//! Bulk key creation from a CSV: each row becomes the arguments of one `key_create`, checked by the
//! service's own create rules (passed in, so there is one definition of each rule) and the
//! metadata rules before anything is sent. A name that already exists in the profile (or earlier in
//! the file) is refused: that is what lets a re-run or "retry the failed rows" never create a key
//! twice.

use std::collections::{HashMap, HashSet};

use super::CsvTable;
use super::labels::{invalid_message, secret_problem, split_tags};
use crate::Error;
use crate::api::LimitReset;
use crate::ipc::{
    CreateKeyArgs, CsvProblemKind, CsvRowProblem, KeysCsvPreview, PlannedKey, WorkspaceInfo,
};
use crate::metadata::KeyMetadata;

/// Columns a bulk-create file may have (`name` is required).
pub const CREATE_COLUMNS: [&str; 11] = [
    "name",
    "limit",
    "reset",
    "expiry",
    "workspace",
    "include_byok_in_limit",
    "tags",
    "environment",
    "project",
    "owner",
    "notes",
];

impl PlannedKey {
    /// The `key_create` arguments of this row.
    pub fn create_args(&self, profile_id: &str) -> CreateKeyArgs {
        CreateKeyArgs {
            profile_id: profile_id.to_owned(),
            name: self.name.clone(),
            limit: self.limit,
            limit_reset: self.limit_reset.clone(),
            include_byok_in_limit: self.include_byok_in_limit,
            expires_at: self.expires_at.clone(),
            workspace_id: self.workspace_id.clone(),
        }
    }
}

fn invalid(row: u32, field: &str, message: String) -> CsvRowProblem {
    CsvRowProblem {
        row,
        kind: CsvProblemKind::Invalid,
        field: Some(field.to_owned()),
        message,
    }
}

/// The keys `table` asks for. `existing` maps the profile's key names to a hash; `check` is the
/// service's create validation (one error per bad field).
pub fn plan_creation(
    table: &CsvTable,
    profile_id: &str,
    workspaces: &[WorkspaceInfo],
    existing: &HashMap<String, String>,
    check: impl Fn(&CreateKeyArgs) -> Vec<Error>,
) -> Result<KeysCsvPreview, Error> {
    let Some(name_col) = table.column(&["name"]) else {
        return Err(Error::invalid(
            "file",
            "the file needs a \"name\" column (and may have limit, reset, expiry, workspace, tags, \
             environment, project, owner, notes)",
        ));
    };
    let limit_col = table.column(&["limit"]);
    let reset_col = table.column(&["reset", "limit_reset"]);
    let expiry_col = table.column(&["expiry", "expires_at", "expires"]);
    let workspace_col = table.column(&["workspace", "workspace_id"]);
    let byok_col = table.column(&["include_byok_in_limit", "byok"]);
    let tags_col = table.column(&["tags"]);
    let env_col = table.column(&["environment", "env"]);
    let project_col = table.column(&["project"]);
    let owner_col = table.column(&["owner"]);
    let notes_col = table.column(&["notes"]);

    let mut preview = KeysCsvPreview {
        rows: u32::try_from(table.rows.len()).unwrap_or(u32::MAX),
        keys: Vec::new(),
        problems: Vec::new(),
    };
    let mut names_in_file: HashSet<String> = HashSet::new();
    for record in &table.rows {
        let row = record.row;
        if record.holds_secret() {
            preview.problems.push(secret_problem(row));
            continue;
        }
        let mut problems = Vec::new();
        let name = record.cell(Some(name_col)).to_owned();
        if let Some(hash) = existing.get(&name) {
            problems.push(CsvRowProblem {
                row,
                kind: CsvProblemKind::Exists,
                field: Some("name".into()),
                message: format!("a key named {name:?} already exists ({hash})"),
            });
        } else if !name.is_empty() && !names_in_file.insert(name.clone()) {
            problems.push(CsvRowProblem {
                row,
                kind: CsvProblemKind::Duplicate,
                field: Some("name".into()),
                message: format!("an earlier row already creates a key named {name:?}"),
            });
        }
        let limit = match record.cell(limit_col) {
            "" => None,
            text => match text.parse::<f64>() {
                Ok(limit) => Some(limit),
                Err(_) => {
                    problems.push(invalid(row, "limit", format!("{text:?} is not a number")));
                    None
                }
            },
        };
        let limit_reset = match record.cell(reset_col) {
            "" => None,
            text => match LimitReset::from_input(text) {
                Ok(reset) => Some(reset),
                Err(error) => {
                    problems.push(invalid(row, "reset", invalid_message(&error)));
                    None
                }
            },
        };
        let include_byok_in_limit = match record.cell(byok_col).to_lowercase().as_str() {
            "" | "false" | "no" | "0" => false,
            "true" | "yes" | "1" => true,
            other => {
                problems.push(invalid(
                    row,
                    "include_byok_in_limit",
                    format!("{other:?} is not true or false"),
                ));
                false
            }
        };
        let expires_at = match record.cell(expiry_col) {
            "" => None,
            // A date alone means the end of that day, UTC.
            text if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') => {
                Some(format!("{text}T23:59:59Z"))
            }
            text => Some(text.to_owned()),
        };
        let (workspace_id, workspace_name) = match record.cell(workspace_col) {
            "" => (None, None),
            text => match resolve_workspace(text, workspaces) {
                Some(found) => (Some(found.id.clone()), Some(found.name.clone())),
                None if workspaces.is_empty() => (Some(text.to_owned()), None),
                None => {
                    problems.push(invalid(
                        row,
                        "workspace",
                        format!("no workspace of this account is named or has the id {text:?}"),
                    ));
                    (None, None)
                }
            },
        };
        let metadata = KeyMetadata {
            tags: split_tags(record.cell(tags_col)),
            environment: Some(record.cell(env_col).to_owned()),
            project: Some(record.cell(project_col).to_owned()),
            owner: Some(record.cell(owner_col).to_owned()),
            notes: Some(record.cell(notes_col).to_owned()),
        };
        let planned = PlannedKey {
            row,
            name: name.clone(),
            limit,
            limit_reset,
            include_byok_in_limit,
            expires_at,
            workspace_id,
            workspace_name,
            metadata: KeyMetadata::default(),
        };
        let already: HashSet<String> = problems.iter().filter_map(|p| p.field.clone()).collect();
        for error in check(&planned.create_args(profile_id))
            .into_iter()
            .chain(metadata.errors())
        {
            let field = match &error {
                Error::InvalidInput { field, .. } => field.clone(),
                _ => None,
            };
            let field = field.map(|f| column_of(&f).to_owned());
            if field.as_ref().is_some_and(|f| already.contains(f)) {
                continue;
            }
            problems.push(CsvRowProblem {
                row,
                kind: CsvProblemKind::Invalid,
                field,
                message: invalid_message(&error),
            });
        }
        if problems.is_empty() {
            preview.keys.push(PlannedKey {
                metadata: metadata.normalized()?,
                ..planned
            });
        } else {
            preview.problems.extend(problems);
        }
    }
    Ok(preview)
}

/// The file's column for a field the create rules name.
fn column_of(field: &str) -> &str {
    match field {
        "limit_reset" => "reset",
        "expires_at" => "expiry",
        "workspace_id" => "workspace",
        other => other,
    }
}

/// A workspace by id, slug or name (names compared without case).
fn resolve_workspace<'a>(text: &str, workspaces: &'a [WorkspaceInfo]) -> Option<&'a WorkspaceInfo> {
    workspaces
        .iter()
        .find(|w| w.id == text || w.slug == text)
        .or_else(|| {
            let lower = text.to_lowercase();
            let mut named = workspaces.iter().filter(|w| w.name.to_lowercase() == lower);
            match (named.next(), named.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        })
}
