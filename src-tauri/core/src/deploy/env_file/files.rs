//! The file-system side of env-file targets: which file a path means (a symlink's target, never the
//! link), its size and kind, one writer per directory at a time, backups beside it (mode 0600), and
//! atomic replacement — a temporary file beside it, fsynced, renamed over it, the directory fsynced —
//! so a crash leaves the old or the new file, never half of one.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tempfile::NamedTempFile;

/// Marks backup files; `discard_backup` removes nothing without it.
pub(super) const BACKUP_MARKER: &str = ".keyward-backup-";

/// Mode of a file Keyward creates (new env file, backup): it holds a secret.
#[cfg(unix)]
const PRIVATE_MODE: u32 = 0o600;

/// Env files larger than this are refused: a dotenv file this big is not one.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Serialises env-file writes within this process (the directory lock covers other processes, and
/// is all there is on unix; this covers platforms without it too).
static WRITERS: Mutex<()> = Mutex::new(());

/// The file to write: `real` is where the bytes live (a symlink's target), `dir` its directory.
pub(super) struct ResolvedFile {
    pub(super) real: PathBuf,
    pub(super) dir: PathBuf,
    /// `None`: the file does not exist yet.
    pub(super) permissions: Option<Permissions>,
}

pub(super) fn resolve(path: &Path) -> Result<ResolvedFile, String> {
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

pub(super) fn read_existing(file: &ResolvedFile) -> Result<Option<Vec<u8>>, String> {
    match fs::read(&file.real) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound && file.permissions.is_none() => Ok(None),
        Err(err) => Err(format!("can't read it: {err}")),
    }
}

/// Held while a file is read, edited and written.
pub(super) struct WriterGuard {
    _process: std::sync::MutexGuard<'static, ()>,
    #[cfg(unix)]
    _dir_lock: File,
}

pub(super) fn lock_writers(dir: &Path) -> Result<WriterGuard, String> {
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

/// Which name a backup gets beside the file.
#[derive(Debug, Clone, Copy)]
pub(super) enum BackupName<'a> {
    /// Decided in advance (a rotation's deploy): `<name>.keyward-backup-<suffix>`.
    Planned(&'a str),
    /// `<name>.keyward-backup-<UTC timestamp>`, then `-1`, `-2`, … while taken.
    Timestamped,
}

/// The file name of `real` (`.env` if it has none), which backups and temporary files start with.
fn file_name(real: &Path) -> String {
    real.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".to_owned())
}

/// The backup path a deploy with a planned name uses, beside the real file.
pub(super) fn planned_backup(real: &Path, suffix: &str) -> Result<PathBuf, String> {
    let dir = parent_dir(real)?;
    Ok(dir.join(format!("{}{BACKUP_MARKER}{suffix}", file_name(real))))
}

/// A temporary file beside `real`, readable by its owner only, removed unless persisted.
fn temp_beside(real: &Path, dir: &Path) -> io::Result<NamedTempFile> {
    let prefix = format!(".{}.keyward-tmp-", file_name(real));
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(Permissions::from_mode(PRIVATE_MODE));
    }
    builder.tempfile_in(dir)
}

/// Writes `content` as a backup of `real` (mode 0600, fsynced) and returns its path. The backup
/// appears under its name whole or not at all, and never replaces an existing file.
pub(super) fn write_backup(
    real: &Path,
    content: &[u8],
    name: BackupName<'_>,
) -> Result<PathBuf, String> {
    let dir = parent_dir(real)?;
    let names: Vec<PathBuf> = match name {
        BackupName::Planned(suffix) => vec![planned_backup(real, suffix)?],
        BackupName::Timestamped => {
            let base = format!(
                "{}{BACKUP_MARKER}{}",
                file_name(real),
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            );
            (0..100u32)
                .map(|n| match n {
                    0 => dir.join(&base),
                    n => dir.join(format!("{base}-{n}")),
                })
                .collect()
        }
    };
    let mut temp = temp_beside(real, &dir)
        .map_err(|err| format!("can't write its backup in {}: {err}", dir.display()))?;
    if let Err(err) = temp
        .write_all(content)
        .and_then(|()| temp.as_file().sync_all())
    {
        let shown = names.first().map_or(dir.as_path(), PathBuf::as_path);
        return Err(format!("can't write its backup {}: {err}", shown.display()));
    }
    for backup in names {
        match temp.persist_noclobber(&backup) {
            Ok(_) => {
                sync_dir(&dir);
                return Ok(backup);
            }
            Err(taken)
                if matches!(name, BackupName::Timestamped)
                    && taken.error.kind() == io::ErrorKind::AlreadyExists =>
            {
                temp = taken.file;
            }
            Err(failed) => {
                return Err(format!(
                    "can't write its backup in {}: {}",
                    dir.display(),
                    failed.error
                ));
            }
        }
    }
    Err(format!(
        "can't find a free backup name in {}",
        dir.display()
    ))
}

/// Replaces `real` with `content` atomically: temporary file beside it, fsync, rename, fsync of the
/// directory. `permissions`: the file's current ones (kept), or `None` for a new private file.
pub(super) fn write_atomically(
    real: &Path,
    content: &[u8],
    permissions: Option<&Permissions>,
) -> Result<(), String> {
    let dir = parent_dir(real)?;
    let written = (|| -> io::Result<()> {
        let mut temp = temp_beside(real, &dir)?;
        if let Some(permissions) = permissions {
            temp.as_file().set_permissions(permissions.clone())?;
        }
        temp.write_all(content)?;
        temp.as_file().sync_all()?;
        temp.persist(real).map_err(|failed| failed.error)?;
        Ok(())
    })();
    written.map_err(|err| format!("can't write it in {}: {err}", dir.display()))?;
    sync_dir(&dir);
    Ok(())
}

/// Makes a rename durable. Failure is logged, not fatal: the rename itself has happened.
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(err) = File::open(dir).and_then(|handle| handle.sync_all()) {
        tracing::warn!(dir = %dir.display(), %err, "could not fsync the directory after a rename");
    }
    #[cfg(not(unix))]
    let _ = dir;
}
