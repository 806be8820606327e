//! Logs to stderr and to a daily file in the OS log directory (Tauri's `app_log_dir`:
//! `~/.local/share/dev.keyward.app/logs` on Linux, `~/Library/Logs/dev.keyward.app` on macOS,
//! `%LOCALAPPDATA%\dev.keyward.app\logs` on Windows; `$KEYWARD_DATA_DIR/logs` when the data directory
//! is overridden). tracing-appender rolls the file daily (`keyward.YYYY-MM-DD.log`, UTC) and keeps
//! [`LOG_DAYS_KEPT`] of them; keyward-core's `DailyCap` stops a day's file at [`LOG_DAY_MAX_BYTES`].
//! Every line, on stderr and in the file, goes through the audit log's redaction (`Redacting`) on top
//! of secrets being `SecretString`s. The directory is 0700, each file 0600. Warnings and errors are also kept in
//! memory ([`RecentLog`]) for "Copy diagnostics".

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyward_core::diagnostics::log_writer::{
    DailyCap, LOG_DAY_MAX_BYTES, LOG_DAYS_KEPT, LOG_PREFIX, LOG_SUFFIX, Redacting, prepare_day_file,
};
use keyward_core::diagnostics::recent::RecentLog;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Where the logs and crash notes go, and the recent warnings and errors (app state, managed from
/// set-up on).
pub struct AppLog {
    pub log_dir: std::path::PathBuf,
    pub data_dir: std::path::PathBuf,
    pub recent: Arc<RecentLog>,
}

/// The daily, capped, redacted log file writer in `log_dir` (made private if needed).
pub fn file_writer(log_dir: &Path) -> Result<Redacting<DailyCap<RollingFileAppender>>, String> {
    keyward_core::private_fs::ensure_private_dir(log_dir)
        .map_err(|err| format!("can't create the log directory: {err}"))?;
    // Today's file exists 0600 before tracing-appender opens it (appending keeps the mode).
    prepare_day_file(log_dir, chrono::Utc::now().date_naive());
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_PREFIX)
        .filename_suffix(LOG_SUFFIX)
        .max_log_files(LOG_DAYS_KEPT)
        .build(log_dir)
        .map_err(|err| format!("can't open the log file: {err}"))?;
    Ok(Redacting(DailyCap::new(
        appender,
        log_dir,
        LOG_DAY_MAX_BYTES,
    )))
}

/// Sets up logging; returns the in-memory ring of recent warnings and errors.
pub fn init(log_dir: &Path) -> Arc<RecentLog> {
    let recent = Arc::new(RecentLog::default());
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(|| Redacting(std::io::stderr()))
        .with_filter(filter());
    let registry = tracing_subscriber::registry()
        .with(stderr)
        .with(RecentLayer(recent.clone()));
    let result = match file_writer(log_dir) {
        Ok(file) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Mutex::new(file))
                    .with_filter(filter()),
            )
            .try_init(),
        Err(err) => {
            eprintln!("Keyward can't write its log file: {err}");
            registry.try_init()
        }
    };
    if result.is_err() {
        tracing::debug!("logging was already set up");
    }
    recent
}

/// Keeps every warning and error (whatever `RUST_LOG` says) in a [`RecentLog`].
pub struct RecentLayer(pub Arc<RecentLog>);

impl<S: Subscriber> Layer<S> for RecentLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut text = format!(
            "{} {level} {}:",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut text));
        self.0.push(&text);
    }
}

/// `message` first as is, other fields as ` name=value`.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // A made-up, key-shaped fixture (never a real key).
    fn secret() -> String {
        format!("sk-or-v1-{}", "5a5b5c5d".repeat(8))
    }

    #[test]
    fn a_secret_logged_through_tracing_reaches_neither_the_file_nor_the_recent_errors() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let recent = Arc::new(RecentLog::default());
        let file = file_writer(&logs).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(RecentLayer(recent.clone()))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Mutex::new(file)),
            );
        let secret = secret();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(header = %secret, "sending a request");
            tracing::warn!("refused: {secret}");
            tracing::error!(error = %format!("bad key {secret}"), "the refresh failed");
        });

        let names: Vec<String> = std::fs::read_dir(&logs)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(
            names[0].starts_with("keyward.") && names[0].ends_with(".log"),
            "{names:?}"
        );
        let text = std::fs::read_to_string(logs.join(&names[0])).unwrap();
        assert!(text.contains("sending a request"), "{text}");
        assert!(text.contains("the refresh failed"), "{text}");
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains("5a5b5c5d5a5b5c5d"), "{text}");
        assert_eq!(text.matches("sk-or-v1-[redacted]").count(), 3, "{text}");

        let kept = recent.snapshot();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(
            kept[0].contains("WARN") && kept[0].contains("refused"),
            "{kept:?}"
        );
        assert!(kept[1].contains("ERROR") && kept[1].contains("the refresh failed"));
        assert!(kept.iter().all(|line| !line.contains(&secret)), "{kept:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
            let mode = std::fs::metadata(logs.join(&names[0]))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
