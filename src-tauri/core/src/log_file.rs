//! The desktop app's log file, `keyward.log` in the data directory: rotated by size with a bounded
//! number of old files (`keyward.log.1` … `.5`, at most 6 × 10 MiB in all), every one created 0600
//! (and an existing one that grants more narrowed), through the `file-rotate` crate. Nothing secret is
//! logged; the log is private anyway, as key names, hashes and spend are nobody else's business.

use std::io;
use std::path::Path;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};

use crate::private_fs::{
    PRIVATE_FILE_MODE, ensure_private_dir, narrow_if_present, private_open_options,
};

/// The log's file name in the data directory.
pub const LOG_FILE: &str = "keyward.log";
/// A log file is rotated once it reaches this size.
pub const LOG_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Old log files kept besides the current one.
pub const LOG_FILES_KEPT: usize = 5;

/// A writer appending to `keyward.log` in `data_dir` (made private if needed), rotated at
/// [`LOG_MAX_BYTES`] keeping [`LOG_FILES_KEPT`] old files.
pub fn log_writer(data_dir: &Path) -> io::Result<FileRotate<AppendCount>> {
    rotating_writer(data_dir, LOG_MAX_BYTES, LOG_FILES_KEPT)
}

fn rotating_writer(
    data_dir: &Path,
    max_bytes: usize,
    kept: usize,
) -> io::Result<FileRotate<AppendCount>> {
    ensure_private_dir(data_dir)?;
    let path = data_dir.join(LOG_FILE);
    // Files an earlier version (or a wider umask) left readable by others.
    narrow_if_present(&path, PRIVATE_FILE_MODE)?;
    for n in 1..=kept {
        narrow_if_present(&data_dir.join(format!("{LOG_FILE}.{n}")), PRIVATE_FILE_MODE)?;
    }
    let mut options = private_open_options();
    options.read(true).create(true).append(true);
    Ok(FileRotate::new(
        path,
        AppendCount::new(kept),
        ContentLimit::BytesSurpassed(max_bytes.max(1)),
        Compression::None,
        Some(options),
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::private_fs::mode_of;

    #[test]
    fn the_log_rotates_keeps_a_bounded_number_of_files_all_private() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A log an earlier version left world-readable.
        std::fs::write(dir.join(LOG_FILE), b"old line\n").unwrap();
        std::fs::set_permissions(dir.join(LOG_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();

        let mut log = rotating_writer(&dir, 1024, 3).unwrap();
        for n in 0..200 {
            writeln!(log, "line {n}: {}", "x".repeat(60)).unwrap();
        }
        log.flush().unwrap();
        drop(log);

        assert_eq!(mode_of(&dir).unwrap(), 0o700);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "keyward.log",
                "keyward.log.1",
                "keyward.log.2",
                "keyward.log.3"
            ]
        );
        for name in &names {
            let path = dir.join(name);
            assert_eq!(mode_of(&path).unwrap(), 0o600, "{name}");
            assert!(std::fs::metadata(&path).unwrap().len() < 2048, "{name}");
        }
        let newest = std::fs::read_to_string(dir.join(LOG_FILE)).unwrap();
        assert!(newest.contains("line 199"), "{newest}");
    }
}
