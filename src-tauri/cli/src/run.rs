//! `keyward-cli run --key NAME [--env VAR] -- COMMAND…`: starts COMMAND with the key's secret, as
//! Keyward holds it in the keychain, in one environment variable of the child only — never on a
//! command line, never in a file (like `op run`). After a rotation the next `run` gets the new key
//! (the core follows the rotation: `Keyward::run_secret`). The child inherits the rest of the
//! environment except `KEYWARD_MANAGEMENT_KEY`; the CLI exits with the child's status (128+N when
//! a signal N ended it, 127 when the program does not exist, 126 when it cannot be run) and
//! forwards the signals it receives to the child.

use std::ffi::OsString;

use secrecy::ExposeSecret;

use crate::Cli;
use crate::context::{Ctx, MANAGEMENT_KEY_ENV, resolve_profile};
use crate::error::CliError;

/// The variable the secret goes in unless `--env` names another.
pub const DEFAULT_ENV: &str = "OPENROUTER_API_KEY";

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The key (exact name, its name before rotations, or hash) whose secret the command gets.
    #[arg(long)]
    pub key: String,
    /// The environment variable that holds the secret in the command's environment.
    #[arg(long, default_value = DEFAULT_ENV, value_name = "VAR")]
    pub env: String,
    /// Profile name or id (default: the active profile).
    #[arg(long)]
    pub profile: Option<String>,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, num_args = 1.., value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// A portable variable name (a letter or `_`, then letters, digits, `_`), never the management
/// key's own variable.
fn validate_env_name(name: &str) -> Result<(), CliError> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(CliError::Usage(format!(
            "--env {name:?} is not a variable name (a letter or _, then letters, digits or _)"
        )));
    }
    if name == MANAGEMENT_KEY_ENV {
        return Err(CliError::Usage(format!(
            "--env must not be {MANAGEMENT_KEY_ENV}: the child never gets the management key"
        )));
    }
    Ok(())
}

/// Runs the command and answers with the exit status the CLI ends with.
pub async fn run(cli: &Cli, args: &RunArgs) -> Result<u8, CliError> {
    validate_env_name(&args.env)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CliError::Usage("no command to run after --".into()));
    };
    let ctx = Ctx::open(cli)?;
    let profile = resolve_profile(&ctx.service, args.profile.as_deref())?;
    let held = ctx.service.run_secret(&profile.id, &args.key).await?;
    tracing::info!(profile = %profile.id, key = %held.key_hash, "running a command with a key");
    let mut command = tokio::process::Command::new(program);
    command
        .args(rest)
        .env_remove(MANAGEMENT_KEY_ENV)
        .env(&args.env, held.secret.expose_secret());
    let spawned = command.spawn();
    // The command's copy of the environment goes as soon as the child has its own.
    drop(command);
    drop(held);
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let code = match error.kind() {
                std::io::ErrorKind::NotFound => 127,
                _ => 126,
            };
            eprintln!(
                "keyward-cli: cannot run {}: {error}",
                program.to_string_lossy()
            );
            return Ok(code);
        }
    };
    let status = wait_forwarding_signals(&mut child).await?;
    Ok(exit_code_of(status))
}

fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}

#[cfg(unix)]
async fn wait_forwarding_signals(
    child: &mut tokio::process::Child,
) -> Result<std::process::ExitStatus, CliError> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use tokio::signal::unix::{SignalKind, signal};

    let io = |source| CliError::Io {
        what: "cannot listen for signals to forward".to_owned(),
        source,
    };
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    // Ctrl-C and Ctrl-\ on a terminal already reach the child (same foreground process group):
    // forwarding them too would deliver them twice, so they are forwarded only without a terminal.
    // They are caught either way, so the CLI outlives the child and still exits with its status.
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let kinds = [
        (SignalKind::terminate(), Signal::SIGTERM, true),
        (SignalKind::hangup(), Signal::SIGHUP, true),
        (SignalKind::user_defined1(), Signal::SIGUSR1, true),
        (SignalKind::user_defined2(), Signal::SIGUSR2, true),
        (SignalKind::window_change(), Signal::SIGWINCH, true),
        (SignalKind::interrupt(), Signal::SIGINT, !on_terminal),
        (SignalKind::quit(), Signal::SIGQUIT, !on_terminal),
    ];
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let mut listeners = Vec::new();
    for (kind, forwarded, forward) in kinds {
        let mut stream = signal(kind).map_err(io)?;
        let sender = sender.clone();
        listeners.push(tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if forward && sender.send(forwarded).is_err() {
                    break;
                }
            }
        }));
    }
    drop(sender);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            Some(forwarded) = received.recv() => {
                if let Some(pid) = pid
                    && let Err(error) = kill(pid, forwarded)
                {
                    tracing::warn!(signal = ?forwarded, %error, "could not forward a signal");
                }
            }
        }
    };
    for listener in listeners {
        listener.abort();
    }
    status.map_err(|source| CliError::Io {
        what: "cannot wait for the command".to_owned(),
        source,
    })
}

#[cfg(not(unix))]
async fn wait_forwarding_signals(
    child: &mut tokio::process::Child,
) -> Result<std::process::ExitStatus, CliError> {
    child.wait().await.map_err(|source| CliError::Io {
        what: "cannot wait for the command".to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::validate_env_name;

    #[test]
    fn only_portable_names_and_never_the_management_key_variable() {
        assert!(validate_env_name("OPENROUTER_API_KEY").is_ok());
        assert!(validate_env_name("_x1").is_ok());
        assert!(validate_env_name("1X").is_err());
        assert!(validate_env_name("A=B").is_err());
        assert!(validate_env_name("").is_err());
        assert!(validate_env_name("KEYWARD_MANAGEMENT_KEY").is_err());
    }
}
