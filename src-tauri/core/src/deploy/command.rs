//! Command targets: run a program (directly, never through a shell, by its absolute path: no PATH
//! lookup) with the secret in one environment variable, stdin closed, stdout and stderr captured
//! (only their last few KB, with every key-shaped value redacted should the program print one), and
//! a timeout after which it is killed. A non-zero exit is a failure reported with its code and the
//! tail of what the program wrote.
//!
//! The environment is cleared: the program sees its secret variable, `PATH` = [`COMMAND_PATH`],
//! `HOME` (the user's home directory) and `LANG=C.UTF-8`, nothing of Keyward's own environment
//! (which, in the CLI, may hold the management key). On Unix it runs in a process group of its own:
//! on timeout the whole group is killed (children it started too), and whatever it left running in
//! its group when it ends is killed as well (nothing keeps the secret after the deploy).

use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::{DeployContext, Deployed, looks_like_secret, printable, validate_variable_name};
use crate::Error;
use output::{KEY_MARGIN, Tail};

mod output;

/// How long a command may run by default.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of the end of a command's stdout and stderr is kept for messages.
pub const OUTPUT_TAIL_BYTES: usize = 4096;

/// After the program has ended, how long its output pipes may stay open (held by a child it left
/// behind) before reading stops.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// The `PATH` a command target runs with (for the programs it runs itself; Keyward runs the target
/// by its absolute path).
pub const COMMAND_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The `LANG` a command target runs with.
const COMMAND_LANG: &str = "C.UTF-8";

pub(super) fn validate(
    program: &str,
    args: &[String],
    env_var: &str,
    working_dir: Option<&str>,
) -> Result<(), Error> {
    if program.trim().is_empty() {
        return Err(Error::invalid(
            "program",
            "must name the program to run, e.g. /usr/local/bin/update-key",
        ));
    }
    if program.contains('\0') {
        return Err(Error::invalid(
            "program",
            "must not contain a NUL character",
        ));
    }
    if !Path::new(program).is_absolute() {
        return Err(Error::invalid(
            "program",
            format!(
                "must be an absolute path, e.g. /usr/local/bin/update-key (\"{}\" is not): \
                 Keyward does not look programs up on PATH",
                printable(program)
            ),
        ));
    }
    if looks_like_secret(program) {
        return Err(Error::invalid(
            "program",
            "looks like it contains an OpenRouter secret; the secret is passed in the environment \
             variable, never on the command line",
        ));
    }
    for (index, arg) in args.iter().enumerate() {
        if arg.contains('\0') {
            return Err(Error::invalid(
                "args",
                format!("argument {} contains a NUL character", index + 1),
            ));
        }
        if looks_like_secret(arg) {
            return Err(Error::invalid(
                "args",
                format!(
                    "argument {} looks like an OpenRouter secret; a command line is visible to \
                     every user of the computer, so the secret is passed in the environment \
                     variable instead",
                    index + 1
                ),
            ));
        }
    }
    validate_variable_name("env_var", env_var)?;
    if let Some(dir) = working_dir {
        if dir.trim().is_empty() {
            return Err(Error::invalid(
                "working_dir",
                "must name a directory, or be left out to use Keyward's",
            ));
        }
        if dir.contains('\0') {
            return Err(Error::invalid(
                "working_dir",
                "must not contain a NUL character",
            ));
        }
        if !Path::new(dir).is_absolute() {
            return Err(Error::invalid(
                "working_dir",
                format!(
                    "must be an absolute path, e.g. /srv/app (\"{}\" is not)",
                    printable(dir)
                ),
            ));
        }
    }
    Ok(())
}

