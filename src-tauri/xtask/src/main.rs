//! `cargo xtask <task>`: the project's tasks — building and starting the app, installing what the
//! tests need, running every test suite with one summary, and the benchmark against the official SDK.

mod app;
mod bench;
mod bench_idle;
mod emulator;
mod lints;
mod process;
mod report;
mod setup;
mod suites;
mod workspace;

use std::process::ExitCode;

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
    /// The `clippy` suite: the workspace build's warnings (compiled through clippy-driver), replayed.
    #[command(hide = true)]
    Lints,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.task {
        Task::App(args) => app::run(&args).map(|()| true),
        Task::Setup => workspace::Workspace::locate().and_then(|ws| setup::run(&ws).map(|()| true)),
        // The summary's closing line must stay the last line printed, so no message follows it.
        Task::Test(args) => suites::run(&args),
        Task::Bench(args) => bench::run(&args).map(|()| true),
        Task::Lints => lints::run(),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
