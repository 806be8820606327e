//! `list`: Keyward's `list_all_workspaces` (core/examples/list_all_bench.rs) against the official
//! Python SDK paging each workspace the way a script would (tests/bench/sdk_list_all.py), over the
//! same seeded emulator (keys spread over several workspaces) with the same injected latency, in the
//! same run; both must list exactly the emulator's keys.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use serde_json::json;

use crate::Emulator;

#[derive(clap::Args)]
pub struct Args {
    /// Where the release binaries are (openrouter-emulator, examples/list_all_bench).
    #[arg(long)]
    bin_dir: PathBuf,
    /// The venv's Python, with the official SDK.
    #[arg(long)]
    python: PathBuf,
    /// tests/bench/sdk_list_all.py.
    #[arg(long)]
    sdk_script: PathBuf,
    /// Where the logs and listed hashes go.
    #[arg(long)]
    artifacts: PathBuf,
    /// How many times each side lists every key.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// How many keys the emulator is seeded with.
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// How many workspaces the keys are spread over (round-robin).
    #[arg(long, default_value_t = 5)]
    workspaces: u64,
    /// Latency the emulator adds to every API response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// The speed-up Keyward must reach over the SDK script.
    #[arg(long, default_value_t = 12.0)]
    target_ratio: f64,
    /// The longest Keyward's median may take, in milliseconds.
    #[arg(long, default_value_t = 500.0)]
    target_ms: f64,
}

/// What both timing programs print as their last stdout line.
#[derive(Deserialize)]
struct Timings {
    runs_ms: Vec<f64>,
    keys: u64,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be at least 1");
    fs::create_dir_all(&args.artifacts)?;
    let emulator = Emulator::start(
        &args.bin_dir.join("openrouter-emulator"),
        &args.artifacts.join("emulator.log"),
    )?;
    emulator.control(reqwest::Method::POST, "reset", Some(json!({})))?;
    let seeded = emulator.control(
        reqwest::Method::POST,
        "seed",
        Some(json!({ "count": args.keys, "seed": 20_261_123u64, "workspaces": args.workspaces })),
    )?;
    ensure!(
        seeded["created"] == args.keys,
        "seeding answered {seeded} instead of created: {}",
        args.keys
    );
    emulator.control(
        reqwest::Method::POST,
        "faults",
        Some(json!({ "latency_ms": args.latency_ms })),
    )?;
    let all_hashes: BTreeSet<String> =
        emulator.control(reqwest::Method::GET, "keys", None)?["data"]
            .as_array()
            .context("/_emulator/keys has no data array")?
            .iter()
            .map(|key| {
                key["hash"]
                    .as_str()
                    .map(str::to_owned)
                    .context("a key without a hash")
            })
            .collect::<anyhow::Result<_>>()?;
    ensure!(
        all_hashes.len() as u64 == args.keys,
        "the emulator holds {} keys",
        all_hashes.len()
    );

    let endpoints = &emulator.endpoints;
    let runs = args.runs.to_string();
    let timed =
        |program: &mut Command, hashes: &Path| -> anyhow::Result<(Timings, BTreeSet<String>)> {
            program
                .args([
                    "--base-url",
                    &endpoints.base_url,
                    "--runs",
                    &runs,
                    "--hashes-out",
                ])
                .arg(hashes)
                .env("KEYWARD_BENCH_KEY", &endpoints.management_key);
            let timings = time_program(program)?;
            Ok((timings, read_unique_hashes(hashes)?))
        };
    println!("\n==> (a) Keyward list_all_workspaces, {} runs", args.runs);
    let keyward_bin = args.bin_dir.join("examples/list_all_bench");
    let (keyward, keyward_set) = timed(
        &mut Command::new(keyward_bin),
        &args.artifacts.join("keyward-hashes.txt"),
    )?;
    println!(
        "\n==> (b) official Python SDK 1.3.84, each workspace paged in turn, {} runs",
        args.runs
    );
    let mut sdk_command = Command::new(&args.python);
    sdk_command.arg(&args.sdk_script);
    let (sdk, sdk_set) = timed(&mut sdk_command, &args.artifacts.join("sdk-hashes.txt"))?;
    drop(emulator);

    ensure!(
        keyward.keys == args.keys && sdk.keys == args.keys,
        "keys listed: Keyward {}, SDK {}, expected {}",
        keyward.keys,
        sdk.keys,
        args.keys
    );
    ensure!(
        keyward_set == all_hashes,
        "Keyward's hashes differ from the emulator's keys"
    );
    ensure!(
        sdk_set == all_hashes,
        "the SDK's hashes differ from the emulator's keys"
    );

    let (keyward_median, sdk_median) = (median(&keyward.runs_ms), median(&sdk.runs_ms));
    let ratio = sdk_median / keyward_median;
    let fast_enough = keyward_median <= args.target_ms;
    let met = ratio >= args.target_ratio && fast_enough;
    println!(
        "\n==> benchmark: list every key ({} keys in {} workspaces, {} ms latency per request)",
        args.keys, args.workspaces, args.latency_ms
    );
    println!(
        "| task | keys listed (Keyward / SDK) | Keyward median ms | SDK median ms | ratio | target |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| list all keys | {} / {} | {keyward_median:.0} | {sdk_median:.0} | {ratio:.1}× | ≤ {} ms and ≥ {}× {} |",
        keyward.keys,
        sdk.keys,
        args.target_ms,
        args.target_ratio,
        if met { "met" } else { "MISSED" }
    );
    let format_runs = |runs: &[f64]| {
        runs.iter()
            .map(|ms| format!("{ms:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("\nper-run ms, Keyward: {}", format_runs(&keyward.runs_ms));
    println!("per-run ms, SDK:     {}", format_runs(&sdk.runs_ms));
    println!(
        "both listed the same {} unique hashes, equal to the emulator's keys",
        keyward_set.len()
    );
    if !fast_enough {
        bail!(
            "Keyward took {keyward_median:.0} ms, over the {} ms target",
            args.target_ms
        );
    }
    if !met {
        bail!(
            "Keyward was {ratio:.1}× the SDK, below the {}× target",
            args.target_ratio
        );
    }
    Ok(())
}

/// Runs a timing program (its output shown) and reads the JSON timings of its last stdout line.
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
    let timings: Timings =
        serde_json::from_str(last).with_context(|| format!("parsing {last:?}"))?;
    ensure!(
        !timings.runs_ms.is_empty(),
        "the timing program reported no run"
    );
    Ok(timings)
}

fn read_unique_hashes(path: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let hashes: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    let unique: BTreeSet<String> = hashes.iter().map(|hash| (*hash).to_owned()).collect();
    ensure!(
        unique.len() == hashes.len(),
        "{} lists {} keys but {} distinct hashes",
        path.display(),
        hashes.len(),
        unique.len()
    );
    Ok(unique)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}
