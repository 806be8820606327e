//! `cargo xtask <task>`: the project's tasks — building and starting the app, installing what the
//! tests need, running every test suite with one summary, and the benchmarks.
//!
//! Where to look: `suites.rs` (the suite table and how each runs), `junit.rs` (the reports read and
//! the summary), `lints.rs` (clippy from the one build), `app.rs`, `bench.rs`. Two scripts do the
//! shell work: `tests/setup.sh` installs what is missing, `tests/session.sh` is the private desktop
//! session (D-Bus, gnome-keyring, Xvfb) the keychain tests, e2e and the idle bench run in.

mod app;
mod bench;
mod bundle;
mod junit;
mod licenses;
mod lints;
mod suites;
mod workflows;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::{Context, ensure};
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
    /// The Linux installers: builds the UI and the app (release unless `--debug`), then packages a
    /// `.deb` and an `.rpm` with the pinned Tauri CLI and prints their paths and sizes.
    Bundle(bundle::BundleArgs),
    /// Write the list of bundled third-party libraries and their licences (About); `--check` fails
    /// when the committed list is stale.
    Licenses(licenses::LicensesArgs),
}

fn main() -> ExitCode {
    let outcome = Workspace::locate().and_then(|workspace| match Cli::parse().task {
        Task::App(args) => app::run(&workspace, &args).map(|()| true),
        Task::Setup => setup(&workspace, false).map(|()| true),
        // The summary's closing line must stay the last line printed, so no message follows it.
        Task::Test(args) => suites::run(&workspace, &args),
        Task::Bench(args) => bench::run(&workspace, &args).map(|()| true),
        Task::Bundle(args) => bundle::run(&workspace, &args).map(|()| true),
        Task::Licenses(args) => licenses::run(&workspace, &args).map(|()| true),
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
        // xtask lives at src-tauri/xtask, and `cargo xtask` runs it as <target dir>/debug/xtask
        // (wherever CARGO_TARGET_DIR or a cargo config put the target directory).
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()?;
        let exe = std::env::current_exe().context("locating the xtask binary")?;
        let target_dir = exe
            .ancestors()
            .nth(2)
            .context("xtask runs outside a target dir")?;
        Ok(Self {
            root,
            target_dir: target_dir.to_path_buf(),
        })
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// A binary cargo built in the given profile directory ("debug" or "release").
    pub fn binary(&self, profile_dir: &str, name: &str) -> PathBuf {
        self.target_dir.join(profile_dir).join(name)
    }

    /// A command run from the repository root.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.root);
        command
    }

    /// `cargo args…` from the repository root.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut cargo = self.command("cargo");
        cargo.args(args);
        cargo
    }

    /// A command that finds the debug emulator binary in KEYWARD_EMULATOR_BIN.
    pub fn with_emulator(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = self.command(program);
        let emulator = self.binary("debug", "openrouter-emulator");
        command.env("KEYWARD_EMULATOR_BIN", emulator);
        command
    }
}

/// Runs `command` with its output on the console (echoed first, for the CI log); its exit status.
pub fn run_status(command: &mut Command) -> anyhow::Result<ExitStatus> {
    let words = std::iter::once(command.get_program()).chain(command.get_args());
    let shown: Vec<_> = words
        .map(|word| word.to_string_lossy().into_owned())
        .collect();
    println!("$ {}", shown.join(" "));
    command
        .status()
        .with_context(|| format!("starting {}", shown[0]))
}

/// Like [`run_status`], failing unless the command exits 0.
pub fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let status = run_status(command)?;
    let program = command.get_program().to_string_lossy();
    ensure!(status.success(), "`{program}` failed ({status})");
    Ok(())
}

/// `tests/setup.sh [--app]`: installs what is missing (apt packages, cargo tools, venv, npm).
pub fn setup(workspace: &Workspace, app_only: bool) -> anyhow::Result<()> {
    let mut script = workspace.command(workspace.path("tests/setup.sh"));
    run_checked(script.args(app_only.then_some("--app")))
}
