//! Key labels as CSV: the export (one row per key; labels plus read-only columns that help a person
//! find the key) and the import preview (rows matched to keys by hash, or by a unique name; each
//! changed key with its labels from → to; every problem with its row). A labels column left out of
//! the file leaves that label as it is; an empty cell clears it.

use std::collections::{HashMap, HashSet};

use super::{CsvTable, looks_like_secret, write_table};
use crate::Error;
use crate::ipc::{
    CsvProblemKind, CsvRowProblem, KeyRow, LabelChange, LabelsImportPreview, WorkspaceInfo,
};
use crate::metadata::KeyMetadata;

/// The export's columns; `name`, `workspace`, `status` and `limit` are read only on import.
pub const LABEL_COLUMNS: [&str; 11] = [
    "hash",
    "name",
    "workspace",
    "tags",
    "environment",
    "project",
    "owner",
    "notes",
    "status",
    "limit",
    "disabled",
];

/// Tags in one cell are separated by `;` (a tag can't contain one).
pub const TAG_SEPARATOR: char = ';';

/// The labels CSV of `keys`, workspaces by name where known. A cell that would carry something
/// shaped like a secret is written empty (a key's name could hold one by mistake).
pub fn export_labels(keys: &[KeyRow], workspaces: &[WorkspaceInfo]) -> Result<String, Error> {
    let names: HashMap<&str, &str> = workspaces
        .iter()
        .map(|w| (w.id.as_str(), w.name.as_str()))
        .collect();
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|row| {
            let meta = &row.metadata;
            let workspace = row.key.workspace_id.as_deref().map_or(String::new(), |id| {
                names.get(id).map_or(id, |name| name).to_owned()
            });
            let cells = vec![
                row.key.hash.clone(),
                row.key.name.clone(),
                workspace,
                meta.tags.join(&TAG_SEPARATOR.to_string()),
                meta.environment.clone().unwrap_or_default(),
                meta.project.clone().unwrap_or_default(),
                meta.owner.clone().unwrap_or_default(),
                meta.notes.clone().unwrap_or_default(),
                serde_json::to_value(row.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                row.key.limit.map(|l| l.to_string()).unwrap_or_default(),
                row.key.disabled.to_string(),
            ];
            cells
                .into_iter()
                .map(|cell| {
                    if looks_like_secret(&cell) {
                        String::new()
                    } else {
                        cell
                    }
                })
                .collect()
        })
        .collect();
    write_table(&LABEL_COLUMNS, &rows)
}

/// Splits a tags cell (`;`, or `,` when the file's delimiter was `;`): empty parts dropped.
pub fn split_tags(cell: &str) -> Vec<String> {
    cell.split([TAG_SEPARATOR, ','])
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect()
}

fn problem(row: u32, kind: CsvProblemKind, field: Option<&str>, message: String) -> CsvRowProblem {
    CsvRowProblem {
        row,
        kind,
        field: field.map(str::to_owned),
        message,
    }
}

/// The problem a secret-shaped cell makes (the value itself is never repeated).
pub fn secret_problem(row: u32) -> CsvRowProblem {
    problem(
        row,
        CsvProblemKind::Secret,
        None,
        "a cell holds something shaped like an OpenRouter secret (sk-or-…); secrets never go in a \
         CSV: remove it"
            .to_owned(),
    )
}

