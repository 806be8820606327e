//! The last warnings and errors of this run, kept in memory for "Copy diagnostics" (the shell's
//! tracing layer pushes them; nothing reads the log files back). Bounded, and redacted on the way in.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use crate::audit::redact;

/// How many entries [`RecentLog::default`] keeps.
pub const RECENT_KEPT: usize = 50;
/// An entry longer than this is cut (a runaway message must not fill the diagnostics).
const ENTRY_MAX_CHARS: usize = 2000;

/// A bounded ring of formatted log entries, newest last.
#[derive(Debug)]
pub struct RecentLog {
    kept: usize,
    entries: Mutex<VecDeque<String>>,
}

impl Default for RecentLog {
    fn default() -> Self {
        RecentLog::new(RECENT_KEPT)
    }
}

impl RecentLog {
    pub fn new(kept: usize) -> RecentLog {
        RecentLog {
            kept: kept.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// Adds `entry` (redacted, cut to a bounded length), dropping the oldest beyond the bound.
    pub fn push(&self, entry: &str) {
        let mut entry = redact(entry);
        if entry.chars().count() > ENTRY_MAX_CHARS {
            entry = entry.chars().take(ENTRY_MAX_CHARS).collect::<String>() + " …";
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.push_back(entry);
        while entries.len() > self.kept {
            entries.pop_front();
        }
    }

    /// The entries, oldest first.
    pub fn snapshot(&self) -> Vec<String> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_entries_redacted() {
        let recent = RecentLog::new(3);
        let secret = format!("sk-or-v1-{}", "1234abcd".repeat(8));
        for n in 0..5 {
            recent.push(&format!("error {n} with {secret}"));
        }
        let entries = recent.snapshot();
        assert_eq!(entries.len(), 3);
        assert!(entries[0].starts_with("error 2"));
        assert!(entries[2].starts_with("error 4"));
        assert!(entries.iter().all(|entry| !entry.contains(&secret)));
        recent.push(&"x".repeat(5000));
        assert!(recent.snapshot()[2].chars().count() < 2100);
    }
}
