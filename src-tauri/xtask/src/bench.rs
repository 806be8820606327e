//! `cargo xtask bench [list]`: Keyward's `list_all` (core/examples/list_all_bench.rs) against the
//! official Python SDK paging the way a script would (tests/bench/sdk_list_all.py), over the same
//! seeded emulator with the same injected latency, in the same run. `cargo xtask bench idle` builds
//! and runs tests/bench/idle (the app at rest beside a minimal Tauri app) in tests/session.sh.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Workspace, run_checked, setup};

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
    Idle(IdleArgs),
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

#[derive(clap::Args)]
pub struct IdleArgs {
    /// Use the binaries already built (no UI or cargo build).
    #[arg(long)]
    no_build: bool,
    /// Debug binaries instead of release ones: only to try the harness out, the figures mean little.
    #[arg(long)]
    debug: bool,
    /// Do not run `setup` first.
    #[arg(long)]
    no_setup: bool,
    /// The bench's own options, after these (`--keys`, `--measure-secs`, `--close unmap`, …; see
    /// `idle-bench --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    options: Vec<String>,
}

/// What both timing programs print as their last stdout line.
#[derive(Deserialize)]
struct Timings {
    runs_ms: Vec<f64>,
    keys: u64,
}

pub fn run(workspace: &Workspace, args: &BenchArgs) -> anyhow::Result<()> {
    match &args.which {
        None => run_list(workspace, &args.list),
        Some(Which::List(list)) => run_list(workspace, list),
        Some(Which::Idle(idle)) => run_idle(workspace, idle),
    }
}

fn run_idle(workspace: &Workspace, args: &IdleArgs) -> anyhow::Result<()> {
    if !args.no_setup {
        setup::run(workspace)?;
    }
    let profile = if args.debug { "debug" } else { "release" };
    if !args.no_build {
        println!("==> building the UI, Keyward, the minimal Tauri app, the profile helper, the emulator and the bench ({profile})");
        run_checked(Command::new("npm").args(["run", "build"]).current_dir(workspace.path("ui")))?;
        let mut build = workspace.command("cargo");
        build.arg("build");
        for package in ["keyward", "minimal-app", "idle-bench-profile", "openrouter-emulator", "idle-bench"] {
            build.args(["-p", package]);
        }
        run_checked(if args.debug { &mut build } else { build.arg("--release") })?;
    }
    let bin_dir = workspace.target_dir.join(profile);
    let artifacts = workspace.path("tests/artifacts/bench");
    fs::create_dir_all(&artifacts).with_context(|| format!("creating {}", artifacts.display()))?;
    let emulator = Emulator::start(&bin_dir.join("openrouter-emulator"), &artifacts.join("idle-emulator.log"))?;
    let mut bench = workspace.command(workspace.path("tests/session.sh"));
    bench
        .args(["--x11", "--"])
        .arg(bin_dir.join("idle-bench"))
        .args(["--base-url", &emulator.endpoints.base_url, "--control-url", &emulator.endpoints.control_url])
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--artifacts")
        .arg(&artifacts)
        .args(args.debug.then_some("--debug"))
        .args(&args.options)
        .env("KEYWARD_BENCH_KEY", &emulator.endpoints.management_key);
    run_checked(&mut bench)
}

