//! Env-file targets: set exactly one `VARIABLE=value` line of a dotenv file and leave every other byte
//! as it was (comments, blank lines, order, other variables, `export ` prefixes, spacing around `=`,
//! a trailing comment, CRLF line endings, a missing final newline, a UTF-8 BOM). The replaced value
//! keeps its quoting style; an unquoted value that needs quotes gets single quotes.
//!
//! Writes are atomic: the new content goes to a temporary file in the same directory, is fsynced, and
//! renamed over the file (then the directory is fsynced), so a crash leaves the old or the new file,
//! never half of one. The previous content is first saved beside it as
//! `<name>.keyward-backup-<UTC timestamp>` (mode 0600). The file keeps its permissions; a new file
//! gets 0600. Writers of the same directory are serialised by an advisory lock on the directory (unix)
//! and a process-wide mutex.
//!
//! A symlinked file is followed: the link's target is rewritten (and the backup goes beside the
//! target), the link itself is left in place — replacing the link with a regular file would silently
//! detach it from the file other programs read.
//!
//! Refused, with nothing changed: an invalid variable name, a path that is a directory or not a
//! regular file, a missing directory, a variable assigned more than once (which one counts depends on
//! the reader), a quote that never closes, a secret with a line break or control character.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use super::{DeployUndo, Deployed, looks_like_secret, printable, validate_variable_name};
use crate::Error;

/// Marks backup files; [`discard_backup`] removes nothing without it.
const BACKUP_MARKER: &str = ".keyward-backup-";

/// Mode of a file Keyward creates (new env file, backup): it holds a secret.
#[cfg(unix)]
const PRIVATE_MODE: u32 = 0o600;

/// Env files larger than this are refused: a dotenv file this big is not one.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Serialises env-file writes within this process (the directory lock covers other processes, and
/// is all there is on unix; this covers platforms without it too).
static WRITERS: Mutex<()> = Mutex::new(());

pub(super) fn validate_path(path: &str) -> Result<(), Error> {
    if path.trim().is_empty() {
        return Err(Error::invalid(
            "path",
            "must name the .env file, e.g. /home/me/app/.env",
        ));
    }
    if path.contains('\0') {
        return Err(Error::invalid("path", "must not contain a NUL character"));
    }
    if looks_like_secret(path) {
        return Err(Error::invalid(
            "path",
            "looks like it contains an OpenRouter secret; give the file's path",
        ));
    }
    if !Path::new(path).is_absolute() {
        return Err(Error::invalid(
            "path",
            format!(
                "\"{}\" is relative; give the full path (Keyward's working directory is not your \
                 project's)",
                printable(path)
            ),
        ));
    }
    Ok(())
}

pub(super) async fn deploy(
    path: &str,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
) -> Result<Deployed, String> {
    let path = PathBuf::from(path);
    let variable = variable.to_owned();
    let secret = secret.clone();
    let backup_suffix = backup_suffix.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        deploy_blocking(&path, &variable, &secret, backup_suffix.as_deref())
    })
    .await
    .map_err(|join| format!("Writing the .env file did not finish ({join})"))?
}

fn deploy_blocking(
    path: &Path,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
) -> Result<Deployed, String> {
    let shown = path.display().to_string();
    let fail = |why: String| format!("Did not change {shown}: {why}");
    let file = resolve(path).map_err(fail)?;
    let _guard = lock_writers(&file.dir).map_err(fail)?;
    let old = read_existing(&file).map_err(fail)?;
    let edit = edit(
        old.as_deref().unwrap_or_default(),
        variable,
        secret.expose_secret(),
    )
    .map_err(fail)?;

    // `fresh`: this call wrote the backup (so it may remove it again if the file write fails).
    let (backup, fresh) = match (&old, backup_suffix) {
        (None, _) => (None, false),
        (Some(old), None) => (Some(write_backup(&file.real, old).map_err(fail)?), true),
        (Some(old), Some(suffix)) => {
            let planned = planned_backup(&file.real, suffix).map_err(fail)?;
            if planned.exists() {
                // An earlier, interrupted attempt backed the file up before writing it: that backup
                // holds the value from before, the file may already hold the new secret.
                (Some(planned), false)
            } else if edit.content == *old {
                // Already holds the secret and was never backed up under the planned name: an
                // earlier attempt created the variable (or the file). A backup now would only
                // keep the new secret and make a rollback "restore" it.
                (None, false)
            } else {
                write_backup_at(&planned, old).map_err(fail)?;
                (Some(planned), true)
            }
        }
    };
    if let Err(why) = write_atomically(&file.real, &edit.content, file.permissions.as_ref()) {
        // The file is untouched; a backup of it is useless and holds a secret.
        if fresh
            && let Some(backup) = &backup
            && let Err(err) = fs::remove_file(backup)
        {
            tracing::warn!(backup = %backup.display(), %err, "could not remove an unneeded backup");
        }
        return Err(fail(why));
    }

    let what = match (&old, edit.replaced) {
        (None, _) => "created the file",
        (Some(_), true) => "replaced its line",
        (Some(_), false) => "added a line",
    };
    // The target already names the variable and the file, and `backup_path` where the previous
    // file is kept (the window shows both beside this): say what happened, and where a link led.
    let message = if file.real == path {
        what.to_owned()
    } else {
        format!("{what} in {}, which {shown} links to", file.real.display())
    };
    let backup_shown = backup.as_ref().map(|b| b.display().to_string());
    Ok(Deployed {
        message,
        backup_path: backup_shown.clone(),
        undo: Some(DeployUndo::RestoreEnvVariable {
            path: path.display().to_string(),
            variable: variable.to_owned(),
            backup_path: backup_shown,
        }),
    })
}

