//! Where a new API key's secret goes during a rotation: a dotenv file, an OS keychain entry, a
//! command that receives it in an environment variable, or the clipboard. [`validate_target`] checks
//! a target, [`deploy`] delivers a secret and answers with a [`DeployOutcome`] (never the secret),
//! [`undo`] reverts a deploy, [`discard_backup`] removes the backup once the old key is gone and
//! [`discard_backups_of`] every backup of a rotation once it has ended (whichever way).
//! A command target runs only once the person approved it (`approval`).

mod approval;
mod command;
pub(crate) mod env_file;
mod keychain;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Error;
use crate::vault::Vault;

pub use approval::{
    CommandApprovalRequest, CommandApprover, MemoryApprover, command_digest, target_digest,
};
pub(crate) use approval::{is_approved, not_approved, not_approved_message};
pub use command::{COMMAND_PATH, DEFAULT_COMMAND_TIMEOUT, OUTPUT_TAIL_BYTES};

/// Longest variable name accepted (env files and command environment variables).
const MAX_VARIABLE_LEN: usize = 256;

/// The directory of Keyward's data directory that env-file backups live in (0700; one directory per
/// rotation, `rotation-<id>`, or per unplanned deploy, `deploy-<time>`; files 0600).
pub const BACKUP_DIR_NAME: &str = "deploy-backups";

/// The backup directory inside a data directory.
pub fn backup_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join(BACKUP_DIR_NAME)
}

/// One place a rotated key's secret is delivered to. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeployTarget {
    /// The clipboard, through the shell's [`ClipboardSink`] (which clears it after 30 s).
    Clipboard,
    /// One `variable=value` line of a dotenv file, replaced (or appended) atomically.
    EnvFile { path: String, variable: String },
    /// An OS keychain entry of the person's choosing.
    Keychain { service: String, account: String },
    /// A program (an absolute path, never looked up on PATH) run with the secret in the environment
    /// variable `env_var` (never on its command line, never through a shell), in an environment
    /// holding nothing else but a fixed PATH, HOME and LANG. Runs only once the person approved
    /// exactly these fields (`CommandApprover`).
    Command {
        program: String,
        args: Vec<String>,
        env_var: String,
        working_dir: Option<String>,
    },
    /// `keyward-cli run --key NAME -- COMMAND`: the new secret stays in Keyward's keychain (kept, not
    /// pending) and the next `run` of the key's name starts its command with it, so no file holds
    /// it and nothing has to be edited after the rotation. Deploying writes nothing anywhere.
    KeywardRun,
}

impl DeployTarget {
    /// A short, secret-free description for messages and logs: `.env file /app/.env (OPENROUTER_API_KEY)`.
    pub fn describe(&self) -> String {
        match self {
            DeployTarget::Clipboard => "the clipboard".to_owned(),
            DeployTarget::EnvFile { path, variable } => format!(".env file {path} ({variable})"),
            DeployTarget::Keychain { service, account } => {
                format!("keychain entry service \"{service}\", account \"{account}\"")
            }
            DeployTarget::Command { program, .. } => format!("command {program}"),
            DeployTarget::KeywardRun => "keyward-cli run (kept in the keychain)".to_owned(),
        }
    }
}

/// How to take back a successful deploy ([`undo`]) and what backup it kept ([`discard_backup`]).
/// Persisted with the outcome (the rotation journal), so a rollback works after a restart. Holds no
/// secret: backups are files in Keyward's backup directory or keychain entries, referred to by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeployUndo {
    /// Put the variable's line in `path` back as it is in `backup_path`; `backup_path: null` means the
    /// file did not exist before the deploy created it.
    RestoreEnvVariable {
        path: String,
        variable: String,
        backup_path: Option<String>,
    },
    /// Put the entry's previous value (kept in the same service under `backup_account`) back;
    /// `backup_account: null` means the deploy created the entry, so undo deletes it.
    RestoreKeychainEntry {
        service: String,
        account: String,
        backup_account: Option<String>,
    },
}

/// What delivering a secret to one target did. `message` says what happened in a sentence a person
/// can act on; it never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeployOutcome {
    pub target: DeployTarget,
    pub ok: bool,
    pub message: String,
    /// Where the env file's previous line of the variable is kept (in Keyward's backup directory,
    /// mode 0600); `null` for other targets and for a file the deploy created.
    pub backup_path: Option<String>,
    /// How to take this deploy back; `null` when it failed or cannot be undone (clipboard, command).
    pub undo: Option<DeployUndo>,
}

impl DeployOutcome {
    fn failed(target: &DeployTarget, message: String) -> Self {
        DeployOutcome {
            target: target.clone(),
            ok: false,
            message,
            backup_path: None,
            undo: None,
        }
    }
}

