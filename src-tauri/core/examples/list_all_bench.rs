//! Times `OpenRouterClient::list_all` over every key of an account, R times, for `cargo xtask bench`.
//!
//! Usage: `KEYWARD_BENCH_KEY=sk-or-v1-… list_all_bench --base-url URL [--runs R] [--hashes-out FILE]`.
//! The key comes from the environment so it never shows in a process list. The last stdout line
//! is JSON: `{"runs_ms":[…],"keys":N}`; `--hashes-out` writes the last run's hashes, one a line.

use std::error::Error;
use std::time::Instant;

use keyward_core::api::{ClientConfig, ListKeysQuery, OpenRouterClient};
use secrecy::SecretString;

struct Args {
    base_url: String,
    runs: u32,
    hashes_out: Option<String>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut base_url = std::env::var("KEYWARD_BENCH_BASE_URL").ok();
    let mut runs = 3;
    let mut hashes_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--base-url" => base_url = Some(value()?),
            "--runs" => runs = value()?.parse()?,
            "--hashes-out" => hashes_out = Some(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let base_url = base_url.ok_or("--base-url (or KEYWARD_BENCH_BASE_URL) is required")?;
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(Args {
        base_url,
        runs,
        hashes_out,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
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
        let keys = client.list_all(&query).await?;
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
