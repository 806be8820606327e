//! `cargo xtask bench [list | idle | revoke]`: builds what a benchmark needs in release mode and runs it
//! (tests/bench/runner): `list`, Keyward's list_all_workspaces against the official Python SDK; `idle`, the
//! app at rest beside a minimal Tauri app, inside the private desktop session (tests/session.sh);
//! `revoke`, Keyward's emergency revoke of 1,000 keys against the Python SDK in a loop.

use std::process::Command;

use crate::{Workspace, run_checked};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Option<Which>,
}

#[derive(clap::Subcommand)]
enum Which {
    /// Keyward's list_all_workspaces against the official Python SDK over 10,000 keys in 5
    /// workspaces (the default).
    List(Options),
    /// Keyward's idle CPU and memory with 1,000 keys and its window closed, beside a minimal Tauri
    /// app built in the same run (printed, not asserted).
    Idle(Options),
    /// Emergency revoke: disable then delete 1,000 keys (50 ms latency, 5 % of requests answered
    /// 429), Keyward against the official Python SDK in a sequential loop.
    Revoke(Options),
}

#[derive(clap::Args, Default)]
struct Options {
    /// Do not run `setup` first.
    #[arg(long)]
    no_setup: bool,
    /// Use the binaries already built.
    #[arg(long)]
    no_build: bool,
    /// Debug builds instead of release ones: only to try a bench out, the figures mean little.
    #[arg(long)]
    debug: bool,
    /// The benchmark's own options, after these (e.g. `--runs 5`, `--keys 100`; `bench-runner
    /// list --help`, `bench-runner idle --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    options: Vec<String>,
}

pub fn run(workspace: &Workspace, args: &BenchArgs) -> anyhow::Result<()> {
    let default = Which::List(Options::default());
    let (idle, revoke, options) = match args.which.as_ref().unwrap_or(&default) {
        Which::List(options) => (false, false, options),
        Which::Idle(options) => (true, false, options),
        Which::Revoke(options) => (false, true, options),
    };
    if !options.no_setup {
        crate::setup(workspace, false)?;
    }
    let profile = if options.debug { "debug" } else { "release" };
    let bin_dir = workspace.target_dir.join(profile);
    if !options.no_build {
        if idle {
            println!("==> building the UI (Keyward embeds ui/dist)");
            run_checked(
                Command::new("npm")
                    .args(["run", "build"])
                    .current_dir(workspace.path("ui")),
            )?;
        }
        println!("==> building the benchmark and what it measures ({profile})");
        let packages: &[&str] = if idle {
            &[
                "bench-runner",
                "openrouter-emulator",
                "keyward",
                "minimal-app",
                "idle-bench-profile",
            ]
        } else {
            &["bench-runner", "openrouter-emulator"]
        };
        let mut builds = vec![
            packages
                .iter()
                .flat_map(|package| ["-p", package])
                .collect::<Vec<_>>(),
        ];
        if revoke {
            builds.push(vec!["-p", "keyward-core", "--example", "revoke_bench"]);
        } else if !idle {
            // An --example selects only examples, so Keyward's side of `list` is a build of its own.
            builds.push(vec!["-p", "keyward-core", "--example", "list_all_bench"]);
        }
        for build in builds {
            let mut cargo = workspace.command("cargo");
            cargo
                .arg("build")
                .args(build)
                .args((!options.debug).then_some("--release"));
            run_checked(&mut cargo)?;
        }
    }
    let runner = bin_dir.join("bench-runner");
    let mut bench = if idle {
        let mut session = workspace.command(workspace.path("tests/session.sh"));
        session.args(["--x11", "--"]).arg(runner).arg("idle");
        session.args(options.debug.then_some("--debug"));
        session
    } else if revoke {
        let mut revoke = workspace.command(runner);
        revoke
            .arg("revoke")
            .arg("--python")
            .arg(workspace.path("tests/.venv/bin/python"))
            .arg("--sdk-script")
            .arg(workspace.path("tests/bench/sdk_revoke.py"));
        revoke
    } else {
        let mut list = workspace.command(runner);
        list.arg("list")
            .arg("--python")
            .arg(workspace.path("tests/.venv/bin/python"))
            .arg("--sdk-script")
            .arg(workspace.path("tests/bench/sdk_list_all.py"));
        list
    };
    bench
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--artifacts")
        .arg(workspace.path("tests/artifacts/bench"))
        .args(&options.options);
    run_checked(&mut bench)
}
