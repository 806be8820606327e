//! `cargo xtask bench [list]`: Keyward's `list_all` against the official Python SDK paging the way a
//! script would, over the same seeded emulator with the same injected latency, in the same run.
//! `cargo xtask bench idle` (bench_idle.rs) measures the app at rest instead.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use serde_json::json;

use crate::emulator::EmulatorProcess;
use crate::process::{run_checked, run_streamed};
use crate::setup;
use crate::workspace::{Workspace, cargo};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Option<Which>,
    /// Without a subcommand: the list benchmark, with these options.
    #[command(flatten)]
    list: ListArgs,
}

#[derive(clap::Subcommand)]
enum Which {
    /// Keyward's list_all against the official Python SDK over 10,000 keys (the default).
    List(ListArgs),
    /// Keyward's idle CPU and memory with 1,000 keys and its window closed, beside a minimal Tauri
    /// app built in the same run (printed, not asserted).
    Idle(crate::bench_idle::IdleArgs),
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// How many times each side lists every key.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// How many keys the emulator is seeded with.
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// Latency the emulator adds to every API response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// The speed-up Keyward must reach over the SDK script.
    #[arg(long, default_value_t = 6.0)]
    target_ratio: f64,
    /// Do not run `setup` first.
    #[arg(long)]
    no_setup: bool,
}

/// What both timing programs print as their last stdout line.
#[derive(Deserialize)]
struct Timings {
    runs_ms: Vec<f64>,
    keys: u64,
}

const BENCH_MANAGEMENT_KEY: &str = "sk-or-v1-keyward-bench-management";
const KEY_ENV: &str = "KEYWARD_BENCH_KEY";

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match &args.which {
        None => run_list(&args.list),
        Some(Which::List(list)) => run_list(list),
        Some(Which::Idle(idle)) => crate::bench_idle::run(idle),
    }
}

fn run_list(args: &ListArgs) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be at least 1");
    let workspace = Workspace::locate()?;
    if !args.no_setup {
        setup::run(&workspace)?;
    }
    println!("==> building the emulator and the list_all bench (release)");
    run_checked(
        Command::new(cargo())
            .args([
                "build",
                "--release",
                "-p",
                "openrouter-emulator",
                "--bin",
                "openrouter-emulator",
            ])
            .current_dir(&workspace.root),
    )?;
    run_checked(
        Command::new(cargo())
            .args([
                "build",
                "--release",
                "-p",
                "keyward-core",
                "--example",
                "list_all_bench",
            ])
            .current_dir(&workspace.root),
    )?;
    let emulator_bin = workspace.binary("release", "openrouter-emulator");
    let keyward_bin = workspace.target_dir.join("release/examples/list_all_bench");

    let artifacts = workspace.root.join("tests/artifacts/bench");
    fs::create_dir_all(&artifacts).with_context(|| format!("creating {}", artifacts.display()))?;
    let emulator = EmulatorProcess::start(
        &emulator_bin,
        BENCH_MANAGEMENT_KEY,
        &artifacts.join("emulator.log"),
    )?;
    let endpoints = &emulator.endpoints;
    println!("emulator at {}", endpoints.base_url);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime")?;
    let control = Control::new(&endpoints.control_url)?;
    let all_hashes = runtime.block_on(async {
        control.post("reset", json!({})).await?;
        let seeded = control
            .post("seed", json!({ "count": args.keys, "seed": 20_261_123u64 }))
            .await?;
        let created = seeded.get("created").and_then(serde_json::Value::as_u64);
        ensure!(
            created == Some(args.keys),
            "seeding answered {seeded} instead of created: {}",
            args.keys
        );
        control
            .post("faults", json!({ "latency_ms": args.latency_ms }))
            .await?;
        control.every_hash().await
    })?;
    ensure!(
        all_hashes.len() as u64 == args.keys,
        "the emulator holds {} keys after seeding {}",
        all_hashes.len(),
        args.keys
    );

    let keyward_hashes = artifacts.join("keyward-hashes.txt");
    println!();
    println!("==> (a) Keyward list_all, {} runs", args.runs);
    let keyward = time_program(
        Command::new(&keyward_bin)
            .args([
                "--base-url",
                &endpoints.base_url,
                "--runs",
                &args.runs.to_string(),
            ])
            .arg("--hashes-out")
            .arg(&keyward_hashes)
            .env(KEY_ENV, &endpoints.management_key),
    )?;

    let sdk_hashes = artifacts.join("sdk-hashes.txt");
    println!();
    println!(
        "==> (b) official Python SDK 1.3.84, sequential paging, {} runs",
        args.runs
    );
    let sdk = time_program(
        Command::new(workspace.venv_python())
            .arg(workspace.root.join("tests/bench/sdk_list_all.py"))
            .args([
                "--base-url",
                &endpoints.base_url,
                "--runs",
                &args.runs.to_string(),
            ])
            .arg("--hashes-out")
            .arg(&sdk_hashes)
            .env(KEY_ENV, &endpoints.management_key),
    )?;
    drop(emulator);

    let keyward_set = read_unique_hashes(&keyward_hashes, "Keyward")?;
    let sdk_set = read_unique_hashes(&sdk_hashes, "the SDK")?;
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

    let keyward_median = median(&keyward.runs_ms);
    let sdk_median = median(&sdk.runs_ms);
    let ratio = sdk_median / keyward_median;
    let met = ratio >= args.target_ratio;
    println!();
    println!(
        "==> benchmark: list every key ({} keys, {} ms latency per request)",
        args.keys, args.latency_ms
    );
    println!(
        "| task | keys listed (Keyward / SDK) | Keyward median ms | SDK median ms | ratio | target |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| list all keys | {} / {} | {:.0} | {:.0} | {:.1}× | ≥ {}× {} |",
        keyward.keys,
        sdk.keys,
        keyward_median,
        sdk_median,
        ratio,
        args.target_ratio,
        if met { "met" } else { "MISSED" }
    );
    println!();
    println!("per-run ms, Keyward: {}", format_runs(&keyward.runs_ms));
    println!("per-run ms, SDK:     {}", format_runs(&sdk.runs_ms));
    println!(
        "both listed the same {} unique hashes, equal to the emulator's keys",
        keyward_set.len()
    );
    if !met {
        bail!(
            "Keyward was {ratio:.1}× the SDK, below the {}× target",
            args.target_ratio
        );
    }
    Ok(())
}

