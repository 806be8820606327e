//! `keyward-cli revoke` and `keyward-cli reenable`: the emergency revoke from a terminal or a
//! pipeline. `revoke --filter EXPR` disables every matching key (instant and reversible), prints the
//! result, and with `--delete` deletes them; `reenable <revoke id>` (or `--filter`) turns back on
//! exactly the keys a revoke disabled. Without `--yes` the keys are listed and the person is asked;
//! when standard input is not a terminal nobody can answer, so the command refuses.
//!
//! The management key comes from the profile's keychain entry, or from `KEYWARD_MANAGEMENT_KEY`
//! (held in memory for this run only; the profile still says which account and where).
//!
//! Exit status: 0 when every key reached the requested state; 10 (partial) when any key failed or
//! was not run (the report, with `--json`, is still printed on stdout); otherwise the error's code.

use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::Arc;

use keyward_core::batch::{
    BatchReport, KeyOutcome, RevokeArgs, RevokeFollowUpArgs, RevokePreviewArgs, RevokeSelection,
};
use keyward_core::service::NoEvents;
use keyward_core::store::{Store, default_data_dir};
use keyward_core::vault::Vault;
use keyward_core::{Keyward, ServiceConfig};
use secrecy::SecretString;
use serde::Serialize;

use crate::Cli;
use crate::context::{MANAGEMENT_KEY_ENV, resolve_profile};
use crate::error::CliError;
use crate::output::print_json;

#[derive(clap::Args)]
pub struct RevokeCommand {
    /// Which keys: space-separated terms that must all match, e.g. `name:prod-*`,
    /// `workspace:<name or id>`, `hash:<prefix>`, `status:active`, `tag:leaked`.
    #[arg(long)]
    filter: String,
    /// Profile name or id (default: the active profile).
    #[arg(long)]
    profile: Option<String>,
    /// Do it without asking (required when standard input is not a terminal).
    #[arg(long)]
    yes: bool,
    /// After disabling, delete every matched key (irreversible).
    #[arg(long)]
    delete: bool,
}

#[derive(clap::Args)]
pub struct ReenableCommand {
    /// The revoke to undo (its id is printed by `revoke`).
    #[arg(required_unless_present = "filter", conflicts_with = "filter")]
    revoke_id: Option<String>,
    /// Re-enable the keys matching this filter that an emergency revoke disabled.
    #[arg(long)]
    filter: Option<String>,
    #[arg(long)]
    profile: Option<String>,
}

/// What `revoke --json` prints.
#[derive(Serialize)]
struct RevokeOutput<'a> {
    revoke_id: &'a str,
    matched: usize,
    already_disabled: &'a [String],
    disable: &'a BatchReport,
    delete: Option<&'a BatchReport>,
}

/// A service whose profiles use `KEYWARD_MANAGEMENT_KEY` (in memory) when it is set, else `main`'s.
fn service_with_env_key(
    cli: &Cli,
    service: &Keyward,
    profile_id: &str,
) -> Result<Keyward, CliError> {
    let Some(key) = std::env::var(MANAGEMENT_KEY_ENV)
        .ok()
        .filter(|key| !key.trim().is_empty())
    else {
        return Ok(service.clone());
    };
    let data_dir = match &cli.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let vault = Vault::in_memory("keyward-cli-env");
    vault.set_management_key(profile_id, &SecretString::from(key.trim().to_owned()))?;
    let mut config = ServiceConfig::new(vault);
    config.front_end = keyward_core::audit::FrontEnd::Cli;
    config.events = Arc::new(NoEvents);
    config.recovery = None;
    Ok(Keyward::new(Store::open_in_dir(&data_dir)?, config))
}

fn run_id() -> String {
    format!(
        "cli-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |at| at.as_nanos())
    )
}

/// Asks `question` on the terminal; refuses without reading when stdin is not one.
fn confirm(question: &str) -> Result<bool, CliError> {
    let stdin = io::stdin();
    decide(
        stdin.is_terminal(),
        question,
        &mut stdin.lock(),
        &mut io::stderr(),
    )
    .map_err(CliError::Stdin)
}

