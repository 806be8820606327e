//! The folder walk: every `.env*` file under the chosen folders, each read once.
//!
//! Rules (why): folder links are never followed — a link into a chosen folder is scanned at its
//! real path anyway, a link outside would widen the scan beyond what the person chose (it is
//! reported so they can add its target), and not following them rules out loops. File links named
//! `.env*` are read (that is the file the project loads) and recorded at their real path, so a file
//! reached twice (a link and its target, overlapping folders) counts once. Folders are also
//! remembered by device and inode, so bind mounts or overlapping folders are not walked twice.
//! Heavy folders ([`super::SKIPPED_DIRS`]) and Keyward's own data directory are skipped; large
//! and binary files are skipped and reported; unreadable folders and files are reported and the
//! walk goes on.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use super::{
    MAX_FILE_BYTES, Place, PlaceKind, ProblemKind, SKIPPED_DIRS, ScanProblem, ScanProgress,
    is_env_file_name, secrets_in_line,
};

/// Report progress after this many folders.
const PROGRESS_EVERY: u32 = 32;

/// What to walk.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub folders: Vec<PathBuf>,
    /// Folders never entered (Keyward's data directory, which holds deploy backups).
    pub exclude: Vec<PathBuf>,
    pub max_file_bytes: u64,
    /// The time recorded as `found_at`.
    pub now: DateTime<Utc>,
}

impl ScanOptions {
    pub fn new(folders: Vec<PathBuf>, now: DateTime<Utc>) -> Self {
        ScanOptions {
            folders,
            exclude: Vec::new(),
            max_file_bytes: MAX_FILE_BYTES,
            now,
        }
    }
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct FolderScan {
    pub places: Vec<Place>,
    pub problems: Vec<ScanProblem>,
    pub dirs_scanned: u32,
    pub files_scanned: u32,
    pub cancelled: bool,
}

/// Walks `options.folders`; stops early (with `cancelled`) once `cancel` is set.
pub fn scan_folders(
    options: &ScanOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&ScanProgress),
) -> FolderScan {
    let mut walk = Walk {
        options,
        result: FolderScan::default(),
        roots: Vec::new(),
        exclude: options
            .exclude
            .iter()
            .filter_map(|dir| fs::canonicalize(dir).ok())
            .collect(),
        seen_dirs: HashSet::new(),
        seen_files: HashSet::new(),
    };
    let mut stack = Vec::new();
    for folder in &options.folders {
        match fs::canonicalize(folder) {
            Ok(real) if real.is_dir() => {
                walk.roots.push(real.clone());
                stack.push(real);
            }
            Ok(_) => walk.problem(ProblemKind::Unreadable, folder, "is not a folder"),
            Err(err) => walk.problem(ProblemKind::Unreadable, folder, &err.to_string()),
        }
    }
    // Depth first, in name order, so results and progress are the same on every run.
    stack.reverse();
    while let Some(dir) = stack.pop() {
        if cancel.load(Ordering::Relaxed) {
            walk.result.cancelled = true;
            break;
        }
        if walk.result.dirs_scanned.is_multiple_of(PROGRESS_EVERY) {
            progress(&walk.progress(&dir));
        }
        let mut children = walk.read_dir(&dir);
        children.sort();
        stack.extend(children.into_iter().rev());
    }
    progress(&walk.progress(Path::new("")));
    walk.result
}

struct Walk<'a> {
    options: &'a ScanOptions,
    result: FolderScan,
    roots: Vec<PathBuf>,
    exclude: Vec<PathBuf>,
    seen_dirs: HashSet<(u64, u64)>,
    seen_files: HashSet<(u64, u64)>,
}

