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

/// How long a command may run by default.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of the end of a command's stdout and stderr is kept for messages.
pub const OUTPUT_TAIL_BYTES: usize = 4096;

/// After the program has ended, how long its output pipes may stay open (held by a child it left
/// behind) before reading stops.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Shown instead of the secret in captured output.
const REDACTED: &str = "[REDACTED]";

/// The `PATH` a command target runs with (for the programs it runs itself; Keyward runs the target
/// by its absolute path).
pub const COMMAND_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The `LANG` a command target runs with.
const COMMAND_LANG: &str = "C.UTF-8";

/// Beyond what is shown, how many bytes of output are kept so that a key-shaped value cut by the
/// start of the kept buffer is never within what is shown (OpenRouter keys are ~73 characters).
const KEY_MARGIN: usize = 256;

/// The start of every OpenRouter key (inference `sk-or-v1-…`, management keys alike).
const KEY_PREFIX: &[u8] = b"sk-or-";

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

/// The last `keep` bytes of a stream. `keep` exceeds what is shown by at least the secret's length
/// (and [`KEY_MARGIN`]), so that a secret cut by the start of the buffer is never within what is
/// shown.
pub(super) struct Tail {
    bytes: Vec<u8>,
    keep: usize,
    /// Bytes dropped from the front so far.
    dropped: bool,
}

impl Tail {
    pub(super) fn new(keep: usize) -> Self {
        Tail {
            bytes: Vec::new(),
            keep,
            dropped: false,
        }
    }

