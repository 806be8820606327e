//! `cargo xtask <task>`: the project's tasks — building and starting the app, installing what the
//! tests need, running every test suite with one summary, and the benchmarks.
//!
//! Where to look: `suites.rs` (the suite table and how each runs), `junit.rs` (the reports read and
//! the summary), `lints.rs` (clippy from the one build), `setup.rs`, `app.rs`, `bench.rs`. The
//! private desktop session the keychain tests and e2e run in is `tests/session.sh`.

mod app;
mod bench;
mod junit;
mod lints;
mod setup;
mod suites;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Keyward project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what is missing, build the UI and the desktop app, and start it (in the sandbox
    /// when no management key is stored).
    App(app::AppArgs),
    /// Install everything the tests need (apt packages, the Python venv, the npm packages). Idempotent.
    Setup,
    /// Run setup, then every test suite, and print one summary.
    Test(suites::TestArgs),
    /// Benchmarks (not tests): `list` (the default), Keyward's list_all against the official Python
    /// SDK over 10,000 keys; `idle`, the app's idle CPU and memory beside a minimal Tauri app.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let outcome = Workspace::locate().and_then(|workspace| match Cli::parse().task {
        Task::App(args) => app::run(&workspace, &args).map(|()| true),
        Task::Setup => setup::run(&workspace).map(|()| true),
        // The summary's closing line must stay the last line printed, so no message follows it.
        Task::Test(args) => suites::run(&workspace, &args),
        Task::Bench(args) => bench::run(&workspace, &args).map(|()| true),
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where things are: the repository root and cargo's target directory.
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

impl Workspace {
    fn locate() -> anyhow::Result<Self> {
        // xtask lives at src-tauri/xtask; the repository root is two levels up.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .context("xtask's manifest directory has no grandparent")?
            .to_path_buf();
        // Asked of cargo, so CARGO_TARGET_DIR and `build.target-dir` are both respected.
        let output = Command::new("cargo")
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&root)
            .output()
            .context("running `cargo metadata`")?;
        if !output.status.success() {
            bail!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let target_dir = metadata["target_directory"]
            .as_str()
            .context("`cargo metadata` has no target_directory")?
            .into();
        Ok(Self { root, target_dir })
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// A binary cargo built in the given profile directory ("debug" or "release").
    pub fn binary(&self, profile_dir: &str, name: &str) -> PathBuf {
        self.target_dir.join(profile_dir).join(name)
    }

    /// A command run from the repository root.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.root);
        command
    }
}

/// Runs `command` with its output on the console (echoed first, for the CI log); its exit status.
pub fn run(command: &mut Command) -> anyhow::Result<ExitStatus> {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    println!("$ {shown}");
    command.status().with_context(|| format!("starting `{shown}`"))
}

/// Like [`run`], failing unless the command exits 0.
pub fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let status = run(command)?;
    if !status.success() {
        bail!("`{}` failed ({status})", command.get_program().to_string_lossy());
    }
    Ok(())
}
