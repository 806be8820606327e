//! Files and directories only their owner may open: Keyward's data directory (0700) and what it
//! holds — the database and its `-wal`/`-shm` sidecars, the log, the `.env` backups (0600). On unix
//! the mode is given when the path is created (never created wider and narrowed after, which would
//! leave a moment for another local user to open it), and an existing path that grants more is
//! narrowed. Elsewhere (Windows) the per-user profile directory keeps them private; these are plain
//! creations there.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of Keyward's private directories.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// The mode of Keyward's private files.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents, each 0700) or narrows an existing one to 0700 if it grants
/// anything to group or other.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir)?;
    narrow(dir, PRIVATE_DIR_MODE).map(|_| ())
}

/// Options that create a file readable by its owner only (0600 on unix).
pub fn private_open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE_MODE);
    }
    options
}

/// Creates `path` empty with mode 0600 if it does not exist; an existing file keeps its content and
/// is narrowed to 0600 if it grants anything to group or other.
pub fn ensure_private_file(path: &Path) -> io::Result<File> {
    let file = private_open_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    narrow(path, PRIVATE_FILE_MODE)?;
    Ok(file)
}

/// Narrows an existing file or directory to `mode` if it grants group or other anything; a missing
/// one is left missing. Returns whether the mode was changed.
pub fn narrow_if_present(path: &Path, mode: u32) -> io::Result<bool> {
    match narrow(path, mode) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        other => other,
    }
}

#[cfg(unix)]
fn narrow(path: &Path, mode: u32) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let current = fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 == 0 {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    tracing::info!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "narrowed a file's mode to its owner");
    Ok(true)
}

#[cfg(not(unix))]
fn narrow(path: &Path, _mode: u32) -> io::Result<bool> {
    fs::metadata(path).map(|_| false)
}

/// The permission bits of `path` (unix; tests and messages).
#[cfg(unix)]
pub fn mode_of(path: &Path) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::metadata(path)?.permissions().mode() & 0o777)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn directories_are_created_and_narrowed_to_the_owner() {
        let scratch = tempfile::tempdir().unwrap();
        let fresh = scratch.path().join("a/b/data");
        ensure_private_dir(&fresh).unwrap();
        assert_eq!(mode_of(&fresh).unwrap(), 0o700);
        assert_eq!(mode_of(&scratch.path().join("a")).unwrap(), 0o700);

        let existing = scratch.path().join("old");
        fs::create_dir(&existing).unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&existing).unwrap();
        assert_eq!(mode_of(&existing).unwrap(), 0o700);
    }

    #[test]
    fn files_are_created_private_and_existing_ones_narrowed() {
        let scratch = tempfile::tempdir().unwrap();
        let fresh = scratch.path().join("new");
        ensure_private_file(&fresh).unwrap();
        assert_eq!(mode_of(&fresh).unwrap(), 0o600);

        let existing = scratch.path().join("old");
        fs::write(&existing, b"kept").unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).unwrap();
        ensure_private_file(&existing).unwrap();
        assert_eq!(mode_of(&existing).unwrap(), 0o600);
        assert_eq!(fs::read(&existing).unwrap(), b"kept");
        assert!(!narrow_if_present(&scratch.path().join("missing"), 0o600).unwrap());
    }
}