pub(super) async fn undo(
    path: &str,
    variable: &str,
    backup_path: Option<&str>,
) -> Result<String, Error> {
    let path = PathBuf::from(path);
    let variable = variable.to_owned();
    let backup_path = backup_path.map(PathBuf::from);
    tokio::task::spawn_blocking(move || undo_blocking(&path, &variable, backup_path.as_deref()))
        .await
        .map_err(|join| Error::Internal {
            message: format!("restoring the .env file did not finish ({join})"),
        })?
        .map_err(|why| Error::invalid("path", why))
}

fn undo_blocking(
    path: &Path,
    variable: &str,
    backup_path: Option<&Path>,
) -> Result<String, String> {
    let shown = path.display().to_string();
    let fail = |why: String| format!("could not restore {variable} in {shown}: {why}");
    let file = resolve(path).map_err(fail)?;
    let _guard = lock_writers(&file.dir).map_err(fail)?;
    let Some(current) = read_existing(&file).map_err(fail)? else {
        return match backup_path {
            None => Ok(format!("{shown} is already gone; nothing to restore")),
            Some(backup) => Err(fail(format!(
                "the file is gone; its previous content is in {}",
                backup.display()
            ))),
        };
    };
    let backup = match backup_path {
        Some(backup) => Some(fs::read(backup).map_err(|err| {
            fail(format!(
                "its backup {} can't be read: {err}",
                backup.display()
            ))
        })?),
        None => None,
    };
    let restored = restore_variable(&current, backup.as_deref(), variable).map_err(fail)?;
    if backup.is_none() && restored.iter().all(u8::is_ascii_whitespace) {
        fs::remove_file(&file.real).map_err(|err| fail(err.to_string()))?;
        sync_dir(&file.dir);
        return Ok(format!(
            "Removed {shown}, which the deploy had created for {variable}"
        ));
    }
    write_atomically(&file.real, &restored, file.permissions.as_ref()).map_err(fail)?;
    Ok(match backup_path {
        Some(backup) => format!(
            "{variable} in {shown} is as it was before the deploy (from {})",
            backup.display()
        ),
        None => format!("Removed {variable} from {shown}, where the deploy had added it"),
    })
}

pub(super) async fn undo_interrupted(
    path: &str,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
    since: SystemTime,
) -> Result<Option<String>, Error> {
    let path = PathBuf::from(path);
    let variable = variable.to_owned();
    let secret = secret.clone();
    let backup_suffix = backup_suffix.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let Some(backup) =
            interrupted_backup(&path, &variable, &secret, backup_suffix.as_deref(), since)?
        else {
            return Ok(None);
        };
        undo_blocking(&path, &variable, backup.as_deref()).map(Some)
    })
    .await
    .map_err(|join| Error::Internal {
        message: format!("restoring the .env file did not finish ({join})"),
    })?
    .map_err(|why| Error::invalid("path", why))
}

