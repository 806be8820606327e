//! `revoke`: Keyward's emergency revoke (core/examples/revoke_bench.rs: list, disable every key,
//! then delete them, through the service) against the official Python SDK doing the same in a
//! sequential loop (tests/bench/sdk_revoke.py), each over its own freshly seeded 1,000 keys on the
//! same emulator, in the same run, with 50 ms latency and 5 % of requests answered 429. The SDK does
//! not retry a 429, so its failures are counted; Keyward must have none.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use serde_json::json;

use crate::Emulator;

#[derive(clap::Args)]
pub struct Args {
    /// Where the release binaries are (openrouter-emulator, examples/revoke_bench).
    #[arg(long)]
    bin_dir: PathBuf,
    /// The venv's Python, with the official SDK.
    #[arg(long)]
    python: PathBuf,
    /// tests/bench/sdk_revoke.py.
    #[arg(long)]
    sdk_script: PathBuf,
    #[arg(long)]
    artifacts: PathBuf,
    /// Keys revoked by each side.
    #[arg(long, default_value_t = 1_000)]
    keys: u64,
    /// Latency the emulator adds to every API response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Share of API requests answered 429.
    #[arg(long, default_value_t = 0.05)]
    rate_limited: f64,
    /// The Retry-After of those 429s, in seconds.
    #[arg(long, default_value_t = 1)]
    retry_after_seconds: u64,
    /// The speed-up Keyward must reach over the SDK script (disable + delete).
    #[arg(long, default_value_t = 12.0)]
    target_ratio: f64,
    /// The longest Keyward's disable may take, in milliseconds.
    #[arg(long, default_value_t = 5_000.0)]
    target_disable_ms: f64,
}

#[derive(Deserialize)]
struct Timings {
    disable_ms: f64,
    delete_ms: f64,
    keys: u64,
    disable_failed: u64,
    delete_failed: u64,
}

/// Both sides' figures, with the 429s the emulator answered each.
struct Side {
    timings: Timings,
    answered_429: u64,
    left_on_emulator: usize,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    fs::create_dir_all(&args.artifacts)?;
    let emulator = Emulator::start(
        &args.bin_dir.join("openrouter-emulator"),
        &args.artifacts.join("emulator-revoke.log"),
    )?;
    let endpoints = &emulator.endpoints;
    let faults = json!({
        "latency_ms": args.latency_ms,
        "rate_limit": {
            "probability": args.rate_limited,
            "retry_after_seconds": args.retry_after_seconds
        },
        "seed": 20_261_207u64
    });
    let side = |title: &str, program: &mut Command| -> anyhow::Result<Side> {
        println!("\n==> {title}");
        emulator.seed(args.keys)?;
        emulator.control(reqwest::Method::POST, "faults", Some(faults.clone()))?;
        program
            .args(["--base-url", &endpoints.base_url])
            .env("KEYWARD_BENCH_KEY", &endpoints.management_key);
        let timings = time_program(program)?;
        let counts = emulator.control(reqwest::Method::GET, "faults", None)?;
        let answered_429 = counts["injected"]["rate_limit"].as_u64().unwrap_or(0);
        emulator.control(reqwest::Method::DELETE, "faults", None)?;
        let left_on_emulator = emulator.control(reqwest::Method::GET, "keys", None)?["data"]
            .as_array()
            .map_or(0, Vec::len);
        ensure!(
            timings.keys == args.keys,
            "{title}: {} keys revoked instead of {}",
            timings.keys,
            args.keys
        );
        Ok(Side {
            timings,
            answered_429,
            left_on_emulator,
        })
    };
    let keyward = side(
        "(a) Keyward emergency revoke: disable every key, then delete them",
        &mut Command::new(args.bin_dir.join("examples/revoke_bench")),
    )?;
    let mut sdk_command = Command::new(&args.python);
    sdk_command.arg(&args.sdk_script);
    let sdk = side(
        "(b) official Python SDK 1.3.84: list, then update/delete each key in turn",
        &mut sdk_command,
    )?;
    drop(emulator);

    let total = |s: &Side| s.timings.disable_ms + s.timings.delete_ms;
    let ratio = total(&sdk) / total(&keyward);
    let failures = |s: &Side| s.timings.disable_failed + s.timings.delete_failed;
    println!(
        "\n==> benchmark: emergency revoke of {} keys ({} ms latency, {:.0} % of requests \
         answered 429 with Retry-After {} s)",
        args.keys,
        args.latency_ms,
        args.rate_limited * 100.0,
        args.retry_after_seconds
    );
    println!(
        "| side | disable ms | delete ms | total ms | failed keys (disable + delete) | 429s answered | keys left |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, s) in [("Keyward", &keyward), ("Python SDK (sequential)", &sdk)] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {} + {} | {} | {} |",
            s.timings.disable_ms,
            s.timings.delete_ms,
            total(s),
            s.timings.disable_failed,
            s.timings.delete_failed,
            s.answered_429,
            s.left_on_emulator
        );
    }
    let met = ratio >= args.target_ratio
        && failures(&keyward) == 0
        && keyward.timings.disable_ms <= args.target_disable_ms;
    println!(
        "\nspeed-up {ratio:.1}× (target ≥ {}×), Keyward failures {} (target 0), Keyward disable \
         {:.0} ms (target < {} ms): {}",
        args.target_ratio,
        failures(&keyward),
        keyward.timings.disable_ms,
        args.target_disable_ms,
        if met { "met" } else { "MISSED" }
    );
    if failures(&keyward) > 0 || keyward.left_on_emulator > 0 {
        bail!("Keyward left keys behind or failed some");
    }
    if !met {
        bail!("the revoke benchmark missed its target");
    }
    Ok(())
}

/// Runs a timing program (its output shown) and reads the JSON of its last stdout line.
fn time_program(command: &mut Command) -> anyhow::Result<Timings> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .context("starting a timing program")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    ensure!(
        output.status.success(),
        "the timing program failed ({})",
        output.status
    );
    let last = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .context("no JSON line")?;
    serde_json::from_str(last).with_context(|| format!("parsing {last:?}"))
}
