//! Export as CSV (RFC 4180, one header row) or JSON (an array of entries). Spreadsheet formulas are
//! defused: a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (a key named
//! `=HYPERLINK(…)` must not run when an auditor opens the file). Secrets never reach the log, and
//! [`super::redact`] runs again over the output as a last guard.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::chain::format_at;
use super::{AuditEntry, redact};
use crate::Error;
use crate::store::json_error;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, strum::EnumString, strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum AuditExportFormat {
    Csv,
    Json,
}

impl AuditExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            AuditExportFormat::Csv => "csv",
            AuditExportFormat::Json => "json",
        }
    }
}

const HEADER: [&str; 16] = [
    "seq",
    "at",
    "profile_id",
    "profile_name",
    "front_end",
    "action",
    "key_hash",
    "key_name",
    "change",
    "before",
    "after",
    "outcome",
    "error_kind",
    "error_message",
    "prev_hash",
    "hash",
];

fn cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn csv(entries: &[AuditEntry]) -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for entry in entries {
        let opt = |value: &Option<String>| value.clone().unwrap_or_default();
        let row = [
            entry.seq.to_string(),
            format_at(entry.at),
            entry.profile_id.clone(),
            entry.profile_name.clone(),
            entry.front_end.to_string(),
            entry.action.to_string(),
            opt(&entry.key_hash),
            opt(&entry.key_name),
            entry.change.clone(),
            opt(&entry.before),
            opt(&entry.after),
            <&str>::from(entry.outcome).to_owned(),
            opt(&entry.error_kind),
            opt(&entry.error_message),
            entry.prev_hash.clone(),
            entry.hash.clone(),
        ];
        let cells: Vec<String> = row.iter().map(|text| cell(text)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// `entries` in `format`.
pub fn export(entries: &[AuditEntry], format: AuditExportFormat) -> Result<String, Error> {
    let text = match format {
        AuditExportFormat::Csv => csv(entries),
        AuditExportFormat::Json => serde_json::to_string_pretty(entries).map_err(json_error)?,
    };
    Ok(redact(&text))
}

/// Writes an export to `path`, created readable by its owner only (0600 on unix; an existing file
/// is replaced and narrowed): key names and spend are nobody else's business.
pub fn write_export_file(path: &Path, text: &str) -> Result<(), Error> {
    use crate::private_fs::{PRIVATE_FILE_MODE, narrow_if_present, private_open_options};
    let failed = |err: std::io::Error| Error::Store {
        message: format!("cannot write the audit export to {}: {err}", path.display()),
        source: Some(err.into()),
    };
    let mut file = private_open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(failed)?;
    narrow_if_present(path, PRIVATE_FILE_MODE).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
    }
}
