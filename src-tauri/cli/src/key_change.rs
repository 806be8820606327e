//! Changing keys: `create` (the secret to standard output only, or to a new 0600 file), `update`,
//! `disable` / `enable` and `delete` (confirmed on a terminal, `--yes` otherwise). Each change is one
//! call of the core service (`key_create`, `key_update`, `key_delete`), checked by the core's rules
//! before any request.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use keyward_core::api::{LimitReset, Patch, UpdateKeyRequest};
use keyward_core::ipc::{CreateKeyArgs, KeyDeleteArgs, KeyRow, KeysListArgs, UpdateKeyArgs};
use keyward_core::store::Profile;

use crate::Cli;
use crate::context::{Ctx, Target, resolve_key};
use crate::error::CliError;
use crate::keys::key_lines;
use crate::output::print_json;

#[derive(clap::Args, Debug, Clone)]
pub struct CreateArgs {
    /// The new key's name.
    #[arg(
        long,
        required_unless_present = "from_csv",
        conflicts_with = "from_csv"
    )]
    pub name: Option<String>,
    /// Spending limit in USD.
    #[arg(long, allow_negative_numbers = true)]
    pub limit: Option<f64>,
    /// When the limit resets: daily, weekly or monthly.
    #[arg(long, value_parser = parse_reset)]
    pub limit_reset: Option<LimitReset>,
    /// Count BYOK usage toward the limit.
    #[arg(long)]
    pub include_byok_in_limit: bool,
    /// Expiry, RFC 3339 with a zone (2030-01-31T23:59:59Z); default: never.
    #[arg(long)]
    pub expires_at: Option<String>,
    /// Workspace id (default: the profile's, else the account's default).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Write the secret to this new file (created 0600; refused if it exists) instead of stdout.
    #[arg(long, value_name = "PATH", conflicts_with = "from_csv")]
    pub secret_file: Option<PathBuf>,
    /// Create one key per row of this CSV instead (columns name (required), limit, reset, expiry,
    /// workspace (name or id), tags (`;`-separated), environment, project, owner, notes). Prints the
    /// preview unless --yes; the new secrets are never printed: they wait in the keychain as pending.
    #[arg(long, value_name = "PATH")]
    pub from_csv: Option<PathBuf>,
    /// With --from-csv: create the keys (without it only the preview is printed).
    #[arg(long, requires = "from_csv")]
    pub yes: bool,
    /// With --from-csv: only these rows (line numbers, e.g. the failed ones of an earlier run).
    #[arg(long, value_delimiter = ',', requires = "from_csv")]
    pub rows: Vec<u32>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug, Clone)]
pub struct UpdateArgs {
    /// The key's hash or exact name.
    pub key: String,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// Set the spending limit (USD).
    #[arg(long, conflicts_with = "no_limit", allow_negative_numbers = true)]
    pub limit: Option<f64>,
    /// Remove the spending limit.
    #[arg(long)]
    pub no_limit: bool,
    /// Set when the limit resets: daily, weekly or monthly.
    #[arg(long, value_parser = parse_reset, conflicts_with = "no_limit_reset")]
    pub limit_reset: Option<LimitReset>,
    /// The limit never resets.
    #[arg(long)]
    pub no_limit_reset: bool,
    /// Whether BYOK usage counts toward the limit.
    #[arg(long, value_name = "true|false")]
    pub include_byok_in_limit: Option<bool>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug, Clone)]
pub struct KeyArgs {
    /// The key's hash or exact name.
    pub key: String,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DeleteArgs {
    /// The key's hash or exact name.
    pub key: String,
    /// Delete without asking (required when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub target: Target,
}

fn parse_reset(text: &str) -> Result<LimitReset, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "daily" => Ok(LimitReset::Daily),
        "weekly" => Ok(LimitReset::Weekly),
        "monthly" => Ok(LimitReset::Monthly),
        _ => Err("expected daily, weekly or monthly".to_owned()),
    }
}

pub async fn create(cli: &Cli, args: &CreateArgs) -> Result<(), CliError> {
    if let Some(path) = &args.from_csv {
        // Bulk create holds every new secret in the keychain: a stored profile, never ad hoc.
        let ctx = Ctx::open(cli)?;
        let rows = crate::csv_cmd::CreateFromCsv {
            from_csv: path.clone(),
            profile: args.target.profile.clone(),
            yes: args.yes,
            rows: args.rows.clone(),
        };
        return crate::csv_cmd::create_from_csv(&ctx.service, &rows, ctx.json).await;
    }
    let (ctx, profile) = Ctx::for_keys(cli, &args.target)?;
    let request = CreateKeyArgs {
        profile_id: profile.id.clone(),
        name: args.name.clone().unwrap_or_default(),
        limit: args.limit,
        limit_reset: args.limit_reset.clone(),
        include_byok_in_limit: args.include_byok_in_limit,
        expires_at: args.expires_at.clone(),
        workspace_id: args.workspace.clone(),
    };
    let problems = ctx.service.validate_create(&request);
    if !problems.is_empty() {
        return Err(CliError::Invalid(problems));
    }
    // The file first (O_EXCL, 0600): a path that exists is refused before a key exists.
    let mut file = match &args.secret_file {
        Some(path) => Some((path, create_secret_file(path)?)),
        None => None,
    };
    let created = match ctx.service.key_create(request).await {
        Ok(created) => created,
        Err(error) => {
            if let Some((path, _)) = file.take() {
                let _ = std::fs::remove_file(path);
            }
            return Err(error.into());
        }
    };
    match &mut file {
        Some((path, file)) => {
            file.write_all(format!("{}\n", created.secret).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|source| CliError::Io {
                    what: format!(
                        "the key was created but its secret could not be written to {} \
                         (it is in the keychain as pending: `keyward-cli` will not show it again)",
                        path.display()
                    ),
                    source,
                })?;
            eprintln!("Wrote the secret to {} (mode 0600).", path.display());
        }
        None if ctx.json => {}
        None => println!("{}", created.secret),
    }
    if ctx.json {
        // One JSON document on stdout; the secret in it only when it did not go to a file.
        let mut value = serde_json::to_value(&created)?;
        if file.is_some()
            && let Some(object) = value.as_object_mut()
        {
            object.remove("secret");
        }
        return print_json(&value);
    }
    eprintln!("Created key:");
    for line in key_lines(&created.key) {
        eprintln!("  {line}");
    }
    if ctx.ad_hoc {
        eprintln!("(ad-hoc mode: the secret is not kept anywhere by Keyward; store it now)");
    } else if created.pending_saved {
        eprintln!(
            "The secret is also held in the keychain as pending until you resolve it in Keyward."
        );
    } else if let Some(error) = &created.keychain_error {
        eprintln!(
            "The secret could NOT be put in the keychain ({}): store it now.",
            error.message
        );
    }
    Ok(())
}