/// What importing `table` over `keys` (with their current labels) would change. The file must
/// have a `hash` or a `name` column; a row with a hash matches by hash, else by name when exactly one
/// key has it.
pub fn preview_labels(table: &CsvTable, keys: &[KeyRow]) -> Result<LabelsImportPreview, Error> {
    let hash_col = table.column(&["hash", "key_hash"]);
    let name_col = table.column(&["name"]);
    if hash_col.is_none() && name_col.is_none() {
        return Err(Error::invalid(
            "file",
            "the file needs a \"hash\" or a \"name\" column to find each key",
        ));
    }
    let tags_col = table.column(&["tags"]);
    let env_col = table.column(&["environment", "env"]);
    let project_col = table.column(&["project"]);
    let owner_col = table.column(&["owner"]);
    let notes_col = table.column(&["notes"]);
    if [tags_col, env_col, project_col, owner_col, notes_col]
        .iter()
        .all(Option::is_none)
    {
        return Err(Error::invalid(
            "file",
            "the file has no labels column (tags, environment, project, owner, notes)",
        ));
    }
    let by_hash: HashMap<&str, &KeyRow> = keys.iter().map(|k| (k.key.hash.as_str(), k)).collect();
    let mut by_name: HashMap<String, Vec<&KeyRow>> = HashMap::new();
    for key in keys {
        by_name
            .entry(key.key.name.trim().to_owned())
            .or_default()
            .push(key);
    }

    let mut preview = LabelsImportPreview {
        rows: u32::try_from(table.rows.len()).unwrap_or(u32::MAX),
        changes: Vec::new(),
        unchanged: 0,
        problems: Vec::new(),
    };
    let mut seen: HashSet<&str> = HashSet::new();
    for record in &table.rows {
        let row = record.row;
        if record.holds_secret() {
            preview.problems.push(secret_problem(row));
            continue;
        }
        let hash = record.cell(hash_col);
        let name = record.cell(name_col);
        let key = if !hash.is_empty() {
            match by_hash.get(hash) {
                Some(key) => *key,
                None => {
                    preview.problems.push(problem(
                        row,
                        CsvProblemKind::UnknownKey,
                        Some("hash"),
                        format!("no key of this profile has the hash {hash}"),
                    ));
                    continue;
                }
            }
        } else if !name.is_empty() {
            match by_name.get(name).map(Vec::as_slice) {
                Some([key]) => *key,
                Some(many) => {
                    preview.problems.push(problem(
                        row,
                        CsvProblemKind::AmbiguousName,
                        Some("name"),
                        format!(
                            "{} keys are named {name:?}: give the hash to say which",
                            many.len()
                        ),
                    ));
                    continue;
                }
                None => {
                    preview.problems.push(problem(
                        row,
                        CsvProblemKind::UnknownKey,
                        Some("name"),
                        format!("no key of this profile is named {name:?}"),
                    ));
                    continue;
                }
            }
        } else {
            preview.problems.push(problem(
                row,
                CsvProblemKind::Invalid,
                Some("hash"),
                "the row has neither a hash nor a name".to_owned(),
            ));
            continue;
        };
        if !seen.insert(key.key.hash.as_str()) {
            preview.problems.push(problem(
                row,
                CsvProblemKind::Duplicate,
                Some("hash"),
                format!(
                    "an earlier row already sets the labels of {:?}",
                    key.key.name
                ),
            ));
            continue;
        }
        let from = &key.metadata;
        let keep_or = |col: Option<usize>, current: &Option<String>| match col {
            Some(_) => Some(record.cell(col).to_owned()),
            None => current.clone(),
        };
        let wanted = KeyMetadata {
            tags: match tags_col {
                Some(_) => split_tags(record.cell(tags_col)),
                None => from.tags.clone(),
            },
            environment: keep_or(env_col, &from.environment),
            project: keep_or(project_col, &from.project),
            owner: keep_or(owner_col, &from.owner),
            notes: keep_or(notes_col, &from.notes),
        };
        let errors = wanted.errors();
        if !errors.is_empty() {
            for error in errors {
                let field = match &error {
                    Error::InvalidInput { field, .. } => field.clone(),
                    _ => None,
                };
                preview.problems.push(CsvRowProblem {
                    row,
                    kind: CsvProblemKind::Invalid,
                    field,
                    message: invalid_message(&error),
                });
            }
            continue;
        }
        let to = wanted.normalized()?;
        if &to == from {
            preview.unchanged += 1;
        } else {
            preview.changes.push(LabelChange {
                row,
                hash: key.key.hash.clone(),
                name: key.key.name.clone(),
                from: from.clone(),
                to,
            });
        }
    }
    Ok(preview)
}

/// The message of a validation error without its field prefix.
pub fn invalid_message(error: &Error) -> String {
    match error {
        Error::InvalidInput { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