fn time_program(command: &mut Command) -> anyhow::Result<Timings> {
    let captured = run_streamed(command)?;
    ensure!(
        captured.status.success(),
        "the timing program failed ({})",
        captured.status
    );
    let last = captured
        .lines
        .iter()
        .rev()
        .find(|line| line.trim_start().starts_with('{'))
        .context("the timing program printed no JSON line")?;
    let timings: Timings =
        serde_json::from_str(last).with_context(|| format!("parsing timings from {last:?}"))?;
    ensure!(
        !timings.runs_ms.is_empty(),
        "the timing program reported no run"
    );
    Ok(timings)
}

fn read_unique_hashes(path: &Path, who: &str) -> anyhow::Result<BTreeSet<String>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let hashes: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    let unique: BTreeSet<String> = hashes.iter().map(|hash| (*hash).to_owned()).collect();
    ensure!(
        unique.len() == hashes.len(),
        "{who} listed {} keys but only {} distinct hashes",
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

fn format_runs(runs: &[f64]) -> String {
    runs.iter()
        .map(|ms| format!("{ms:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The emulator's `/_emulator` control API.
pub(crate) struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    pub(crate) fn new(control_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("building an HTTP client")?;
        Ok(Self {
            http,
            base: control_url.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {}", self.url(path)))?;
        let status = response.status();
        let text = response.text().await.context("reading a control answer")?;
        ensure!(
            status.is_success(),
            "POST {} answered {status}: {text}",
            self.url(path)
        );
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("POST {} answered {text:?}", self.url(path)))
    }

    /// GET or DELETE of a control path; the answer as JSON (`null` when empty).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let url = self.url(path);
        let response = self
            .http
            .request(method.clone(), &url)
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await.context("reading a control answer")?;
        ensure!(
            status.is_success(),
            "{method} {url} answered {status}: {text}"
        );
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {url} answered {text:?}"))
    }

    async fn every_hash(&self) -> anyhow::Result<BTreeSet<String>> {
        let response = self
            .http
            .get(self.url("keys"))
            .send()
            .await
            .context("GET /_emulator/keys")?;
        ensure!(
            response.status().is_success(),
            "GET /_emulator/keys answered {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await.context("parsing /_emulator/keys")?;
        let keys = body
            .get("data")
            .and_then(serde_json::Value::as_array)
            .context("/_emulator/keys has no data array")?;
        keys.iter()
            .map(|key| {
                key.get("hash")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .context("a key without a hash")
            })
            .collect()
    }
}