/// For a deploy that may have been interrupted: `None` when the file does not hold `secret` in
/// `variable` (the write never happened), otherwise the backup to restore from (`Some(None)`: there
/// is none, so the variable was not there before).
fn interrupted_backup(
    path: &Path,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
    since: SystemTime,
) -> Result<Option<Option<PathBuf>>, String> {
    let shown = path.display().to_string();
    let fail = |why: String| format!("could not restore {variable} in {shown}: {why}");
    let file = resolve(path).map_err(fail)?;
    let _guard = lock_writers(&file.dir).map_err(fail)?;
    let Some(current) = read_existing(&file).map_err(fail)? else {
        return Ok(None);
    };
    if !holds(&current, variable, secret) {
        return Ok(None);
    }
    if let Some(suffix) = backup_suffix {
        let planned = planned_backup(&file.real, suffix).map_err(fail)?;
        if planned.exists() {
            return Ok(Some(Some(planned)));
        }
    }
    Ok(Some(earliest_backup_since(&file, variable, secret, since)))
}

/// The first backup of `file` written since `since` that does not hold the new secret: a deploy
/// that was not given a planned name backs up under a timestamped one, and the first backup made
/// after the deploy began has the value from before it.
fn earliest_backup_since(
    file: &ResolvedFile,
    variable: &str,
    secret: &SecretString,
    since: SystemTime,
) -> Option<PathBuf> {
    let prefix = format!(
        "{}{BACKUP_MARKER}",
        file.real.file_name()?.to_string_lossy()
    );
    // Coarse file-system clocks may stamp a backup slightly before the recorded start.
    let since = since.checked_sub(Duration::from_secs(2)).unwrap_or(since);
    let entries = fs::read_dir(&file.dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            (modified >= since).then_some((modified, entry.path()))
        })
        .filter(|(_, backup)| {
            fs::read(backup).is_ok_and(|content| !holds(&content, variable, secret))
        })
        .min_by_key(|(modified, _)| *modified)
        .map(|(_, backup)| backup)
}

/// Whether `content` already sets `variable` to `secret` (setting it would change nothing).
fn holds(content: &[u8], variable: &str, secret: &SecretString) -> bool {
    edit(content, variable, secret.expose_secret()).is_ok_and(|edit| edit.content == content)
}

pub(super) async fn discard_backup(backup: &str) -> Result<(), Error> {
    let backup = PathBuf::from(backup);
    let is_ours = backup
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.contains(BACKUP_MARKER));
    if !is_ours {
        return Err(Error::invalid(
            "backup_path",
            format!(
                "{} is not a backup Keyward made; not removing it",
                backup.display()
            ),
        ));
    }
    tokio::task::spawn_blocking(move || match fs::remove_file(&backup) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::invalid(
            "backup_path",
            format!("could not remove {}: {err}", backup.display()),
        )),
    })
    .await
    .map_err(|join| Error::Internal {
        message: format!("removing the backup did not finish ({join})"),
    })?
}

// --- The file system -------------------------------------------------------------------------------

/// The file to write: `real` is where the bytes live (a symlink's target), `dir` its directory.
struct ResolvedFile {
    real: PathBuf,
    dir: PathBuf,
    /// `None`: the file does not exist yet.
    permissions: Option<Permissions>,
}

fn resolve(path: &Path) -> Result<ResolvedFile, String> {
    let real = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|err| {
            format!(
                "it is a symbolic link whose target can't be reached ({err}); point it at an \
                 existing file or give the real path"
            )
        })?,
        Ok(_) => path.to_path_buf(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let dir = parent_dir(path)?;
            match fs::metadata(&dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(format!("{} is not a directory", dir.display())),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    return Err(format!(
                        "the directory {} does not exist (Keyward creates the file, not \
                         directories)",
                        dir.display()
                    ));
                }
                Err(err) => return Err(format!("can't reach {}: {err}", dir.display())),
            }
            return Ok(ResolvedFile {
                real: path.to_path_buf(),
                dir,
                permissions: None,
            });
        }
        Err(err) => return Err(format!("can't reach it: {err}")),
    };
    let meta = fs::metadata(&real).map_err(|err| format!("can't reach it: {err}"))?;
    if meta.is_dir() {
        return Err("it is a directory, not a file; give the path of the .env file in it".into());
    }
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "it is larger than {} MiB, which is not a .env file",
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    Ok(ResolvedFile {
        dir: parent_dir(&real)?,
        real,
        permissions: Some(meta.permissions()),
    })
}

fn parent_dir(path: &Path) -> Result<PathBuf, String> {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .ok_or_else(|| "it has no directory".to_owned())
}

fn read_existing(file: &ResolvedFile) -> Result<Option<Vec<u8>>, String> {
    match fs::read(&file.real) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound && file.permissions.is_none() => Ok(None),
        Err(err) => Err(format!("can't read it: {err}")),
    }
}

