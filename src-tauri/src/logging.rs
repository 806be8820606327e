//! Logs to stderr and to `keyward.log` in the data directory. Nothing secret is ever logged: secrets
//! are `SecretString`s, whose Debug and Display are redacted.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub const LOG_FILE: &str = "keyward.log";

pub fn init(data_dir: &Path) {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join(LOG_FILE));
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
