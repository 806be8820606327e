//! Logs to stderr and to `keyward.log` in the data directory (rotated by size, a bounded number of
//! files, each 0600: `keyward_core::log_file`). Nothing secret is ever logged: secrets are
//! `SecretString`s, whose Debug and Display are redacted.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub fn init(data_dir: &Path) {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = keyward_core::log_file::log_writer(data_dir);
    let registry = tracing_subscriber::registry().with(stderr);
    let result = match file {
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
}