/// Held while a file is read, edited and written.
struct WriterGuard {
    _process: std::sync::MutexGuard<'static, ()>,
    #[cfg(unix)]
    _dir_lock: File,
}

fn lock_writers(dir: &Path) -> Result<WriterGuard, String> {
    let process = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    #[cfg(unix)]
    {
        // flock on the directory: other Keyward processes writing env files in it wait here. The lock
        // goes with the descriptor, so it is released when the guard is dropped.
        let dir_lock = File::open(dir)
            .and_then(|handle| handle.lock().map(|()| handle))
            .map_err(|err| format!("can't lock its directory {}: {err}", dir.display()))?;
        Ok(WriterGuard {
            _process: process,
            _dir_lock: dir_lock,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(WriterGuard { _process: process })
    }
}

/// Creates a file that must not exist yet, readable by its owner only.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_MODE);
    }
    options.open(path)
}

/// The backup path a deploy with a planned name uses, beside the real file.
fn planned_backup(real: &Path, suffix: &str) -> Result<PathBuf, String> {
    let dir = parent_dir(real)?;
    let name = real
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".to_owned());
    Ok(dir.join(format!("{name}{BACKUP_MARKER}{suffix}")))
}

/// Writes a backup under a name decided in advance (fsynced, so it is on disk before the file is
/// replaced).
fn write_backup_at(backup: &Path, content: &[u8]) -> Result<(), String> {
    let dir = parent_dir(backup)?;
    let mut handle = create_private(backup)
        .map_err(|err| format!("can't write its backup in {}: {err}", dir.display()))?;
    if let Err(err) = handle.write_all(content).and_then(|()| handle.sync_all()) {
        drop(handle);
        let _ = fs::remove_file(backup);
        return Err(format!(
            "can't write its backup {}: {err}",
            backup.display()
        ));
    }
    sync_dir(&dir);
    Ok(())
}

fn write_backup(real: &Path, content: &[u8]) -> Result<PathBuf, String> {
    let dir = parent_dir(real)?;
    let name = real
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".to_owned());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    for attempt in 0..100u32 {
        let backup_name = match attempt {
            0 => format!("{name}{BACKUP_MARKER}{stamp}"),
            n => format!("{name}{BACKUP_MARKER}{stamp}-{n}"),
        };
        let backup = dir.join(backup_name);
        let mut handle = match create_private(&backup) {
            Ok(handle) => handle,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(format!(
                    "can't write its backup in {}: {err}",
                    dir.display()
                ));
            }
        };
        if let Err(err) = handle.write_all(content).and_then(|()| handle.sync_all()) {
            drop(handle);
            let _ = fs::remove_file(&backup);
            return Err(format!(
                "can't write its backup {}: {err}",
                backup.display()
            ));
        }
        return Ok(backup);
    }
    Err(format!(
        "can't find a free backup name in {}",
        dir.display()
    ))
}

/// Replaces `real` with `content` atomically: temporary file beside it, fsync, rename, fsync of the
/// directory. `permissions`: the file's current ones (kept), or `None` for a new private file.
fn write_atomically(
    real: &Path,
    content: &[u8],
    permissions: Option<&Permissions>,
) -> Result<(), String> {
    let dir = parent_dir(real)?;
    let name = real
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.keyward-tmp-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| -> io::Result<()> {
        let mut handle = create_private(&temp)?;
        if let Some(permissions) = permissions {
            handle.set_permissions(permissions.clone())?;
        }
        handle.write_all(content)?;
        handle.sync_all()?;
        drop(handle);
        fs::rename(&temp, real)
    })();
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(format!("can't write it in {}: {err}", dir.display()));
    }
    sync_dir(&dir);
    Ok(())
}

/// Makes a rename durable. Failure is logged, not fatal: the rename itself has happened.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(err) = File::open(dir).and_then(|handle| handle.sync_all()) {
        tracing::warn!(dir = %dir.display(), %err, "could not fsync the directory after a rename");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

// --- The dotenv edit (pure) ------------------------------------------------------------------------

/// The new content of a file.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Edit {
    pub content: Vec<u8>,
    /// True when an existing line was replaced, false when one was appended.
    pub replaced: bool,
}