/// The clipboard, as the desktop shell provides it (core has no GUI). The shell copies the secret
/// and clears the clipboard again after 30 s (if it still holds the secret).
pub trait ClipboardSink: Send + Sync {
    /// Copies `secret`; `Err` carries a secret-free reason shown to the person.
    fn copy_secret(&self, secret: &SecretString) -> Result<(), String>;
}

/// What deploying needs besides the target and the secret.
#[derive(Clone)]
pub struct DeployContext {
    /// `None`: clipboard targets fail with a message saying the clipboard is not available here.
    pub clipboard: Option<Arc<dyn ClipboardSink>>,
    /// How long a command target may run before it is killed and reported as failed.
    pub command_timeout: Duration,
    /// Keychain access for keychain targets (any service: the entry's own is used).
    pub vault: Vault,
    /// A backup name decided before the deploy (a rotation's, recorded in its intent): the env file's
    /// backup is `<backup_dir>/<suffix>/<file>.<path digest>.keyward-backup`, the keychain backup
    /// account `<account>.keyward-backup-<suffix>`. With it a deploy interrupted after its write can be
    /// taken back ([`undo_interrupted`]), and a repeated deploy keeps the first backup (the one
    /// holding the value from before) instead of backing up the new secret. `None`: a fresh,
    /// timestamped name per deploy.
    pub backup_suffix: Option<String>,
    /// Digests ([`target_digest`]) of the command targets the person approved: any other command
    /// target is refused without running.
    pub approved_commands: HashSet<String>,
    /// Where env-file backups go: [`backup_dir_in`] the data directory. `None`: an env-file deploy
    /// that needs a backup (the file exists) fails, saying so.
    pub backup_dir: Option<PathBuf>,
}

impl Default for DeployContext {
    fn default() -> Self {
        DeployContext {
            clipboard: None,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            vault: Vault::new(),
            backup_suffix: None,
            approved_commands: HashSet::new(),
            backup_dir: None,
        }
    }
}

impl DeployContext {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_clipboard(mut self, clipboard: Arc<dyn ClipboardSink>) -> Self {
        self.clipboard = Some(clipboard);
        self
    }

    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    pub fn with_backup_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.backup_suffix = Some(suffix.into());
        self
    }

    /// Lets `target` (a command) run: as if the person had approved it.
    pub fn approving(mut self, target: &DeployTarget) -> Self {
        if let Some(digest) = target_digest(target) {
            self.approved_commands.insert(digest);
        }
        self
    }

    /// Keeps env-file backups in `dir` (a private folder of the data directory).
    pub fn with_backup_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.backup_dir = Some(dir.into());
        self
    }
}

impl fmt::Debug for DeployContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeployContext")
            .field(
                "clipboard",
                &self.clipboard.as_ref().map(|_| "ClipboardSink"),
            )
            .field("command_timeout", &self.command_timeout)
            .field("vault", &self.vault)
            .field("backup_suffix", &self.backup_suffix)
            .field("approved_commands", &self.approved_commands.len())
            .field("backup_dir", &self.backup_dir)
            .finish()
    }
}

/// Checks a target's fields before anything runs: `InvalidInput` names the field at fault (`path`,
/// `variable`, `service`, `account`, `program`, `args`, `env_var`, `working_dir`). Does not touch the
/// file system or the keychain; problems only visible there (a directory where the file should be, a
/// missing program) are reported by [`deploy`].
pub fn validate_target(target: &DeployTarget) -> Result<(), Error> {
    match target {
        DeployTarget::Clipboard | DeployTarget::KeywardRun => Ok(()),
        DeployTarget::EnvFile { path, variable } => {
            env_file::validate_path(path)?;
            validate_variable_name("variable", variable)
        }
        DeployTarget::Keychain { service, account } => keychain::validate(service, account),
        DeployTarget::Command {
            program,
            args,
            env_var,
            working_dir,
        } => command::validate(program, args, env_var, working_dir.as_deref()),
    }
}

/// [`validate_target`], and for a keychain target also that it is not under `own_service` (the
/// vault's service, when it is not the default `keyward`, which `validate_target` refuses anyway).
pub fn validate_target_for(target: &DeployTarget, own_service: &str) -> Result<(), Error> {
    validate_target(target)?;
    match target {
        DeployTarget::Keychain { service, account } => {
            keychain::refuse_own(service, account, own_service)
        }
        _ => Ok(()),
    }
}