/// A new file only (`O_CREAT | O_EXCL`), readable by its owner only from the moment it exists.
fn create_secret_file(path: &Path) -> Result<std::fs::File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| CliError::Io {
        what: format!("cannot create the secret file {}", path.display()),
        source,
    })
}

pub async fn update(cli: &Cli, args: &UpdateArgs) -> Result<(), CliError> {
    let patch = UpdateKeyArgs {
        name: args.name.clone(),
        limit: match (args.limit, args.no_limit) {
            (Some(limit), _) => Patch::Set(limit),
            (None, true) => Patch::Clear,
            (None, false) => Patch::Keep,
        },
        limit_reset: match (&args.limit_reset, args.no_limit_reset) {
            (Some(reset), _) => Patch::Set(reset.clone()),
            (None, true) => Patch::Clear,
            (None, false) => Patch::Keep,
        },
        include_byok_in_limit: args.include_byok_in_limit,
        ..UpdateKeyArgs::default()
    };
    if patch.name.is_none()
        && patch.limit.is_keep()
        && patch.limit_reset.is_keep()
        && patch.include_byok_in_limit.is_none()
    {
        return Err(CliError::Usage(
            "nothing to change: pass --name, --limit/--no-limit, --limit-reset/--no-limit-reset \
             or --include-byok-in-limit"
                .into(),
        ));
    }
    validate_update(&patch)?;
    change(cli, &args.key, &args.target, patch).await
}

/// The core's rules for an update (name, limit, reset), before any request.
fn validate_update(patch: &UpdateKeyArgs) -> Result<(), CliError> {
    let request = UpdateKeyRequest {
        name: patch.name.clone(),
        disabled: patch.disabled,
        limit: patch.limit.clone(),
        limit_reset: patch.limit_reset.clone(),
        include_byok_in_limit: patch.include_byok_in_limit,
        workspace_id: None,
    };
    request.validate()?;
    Ok(())
}

pub async fn set_disabled(cli: &Cli, args: &KeyArgs, disabled: bool) -> Result<(), CliError> {
    let patch = UpdateKeyArgs {
        disabled: Some(disabled),
        ..UpdateKeyArgs::default()
    };
    change(cli, &args.key, &args.target, patch).await
}

/// One `key_update` of the key named on the command line; prints the key as it is now.
async fn change(
    cli: &Cli,
    key: &str,
    target: &Target,
    mut patch: UpdateKeyArgs,
) -> Result<(), CliError> {
    let (ctx, profile) = Ctx::for_keys(cli, target)?;
    patch.profile_id = profile.id.clone();
    patch.hash = resolve_key(&ctx.service, &profile, key).await?;
    let row = ctx.service.key_update(patch).await?;
    if ctx.json {
        return print_json(&row);
    }
    for line in key_lines(&row) {
        println!("{line}");
    }
    Ok(())
}

pub async fn delete(cli: &Cli, args: &DeleteArgs) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    if !args.yes && !stdin.is_terminal() {
        return Err(CliError::Usage(
            "refusing to delete without confirmation: standard input is not a terminal; pass --yes"
                .into(),
        ));
    }
    let (ctx, profile) = Ctx::for_keys(cli, &args.target)?;
    let hash = resolve_key(&ctx.service, &profile, &args.key).await?;
    let row = cached_row(&ctx, &profile, &hash).await?;
    if !args.yes {
        let name = row
            .as_ref()
            .map_or(hash.as_str(), |row| row.key.name.as_str());
        eprint!("Delete key \"{name}\" ({hash}) for good? Anything using it stops working. [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin.read_line(&mut answer).map_err(CliError::Stdin)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(CliError::Usage("not deleted: not confirmed".into()));
        }
    }
    ctx.service
        .key_delete(KeyDeleteArgs {
            profile_id: profile.id.clone(),
            hash: hash.clone(),
        })
        .await?;
    if ctx.json {
        return print_json(&serde_json::json!({ "deleted": hash, "key": row }));
    }
    println!("Deleted key {hash}.");
    Ok(())
}

async fn cached_row(ctx: &Ctx, profile: &Profile, hash: &str) -> Result<Option<KeyRow>, CliError> {
    Ok(ctx
        .service
        .keys_list(KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: false,
        })
        .await?
        .keys
        .into_iter()
        .find(|row| row.key.hash == hash))
}