/// One assignment of the variable, as byte offsets into the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Assignment {
    /// 1-based number of its first line.
    line: usize,
    /// Start of its first line.
    start: usize,
    /// The value, quotes included.
    value_start: usize,
    value_end: usize,
    /// End of its last line, before the line terminator.
    body_end: usize,
    /// End of its last line, after the terminator (if any).
    end: usize,
    /// The quote the value is in, if any.
    quote: Option<u8>,
}

/// `content` with `variable` set to `value`: its one line replaced, or a line appended.
pub(super) fn edit(content: &[u8], variable: &str, value: &str) -> Result<Edit, String> {
    validate_variable_name("variable", variable).map_err(|err| err.to_string())?;
    let found = assignments(content, variable)?;
    match found.as_slice() {
        [] => {
            let eol = line_ending(content);
            let mut out = content.to_vec();
            // Keep the file's habit: no final newline stays no final newline.
            let final_newline = content.is_empty() || content.ends_with(b"\n");
            if !final_newline {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(variable.as_bytes());
            out.push(b'=');
            out.extend_from_slice(&format_value(value, None)?);
            if final_newline {
                out.extend_from_slice(eol);
            }
            Ok(Edit {
                content: out,
                replaced: false,
            })
        }
        [only] => {
            let mut out = Vec::with_capacity(content.len() + value.len());
            out.extend_from_slice(&content[..only.value_start]);
            out.extend_from_slice(&format_value(value, only.quote)?);
            out.extend_from_slice(&content[only.value_end..]);
            Ok(Edit {
                content: out,
                replaced: true,
            })
        }
        several => Err(duplicate_message(variable, several)),
    }
}

/// `current` with `variable`'s line as it is in `backup` (removed if the backup has none; `backup:
/// None` means the file did not exist). Everything else in `current` stays.
pub(super) fn restore_variable(
    current: &[u8],
    backup: Option<&[u8]>,
    variable: &str,
) -> Result<Vec<u8>, String> {
    let now = assignments(current, variable)?;
    let before = match backup {
        Some(backup) => assignments(backup, variable)?
            .first()
            .map(|line| &backup[line.start..line.body_end]),
        None => None,
    };
    match (now.as_slice(), before) {
        ([], None) => Ok(current.to_vec()),
        ([], Some(line)) => {
            let mut out = current.to_vec();
            let eol = line_ending(current);
            if !current.is_empty() && !current.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(line);
            out.extend_from_slice(eol);
            Ok(out)
        }
        ([only], Some(line)) => {
            let mut out = current[..only.start].to_vec();
            out.extend_from_slice(line);
            out.extend_from_slice(&current[only.body_end..]);
            Ok(out)
        }
        ([only], None) => {
            let mut start = only.start;
            // The deploy appended it after adding a line break to a file without a final one:
            // take that break away again.
            if only.end == only.body_end && start > 0 {
                start -= 1;
                if start > 0 && current[start - 1] == b'\r' {
                    start -= 1;
                }
            }
            let mut out = current[..start].to_vec();
            out.extend_from_slice(&current[only.end..]);
            Ok(out)
        }
        (several, _) => Err(duplicate_message(variable, several)),
    }
}

fn duplicate_message(variable: &str, found: &[Assignment]) -> String {
    let lines: Vec<String> = found.iter().map(|a| a.line.to_string()).collect();
    format!(
        "{variable} is set {} times (lines {}); which one a program uses depends on how it reads \
         the file, so remove the extra ones and try again",
        found.len(),
        lines.join(", ")
    )
}

/// `\r\n` when the file's first line ends with it, else `\n`.
fn line_ending(content: &[u8]) -> &'static [u8] {
    match content.iter().position(|&b| b == b'\n') {
        Some(at) if at > 0 && content[at - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    }
}

/// Every assignment of `variable` in `content`. Values in quotes may span lines, as dotenv readers
/// allow, so lines inside them are never mistaken for assignments.
fn assignments(content: &[u8], variable: &str) -> Result<Vec<Assignment>, String> {
    let mut found = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    while pos < content.len() {
        let (body_end, end) = line_bounds(content, pos);
        let skip_bom = if pos == 0 && content.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let Some(head) = assignment_head(&content[pos + skip_bom..body_end]) else {
            pos = end;
            line += 1;
            continue;
        };
        let value_start = pos + skip_bom + head.value_offset;
        let quote = content
            .get(value_start)
            .copied()
            .filter(|b| matches!(b, b'"' | b'\'' | b'`'));
        let (value_end, last_body_end, last_end) = match quote {
            Some(quote) => {
                let close = closing_quote(content, value_start + 1, quote).ok_or_else(|| {
                    format!(
                        "line {line} opens a {} quote that never closes; fix the file first",
                        char::from(quote)
                    )
                })?;
                let (last_body_end, last_end) = line_bounds(content, close);
                (close + 1, last_body_end, last_end)
            }
            None => (
                pos + skip_bom
                    + unquoted_value_end(&content[pos + skip_bom..body_end], head.value_offset),
                body_end,
                end,
            ),
        };
        let name = &content[pos + skip_bom + head.name.0..pos + skip_bom + head.name.1];
        if name == variable.as_bytes() {
            found.push(Assignment {
                line,
                start: pos,
                value_start,
                value_end,
                body_end: last_body_end,
                end: last_end,
                quote,
            });
        }
        line += content[pos..last_end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        pos = last_end;
    }
    Ok(found)
}

/// The end of the line starting at or containing `at`: (before its terminator, after it).
fn line_bounds(content: &[u8], at: usize) -> (usize, usize) {
    match content[at..].iter().position(|&b| b == b'\n') {
        Some(offset) => {
            let newline = at + offset;
            let body_end = if newline > at && content[newline - 1] == b'\r' {
                newline - 1
            } else {
                newline
            };
            (body_end, newline + 1)
        }
        None => {
            let end = content.len();
            let body_end = if end > at && content[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            (body_end, end)
        }
    }
}

/// Where the name and the value of an assignment line are (`[export ]NAME[ ]=[ ]value`).
struct Head {
    name: (usize, usize),
    value_offset: usize,
}

fn assignment_head(body: &[u8]) -> Option<Head> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let mut at = body.iter().take_while(|b| blank(b)).count();
    if body[at..].starts_with(b"export") && body.get(at + 6).is_some_and(blank) {
        at += 6;
        at += body[at..].iter().take_while(|b| blank(b)).count();
    }
    let name_start = at;
    at += body[at..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    let name_end = at;
    if name_end == name_start {
        return None;
    }
    at += body[at..].iter().take_while(|b| blank(b)).count();
    if body.get(at) != Some(&b'=') {
        return None;
    }
    at += 1;
    at += body[at..].iter().take_while(|b| blank(b)).count();
    Some(Head {
        name: (name_start, name_end),
        value_offset: at,
    })
}

/// The index of the quote closing a value opened just before `from`; backslash escapes count only in
/// double quotes.
fn closing_quote(content: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut at = from;
    while at < content.len() {
        match content[at] {
            b'\\' if quote == b'"' => at += 2,
            byte if byte == quote => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// The end of an unquoted value: before a ` #` comment and trailing blanks.
fn unquoted_value_end(body: &[u8], value_offset: usize) -> usize {
    let mut end = body.len();
    for at in value_offset..body.len() {
        if body[at] == b'#' && at > value_offset && matches!(body[at - 1], b' ' | b'\t') {
            end = at;
            break;
        }
    }
    while end > value_offset && matches!(body[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    end
}

/// The value as it is written in the file: in the replaced line's quotes (`"` escapes `\`, `"`, `$`
/// and `` ` ``; `'` is literal, so a value containing `'` goes in double quotes instead), or bare
/// when every character is safe bare, else in single quotes.
fn format_value(value: &str, quote: Option<u8>) -> Result<Vec<u8>, String> {
    if value.is_empty() {
        return Err("the secret is empty; nothing to write".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err(
            "the secret contains a line break or control character, which a .env line cannot \
             hold"
                .to_owned(),
        );
    }
    let bare_safe = value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'-' | b'.' | b':' | b'/' | b'+' | b'@' | b'%' | b',' | b'=' | b'~' | b'^'
            )
    });
    let single = |v: &str| format!("'{v}'").into_bytes();
    let double = |v: &str| {
        let mut out = String::with_capacity(v.len() + 2);
        out.push('"');
        for c in v.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out.into_bytes()
    };
    Ok(match quote {
        Some(b'"') => double(value),
        Some(_) if !value.contains('\'') => single(value),
        Some(_) => double(value),
        None if bare_safe => value.as_bytes().to_vec(),
        None if !value.contains('\'') => single(value),
        None => double(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "sk-or-v1-new";

    fn set(content: &str, variable: &str, value: &str) -> Result<String, String> {
        edit(content.as_bytes(), variable, value)
            .map(|edit| String::from_utf8(edit.content).unwrap())
    }

    fn replaced(content: &str) -> String {
        set(content, "KEY", NEW).unwrap()
    }

    #[test]
    fn replaces_only_the_value_and_keeps_everything_else() {
        let before = "# top comment\n\nA=1\nKEY=sk-or-v1-old\n  # KEY=commented\nB=\"two\"\n";
        let after = "# top comment\n\nA=1\nKEY=sk-or-v1-new\n  # KEY=commented\nB=\"two\"\n";
        assert_eq!(replaced(before), after);
        let edit = edit(before.as_bytes(), "KEY", NEW).unwrap();
        assert!(edit.replaced);
    }

    #[test]
    fn keeps_export_spacing_and_trailing_comment() {
        assert_eq!(
            replaced("export  KEY = old   # the API key\n"),
            "export  KEY = sk-or-v1-new   # the API key\n"
        );
        assert_eq!(replaced("\tKEY=old\n"), "\tKEY=sk-or-v1-new\n");
        assert_eq!(replaced("KEY=\nX=1\n"), "KEY=sk-or-v1-new\nX=1\n");
        assert_eq!(replaced("KEY=old#not-a-comment\n"), "KEY=sk-or-v1-new\n");
    }

    #[test]
    fn keeps_the_quoting_style() {
        assert_eq!(replaced("KEY=\"old\"\n"), "KEY=\"sk-or-v1-new\"\n");
        assert_eq!(replaced("KEY='old' # c\n"), "KEY='sk-or-v1-new' # c\n");
        assert_eq!(replaced("KEY=`old`\n"), "KEY='sk-or-v1-new'\n");
        assert_eq!(
            replaced("KEY=\"old # with hash\" # c\n"),
            "KEY=\"sk-or-v1-new\" # c\n"
        );
        assert_eq!(replaced("KEY=\"a \\\" b\"\n"), "KEY=\"sk-or-v1-new\"\n");
    }

    #[test]
    fn quotes_values_that_need_it() {
        assert_eq!(set("KEY=old\n", "KEY", "a=b").unwrap(), "KEY=a=b\n");
        assert_eq!(set("KEY=old\n", "KEY", "a#b c").unwrap(), "KEY='a#b c'\n");
        assert_eq!(
            set("KEY=old\n", "KEY", "a $HOME").unwrap(),
            "KEY='a $HOME'\n"
        );
        assert_eq!(set("KEY=old\n", "KEY", "it's").unwrap(), "KEY=\"it's\"\n");
        assert_eq!(
            set("KEY=\"old\"\n", "KEY", "a\"b\\c$d`e").unwrap(),
            "KEY=\"a\\\"b\\\\c\\$d\\`e\"\n"
        );
        assert_eq!(set("KEY='old'\n", "KEY", "it's").unwrap(), "KEY=\"it's\"\n");
    }

    #[test]
    fn refuses_values_a_line_cannot_hold() {
        for bad in ["a\nb", "a\rb", "a\0b", ""] {
            let err = set("KEY=old\n", "KEY", bad).unwrap_err();
            assert!(err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn keeps_crlf_and_a_missing_final_newline() {
        assert_eq!(
            replaced("A=1\r\nKEY=old\r\nB=2"),
            "A=1\r\nKEY=sk-or-v1-new\r\nB=2"
        );
        assert_eq!(
            replaced("A=1\r\nKEY=\"old\""),
            "A=1\r\nKEY=\"sk-or-v1-new\""
        );
        assert_eq!(replaced("KEY=old"), "KEY=sk-or-v1-new");
    }

    #[test]
    fn appends_in_the_files_style() {
        assert_eq!(replaced(""), "KEY=sk-or-v1-new\n");
        assert_eq!(replaced("A=1\n"), "A=1\nKEY=sk-or-v1-new\n");
        assert_eq!(replaced("A=1"), "A=1\nKEY=sk-or-v1-new");
        assert_eq!(
            replaced("A=1\r\nB=2\r\n"),
            "A=1\r\nB=2\r\nKEY=sk-or-v1-new\r\n"
        );
        assert_eq!(replaced("A=1\r\nB=2"), "A=1\r\nB=2\r\nKEY=sk-or-v1-new");
        assert!(!edit(b"A=1\n", "KEY", NEW).unwrap().replaced);
    }

    #[test]
    fn other_names_are_not_the_variable() {
        for other in [
            "KEYS=1\n",
            "MY_KEY=1\n",
            "KEY.SUB=1\n",
            "KEY-2=1\n",
            "# KEY=1\n",
            "KEY\n",
        ] {
            assert_eq!(
                replaced(other),
                format!("{other}KEY=sk-or-v1-new\n"),
                "{other:?}"
            );
        }
        assert_eq!(replaced("exportKEY=1\n"), "exportKEY=1\nKEY=sk-or-v1-new\n");
        assert_eq!(replaced("export KEY=1\n"), "export KEY=sk-or-v1-new\n");
    }

    #[test]
    fn refuses_a_variable_set_twice() {
        let err = set("KEY=a\nB=1\nexport KEY=b\n", "KEY", NEW).unwrap_err();
        assert!(err.contains("set 2 times (lines 1, 3)"), "{err}");
    }

    #[test]
    fn multi_line_values_are_one_entry() {
        // A line inside another variable's quoted value is not an assignment.
        let content = "CERT=\"line1\nKEY=inside\nline3\"\nKEY=real\n";
        assert_eq!(
            replaced(content),
            "CERT=\"line1\nKEY=inside\nline3\"\nKEY=sk-or-v1-new\n"
        );
        // The variable's own multi-line value is replaced whole; line numbers count every line.
        assert_eq!(
            replaced("A=1\nKEY='one\ntwo' # c\nB=2\n"),
            "A=1\nKEY='sk-or-v1-new' # c\nB=2\n"
        );
        let err = set("A=\"x\ny\"\nKEY=1\nKEY=2\n", "KEY", NEW).unwrap_err();
        assert!(err.contains("lines 3, 4"), "{err}");
    }

    #[test]
    fn refuses_an_unterminated_quote() {
        let err = set("A=1\nB=\"open\nKEY=1\n", "KEY", NEW).unwrap_err();
        assert!(err.contains("line 2 opens a \" quote"), "{err}");
    }

    #[test]
    fn a_bom_does_not_hide_the_first_line() {
        assert_eq!(
            replaced("\u{feff}KEY=old\nA=1\n"),
            "\u{feff}KEY=sk-or-v1-new\nA=1\n"
        );
    }

    #[test]
    fn non_utf8_bytes_elsewhere_are_kept() {
        let before = b"A=\xff\xfe\nKEY=old\n";
        let edit = edit(before, "KEY", NEW).unwrap();
        assert_eq!(edit.content, b"A=\xff\xfe\nKEY=sk-or-v1-new\n");
    }

    #[test]
    fn restore_undoes_every_kind_of_edit_exactly() {
        let originals = [
            "A=1\nKEY=old\nB=2\n",
            "A=1\nKEY=\"old\" # c\nB=2",
            "A=1\r\nexport KEY = 'old'\r\n",
            "A=1\n",
            "A=1",
            "A=1\r\nB=2",
            "",
            "A=1\nKEY='multi\nline'\nB=2\n",
        ];
        for original in originals {
            let deployed = edit(original.as_bytes(), "KEY", NEW).unwrap().content;
            let restored = restore_variable(&deployed, Some(original.as_bytes()), "KEY").unwrap();
            assert_eq!(
                String::from_utf8(restored).unwrap(),
                original,
                "{original:?}"
            );
        }
    }

    #[test]
    fn restore_keeps_edits_made_since() {
        let original = "A=1\nKEY=old\n";
        let deployed =
            String::from_utf8(edit(original.as_bytes(), "KEY", NEW).unwrap().content).unwrap();
        let edited_since = format!("# added later\n{deployed}C=3\n");
        let restored =
            restore_variable(edited_since.as_bytes(), Some(original.as_bytes()), "KEY").unwrap();
        assert_eq!(
            String::from_utf8(restored).unwrap(),
            "# added later\nA=1\nKEY=old\nC=3\n"
        );
        // Removed by hand since: the old line comes back at the end.
        let restored = restore_variable(b"A=1\n", Some(original.as_bytes()), "KEY").unwrap();
        assert_eq!(restored, b"A=1\nKEY=old\n");
        // A new file holding only the variable becomes empty.
        let created = edit(b"", "KEY", NEW).unwrap().content;
        assert!(restore_variable(&created, None, "KEY").unwrap().is_empty());
    }

    #[test]
    fn paths_must_be_absolute_and_plain() {
        assert!(validate_path("/home/me/app/.env").is_ok());
        for bad in ["", " ", ".env", "app/.env", "/x/sk-or-v1-abc/.env", "/a\0b"] {
            let err = validate_path(bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "path"),
                "{bad:?}: {err:?}"
            );
        }
    }
}