/// Delivers `secret` to `target`. Never fails as a call: a refusal (invalid target) or a failure is an
/// outcome with `ok: false` and a message saying why. Blocking work (files, keychain, waiting for a
/// command) runs off the async threads.
pub async fn deploy(
    target: &DeployTarget,
    secret: &SecretString,
    ctx: &DeployContext,
) -> DeployOutcome {
    if let Err(err) = validate_target_for(target, ctx.vault.service()) {
        return DeployOutcome::failed(target, err.to_string());
    }
    if !is_approved(target, &ctx.approved_commands) {
        tracing::warn!(target = %target.describe(), "refused to run an unapproved command target");
        let program = match target {
            DeployTarget::Command { program, .. } => program.as_str(),
            _ => "",
        };
        return DeployOutcome::failed(
            target,
            format!(
                "Did not run the command: it {}",
                not_approved_message(program, false)
            ),
        );
    }
    let result = match target {
        DeployTarget::Clipboard => deploy_clipboard(secret, ctx),
        // The secret is already held in Keyward's keychain from the moment it was created; the
        // rotation keeps it there when it ends (`resolve_new_secret`), and `run` reads it.
        DeployTarget::KeywardRun => Ok(Deployed {
            message: "kept in Keyward's keychain: the next `keyward-cli run` of this key uses it"
                .to_owned(),
            backup_path: None,
            undo: None,
        }),
        DeployTarget::EnvFile { path, variable } => {
            env_file::deploy(
                path,
                variable,
                secret,
                ctx.backup_suffix.as_deref(),
                ctx.backup_dir.as_deref(),
            )
            .await
        }
        DeployTarget::Keychain { service, account } => {
            keychain::deploy(service, account, secret, ctx).await
        }
        DeployTarget::Command {
            program,
            args,
            env_var,
            working_dir,
        } => command::deploy(program, args, env_var, working_dir.as_deref(), secret, ctx).await,
    };
    match result {
        Ok(done) => {
            tracing::info!(target = %target.describe(), "deployed the secret");
            DeployOutcome {
                target: target.clone(),
                ok: true,
                message: done.message,
                backup_path: done.backup_path,
                undo: done.undo,
            }
        }
        Err(message) => {
            tracing::warn!(target = %target.describe(), %message, "deploy failed");
            DeployOutcome::failed(target, message)
        }
    }
}

/// Deploys to each target in order and reports every outcome; a failing target does not stop the
/// others.
pub async fn deploy_all(
    targets: &[DeployTarget],
    secret: &SecretString,
    ctx: &DeployContext,
) -> Vec<DeployOutcome> {
    let mut outcomes = Vec::with_capacity(targets.len());
    for target in targets {
        outcomes.push(deploy(target, secret, ctx).await);
    }
    outcomes
}

/// Takes back a successful deploy: an env file gets the variable's previous line back (from the
/// backup; only that line, so edits made to the rest of the file since are kept; a file the deploy
/// created loses the line, and is removed if nothing else is left), a keychain entry gets its
/// previous value back (or is deleted if the deploy created it). Returns what was done, in a sentence.
///
/// A clipboard or command deploy cannot be undone (what a command did is unknown to Keyward): that,
/// and an outcome that was not successful, is `InvalidInput` on field `undo`. The backup itself is
/// kept; remove it with [`discard_backup`].
pub async fn undo(outcome: &DeployOutcome, ctx: &DeployContext) -> Result<String, Error> {
    if !outcome.ok {
        return Err(Error::invalid(
            "undo",
            "this deploy did not succeed, so there is nothing to take back",
        ));
    }
    match &outcome.undo {
        None => Err(Error::invalid(
            "undo",
            format!(
                "a deploy to {} cannot be undone by Keyward",
                outcome.target.describe()
            ),
        )),
        Some(DeployUndo::RestoreEnvVariable {
            path,
            variable,
            backup_path,
        }) => env_file::undo(path, variable, backup_path.as_deref()).await,
        Some(DeployUndo::RestoreKeychainEntry {
            service,
            account,
            backup_account,
        }) => keychain::undo(service, account, backup_account.as_deref(), ctx).await,
    }
}

/// Takes back a deploy whose outcome was never recorded (the process died during it), using the
/// backup name it was given in advance (`ctx.backup_suffix`): a target that does not hold `secret`
/// was not touched and is left alone (`Ok(None)`). One that holds it gets its previous value back
/// from the planned backup; without that backup it did not have a value before (the backup is
/// always written before the target), so the variable or entry is removed. For an env file, a
/// backup of the same file made since `since` (the deploy's start) under another name (a deploy
/// without a planned name) that does not hold `secret` is used when the planned one is missing.
/// Clipboard and command targets cannot be taken back (`Ok(None)`).
pub async fn undo_interrupted(
    target: &DeployTarget,
    secret: &SecretString,
    since: std::time::SystemTime,
    ctx: &DeployContext,
) -> Result<Option<String>, Error> {
    validate_target(target)?;
    match target {
        DeployTarget::EnvFile { path, variable } => {
            env_file::undo_interrupted(
                path,
                variable,
                secret,
                ctx.backup_suffix.as_deref(),
                ctx.backup_dir.as_deref(),
                since,
            )
            .await
        }
        DeployTarget::Keychain { service, account } => {
            keychain::undo_interrupted(service, account, secret, ctx).await
        }
        DeployTarget::Clipboard | DeployTarget::Command { .. } | DeployTarget::KeywardRun => {
            Ok(None)
        }
    }
}