impl Walk<'_> {
    fn progress(&self, current: &Path) -> ScanProgress {
        ScanProgress {
            dirs_scanned: self.result.dirs_scanned,
            files_scanned: self.result.files_scanned,
            places_found: u32::try_from(self.result.places.len()).unwrap_or(u32::MAX),
            current: current.display().to_string(),
        }
    }

    fn problem(&mut self, kind: ProblemKind, path: &Path, message: &str) {
        tracing::debug!(path = %path.display(), ?kind, "scan skipped a path");
        self.result.problems.push(ScanProblem {
            kind,
            path: path.display().to_string(),
            message: message.to_owned(),
        });
    }

    /// Reads one folder: handles its files, returns its sub-folders to walk.
    fn read_dir(&mut self, dir: &Path) -> Vec<PathBuf> {
        let meta = match fs::metadata(dir) {
            Ok(meta) => meta,
            Err(err) => {
                self.problem(ProblemKind::Unreadable, dir, &err.to_string());
                return Vec::new();
            }
        };
        if let Some(id) = file_id(&meta)
            && !self.seen_dirs.insert(id)
        {
            return Vec::new();
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                self.problem(ProblemKind::Unreadable, dir, &err.to_string());
                return Vec::new();
            }
        };
        self.result.dirs_scanned += 1;
        let mut children = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    self.problem(ProblemKind::Unreadable, dir, &err.to_string());
                    continue;
                }
            };
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(file_type) = entry.file_type() else {
                self.problem(ProblemKind::Unreadable, &path, "cannot tell what it is");
                continue;
            };
            if file_type.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_ref()) && !self.exclude.contains(&path) {
                    children.push(path);
                }
            } else if file_type.is_symlink() {
                self.link(&path, &name);
            } else if file_type.is_file() && is_env_file_name(&name) {
                self.file(&path);
            }
        }
        children
    }

    fn link(&mut self, path: &Path, name: &str) {
        let target = fs::canonicalize(path);
        match target {
            Err(_) if is_env_file_name(name) => self.problem(
                ProblemKind::BrokenLink,
                path,
                "links to a file that does not exist",
            ),
            Err(_) => {}
            Ok(real) if real.is_dir() => {
                let inside = self.roots.iter().any(|root| real.starts_with(root));
                if !inside && !SKIPPED_DIRS.contains(&name) {
                    let message = format!(
                        "links to {}, outside the chosen folders: add that folder to scan it",
                        real.display()
                    );
                    self.problem(ProblemKind::LinkNotFollowed, path, &message);
                }
            }
            Ok(real) if real.is_file() && is_env_file_name(name) => self.file(&real),
            Ok(_) => {}
        }
    }

    /// Reads one `.env*` file (at its real path) unless it was read already.
    fn file(&mut self, path: &Path) {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) => return self.problem(ProblemKind::Unreadable, path, &err.to_string()),
        };
        if let Some(id) = file_id(&meta)
            && !self.seen_files.insert(id)
        {
            return;
        }
        if meta.len() > self.options.max_file_bytes {
            let message = format!(
                "is {} bytes, larger than the {} bytes an env file is read up to",
                meta.len(),
                self.options.max_file_bytes
            );
            return self.problem(ProblemKind::TooLarge, path, &message);
        }
        let mut bytes = Vec::new();
        let read = fs::File::open(path).and_then(|file| {
            file.take(self.options.max_file_bytes + 1)
                .read_to_end(&mut bytes)
        });
        if let Err(err) = read {
            return self.problem(ProblemKind::Unreadable, path, &err.to_string());
        }
        self.result.files_scanned += 1;
        if bytes.contains(&0) {
            wipe(&mut bytes);
            return self.problem(ProblemKind::Binary, path, "is not a text file (NUL bytes)");
        }
        let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let modified_at = meta.modified().ok().map(DateTime::<Utc>::from);
        for (index, line) in bytes.split(|byte| *byte == b'\n').enumerate() {
            for found in secrets_in_line(line) {
                self.result.places.push(Place {
                    kind: PlaceKind::EnvFile,
                    path: real.display().to_string(),
                    variable: found.variable,
                    line: u32::try_from(index + 1).ok(),
                    key_hash: found.key_hash,
                    modified_at,
                    found_at: self.options.now,
                });
            }
        }
        wipe(&mut bytes);
    }
}

/// Overwrites a buffer that held secrets before it is freed.
fn wipe(bytes: &mut Vec<u8>) {
    zeroize::Zeroize::zeroize(bytes);
}

#[cfg(unix)]
fn file_id(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}
