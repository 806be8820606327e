//! Times `OpenRouterClient::list_all_workspaces` over every key of every workspace of an account,
//! R times, for `cargo xtask bench`.
//!
//! Usage: `KEYWARD_BENCH_KEY=sk-or-v1-… list_all_bench --base-url URL [--runs R] [--hashes-out FILE]`.
//! The key comes from the environment so it never shows in a process list. The last stdout line
//! is JSON: `{"runs_ms":[…],"keys":N}`; `--hashes-out` writes the last run's hashes, one a line.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use keyward_core::api::{ClientConfig, ListKeysQuery, OpenRouterClient};
use secrecy::SecretString;

#[derive(Parser)]
#[command(about = "Times OpenRouterClient::list_all_workspaces over every key of an account")]
struct Args {
    /// The API base URL (e.g. the emulator's).
    #[arg(long, env = "KEYWARD_BENCH_BASE_URL")]
    base_url: String,
    /// How many times to list every key.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Writes the last run's key hashes there, one a line.
    #[arg(long)]
    hashes_out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let key = std::env::var("KEYWARD_BENCH_KEY").map_err(|_| "KEYWARD_BENCH_KEY is not set")?;
    let client = OpenRouterClient::new(ClientConfig::new(args.base_url, SecretString::from(key)))?;
    let query = ListKeysQuery {
        include_disabled: true,
        include_expired: true,
        workspace_id: None,
    };

    let mut runs_ms = Vec::new();
    let mut last = Vec::new();
    for run in 1..=args.runs {
        let started = Instant::now();
        let keys = client.list_all_workspaces(&query).await?.keys;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("run {run}: {} keys in {elapsed_ms:.0} ms", keys.len());
        runs_ms.push(elapsed_ms);
        last = keys;
    }

    if let Some(path) = &args.hashes_out {
        let mut text = String::with_capacity(last.len() * 65);
        for key in &last {
            text.push_str(&key.hash);
            text.push('\n');
        }
        std::fs::write(path, text)?;
    }
    println!(
        "{}",
        serde_json::json!({ "runs_ms": runs_ms, "keys": last.len() })
    );
    Ok(())
}