/// Removes the backup a successful deploy kept (the env file's backup file, the keychain backup
/// entry): call it once the previous secret is useless (the old key is deleted). Removing a backup
/// that is already gone is not an error; an outcome without a backup does nothing.
pub async fn discard_backup(outcome: &DeployOutcome, ctx: &DeployContext) -> Result<(), Error> {
    match &outcome.undo {
        Some(DeployUndo::RestoreEnvVariable {
            backup_path: Some(backup),
            ..
        }) => env_file::discard_backup(backup).await,
        Some(DeployUndo::RestoreKeychainEntry {
            service,
            backup_account: Some(backup_account),
            ..
        }) => keychain::discard_backup(service, backup_account, ctx).await,
        _ => Ok(()),
    }
}

/// Removes every env-file backup a rotation's deploys kept (the group named by its backup suffix)
/// and the keychain backup entries named in `outcomes`: call it once the rotation has ended, whichever
/// way (completed, rolled back, abandoned), since the previous values are of no more use and the
/// backups hold secrets. Returns what could not be removed, in sentences (nothing: all gone).
pub async fn discard_backups_of(
    suffix: &str,
    outcomes: &[DeployOutcome],
    ctx: &DeployContext,
) -> Vec<String> {
    let mut problems = Vec::new();
    for outcome in outcomes.iter().filter(|outcome| outcome.ok) {
        if let Err(error) = discard_backup(outcome, ctx).await {
            problems.push(format!(
                "could not remove the backup of {}: {error}",
                outcome.target.describe()
            ));
        }
    }
    if let Some(dir) = ctx.backup_dir.clone() {
        let suffix = suffix.to_owned();
        let removed =
            tokio::task::spawn_blocking(move || env_file::discard_group(&dir, &suffix)).await;
        match removed {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => problems.push(error.to_string()),
            Err(join) => problems.push(format!("removing the backups did not finish ({join})")),
        }
    }
    problems
}

/// Where a deploy to the env file `file` (its real path: a symlink's target) with the planned backup
/// name `suffix` keeps the file's previous line, in `backup_dir`.
pub fn env_backup_path(backup_dir: &Path, file: &Path, suffix: &str) -> PathBuf {
    env_file::planned_backup_path(backup_dir, file, suffix)
}

/// The names of the backup groups (rotation backup suffixes, `deploy-<time>`) in `backup_dir`, for
/// a sweep after a crash between a rotation's end and its backups' removal.
pub fn backup_groups(backup_dir: &Path) -> Vec<String> {
    env_file::groups(backup_dir)
}

/// What a successful deploy reports.
struct Deployed {
    message: String,
    backup_path: Option<String>,
    undo: Option<DeployUndo>,
}

fn deploy_clipboard(secret: &SecretString, ctx: &DeployContext) -> Result<Deployed, String> {
    let Some(clipboard) = &ctx.clipboard else {
        return Err(
            "The clipboard is not available here (no desktop window): choose another target, or \
             copy the secret from the desktop app"
                .to_owned(),
        );
    };
    clipboard
        .copy_secret(secret)
        .map_err(|reason| format!("Could not copy the secret to the clipboard: {reason}"))?;
    Ok(Deployed {
        message: "Copied to the clipboard; it is cleared again after 30 s".to_owned(),
        backup_path: None,
        undo: None,
    })
}

/// Portable environment variable names: a letter or `_`, then letters, digits or `_`.
fn validate_variable_name(field: &str, name: &str) -> Result<(), Error> {
    if looks_like_secret(name) {
        return Err(Error::invalid(
            field,
            "looks like an OpenRouter secret; give the variable's name, e.g. OPENROUTER_API_KEY",
        ));
    }
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !starts_well || !rest_ok || name.len() > MAX_VARIABLE_LEN {
        return Err(Error::invalid(
            field,
            format!(
                "\"{}\" is not a valid variable name: use a letter or '_' followed by letters, \
                 digits or '_' (at most {MAX_VARIABLE_LEN}), e.g. OPENROUTER_API_KEY",
                printable(name)
            ),
        ));
    }
    Ok(())
}

/// A name as it may be shown in a message: control characters escaped, long names cut.
fn printable(text: &str) -> String {
    let mut shown: String = text.chars().take(80).flat_map(char::escape_debug).collect();
    if text.chars().count() > 80 {
        shown.push('…');
    }
    shown
}

/// True when `text` contains what looks like an OpenRouter secret, which must never be part of a
/// target's (non-secret) fields.
fn looks_like_secret(text: &str) -> bool {
    text.contains("sk-or-")
}