    pub(super) fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        // Trimmed in batches so a chatty program costs amortised O(1) per byte.
        if self.bytes.len() > self.keep * 2 {
            let excess = self.bytes.len() - self.keep;
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    /// The last [`OUTPUT_TAIL_BYTES`] as text, every occurrence of `secret` and every key-shaped
    /// value (`sk-or-…`: any key, not only the new one) replaced by `[REDACTED]`, prefixed with `…`
    /// when the start was cut. An occurrence that only partly reaches into what is shown is
    /// redacted whole, and a word cut by the start of what is shown is left out (it may be the end
    /// of a key whose start is gone).
    pub(super) fn redacted(&self, secret: &[u8]) -> String {
        let bytes = &self.bytes;
        let shown_from = bytes.len().saturating_sub(OUTPUT_TAIL_BYTES);
        let mut spans = secret_spans(bytes, secret);
        spans.extend(key_spans(bytes));
        // A word running into the shown window from before it: only its tail would be shown.
        let cut = self.dropped || shown_from > 0;
        if cut {
            let first_word = if shown_from == 0 {
                0
            } else {
                (0..shown_from)
                    .rev()
                    .take_while(|&at| is_key_char(bytes[at]))
                    .last()
                    .unwrap_or(shown_from)
            };
            let starts_in_word = bytes.get(shown_from).is_some_and(|b| is_key_char(*b))
                && (shown_from == 0 || first_word < shown_from);
            if starts_in_word {
                let end = (shown_from..bytes.len())
                    .find(|&at| !is_key_char(bytes[at]))
                    .unwrap_or(bytes.len());
                spans.push((first_word, end));
            }
        }
        let spans = merged(spans);
        let mut text = Vec::with_capacity(bytes.len() - shown_from + REDACTED.len());
        if cut {
            text.extend_from_slice("…".as_bytes());
        }
        // `copied_to`: the next byte not yet in `text`.
        let mut copied_to = shown_from;
        for (start, end) in spans {
            if end <= shown_from {
                continue;
            }
            if start > copied_to {
                text.extend_from_slice(&bytes[copied_to..start]);
            }
            text.extend_from_slice(REDACTED.as_bytes());
            copied_to = end;
        }
        if copied_to < bytes.len() {
            text.extend_from_slice(&bytes[copied_to..]);
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// `spans` sorted, overlapping or touching ones joined: one `[REDACTED]` each.
fn merged(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Where `secret` occurs in `bytes` (non-overlapping, left to right).
fn secret_spans(bytes: &[u8], secret: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while !secret.is_empty() && at + secret.len() <= bytes.len() {
        if bytes[at..].starts_with(secret) {
            spans.push((at, at + secret.len()));
            at += secret.len();
        } else {
            at += 1;
        }
    }
    spans
}

/// Characters a key is made of (and, generously, what may follow its prefix).
fn is_key_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// Every key-shaped value in `bytes`: `sk-or-` and the run of key characters after it.
fn key_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at + KEY_PREFIX.len() <= bytes.len() {
        if bytes[at..].starts_with(KEY_PREFIX) {
            let end = (at + KEY_PREFIX.len()..bytes.len())
                .find(|&i| !is_key_char(bytes[i]))
                .unwrap_or(bytes.len());
            spans.push((at, end));
            at = end;
        } else {
            at += 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(chunks: &[&[u8]], keep: usize) -> Tail {
        let mut tail = Tail::new(keep);
        for chunk in chunks {
            tail.push(chunk);
        }
        tail
    }

    #[test]
    fn short_output_is_kept_whole_and_redacted() {
        let secret = b"sk-or-v1-abc";
        let tail = tail_of(&[b"key is sk-or-v1-abc and sk-or-v1-abc!"], 100);
        assert_eq!(tail.redacted(secret), "key is [REDACTED] and [REDACTED]!");
    }

    #[test]
    fn a_secret_straddling_the_shown_window_is_redacted_whole() {
        let secret = b"SECRETSECRET";
        let keep = OUTPUT_TAIL_BYTES + secret.len();
        // The secret starts 5 bytes before the shown window begins.
        let mut data = vec![b'a'; 100];
        data.extend_from_slice(secret);
        data.extend(std::iter::repeat_n(
            b'b',
            OUTPUT_TAIL_BYTES - secret.len() + 5,
        ));
        let tail = tail_of(&[&data], keep);
        let text = tail.redacted(secret);
        assert!(text.starts_with("…[REDACTED]"), "{}", &text[..40]);
        assert!(!text.contains("SECRET"));
        assert!(!text.contains("CRET"), "a cut piece of the secret leaked");
    }

    #[test]
    fn chatty_output_keeps_only_the_tail() {
        let secret = b"sk-or-v1-zzz";
        let keep = OUTPUT_TAIL_BYTES + secret.len();
        let mut tail = Tail::new(keep);
        for round in 0..1000 {
            tail.push(format!("line {round} sk-or-v1-zzz\n").as_bytes());
        }
        let text = tail.redacted(secret);
        assert!(text.starts_with('…'));
        assert!(text.ends_with("line 999 [REDACTED]\n"));
        assert!(!text.contains("sk-or-v1-zzz"));
        assert!(text.len() <= OUTPUT_TAIL_BYTES + 64);
        assert!(tail.bytes.len() <= keep * 2);
    }

    #[test]
    fn every_key_shaped_value_is_redacted_not_only_the_secret() {
        let secret = b"sk-or-v1-new";
        let tail = tail_of(
            &[b"new sk-or-v1-new old=sk-or-v1-0123abcd mgmt:sk-or-v1-ffff_x; done"],
            OUTPUT_TAIL_BYTES + KEY_MARGIN,
        );
        assert_eq!(
            tail.redacted(secret),
            "new [REDACTED] old=[REDACTED] mgmt:[REDACTED]; done"
        );
        // The secret inside a longer key-shaped word: one redaction, nothing left of either.
        let tail = tail_of(
            &[b"x sk-or-v1-new_suffix y"],
            OUTPUT_TAIL_BYTES + KEY_MARGIN,
        );
        assert_eq!(tail.redacted(secret), "x [REDACTED] y");
    }

    #[test]
    fn a_key_cut_by_the_start_of_the_window_leaves_no_fragment() {
        let keep = OUTPUT_TAIL_BYTES + KEY_MARGIN;
        let key = "sk-or-v1-0123456789abcdef0123456789abcdef";
        // The key's first 20 characters are before the shown window, the rest inside it.
        let mut data = vec![b' '; 50];
        data.extend_from_slice(key.as_bytes());
        let rest = OUTPUT_TAIL_BYTES - (key.len() - 20);
        data.extend(std::iter::repeat_n(b' ', rest));
        let tail = tail_of(&[&data], keep);
        let text = tail.redacted(b"unrelated");
        assert!(text.starts_with("…[REDACTED]"), "{}", &text[..40]);
        assert!(!text.contains("abcdef"), "a fragment of a key leaked");
    }

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