pub(super) async fn deploy(
    program: &str,
    args: &[String],
    env_var: &str,
    working_dir: Option<&str>,
    secret: &SecretString,
    ctx: &DeployContext,
) -> Result<Deployed, String> {
    let shown = printable(program);
    let secret_bytes = secret.expose_secret().as_bytes();
    if secret_bytes.is_empty() {
        return Err("The secret is empty; nothing to give the command".to_owned());
    }
    if args.iter().any(|arg| arg.contains(secret.expose_secret())) {
        return Err(format!(
            "Refused to run {shown}: its arguments contain the secret, which would be visible to \
             every user of the computer; it is passed in {env_var} instead"
        ));
    }
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(base_environment())
        .env(env_var, secret.expose_secret())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group (id = its pid), so a timeout can kill everything it started.
    #[cfg(unix)]
    command.process_group(0);
    if let Some(dir) = working_dir {
        // Checked here because a missing working directory fails the spawn with the same error
        // as a missing program.
        if !Path::new(dir).is_dir() {
            return Err(format!(
                "Can't run {shown}: the working directory {} does not exist or is not a directory",
                printable(dir)
            ));
        }
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(|err| spawn_failure(&shown, &err))?;
    let group = child.id();

    let keep = OUTPUT_TAIL_BYTES + secret_bytes.len().max(KEY_MARGIN);
    let stdout = Arc::new(Mutex::new(Tail::new(keep)));
    let stderr = Arc::new(Mutex::new(Tail::new(keep)));
    let readers = [
        child
            .stdout
            .take()
            .map(|pipe| tokio::spawn(read_into(pipe, Arc::clone(&stdout)))),
        child
            .stderr
            .take()
            .map(|pipe| tokio::spawn(read_into(pipe, Arc::clone(&stderr)))),
    ];

    let status = match tokio::time::timeout(ctx.command_timeout, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        Ok(Err(err)) => {
            abort_all(readers);
            return Err(format!("Could not wait for {shown} to finish: {err}"));
        }
        Err(_elapsed) => {
            // The group first, while its leader (not yet reaped) keeps the group id taken.
            kill_group(group, &shown);
            // kill() also reaps it, so no zombie is left behind.
            if let Err(err) = child.kill().await {
                tracing::warn!(program = %shown, %err, "could not kill a timed-out deploy command");
            }
            None
        }
    };
    // Whatever it left running in its group (e.g. `sleep 300 &`) ends with it.
    kill_group(group, &shown);
    for reader in readers.into_iter().flatten() {
        let abort = reader.abort_handle();
        if tokio::time::timeout(OUTPUT_GRACE, reader).await.is_err() {
            abort.abort();
        }
    }
    let stdout_tail = lock(&stdout).redacted(secret_bytes);
    let stderr_tail = lock(&stderr).redacted(secret_bytes);

    let Some(status) = status else {
        return Err(format!(
            "{shown} did not finish within {} s and was stopped{}",
            ctx.command_timeout.as_secs_f64(),
            output_suffix(&stderr_tail, &stdout_tail)
        ));
    };
    if status.success() {
        return Ok(Deployed {
            message: format!("Ran {shown}: it finished successfully (exit code 0)"),
            backup_path: None,
            undo: None,
        });
    }
    Err(format!(
        "{shown} failed: {}{}",
        describe_status(status),
        output_suffix(&stderr_tail, &stdout_tail)
    ))
}

/// The only variables a command target gets besides its secret: a fixed `PATH` and `LANG`, and
/// `HOME` (secrets-manager CLIs read their configuration from there). Never Keyward's own
/// environment, which may hold the management key (`KEYWARD_MANAGEMENT_KEY` in the CLI).
fn base_environment() -> Vec<(&'static str, std::ffi::OsString)> {
    let mut vars = vec![("LANG", COMMAND_LANG.into())];
    #[cfg(unix)]
    vars.push(("PATH", COMMAND_PATH.into()));
    if let Some(dirs) = directories::BaseDirs::new() {
        vars.push(("HOME", dirs.home_dir().as_os_str().to_owned()));
    }
    // Windows programs need to find the system.
    #[cfg(windows)]
    if let Some(root) = std::env::var_os("SystemRoot") {
        vars.push(("SystemRoot", root));
    }
    vars
}

/// Kills the process group `group` (the command's; its id is the command's pid). A group that is
/// already gone is not an error.
#[cfg(unix)]
fn kill_group(group: Option<u32>, shown: &str) {
    use nix::errno::Errno;
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    let Some(group) = group
        .and_then(|id| i32::try_from(id).ok())
        .filter(|id| *id > 1)
    else {
        return;
    };
    match killpg(Pid::from_raw(group), Signal::SIGKILL) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(err) => {
            tracing::warn!(program = %shown, %err, "could not kill a deploy command's process group")
        }
    }
}

