//! The `openrouter-emulator` binary: starts the emulator, prints one JSON line with its URLs and
//! management key, and runs until SIGINT or SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use openrouter_emulator::{Emulator, EmulatorConfig};

/// A local OpenRouter-compatible key-management API.
#[derive(Debug, Parser)]
#[command(name = "openrouter-emulator", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The management key to accept (default: a random sk-or-v1-… key).
    #[arg(long)]
    management_key: Option<String>,
    /// Seed this many demo keys when the state is empty.
    #[arg(long, default_value_t = 0)]
    seed_demo: usize,
    /// RNG seed of the demo keys.
    #[arg(long)]
    seed: Option<u64>,
    /// Load the state from FILE and write it back after every change.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Delay every API response by this many milliseconds.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Start the traffic simulator.
    #[arg(long)]
    traffic: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let mut config = EmulatorConfig::default()
        .port(args.port)
        .seed_demo(args.seed_demo)
        .traffic(args.traffic);
    config.management_key = args.management_key;
    config.seed = args.seed;
    config.state_file = args.state;
    config.latency = args.latency_ms.map(Duration::from_millis);

    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("openrouter-emulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    let banner = serde_json::json!({
        "base_url": emulator.base_url(),
        "control_url": emulator.control_url(),
        "management_key": emulator.management_key(),
    });
    let mut stdout = std::io::stdout().lock();
    let printed = writeln!(stdout, "{banner}")
        .and_then(|()| {
            writeln!(
                stdout,
                "OpenRouter emulator listening on {}",
                emulator.base_url()
            )
        })
        .and_then(|()| {
            writeln!(
                stdout,
                "controls at {} (Ctrl-C to stop)",
                emulator.control_url()
            )
        })
        .and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(error) = printed {
        eprintln!("openrouter-emulator: cannot write to stdout: {error}");
    }

    wait_for_signal().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
