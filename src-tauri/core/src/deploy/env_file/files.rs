//! The file-system side of env-file targets: which file a path means (a symlink's target, never the
//! link), its size and kind, one writer per directory at a time, backups in Keyward's backup
//! directory (0700, files 0600; never beside the file, where a project's `.gitignore` would not
//! match them), the mode a rewritten file gets, and atomic replacement — a temporary file beside it,
//! fsynced, renamed over it, the directory fsynced — so a crash leaves the old or the new file,
//! never half of one.

#[cfg(unix)]
use std::fs::File;
use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tempfile::NamedTempFile;

/// Marks backup files; `discard_backup` removes nothing without it (the backups of earlier
/// versions, `<file>.keyward-backup-<suffix>` beside the file, carry it too).
pub(super) const BACKUP_MARKER: &str = ".keyward-backup";

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

/// Which group (a directory of the backup directory) a backup goes in.
#[derive(Debug, Clone, Copy)]
pub(super) enum BackupName<'a> {
    /// Decided in advance (a rotation's deploy): `<backup dir>/<suffix>/`.
    Planned(&'a str),
    /// `<backup dir>/deploy-<UTC timestamp>/`, then `-1`, `-2`, … while taken.
    Timestamped,
}

/// The file name of `real` (`.env` if it has none), which temporary files start with.
fn file_name(real: &Path) -> String {
    real.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".to_owned())
}

/// The name a backup of `real` has in its group: the file's name and a digest of its whole path, so
/// two targets named `.env` in one rotation do not share a backup.
pub(super) fn backup_file_name(real: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(real.as_os_str().as_encoded_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}.{short}{BACKUP_MARKER}", file_name(real))
}

/// The backup path a deploy with a planned name uses.
pub(super) fn planned_backup(backup_dir: &Path, real: &Path, suffix: &str) -> PathBuf {
    backup_dir.join(suffix).join(backup_file_name(real))
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

/// Writes `content` as a backup of `real` in `backup_dir` (directories 0700, the file 0600,
/// fsynced) and returns its path. The backup appears under its name whole or not at all, and never
/// replaces an existing file.
pub(super) fn write_backup(
    backup_dir: &Path,
    real: &Path,
    content: &[u8],
    name: BackupName<'_>,
) -> Result<PathBuf, String> {
    let groups: Vec<String> = match name {
        BackupName::Planned(suffix) => vec![suffix.to_owned()],
        BackupName::Timestamped => {
            let base = format!("deploy-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
            (0..100u32)
                .map(|n| match n {
                    0 => base.clone(),
                    n => format!("{base}-{n}"),
                })
                .collect()
        }
    };
    let shown = backup_dir.display();
    crate::private_fs::ensure_private_dir(backup_dir)
        .map_err(|err| format!("can't make the backup directory {shown}: {err}"))?;
    let mut temp = temp_beside(real, backup_dir)
        .map_err(|err| format!("can't write its backup in {shown}: {err}"))?;
    if let Err(err) = temp
        .write_all(content)
        .and_then(|()| temp.as_file().sync_all())
    {
        return Err(format!("can't write its backup in {shown}: {err}"));
    }
    let file_name = backup_file_name(real);
    for group in groups {
        let group_dir = backup_dir.join(&group);
        crate::private_fs::ensure_private_dir(&group_dir)
            .map_err(|err| format!("can't make {}: {err}", group_dir.display()))?;
        let backup = group_dir.join(&file_name);
        match temp.persist_noclobber(&backup) {
            Ok(_) => {
                sync_dir(&group_dir);
                sync_dir(backup_dir);
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
                    group_dir.display(),
                    failed.error
                ));
            }
        }
    }
    Err(format!("can't find a free backup name in {shown}"))
}

/// The mode a rewritten file gets from the one it had: the owner's bits (read and write at least),
/// and the group's read and write only when the file granted nothing to other users (group access
/// then looks deliberate: a project shared with a team's group). A file other users could read
/// (0644, the usual default) becomes 0600: it now holds a live secret. `None`: keep it as it is.
#[cfg(unix)]
pub(super) fn rewritten_permissions(current: &Permissions) -> Option<(u32, Permissions)> {
    use std::os::unix::fs::PermissionsExt;
    let mode = current.mode() & 0o777;
    let group = if mode & 0o007 == 0 { mode & 0o060 } else { 0 };
    let narrowed = (mode & 0o700) | PRIVATE_MODE | group;
    (narrowed != mode).then(|| (narrowed, Permissions::from_mode(narrowed)))
}

/// Replaces `real` with `content` atomically: temporary file beside it, fsync, rename, fsync of the
/// directory. `permissions`: the file's current ones (kept, without what [`rewritten_permissions`]
/// takes away), or `None` for a new private file.
pub(super) fn write_atomically(
    real: &Path,
    content: &[u8],
    permissions: Option<&Permissions>,
) -> Result<(), String> {
    let dir = parent_dir(real)?;
    let written = (|| -> io::Result<()> {
        let mut temp = temp_beside(real, &dir)?;
        if let Some(permissions) = permissions {
            #[cfg(unix)]
            let narrowed = rewritten_permissions(permissions).map(|(_, narrowed)| narrowed);
            #[cfg(not(unix))]
            let narrowed: Option<Permissions> = None;
            temp.as_file()
                .set_permissions(narrowed.unwrap_or_else(|| permissions.clone()))?;
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
