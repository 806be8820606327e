//! `cargo xtask bench [list | idle | revoke | startup]`: builds what a benchmark needs in release mode and
//! runs it (tests/bench/runner): `list`, Keyward's list_all_workspaces against the official Python SDK;
//! `idle`, the app at rest beside a minimal Tauri app, inside the private desktop session
//! (tests/session.sh); `revoke`, Keyward's emergency revoke of 1,000 keys against the Python SDK in a
//! loop; `startup`, cold start, `.deb` size (both apps bundled here with the pinned Tauri CLI) and
//! memory with the window open, beside the minimal app, in the same session.

use std::path::{Path, PathBuf};
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
    /// Cold start to the first key table painted (1,000 cached keys), .deb size, and PSS with the
    /// window open and 10,000 keys, beside a minimal Tauri app built and bundled in the same run
    /// (printed, not asserted).
    Startup(Options),
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
        Which::Startup(options) => (true, false, options),
    };
    let startup = matches!(args.which, Some(Which::Startup(_)));
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
            // The apps as they ship: `tauri build` (and `cargo xtask bundle`) compile release apps
            // with Tauri's custom-protocol feature.
            if idle && !options.debug {
                cargo.args(["--features", "tauri/custom-protocol"]);
            }
            run_checked(&mut cargo)?;
        }
    }
    let runner = bin_dir.join("bench-runner");
    let mut bench = if startup {
        let debs = if options.no_build {
            Debs::find(&bin_dir.join("bundle/deb"))
        } else {
            bundle_debs(workspace, &bin_dir, options.debug)?
        };
        let mut session = workspace.command(workspace.path("tests/session.sh"));
        session.args(["--x11", "--"]).arg(runner).arg("startup");
        session.args(options.debug.then_some("--debug"));
        if let Some(deb) = debs.keyward {
            session.arg("--keyward-deb").arg(deb);
        }
        if let Some(deb) = debs.minimal {
            session.arg("--minimal-deb").arg(deb);
        }
        session
    } else if idle {
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

/// The two packages `bench startup` compares.
#[derive(Default)]
struct Debs {
    keyward: Option<PathBuf>,
    minimal: Option<PathBuf>,
}

impl Debs {
    /// The packages in `dir` by their names (productName_version_arch.deb).
    fn find(dir: &Path) -> Debs {
        let mut debs = Debs::default();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".deb") {
                continue;
            }
            if name.starts_with("Keyward_") {
                debs.keyward = Some(entry.path());
            } else if name.starts_with("Minimal Tauri app_") {
                debs.minimal = Some(entry.path());
            }
        }
        debs
    }
}

/// Bundles Keyward's and the minimal app's `.deb` from the binaries just built, with the pinned
/// Tauri CLI (ui/node_modules/.bin/tauri), after removing the packages of an earlier run.
fn bundle_debs(workspace: &Workspace, bin_dir: &Path, debug: bool) -> anyhow::Result<Debs> {
    let out = bin_dir.join("bundle/deb");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    for dir in ["src-tauri", "tests/bench/minimal-app"] {
        println!("==> bundling the .deb of {dir}");
        run_checked(&mut crate::bundle::tauri_bundle(
            workspace, dir, "deb", debug,
        ))?;
    }
    let debs = Debs::find(&out);
    anyhow::ensure!(
        debs.keyward.is_some() && debs.minimal.is_some(),
        "the bundler left no Keyward_*.deb and Minimal Tauri app_*.deb in {}",
        out.display()
    );
    Ok(debs)
}