fn run_list(workspace: &Workspace, args: &ListArgs) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be at least 1");
    if !args.no_setup {
        setup::run(workspace)?;
    }
    println!("==> building the emulator and the list_all bench (release)");
    run_checked(workspace.command("cargo").args(["build", "--release", "-p", "openrouter-emulator"]))?;
    run_checked(workspace.command("cargo").args([
        "build",
        "--release",
        "-p",
        "keyward-core",
        "--example",
        "list_all_bench",
    ]))?;
    let artifacts = workspace.path("tests/artifacts/bench");
    fs::create_dir_all(&artifacts).with_context(|| format!("creating {}", artifacts.display()))?;
    let emulator = Emulator::start(
        &workspace.binary("release", "openrouter-emulator"),
        &artifacts.join("emulator.log"),
    )?;
    let endpoints = &emulator.endpoints;
    println!("emulator at {}", endpoints.base_url);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let http = reqwest::Client::new();
    let control = |path: &str, body: Option<Value>| -> anyhow::Result<Value> {
        let url = format!("{}/{path}", endpoints.control_url.trim_end_matches('/'));
        runtime.block_on(async {
            let request = match body {
                Some(body) => http.post(&url).json(&body),
                None => http.get(&url),
            };
            let response = request.send().await.with_context(|| url.clone())?;
            ensure!(response.status().is_success(), "{url} answered {}", response.status());
            let text = response.text().await?;
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    };
    control("reset", Some(json!({})))?;
    let seeded = control("seed", Some(json!({ "count": args.keys, "seed": 20_261_123u64 })))?;
    ensure!(seeded["created"] == args.keys, "seeding answered {seeded}, not created: {}", args.keys);
    control("faults", Some(json!({ "latency_ms": args.latency_ms })))?;
    let all_hashes: BTreeSet<String> = control("keys", None)?["data"]
        .as_array()
        .context("/_emulator/keys has no data array")?
        .iter()
        .map(|key| key["hash"].as_str().map(str::to_owned).context("a key without a hash"))
        .collect::<anyhow::Result<_>>()?;
    ensure!(all_hashes.len() as u64 == args.keys, "the emulator holds {} keys", all_hashes.len());

    let runs = args.runs.to_string();
    let timed = |program: &mut Command, hashes: &Path| -> anyhow::Result<(Timings, BTreeSet<String>)> {
        program
            .args(["--base-url", &endpoints.base_url, "--runs", &runs, "--hashes-out"])
            .arg(hashes)
            .env("KEYWARD_BENCH_KEY", &endpoints.management_key);
        let timings = time_program(program)?;
        Ok((timings, read_unique_hashes(hashes)?))
    };
    println!("\n==> (a) Keyward list_all, {} runs", args.runs);
    let keyward_bin = workspace.target_dir.join("release/examples/list_all_bench");
    let (keyward, keyward_set) = timed(&mut Command::new(keyward_bin), &artifacts.join("keyward-hashes.txt"))?;
    println!("\n==> (b) official Python SDK 1.3.84, sequential paging, {} runs", args.runs);
    let mut sdk_command = Command::new(workspace.path("tests/.venv/bin/python"));
    sdk_command.arg(workspace.path("tests/bench/sdk_list_all.py"));
    let (sdk, sdk_set) = timed(&mut sdk_command, &artifacts.join("sdk-hashes.txt"))?;
    drop(emulator);

    ensure!(
        keyward.keys == args.keys && sdk.keys == args.keys,
        "keys listed: Keyward {}, SDK {}, expected {}",
        keyward.keys,
        sdk.keys,
        args.keys
    );
    ensure!(keyward_set == all_hashes, "Keyward's hashes differ from the emulator's keys");
    ensure!(sdk_set == all_hashes, "the SDK's hashes differ from the emulator's keys");

    let (keyward_median, sdk_median) = (median(&keyward.runs_ms), median(&sdk.runs_ms));
    let ratio = sdk_median / keyward_median;
    let met = ratio >= args.target_ratio;
    println!("\n==> benchmark: list every key ({} keys, {} ms latency per request)", args.keys, args.latency_ms);
    println!("| task | keys listed (Keyward / SDK) | Keyward median ms | SDK median ms | ratio | target |");
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| list all keys | {} / {} | {keyward_median:.0} | {sdk_median:.0} | {ratio:.1}× | ≥ {}× {} |",
        keyward.keys,
        sdk.keys,
        args.target_ratio,
        if met { "met" } else { "MISSED" }
    );
    let format_runs = |runs: &[f64]| runs.iter().map(|ms| format!("{ms:.0}")).collect::<Vec<_>>().join(", ");
    println!("\nper-run ms, Keyward: {}", format_runs(&keyward.runs_ms));
    println!("per-run ms, SDK:     {}", format_runs(&sdk.runs_ms));
    println!("both listed the same {} unique hashes, equal to the emulator's keys", keyward_set.len());
    if !met {
        bail!("Keyward was {ratio:.1}× the SDK, below the {}× target", args.target_ratio);
    }
    Ok(())
}

/// Runs a timing program (its output shown) and reads the JSON timings of its last stdout line.
fn time_program(command: &mut Command) -> anyhow::Result<Timings> {
    let output = command.stderr(Stdio::inherit()).output().context("starting a timing program")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    ensure!(output.status.success(), "the timing program failed ({})", output.status);
    let last = stdout.lines().rev().find(|line| line.starts_with('{')).context("no JSON line")?;
    let timings: Timings = serde_json::from_str(last).with_context(|| format!("parsing {last:?}"))?;
    ensure!(!timings.runs_ms.is_empty(), "the timing program reported no run");
    Ok(timings)
}

fn read_unique_hashes(path: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let hashes: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    let unique: BTreeSet<String> = hashes.iter().map(|hash| (*hash).to_owned()).collect();
    ensure!(unique.len() == hashes.len(), "{} lists {} keys but {} distinct hashes", path.display(), hashes.len(), unique.len());
    Ok(unique)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[middle] } else { (sorted[middle - 1] + sorted[middle]) / 2.0 }
}

#[derive(Deserialize)]
struct Endpoints {
    base_url: String,
    control_url: String,
    management_key: String,
}

/// The emulator on a free port; its first stdout line is its JSON endpoints. Killed when dropped.
struct Emulator {
    child: Child,
    endpoints: Endpoints,
}

impl Emulator {
    fn start(binary: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .args(["--port", "0", "--management-key", "sk-or-v1-keyward-bench-management"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(log).with_context(|| format!("creating {}", log.display()))?)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut reader = BufReader::new(child.stdout.take().context("the emulator's stdout")?);
        let mut line = String::new();
        let endpoints = reader.read_line(&mut line).map_err(anyhow::Error::from).and_then(|_| {
            serde_json::from_str(&line).with_context(|| format!("the emulator's first line: {line:?}"))
        });
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        match endpoints {
            Ok(endpoints) => Ok(Self { child, endpoints }),
            Err(error) => {
                // Best effort: the error above is what matters.
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // It may have exited already; there is nothing more to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
