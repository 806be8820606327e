//! Crash notes: a panic writes `crash-<UTC time>.txt` to the log directory (time, version, commit,
//! platform, message, location, backtrace — redacted like every log line); the next start offers the
//! newest one not seen yet, and dismissing it renames it to `crash-<time>.seen.txt` (kept for the
//! diagnostics and the person, never offered again). At most [`CRASH_NOTES_KEPT`] notes are kept.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::redact;

const PREFIX: &str = "crash-";
const UNSEEN: &str = ".txt";
const SEEN: &str = ".seen.txt";
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";
/// Older notes beyond this many are removed when a new one is written.
pub const CRASH_NOTES_KEPT: usize = 10;

/// What a panic left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashNote {
    pub at: DateTime<Utc>,
    pub version: String,
    pub commit: String,
    pub platform: String,
    pub message: String,
    /// `file:line:column` of the panic.
    pub location: Option<String>,
    pub backtrace: Option<String>,
}

impl CrashNote {
    /// The note as written: plain text, redacted.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "Keyward quit unexpectedly (a panic).");
        let _ = writeln!(text, "Time: {}", self.at.to_rfc3339());
        let _ = writeln!(text, "Version: {}", self.version);
        let _ = writeln!(text, "Commit: {}", self.commit);
        let _ = writeln!(text, "Platform: {}", self.platform);
        let _ = writeln!(text, "Message: {}", self.message);
        let _ = writeln!(
            text,
            "Location: {}",
            self.location.as_deref().unwrap_or("unknown")
        );
        if let Some(backtrace) = &self.backtrace {
            let _ = writeln!(text, "\nBacktrace:\n{}", backtrace.trim_end());
        }
        redact(&text)
    }
}

/// A crash note offered to the person (the UI's banner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CrashReport {
    /// The note's file name; what `crash_dismiss` and `crash_copy` take.
    pub id: String,
    pub at: DateTime<Utc>,
    pub text: String,
    /// The note's full path (to find it in the log folder).
    pub path: String,
}

/// The arguments of `crash_dismiss` and `crash_copy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CrashArgs {
    pub id: String,
}

/// Writes `note` into `dir` (created if needed) and removes the oldest notes beyond
/// [`CRASH_NOTES_KEPT`]. Returns the note's path.
pub fn write(dir: &Path, note: &CrashNote) -> io::Result<PathBuf> {
    // Owner-only, like the log beside it: a note names paths and settings of this account.
    crate::private_fs::ensure_private_dir(dir)?;
    let path = dir.join(format!("{PREFIX}{}{UNSEEN}", note.at.format(STAMP)));
    crate::private_fs::private_open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?
        .write_all(note.to_text().as_bytes())?;
    let mut notes = list(dir)?;
    if notes.len() > CRASH_NOTES_KEPT {
        notes.sort_by_key(|(at, _, _)| *at);
        let excess = notes.len() - CRASH_NOTES_KEPT;
        for (_, name, _) in notes.into_iter().take(excess) {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    Ok(path)
}

/// The newest note not dismissed yet, if any.
pub fn latest_unseen(dir: &Path) -> io::Result<Option<CrashReport>> {
    let newest = list(dir)?
        .into_iter()
        .filter(|(_, _, seen)| !seen)
        .max_by_key(|(at, _, _)| *at);
    let Some((at, name, _)) = newest else {
        return Ok(None);
    };
    let path = dir.join(&name);
    let text = redact(&std::fs::read_to_string(&path)?);
    Ok(Some(CrashReport {
        id: name,
        at,
        text,
        path: path.display().to_string(),
    }))
}

/// The newest note's file name, seen or not (for the diagnostics).
pub fn latest_name(dir: &Path) -> Option<String> {
    list(dir)
        .ok()?
        .into_iter()
        .max_by_key(|(at, _, _)| *at)
        .map(|(_, name, _)| name)
}

/// Marks the note `id` seen, so it is not offered again. `id` must be an unseen note's file name
/// (nothing else in or out of `dir` can be named).
pub fn mark_seen(dir: &Path, id: &str) -> Result<(), crate::Error> {
    let Some((_, false)) = parse_name(id) else {
        return Err(crate::Error::invalid("id", "not a crash note's name"));
    };
    let stem = id.trim_end_matches(UNSEEN);
    std::fs::rename(dir.join(id), dir.join(format!("{stem}{SEEN}"))).map_err(|err| {
        crate::Error::Internal {
            message: format!("could not mark the crash note {id} seen: {err}"),
            source: Some(Box::new(err)),
        }
    })
}

/// The text of the unseen note `id` (for `crash_copy`), checked like [`mark_seen`].
pub fn read(dir: &Path, id: &str) -> Result<String, crate::Error> {
    if parse_name(id).is_none() {
        return Err(crate::Error::invalid("id", "not a crash note's name"));
    }
    std::fs::read_to_string(dir.join(id))
        .map(|text| redact(&text))
        .map_err(|err| crate::Error::Internal {
            message: format!("could not read the crash note {id}: {err}"),
            source: Some(Box::new(err)),
        })
}

/// (time, file name, seen) of every note in `dir`; a missing `dir` has none.
fn list(dir: &Path) -> io::Result<Vec<(DateTime<Utc>, String, bool)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut notes = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some((at, seen)) = parse_name(&name) {
            notes.push((at, name, seen));
        }
    }
    Ok(notes)
}