/// Elsewhere only the program itself is killed (on timeout, by `Child::kill`).
#[cfg(not(unix))]
fn kill_group(_group: Option<u32>, _shown: &str) {}

fn spawn_failure(shown: &str, err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => format!("Can't run {shown}: no such program"),
        io::ErrorKind::PermissionDenied => {
            format!("Can't run {shown}: permission denied (is it an executable file?)")
        }
        _ => format!("Can't run {shown}: {err}"),
    }
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("ended by signal {signal}");
        }
    }
    "ended without an exit code".to_owned()
}

/// `": <stderr tail>"`, or stdout's when stderr is empty, or nothing.
fn output_suffix(stderr: &str, stdout: &str) -> String {
    let stderr = stderr.trim();
    let stdout = stdout.trim();
    if !stderr.is_empty() {
        format!("; stderr: {stderr}")
    } else if !stdout.is_empty() {
        format!("; stdout: {stdout}")
    } else {
        String::new()
    }
}

fn abort_all(readers: [Option<tokio::task::JoinHandle<()>>; 2]) {
    for reader in readers.into_iter().flatten() {
        reader.abort();
    }
}

fn lock(tail: &Mutex<Tail>) -> std::sync::MutexGuard<'_, Tail> {
    tail.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn read_into(mut pipe: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => lock(&tail).push(&chunk[..read]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unix absolute paths (`/x`); on Windows they are not absolute, so `program` would fail first.
    #[cfg(unix)]
    #[test]
    fn validation_names_the_field() {
        let field = |err: Error| match err {
            Error::InvalidInput { field, .. } => field.unwrap_or_default(),
            other => panic!("{other:?}"),
        };
        let args = vec!["--flag".to_owned()];
        assert!(validate("/usr/local/bin/deploy.sh", &args, "API_KEY", None).is_ok());
        assert!(validate("/x", &args, "API_KEY", Some("/srv/app")).is_ok());
        assert_eq!(
            field(validate(" ", &args, "API_KEY", None).unwrap_err()),
            "program"
        );
        // No PATH lookup: a bare name or a relative path is refused.
        for relative in ["sh", "deploy.sh", "./deploy.sh", "bin/deploy"] {
            let err = validate(relative, &args, "API_KEY", None).unwrap_err();
            assert!(err.to_string().contains("absolute path"), "{err}");
            assert_eq!(field(err), "program");
        }
        let leaked = vec!["sk-or-v1-0123".to_owned()];
        assert_eq!(
            field(validate("/x", &leaked, "API_KEY", None).unwrap_err()),
            "args"
        );
        assert_eq!(
            field(validate("/x", &args, "1BAD", None).unwrap_err()),
            "env_var"
        );
        assert_eq!(
            field(validate("/x", &args, "A-B", None).unwrap_err()),
            "env_var"
        );
        assert_eq!(
            field(validate("/x", &args, "", None).unwrap_err()),
            "env_var"
        );
        assert_eq!(
            field(validate("/x", &args, "API_KEY", Some("")).unwrap_err()),
            "working_dir"
        );
        assert_eq!(
            field(validate("/x", &args, "API_KEY", Some("relative/dir")).unwrap_err()),
            "working_dir"
        );
    }
}