fn decide(
    terminal: bool,
    question: &str,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> io::Result<bool> {
    if !terminal {
        writeln!(
            out,
            "Refused: standard input is not a terminal, so nobody can confirm. Pass --yes to \
             run it unattended."
        )?;
        return Ok(false);
    }
    write!(out, "{question} [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn incomplete(report: &BatchReport) -> bool {
    report.failed > 0 || report.not_run > 0
}

fn print_report(title: &str, report: &BatchReport) {
    println!(
        "{title}: {} done, {} failed, {} not run (of {})",
        report.done, report.failed, report.not_run, report.total
    );
    for result in report
        .results
        .iter()
        .filter(|result| result.outcome != KeyOutcome::Done)
    {
        println!(
            "  {:?} {} {}: {}",
            result.outcome,
            result.hash.get(..16).unwrap_or(&result.hash),
            result.name.as_deref().unwrap_or(""),
            result
                .error
                .as_ref()
                .map_or("cancelled", |error| error.message.as_str())
        );
    }
}

pub async fn revoke(cli: &Cli, service: &Keyward, args: &RevokeCommand) -> Result<(), CliError> {
    let profile = resolve_profile(service, args.profile.as_deref())?;
    let service = service_with_env_key(cli, service, &profile.id)?;
    let selection = RevokeSelection::Filter {
        expression: args.filter.clone(),
    };
    if !args.yes {
        let preview = service
            .revoke_preview(RevokePreviewArgs {
                profile_id: profile.id.clone(),
                selection: selection.clone(),
                refresh: true,
            })
            .await?;
        if preview.matched.is_empty() {
            return Err(CliError::Usage(format!(
                "the filter `{}` matches no key",
                args.filter
            )));
        }
        eprintln!("EMERGENCY REVOKE in profile {}:", profile.name);
        for m in &preview.matched {
            eprintln!(
                "  {} {}{}",
                m.hash.get(..16).unwrap_or(&m.hash),
                m.name,
                if m.disabled {
                    " (already disabled)"
                } else {
                    ""
                }
            );
        }
        let question = format!(
            "Disable these {} keys{}?",
            preview.matched.len(),
            if args.delete {
                " and then DELETE them"
            } else {
                ""
            }
        );
        if !confirm(&question)? {
            return Err(CliError::Usage("nothing was changed".to_owned()));
        }
    }
    let revoked = service
        .revoke_start(RevokeArgs {
            profile_id: profile.id.clone(),
            run_id: run_id(),
            selection,
        })
        .await?;
    let deleted = if args.delete {
        Some(
            service
                .revoke_delete(RevokeFollowUpArgs {
                    profile_id: profile.id.clone(),
                    run_id: run_id(),
                    revoke_id: revoked.revoke.id.clone(),
                })
                .await?,
        )
    } else {
        None
    };
    if cli.json {
        print_json(&RevokeOutput {
            revoke_id: &revoked.revoke.id,
            matched: revoked.revoke.matched.len(),
            already_disabled: &revoked.already_disabled,
            disable: &revoked.report,
            delete: deleted.as_ref(),
        })?;
    } else {
        println!("Revoke {}", revoked.revoke.id);
        print_report("Disabled", &revoked.report);
        if !revoked.already_disabled.is_empty() {
            println!(
                "{} matching keys were disabled already (left as they are)",
                revoked.already_disabled.len()
            );
        }
        match &deleted {
            Some(report) => print_report("Deleted", report),
            None => println!(
                "Undo with `keyward-cli reenable {}`; delete with --delete.",
                revoked.revoke.id
            ),
        }
    }
    if incomplete(&revoked.report) || deleted.as_ref().is_some_and(incomplete) {
        return Err(CliError::Partial(
            "some keys did not reach the requested state (see the report)".to_owned(),
        ));
    }
    Ok(())
}

pub async fn reenable(
    cli: &Cli,
    service: &Keyward,
    args: &ReenableCommand,
) -> Result<(), CliError> {
    let profile = resolve_profile(service, args.profile.as_deref())?;
    let service = service_with_env_key(cli, service, &profile.id)?;
    let report = match (&args.revoke_id, &args.filter) {
        (Some(revoke_id), None) => {
            service
                .revoke_reenable(RevokeFollowUpArgs {
                    profile_id: profile.id.clone(),
                    run_id: run_id(),
                    revoke_id: revoke_id.clone(),
                })
                .await?
        }
        (None, Some(filter)) => {
            service
                .revoke_reenable_matching(&profile.id, &run_id(), filter)
                .await?
        }
        _ => {
            return Err(CliError::Usage(
                "give a revoke id or --filter, not both".to_owned(),
            ));
        }
    };
    if cli.json {
        print_json(&report)?;
    } else {
        print_report("Re-enabled", &report);
    }
    if incomplete(&report) {
        return Err(CliError::Partial(
            "some keys were not re-enabled (see the report)".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_terminal_yes_confirms() {
        let mut out = Vec::new();
        assert!(!decide(false, "Disable?", &mut &b"y\n"[..], &mut out).unwrap());
        assert!(String::from_utf8(out).unwrap().contains("--yes"));
        assert!(decide(true, "Disable?", &mut &b"YES\n"[..], &mut Vec::new()).unwrap());
        assert!(!decide(true, "Disable?", &mut &b"\n"[..], &mut Vec::new()).unwrap());
    }
}
