//! The panic hook: a panic anywhere in the app writes a crash note to the log directory
//! (`keyward_core::diagnostics::crash`: time, version, commit, platform, thread, message, location,
//! backtrace; redacted) before the default hook runs; the next start's window offers it
//! (`crash_latest`). [`CRASH_TEST_ENV`] makes a debug build panic at start-up (the e2e/Rust test of
//! the real binary); release builds don't contain that code at all (`cfg(debug_assertions)`).

use std::cell::Cell;
use std::path::PathBuf;

use keyward_core::diagnostics::crash::{self, CrashNote};

/// The commit the app was built from (build.rs; `unknown` outside a git checkout).
pub const COMMIT: &str = env!("KEYWARD_COMMIT");

/// Debug builds only: set to `1` to panic right after start-up (tests of the crash note).
#[cfg(debug_assertions)]
pub const CRASH_TEST_ENV: &str = "KEYWARD_CRASH_TEST";

thread_local! {
    /// Set while [`catch_expected`] runs: a panic there is handled, not a crash.
    static EXPECTED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, catching a panic that is expected and handled (the tray library missing makes
/// building the tray panic), so no crash note is written for it.
pub fn catch_expected<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    EXPECTED.with(|expected| expected.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    EXPECTED.with(|expected| expected.set(false));
    result
}

/// Installs the hook; the previous one (printing to stderr) still runs after it.
pub fn install(log_dir: PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if EXPECTED.with(Cell::get) {
            previous(info);
            return;
        }
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic without a message)".to_owned());
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        let note = CrashNote {
            at: chrono::Utc::now(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            commit: COMMIT.to_owned(),
            platform: keyward_core::diagnostics::platform(),
            message: format!("{message} (thread {thread})"),
            location: info
                .location()
                .map(|at| format!("{}:{}:{}", at.file(), at.line(), at.column())),
            backtrace: Some(std::backtrace::Backtrace::force_capture().to_string()),
        };
        match crash::write(&log_dir, &note) {
            Ok(path) => {
                tracing::error!(path = %path.display(), "Keyward panicked; crash note written")
            }
            Err(err) => eprintln!("Keyward panicked and could not write a crash note: {err}"),
        }
        previous(info);
    }));
}

/// Debug builds: panics when [`CRASH_TEST_ENV`] is `1`. Release builds: nothing (compiled out).
pub fn crash_test_if_asked() {
    #[cfg(debug_assertions)]
    if std::env::var(CRASH_TEST_ENV).as_deref() == Ok("1") {
        tracing::warn!("{CRASH_TEST_ENV}=1: panicking on purpose (debug build)");
        panic!("crash test ({CRASH_TEST_ENV}=1)");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_writes_a_redacted_note_and_an_expected_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        install(dir.path().to_path_buf());
        // A made-up, key-shaped fixture (never a real key).
        let secret = format!("sk-or-v1-{}", "7e7f7a7b".repeat(8));
        let message = format!("boom with {secret}");
        let handled = catch_expected(|| panic!("the tray library is missing"));
        assert!(handled.is_err());
        let crashed = std::thread::Builder::new()
            .name("crashing".into())
            .spawn(move || panic!("{message}"))
            .unwrap()
            .join();
        assert!(crashed.is_err());
        // The default hook back for whatever runs next in this process.
        let _ = std::panic::take_hook();

        let report = crash::latest_unseen(dir.path()).unwrap().unwrap();
        assert!(
            report
                .text
                .contains("Message: boom with sk-or-v1-[redacted] (thread crashing)"),
            "{}",
            report.text
        );
        assert!(!report.text.contains(&secret));
        assert!(report.text.contains(&format!("Commit: {COMMIT}")));
        assert!(report.text.contains("Location: src"), "{}", report.text);
        assert!(report.text.contains("Backtrace:"));
        let notes = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(notes, 1, "the handled panic left a note too");
    }
}
