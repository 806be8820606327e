//! `keyward-cli`: Keyward from a terminal (CI/CD pipelines, scripts) — profiles, keys and rotations
//! over the same keyward-core service, data directory and keychain as the desktop app, so the two
//! never disagree. `--json` prints machine-readable output; secrets only ever leave the keychain on
//! purpose (a created key's secret on stdout or into a new 0600 file, once; a held secret into the
//! environment of the command `run` starts).
//!
//! This file holds the parser (`Cli`, the `Command` enum) and the dispatch `match`; each command's
//! code lives in its module and takes `&Cli` (or a `Ctx` from `context`), returning `CliError`, whose
//! exit code `error.rs` derives from the core's `ErrorKind` (documented in `src-tauri/docs/cli.md`).

mod account;
mod approve;
mod audit;
mod completions;
mod context;
mod csv_cmd;
mod error;
mod filter;
mod key_change;
mod keys;
mod output;
mod profiles;
mod revoke;
mod rotate;
mod rotations;
mod run;
mod scan;
mod tag;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use keyward_core::rotation::{NewExpiry, RotationAction};
use strum::VariantNames;

use crate::context::{Ctx, resolve_profile};
use crate::error::{CliError, Exit};

#[derive(Parser)]
#[command(
    name = "keyward-cli",
    version,
    about = "Manage OpenRouter API keys from a terminal"
)]
struct Cli {
    /// Keyward's data directory (default: the desktop app's; env KEYWARD_DATA_DIR).
    #[arg(long, global = true, env = "KEYWARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The keychain service name the management keys are stored under (env KEYWARD_KEYCHAIN_SERVICE).
    #[arg(long, global = true, env = "KEYWARD_KEYCHAIN_SERVICE")]
    keychain_service: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Crash tests only: pause for ever at these rotation step boundaries (e.g. `create:posted`).
    /// Compiled in only with the `crash-test` feature, which the crash harness enables.
    #[cfg(feature = "crash-test")]
    #[arg(long, global = true, hide = true)]
    crash_test_pause_at: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the profiles (accounts) Keyward knows.
    Profiles,
    /// Add a profile; its management key is read from KEYWARD_MANAGEMENT_KEY or standard input.
    ProfileAdd {
        #[arg(long)]
        name: String,
        /// Another API base URL (default: OpenRouter's).
        #[arg(long)]
        base_url: Option<String>,
        #[arg(long)]
        workspace_id: Option<String>,
    },
    /// List a profile's keys: a table, --json or --csv, with the app's filters, every workspace.
    #[command(visible_alias = "keys")]
    List(keys::ListArgs),
    /// Show one key (by hash or exact name).
    Get(keys::GetArgs),
    /// Create a key; its secret goes to standard output only (or --secret-file), the rest to
    /// standard error.
    Create(key_change::CreateArgs),
    /// Change a key's name, limit, limit reset or BYOK setting.
    Update(key_change::UpdateArgs),
    /// Disable a key (reversible: `enable`).
    Disable(key_change::KeyArgs),
    /// Enable a disabled key.
    Enable(key_change::KeyArgs),
    /// Delete a key for good (asks on a terminal; --yes otherwise).
    Delete(key_change::DeleteArgs),
    /// Ask OpenRouter about a key (GET /key) read from standard input or --from-env; stores nothing.
    Check(account::CheckArgs),
    /// The account's credits and usage.
    Credits(account::CreditsArgs),
    /// Run a command with a key's secret (held by Keyward in the keychain) in its environment only.
    Run(run::RunArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Rotate a key (by hash or exact name) with its rotation policy; prints the plan (what the new
    /// key gets), then runs until the rotation waits (drain, grace period), fails or completes.
    Rotate {
        key: String,
        #[arg(long)]
        profile: Option<String>,
        /// Delete the old key as soon as it is disabled, without a grace period.
        #[arg(long)]
        delete_at_once: bool,
        /// The new key's expiry instead of the policy's ("extend expiry"): days (90), a date
        /// (2027-01-31, midnight UTC), a date and time with a zone, `never`, or `keep`.
        #[arg(long, value_parser = rotate::parse_expires)]
        expires: Option<NewExpiry>,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List rotations (unfinished ones unless --all).
    Rotations {
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Resume every interrupted rotation and run the ones that are due.
    Resume,
    /// Act on a rotation.
    RotationAction {
        id: String,
        #[arg(value_parser = rotation_action_parser())]
        action: RotationAction,
    },
    /// The local audit log of every change Keyward made: list, verify the hash chain, export.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Add or remove a key's tags; set its environment, project, owner or notes (local only).
    Tag(tag::TagArgs),
    /// Each tag of a profile with how many keys carry it.
    Tags(tag::TagsArgs),
    /// Where each key lives: scan the folders chosen in the app (and Keyward's keychain deploy
    /// targets) for OpenRouter keys and print which key is where; with --folder, scan those
    /// folders once (nothing saved). Only hashes and places are shown, never a secret.
    Scan {
        /// A folder to scan instead of the chosen ones (repeatable).
        #[arg(long = "folder", value_name = "PATH")]
        folders: Vec<PathBuf>,
    },
    /// Export the key labels (tags, environment, project, owner, notes) as CSV.
    Export {
        #[arg(long)]
        profile: Option<String>,
        /// Where to write (`-` = standard output, the default).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Import key labels from a CSV: prints the preview unless --apply.
    Import {
        path: PathBuf,
        #[arg(long)]
        profile: Option<String>,
        /// Apply the changes (refused when the file has problems, unless --valid-only).
        #[arg(long)]
        apply: bool,
        /// With --apply: apply the rows without problems and leave out the others.
        #[arg(long, requires = "apply")]
        valid_only: bool,
    },
    /// Emergency revoke: disable every key matching --filter (then --delete them).
    Revoke(revoke::RevokeCommand),
    /// Undo an emergency revoke's disable (by revoke id, or the keys matching --filter).
    Reenable(revoke::ReenableCommand),
}

/// The rotation actions by name (listed in `--help`), parsed by the core type's own `FromStr`.
fn rotation_action_parser() -> impl TypedValueParser<Value = RotationAction> {
    PossibleValuesParser::new(RotationAction::VARIANTS.iter().copied())
        .try_map(|name| name.parse::<RotationAction>())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = &cli.command {
        completions::print(*shell);
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&CliError::Runtime(err), cli.json),
    };
    let json = cli.json;
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => fail(&err, json),
    }
}

/// Reports an error on standard error (as JSON with --json) and ends with its documented code.
fn fail(error: &CliError, json: bool) -> ExitCode {
    if json {
        eprintln!("{}", error.to_json());
    } else {
        eprintln!("keyward-cli: {error}");
    }
    ExitCode::from(error.exit().code())
}

/// Runs the command; the answer is the process's exit status.
async fn run(cli: Cli) -> Result<u8, CliError> {
    match &cli.command {
        Command::Profiles => profiles::list(&Ctx::open(&cli)?)?,
        Command::ProfileAdd {
            name,
            base_url,
            workspace_id,
        } => {
            profiles::add(
                &Ctx::open(&cli)?,
                name,
                base_url.as_deref(),
                workspace_id.as_deref(),
            )
            .await?
        }
        Command::List(args) => keys::list(&cli, args).await?,
        Command::Get(args) => keys::get(&cli, args).await?,
        Command::Create(args) => key_change::create(&cli, args).await?,
        Command::Update(args) => key_change::update(&cli, args).await?,
        Command::Disable(args) => key_change::set_disabled(&cli, args, true).await?,
        Command::Enable(args) => key_change::set_disabled(&cli, args, false).await?,
        Command::Delete(args) => key_change::delete(&cli, args).await?,
        Command::Check(args) => account::check(&cli, args).await?,
        Command::Credits(args) => account::credits(&cli, args).await?,
        Command::Run(args) => return run::run(&cli, args).await,
        Command::Completions { shell } => completions::print(*shell),
        Command::Rotate {
            key,
            profile,
            delete_at_once,
            expires,
            dry_run,
        } => {
            rotations::rotate(
                &Ctx::open(&cli)?,
                key,
                profile.as_deref(),
                *delete_at_once,
                *expires,
                *dry_run,
            )
            .await?
        }
        Command::Rotations { profile, all } => {
            rotations::list(&Ctx::open(&cli)?, profile.as_deref(), *all)?
        }
        Command::Resume => rotations::resume(&Ctx::open(&cli)?).await?,
        Command::RotationAction { id, action } => {
            rotations::action(&Ctx::open(&cli)?, id, *action).await?
        }
        Command::Audit(command) => audit::run(&Ctx::open(&cli)?, command)?,
        Command::Tag(args) => {
            let ctx = Ctx::open(&cli)?;
            let profile = resolve_profile(&ctx.service, args.profile.as_deref())?;
            tag::tag(&ctx.service, &profile, args, ctx.json).await?;
        }
        Command::Tags(args) => {
            let ctx = Ctx::open(&cli)?;
            let profile = resolve_profile(&ctx.service, args.profile.as_deref())?;
            tag::tags(&ctx.service, &profile, args, ctx.json).await?;
        }
        Command::Scan { folders } => {
            let ctx = Ctx::open(&cli)?;
            scan::run(&ctx.service, folders, ctx.json).await?
        }
        Command::Export { profile, output } => {
            let ctx = Ctx::open(&cli)?;
            csv_cmd::export(&ctx.service, profile.as_deref(), output.as_deref()).await?;
        }
        Command::Import {
            path,
            profile,
            apply,
            valid_only,
        } => {
            let ctx = Ctx::open(&cli)?;
            csv_cmd::import(
                &ctx.service,
                profile.as_deref(),
                path,
                *apply,
                *valid_only,
                ctx.json,
            )
            .await?;
        }
        Command::Revoke(args) => revoke::revoke(&cli, &Ctx::open(&cli)?.service, args).await?,
        Command::Reenable(args) => revoke::reenable(&cli, &Ctx::open(&cli)?.service, args).await?,
    }
    Ok(Exit::Ok.code())
}
