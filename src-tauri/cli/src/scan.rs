//! `keyward-cli scan [--folder PATH…]`: where each key lives. Without `--folder` it scans the
//! folders chosen in the app (and Keyward's keychain deploy targets) and saves the findings, as
//! "Scan now" does; with `--folder` it scans those folders once and saves nothing. Prints the map:
//! each key with the places holding it, then places holding an old, deleted or unknown key, then
//! what was skipped. Only paths, variable names, lines and hashes: never a secret.

use std::path::PathBuf;
use std::sync::Arc;

use keyward_core::Keyward;
use keyward_core::locate::{LocateReport, PlaceStatus};
use keyward_core::service::LocateScanArgs;

use crate::error::CliError;

/// Runs the scan and prints its map (`--json`: the report as one JSON document).
pub async fn run(service: &Keyward, folders: &[PathBuf], json: bool) -> Result<(), CliError> {
    let folders = if folders.is_empty() {
        if service.locate_folders()?.is_empty() {
            return Err(CliError::Usage(
                "no folders are chosen to scan: pass --folder PATH (once, not saved) or add \
                 folders in the app's Settings › Where keys live"
                    .to_owned(),
            ));
        }
        None
    } else {
        let cwd = std::env::current_dir()
            .map_err(|err| CliError::Usage(format!("cannot resolve relative folders: {err}")))?;
        Some(
            folders
                .iter()
                .map(|folder| cwd.join(folder).display().to_string())
                .collect(),
        )
    };
    let report = service
        .locate_scan(LocateScanArgs { folders }, Arc::new(|_| {}))
        .await?;
    if json {
        return crate::output::print_json(&report);
    }
    for line in report_lines(&report) {
        println!("{line}");
    }
    Ok(())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The map as lines of text.
pub fn report_lines(report: &LocateReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(scan) = &report.last_scan {
        lines.push(format!(
            "Scanned {} folders, {} env files and {} keychain entries{}.",
            scan.dirs_scanned,
            scan.files_scanned,
            scan.keychain_entries_checked,
            if scan.saved { " (saved)" } else { "" }
        ));
    }
    if report.keys.is_empty() && report.stale.is_empty() {
        lines.push("No OpenRouter key was found.".to_owned());
    }
    for key in &report.keys {
        let places = key.places.len();
        lines.push(format!(
            "{} / {} ({}…){}: in {places} place{}",
            key.profile_name,
            key.key_name,
            short(&key.key_hash),
            if key.key_disabled { " [disabled]" } else { "" },
            if places == 1 { "" } else { "s" }
        ));
        for place in &key.places {
            lines.push(format!("  {}", place.describe()));
        }
    }
    if !report.stale.is_empty() {
        lines.push("Needs attention:".to_owned());
    }
    for entry in &report.stale {
        let tag = match entry.status {
            PlaceStatus::RotatedAway => "rotated away",
            PlaceStatus::Gone => "no longer exists",
            PlaceStatus::Foreign => "unknown key",
            PlaceStatus::Live => "live",
        };
        lines.push(format!(
            "  [{tag}] {} ({}…)",
            entry.message,
            short(&entry.place.key_hash)
        ));
    }
    if let Some(scan) = report
        .last_scan
        .as_ref()
        .filter(|scan| !scan.problems.is_empty())
    {
        lines.push("Skipped:".to_owned());
        for problem in &scan.problems {
            let kind = serde_json::to_value(problem.kind).unwrap_or_default();
            lines.push(format!(
                "  [{}] {}: {}",
                kind.as_str().unwrap_or("?"),
                problem.path,
                problem.message
            ));
        }
    }
    lines
}
