//! `keyward-cli export`, `import` and `create --from-csv`: key labels out to and in from a CSV (an
//! import previews unless `--apply`), and keys created from CSV rows (previewed unless `--yes`).
//! The secrets of created keys are never printed: each waits in the keychain as pending, as the
//! desktop app leaves it. Exit status 1 when the file has problems, a row failed or the run was
//! cancelled (Ctrl-C stops before the next row).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyward_core::Keyward;
use keyward_core::csv_io;
use keyward_core::ipc::{CsvRowProblem, KeysCsvRowResult};
use keyward_core::service::KeysCsvRunOptions;

use crate::context::resolve_profile;
use crate::error::CliError;
use crate::output::print_json;

/// `create --from-csv PATH [--yes] [--rows 3,7]` (parsed as options of `create`).
#[derive(Debug, Clone)]
pub struct CreateFromCsv {
    pub from_csv: PathBuf,
    pub profile: Option<String>,
    pub yes: bool,
    pub rows: Vec<u32>,
}

/// `export [--output PATH]`: the labels CSV (`-` or nothing = standard output).
pub async fn export(
    service: &Keyward,
    profile: Option<&str>,
    output: Option<&std::path::Path>,
) -> Result<(), CliError> {
    let profile = resolve_profile(service, profile)?;
    let text = service.labels_export(&profile.id, true).await?;
    match output.filter(|path| path.as_os_str() != "-") {
        None => print!("{text}"),
        Some(path) => {
            std::fs::write(path, &text).map_err(|err| {
                CliError::Usage(format!("cannot write {}: {err}", path.display()))
            })?;
            eprintln!(
                "Wrote the labels of {} keys to {}",
                text.lines().count().saturating_sub(1),
                path.display()
            );
        }
    }
    Ok(())
}

fn print_problems(problems: &[CsvRowProblem]) {
    for problem in problems {
        let field = problem
            .field
            .as_deref()
            .map_or(String::new(), |f| format!(" [{f}]"));
        println!("  row {}{field}: {}", problem.row, problem.message);
    }
}

/// `import PATH [--apply] [--valid-only]`.
pub async fn import(
    service: &Keyward,
    profile: Option<&str>,
    path: &std::path::Path,
    apply: bool,
    valid_only: bool,
    json: bool,
) -> Result<(), CliError> {
    let profile = resolve_profile(service, profile)?;
    let bytes = csv_io::read_bytes(path)?;
    // The preview compares with a fresh list, so a key created elsewhere is found.
    service
        .keys_list(keyward_core::ipc::KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: true,
        })
        .await?;
    if apply {
        let result = service
            .labels_import_apply(&profile.id, &bytes, valid_only)
            .await?;
        if json {
            return print_json(&result);
        }
        println!("Applied the labels of {} keys.", result.applied.len());
        if !result.skipped_rows.is_empty() {
            println!("Left out rows with problems: {:?}", result.skipped_rows);
        }
        return Ok(());
    }
    let preview = service.labels_import_preview(&profile.id, &bytes).await?;
    if json {
        print_json(&preview)?;
    } else {
        println!(
            "{} rows: {} keys change, {} unchanged, {} problems (nothing applied; add --apply)",
            preview.rows,
            preview.changes.len(),
            preview.unchanged,
            preview.problems.len()
        );
        for change in &preview.changes {
            println!(
                "  row {} {} ({}): tags [{}] → [{}]",
                change.row,
                change.name,
                change.hash.get(..12).unwrap_or(&change.hash),
                change.from.tags.join(";"),
                change.to.tags.join(";")
            );
        }
        print_problems(&preview.problems);
    }
    if preview.problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Core(keyward_core::Error::invalid(
            "file",
            format!("{} problem(s) in the file", preview.problems.len()),
        )))
    }
}

/// `create --from-csv PATH [--yes]`.
pub async fn create_from_csv(
    service: &Keyward,
    args: &CreateFromCsv,
    json: bool,
) -> Result<(), CliError> {
    let profile = resolve_profile(service, args.profile.as_deref())?;
    let bytes = csv_io::read_bytes(&args.from_csv)?;
    if !args.yes {
        service
            .keys_list(keyward_core::ipc::KeysListArgs {
                profile_id: profile.id.clone(),
                include_disabled: true,
                include_expired: true,
                refresh: true,
            })
            .await?;
        let preview = service.keys_csv_preview(&profile.id, &bytes).await?;
        if json {
            print_json(&preview)?;
        } else {
            println!(
                "{} rows: {} keys to create, {} problems (nothing sent; add --yes to create)",
                preview.rows,
                preview.keys.len(),
                preview.problems.len()
            );
            for key in &preview.keys {
                println!("  row {} {}", key.row, key.name);
            }
            print_problems(&preview.problems);
        }
        return if preview.problems.is_empty() {
            Ok(())
        } else {
            Err(CliError::Core(keyward_core::Error::invalid(
                "file",
                format!("{} problem(s) in the file", preview.problems.len()),
            )))
        };
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let on_signal = Arc::clone(&cancel);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("keyward-cli: stopping after the current row…");
            on_signal.store(true, Ordering::SeqCst);
        }
    });
    let progress = |p: keyward_core::ipc::KeysCsvProgress| match p.waiting_ms {
        Some(ms) => eprintln!("  rate limited: waiting {ms} ms before row {}", p.row),
        None => eprintln!("  {}/{} row {} {}", p.done, p.total, p.row, p.name),
    };
    let options = KeysCsvRunOptions {
        only_rows: (!args.rows.is_empty()).then(|| args.rows.clone()),
    };
    let run = service
        .keys_csv_create(&profile.id, &bytes, options, &progress, &cancel)
        .await;
    watcher.abort();
    let run = run?;
    if json {
        print_json(&run)?;
    } else {
        for outcome in &run.outcomes {
            let what = match &outcome.result {
                KeysCsvRowResult::Created {
                    hash,
                    metadata_error,
                } => format!(
                    "created {hash}{}",
                    metadata_error
                        .as_deref()
                        .map_or(String::new(), |e| format!(" (labels not saved: {e})"))
                ),
                // The keychain refused it and the run stopped: this is the secret's only copy.
                KeysCsvRowResult::CreatedSecretNotSaved {
                    hash,
                    secret,
                    error,
                } => format!(
                    "created {hash}, but the keychain refused its secret ({}); copy it now, it is \
                     shown only once: {}",
                    error.message,
                    secret.expose()
                ),
                KeysCsvRowResult::Failed { error, may_exist } => format!(
                    "failed: {}{}",
                    error.message,
                    if *may_exist {
                        " (a re-run checks whether it exists first)"
                    } else {
                        ""
                    }
                ),
                KeysCsvRowResult::Exists { hash } => format!("exists already ({hash}): skipped"),
                KeysCsvRowResult::NotRun => "not run".to_owned(),
            };
            println!("row {:>4} {:<32} {what}", outcome.row, outcome.name);
        }
        println!(
            "{} created, {} failed, {} not run. The new secrets are not shown: they wait in the \
             keychain as pending (open Keyward's Pending list to copy or deploy each).",
            run.created, run.failed, run.not_run
        );
    }
    if run.failed > 0 || run.cancelled {
        let failed: Vec<String> = run
            .outcomes
            .iter()
            .filter(|o| {
                !matches!(
                    o.result,
                    KeysCsvRowResult::Created { .. } | KeysCsvRowResult::Exists { .. }
                )
            })
            .map(|o| o.row.to_string())
            .collect();
        return Err(CliError::Partial(format!(
            "not every row was created; retry with --rows {}",
            failed.join(",")
        )));
    }
    Ok(())
}
