//! `keyward-cli`: Keyward from a terminal (CI/CD pipelines, scripts) — profiles, keys and rotations
//! over the same keyward-core service, data directory and keychain as the desktop app, so the two
//! never disagree. `--json` prints machine-readable output; secrets only ever go to stdout on
//! purpose (a created key's secret, once) and are otherwise kept in the OS keychain.

mod approve;
mod revoke;
mod rotate;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use keyward_core::ipc::{KeysListArgs, ProfileAddArgs};
#[cfg(feature = "crash-test")]
use keyward_core::rotation::EnvPauseHook;
use keyward_core::rotation::{
    NewExpiry, RotationAction, RotationPlanArgs, RotationStartArgs, RotationView,
};
use keyward_core::service::NoEvents;
use keyward_core::store::Profile;
use keyward_core::store::{Store, default_data_dir};
use keyward_core::vault::Vault;
use keyward_core::{Keyward, ServiceConfig};
use secrecy::SecretString;
use strum::VariantNames;

/// The environment variable a management key can be passed in (never on the command line, where
/// other users' `ps` would see it).
const MANAGEMENT_KEY_ENV: &str = "KEYWARD_MANAGEMENT_KEY";

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
    /// List a profile's keys.
    Keys {
        /// Profile name or id (default: the active profile).
        #[arg(long)]
        profile: Option<String>,
        /// Answer from the local cache instead of asking OpenRouter.
        #[arg(long)]
        cached: bool,
        #[arg(long)]
        include_disabled: bool,
        #[arg(long)]
        include_expired: bool,
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

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Core(#[from] keyward_core::Error),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot read the management key from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Err(err) => return fail(&CliError::Runtime(err)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(error: &CliError) -> ExitCode {
    eprintln!("keyward-cli: {error}");
    ExitCode::FAILURE
}

fn open_service(cli: &Cli) -> Result<Keyward, CliError> {
    let data_dir = match &cli.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let store = Store::open_in_dir(&data_dir)?;
    let vault = match cli.keychain_service.as_deref().map(str::trim) {
        Some(service) if !service.is_empty() => Vault::with_service(service),
        _ => Vault::new(),
    };
    let mut config = ServiceConfig::new(vault);
    config.events = Arc::new(NoEvents);
    // A terminal command does its work and exits: nothing retries in the background.
    config.recovery = None;
    // A command deploy target not approved yet is put to the person on the terminal (refused
    // when standard input is not one).
    config.rotation.approver = Some(Arc::new(approve::TerminalApprover));
    #[cfg(feature = "crash-test")]
    if let Some(points) = &cli.crash_test_pause_at {
        config.rotation.hooks = EnvPauseHook::parse(points)
            .map(|hook| Arc::new(hook) as Arc<dyn keyward_core::rotation::RotationHooks>);
    }
    Ok(Keyward::new(store, config))
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let service = open_service(&cli)?;
    match &cli.command {
        Command::Profiles => {
            let state = service.app_state()?;
            if cli.json {
                return print_json(&state.profiles);
            }
            if state.profiles.is_empty() {
                println!("No profiles yet: add one with `keyward-cli profile-add --name NAME`.");
            }
            for profile in &state.profiles {
                let active = state.active_profile_id.as_deref() == Some(profile.id.as_str());
                println!(
                    "{} {:<24} {}  {}",
                    if active { "*" } else { " " },
                    profile.name,
                    profile.id,
                    profile.base_url
                );
            }
        }
        Command::ProfileAdd {
            name,
            base_url,
            workspace_id,
        } => {
            let management_key = read_management_key()?;
            let profile = service
                .profile_add(ProfileAddArgs {
                    name: name.clone(),
                    base_url: base_url.clone(),
                    workspace_id: workspace_id.clone(),
                    management_key,
                })
                .await?;
            if cli.json {
                return print_json(&profile);
            }
            println!(
                "Added profile {} ({}); its management key is in the keychain.",
                profile.name, profile.id
            );
        }
        Command::Keys {
            profile,
            cached,
            include_disabled,
            include_expired,
        } => {
            let profile = resolve_profile(&service, profile.as_deref())?;
            let snapshot = service
                .keys_list(KeysListArgs {
                    profile_id: profile.id.clone(),
                    include_disabled: *include_disabled,
                    include_expired: *include_expired,
                    refresh: !cached,
                })
                .await?;
            if cli.json {
                return print_json(&snapshot);
            }
            if snapshot.from_cache {
                eprintln!("(from the local cache; OpenRouter was not asked or did not answer)");
            }
            for key in &snapshot.keys {
                let limit = key
                    .key
                    .limit
                    .map_or_else(|| "no limit".to_owned(), |limit| format!("${limit:.2}"));
                println!(
                    "{:<20} {:<32} {:<9} ${:>9.2} / {:<10} {}",
                    key.key.hash.get(..16).unwrap_or(&key.key.hash),
                    key.key.name,
                    format!("{:?}", key.status).to_lowercase(),
                    key.key.usage,
                    limit,
                    key.key.expires_at.map_or_else(String::new, |at| format!(
                        "expires {}",
                        at.format("%Y-%m-%d %H:%M UTC")
                    ))
                );
            }
            println!("{} keys", snapshot.keys.len());
        }
        Command::Rotate {
            key,
            profile,
            delete_at_once,
            expires,
            dry_run,
        } => {
            let profile = resolve_profile(&service, profile.as_deref())?;
            let key_hash = resolve_key(&service, &profile, key).await?;
            // With --json only the dry run prints the plan (a script reads one JSON document).
            if *dry_run || !cli.json {
                let plan = service
                    .rotation_plan(&RotationPlanArgs {
                        profile_id: profile.id.clone(),
                        key_hash: key_hash.clone(),
                        new_expiry: *expires,
                    })
                    .await?;
                if cli.json {
                    return print_json(&plan);
                }
                for line in rotate::plan_lines(&plan) {
                    println!("{line}");
                }
                if *dry_run {
                    println!("(dry run: nothing was changed)");
                    return Ok(());
                }
            }
            let view = service
                .rotation_start(RotationStartArgs {
                    profile_id: profile.id.clone(),
                    key_hash,
                    delete_at_once: *delete_at_once,
                    new_expiry: *expires,
                })
                .await?;
            print_rotation(&view, cli.json)?;
        }
        Command::Rotations { profile, all } => {
            let profile_id = match profile {
                Some(profile) => Some(resolve_profile(&service, Some(profile))?.id),
                None => None,
            };
            let views = service.rotations(profile_id.as_deref(), !all)?;
            if cli.json {
                return print_json(&views);
            }
            if views.is_empty() {
                println!("No {}rotations.", if *all { "" } else { "unfinished " });
            }
            for view in &views {
                print_rotation(view, false)?;
            }
        }
        Command::Resume => {
            let views = service.resume_rotations().await?;
            let ticked = service.rotation_tick().await?;
            let mut all = views;
            for view in ticked {
                if !all.iter().any(|seen| seen.id == view.id) {
                    all.push(view);
                }
            }
            if cli.json {
                return print_json(&all);
            }
            if all.is_empty() {
                println!("No unfinished rotations.");
            }
            for view in &all {
                print_rotation(view, false)?;
            }
        }
        Command::RotationAction { id, action } => {
            let view = service.rotation_action(id, *action).await?;
            print_rotation(&view, cli.json)?;
        }
        Command::Revoke(args) => revoke::revoke(&cli, &service, args).await?,
        Command::Reenable(args) => revoke::reenable(&cli, &service, args).await?,
    }
    Ok(())
}

fn read_management_key() -> Result<SecretString, CliError> {
    if let Ok(key) = std::env::var(MANAGEMENT_KEY_ENV)
        && !key.trim().is_empty()
    {
        return Ok(SecretString::from(key.trim().to_owned()));
    }
    let mut stdin = std::io::stdin();
    let key = if stdin.is_terminal() {
        // Pasted on a terminal: read from it with echo off, so the key is not left on the screen
        // (or in the terminal's scrollback and a screen recording).
        rpassword::prompt_password("Management key (not shown as you type or paste): ")
            .map_err(CliError::Stdin)?
    } else {
        let mut key = String::new();
        stdin.read_to_string(&mut key).map_err(CliError::Stdin)?;
        key
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(CliError::Usage(format!(
            "no management key: set {MANAGEMENT_KEY_ENV} or pipe it on standard input"
        )));
    }
    Ok(SecretString::from(key))
}

/// A profile by name (case-insensitive) or id; the active one when none is named.
fn resolve_profile(service: &Keyward, wanted: Option<&str>) -> Result<Profile, CliError> {
    let state = service.app_state()?;
    let found = match wanted {
        Some(wanted) => state
            .profiles
            .into_iter()
            .find(|profile| profile.id == wanted || profile.name.eq_ignore_ascii_case(wanted)),
        None => {
            let active = state.active_profile_id;
            state
                .profiles
                .into_iter()
                .find(|profile| Some(&profile.id) == active.as_ref())
        }
    };
    found.ok_or_else(|| {
        CliError::Usage(match wanted {
            Some(wanted) => format!("no profile named `{wanted}` (see `keyward-cli profiles`)"),
            None => "no active profile: add one with `keyward-cli profile-add` or pass --profile"
                .to_owned(),
        })
    })
}

/// A key by hash or by exact name (refused when several keys share the name).
async fn resolve_key(
    service: &Keyward,
    profile: &Profile,
    wanted: &str,
) -> Result<String, CliError> {
    let snapshot = service
        .keys_list(KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: true,
        })
        .await?;
    if let Some(key) = snapshot.keys.iter().find(|key| key.key.hash == wanted) {
        return Ok(key.key.hash.clone());
    }
    let named: Vec<_> = snapshot
        .keys
        .iter()
        .filter(|key| key.key.name == wanted)
        .collect();
    match named.as_slice() {
        [one] => Ok(one.key.hash.clone()),
        [] => Err(CliError::Usage(format!(
            "no key with the hash or name `{wanted}` in profile {}",
            profile.name
        ))),
        several => Err(CliError::Usage(format!(
            "{} keys are named `{wanted}`: pass the hash of the one to rotate",
            several.len()
        ))),
    }
}

fn print_rotation(view: &RotationView, json: bool) -> Result<(), CliError> {
    if json {
        return print_json(view);
    }
    println!(
        "rotation {}  {} → {}  [{}]",
        view.id, view.old_key_name, view.new_key_name, view.status
    );
    for step in &view.steps {
        println!(
            "  {:<12} {:<8} {}",
            step.step.as_str(),
            <&str>::from(step.status),
            step.detail.as_deref().unwrap_or("")
        );
    }
    if let Some(waiting) = &view.waiting_for {
        println!("  waiting for {waiting}");
    }
    if let Some(error) = &view.error {
        println!("  error: {}", error.message);
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