/// `crash-<stamp>.txt` → (time, false), `crash-<stamp>.seen.txt` → (time, true); anything else (a
/// path, another file) → `None`.
fn parse_name(name: &str) -> Option<(DateTime<Utc>, bool)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (stamp, seen) = match rest.strip_suffix(SEEN) {
        Some(stamp) => (stamp, true),
        None => (rest.strip_suffix(UNSEEN)?, false),
    };
    let at = NaiveDateTime::parse_from_str(stamp, STAMP).ok()?.and_utc();
    Some((at, seen))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn note(minute: u32, message: &str) -> CrashNote {
        CrashNote {
            at: Utc.with_ymd_and_hms(2026, 12, 7, 10, minute, 0).unwrap(),
            version: "0.1.0".into(),
            commit: "abc1234".into(),
            platform: "linux x86_64".into(),
            message: message.into(),
            location: Some("src-tauri/src/lib.rs:10:5".into()),
            backtrace: Some("0: keyward_lib::run".into()),
        }
    }

    #[test]
    fn a_note_is_written_offered_once_and_marked_seen() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        assert_eq!(latest_unseen(&logs).unwrap(), None);

        write(&logs, &note(1, "first")).unwrap();
        let path = write(&logs, &note(2, "index out of bounds")).unwrap();
        assert!(path.ends_with("crash-20261207T100200.000Z.txt"), "{path:?}");
        #[cfg(unix)]
        {
            assert_eq!(crate::private_fs::mode_of(&path).unwrap(), 0o600);
            assert_eq!(crate::private_fs::mode_of(&logs).unwrap(), 0o700);
        }

        let report = latest_unseen(&logs).unwrap().unwrap();
        assert_eq!(report.id, "crash-20261207T100200.000Z.txt");
        assert_eq!(report.at, note(2, "").at);
        for expected in [
            "Version: 0.1.0",
            "Commit: abc1234",
            "Platform: linux x86_64",
            "Message: index out of bounds",
            "Location: src-tauri/src/lib.rs:10:5",
            "0: keyward_lib::run",
        ] {
            assert!(
                report.text.contains(expected),
                "{expected}: {}",
                report.text
            );
        }
        assert_eq!(read(&logs, &report.id).unwrap(), report.text);

        mark_seen(&logs, &report.id).unwrap();
        assert!(logs.join("crash-20261207T100200.000Z.seen.txt").is_file());
        // The older unseen one comes next; once it too is seen, nothing is offered.
        let older = latest_unseen(&logs).unwrap().unwrap();
        assert!(older.text.contains("Message: first"));
        mark_seen(&logs, &older.id).unwrap();
        assert_eq!(latest_unseen(&logs).unwrap(), None);
        assert_eq!(
            latest_name(&logs).as_deref(),
            Some("crash-20261207T100200.000Z.seen.txt")
        );
        // A seen note can't be marked again.
        assert!(mark_seen(&logs, &report.id).is_err());
    }

    #[test]
    fn only_crash_note_names_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keyward.2026-12-07.log"), "log").unwrap();
        for id in [
            "../crash-20261207T100200.000Z.txt",
            "keyward.2026-12-07.log",
            "crash-.txt",
            "/etc/passwd",
        ] {
            assert!(mark_seen(dir.path(), id).is_err(), "{id}");
            assert!(read(dir.path(), id).is_err(), "{id}");
        }
        assert!(dir.path().join("keyward.2026-12-07.log").is_file());
    }

    #[test]
    fn a_note_never_holds_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        // A made-up key-shaped value (not a real key) in the panic message.
        let secret = format!("sk-or-v1-{}", "9a8b7c6d".repeat(8));
        write(dir.path(), &note(3, &format!("bad header {secret}"))).unwrap();
        let report = latest_unseen(dir.path()).unwrap().unwrap();
        let on_disk = std::fs::read_to_string(&report.path).unwrap();
        assert!(!on_disk.contains(&secret), "{on_disk}");
        assert!(
            on_disk.contains("bad header sk-or-v1-[redacted]"),
            "{on_disk}"
        );
    }

    #[test]
    fn old_notes_beyond_the_cap_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for minute in 0..(CRASH_NOTES_KEPT as u32 + 3) {
            write(dir.path(), &note(minute, "boom")).unwrap();
        }
        assert_eq!(list(dir.path()).unwrap().len(), CRASH_NOTES_KEPT);
        assert!(!dir.path().join("crash-20261207T100000.000Z.txt").exists());
    }
}
