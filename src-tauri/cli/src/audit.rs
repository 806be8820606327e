//! `keyward-cli audit list|verify|export`: the local audit log (what Keyward changed, from the app or
//! the CLI). Reads only the local database: no management key, no network. `verify` exits non-zero
//! when the chain is broken, so a pipeline can gate on it.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use keyward_core::Keyward;
use keyward_core::audit::{
    AuditAction, AuditEntry, AuditExportFormat, AuditFilter, AuditOutcome, FrontEnd,
    write_export_file,
};

use crate::context::{Ctx, resolve_profile};
use crate::error::CliError;
use crate::output::print_json;

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// List entries, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many entries (0: all).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Check the hash chain; exits 1 naming the first edited, removed, inserted or reordered
    /// entry, or where the log was truncated.
    Verify,
    /// Export entries as CSV or JSON, to standard output or a file (created 0600).
    Export {
        #[arg(long, value_parser = parse_format)]
        format: AuditExportFormat,
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

#[derive(Args)]
pub(crate) struct FilterArgs {
    /// Profile name or id.
    #[arg(long)]
    profile: Option<String>,
    /// An action, e.g. key_update, rotation_step, deploy.
    #[arg(long, value_parser = parse_action)]
    action: Option<AuditAction>,
    /// Part of a key's hash or name.
    #[arg(long)]
    key: Option<String>,
    /// `app` or `cli`.
    #[arg(long, value_parser = parse_front_end)]
    front_end: Option<FrontEnd>,
    /// Only entries at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Only entries at or before this time (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
}

fn parse_format(input: &str) -> Result<AuditExportFormat, String> {
    input
        .trim()
        .parse()
        .map_err(|_| format!("`{input}` is not csv or json"))
}

fn parse_action(input: &str) -> Result<AuditAction, String> {
    input
        .trim()
        .to_ascii_lowercase()
        .parse()
        .map_err(|_| format!("`{input}` is not an audit action (e.g. key_update, deploy)"))
}

fn parse_front_end(input: &str) -> Result<FrontEnd, String> {
    input
        .trim()
        .to_ascii_lowercase()
        .parse()
        .map_err(|_| format!("`{input}` is not app or cli"))
}

fn filter_of(service: &Keyward, args: &FilterArgs, limit: u32) -> Result<AuditFilter, CliError> {
    let profile_id = match &args.profile {
        Some(profile) => Some(resolve_profile(service, Some(profile))?.id),
        None => None,
    };
    Ok(AuditFilter {
        profile_id,
        action: args.action,
        key: args.key.clone(),
        front_end: args.front_end,
        since: args.since,
        until: args.until,
        before_seq: None,
        limit: Some(limit),
    })
}

fn line(entry: &AuditEntry) -> String {
    let key = match (&entry.key_name, &entry.key_hash) {
        (Some(name), _) => name.clone(),
        (None, Some(hash)) => hash.get(..16).unwrap_or(hash).to_owned(),
        (None, None) => "-".to_owned(),
    };
    let outcome = match entry.outcome {
        AuditOutcome::Ok => "ok".to_owned(),
        AuditOutcome::Failed => format!(
            "FAILED ({})",
            entry.error_kind.as_deref().unwrap_or("error")
        ),
    };
    format!(
        "{:>6} {} {:<12} {:<4} {:<24} {:<24} {}  {}",
        entry.seq,
        entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
        entry.profile_name,
        entry.front_end,
        entry.action,
        key,
        outcome,
        entry.change
    )
}

pub(crate) fn run(ctx: &Ctx, command: &AuditCommand) -> Result<(), CliError> {
    let (service, json) = (&ctx.service, ctx.json);
    match command {
        AuditCommand::List { filter, limit } => {
            let page = service.audit_list(filter_of(service, filter, *limit)?)?;
            if json {
                return print_json(&page.entries);
            }
            if page.entries.is_empty() {
                println!("No audit entries.");
            }
            for entry in &page.entries {
                println!("{}", line(entry));
            }
        }
        AuditCommand::Verify => {
            let verification = service.audit_verify()?;
            if json {
                print_json(&verification)?;
            } else if verification.ok {
                println!(
                    "The audit log is intact: {} entries verified.",
                    verification.count
                );
            }
            if let Some(problem) = verification.problem {
                return Err(CliError::AuditBroken(format!(
                    "the audit log is broken at entry {} ({}): {}",
                    problem.seq, problem.kind, problem.message
                )));
            }
        }
        AuditCommand::Export {
            format,
            output,
            filter,
        } => {
            let text = service.audit_export(filter_of(service, filter, 0)?, *format)?;
            match output {
                Some(path) => {
                    write_export_file(path, &text)?;
                    eprintln!("Wrote the audit export to {}.", path.display());
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}
