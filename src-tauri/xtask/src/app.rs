//! `cargo xtask app`: on a fresh Debian/Ubuntu machine, installs what is missing, builds the UI and
//! the desktop app, and starts it — in the sandbox when no management key is stored yet.

use std::process::Command;

use crate::{Workspace, run_checked};

#[derive(clap::Args)]
pub struct AppArgs {
    /// Build and run the debug binary (faster to build, slower to run) instead of the release one.
    #[arg(long)]
    debug: bool,
    /// Always open the sandbox, even when a management key is stored.
    #[arg(long)]
    sandbox: bool,
    /// Build only; do not start the app.
    #[arg(long)]
    no_run: bool,
}

pub fn run(workspace: &Workspace, args: &AppArgs) -> anyhow::Result<()> {
    crate::setup(workspace, true)?;
    println!("==> building the UI");
    run_checked(
        Command::new("npm")
            .args(["run", "build"])
            .current_dir(workspace.path("ui")),
    )?;
    println!("==> building the desktop app (a first release build takes about 10 minutes)");
    let mut build = workspace.command("cargo");
    build.args(["build", "-p", "keyward"]);
    if !args.debug {
        build.arg("--release");
    }
    run_checked(&mut build)?;
    let binary = workspace.binary(if args.debug { "debug" } else { "release" }, "keyward");
    if args.no_run {
        println!("built {}", binary.display());
        return Ok(());
    }
    println!("==> starting {}", binary.display());
    let mode = if args.sandbox {
        "--sandbox"
    } else {
        "--sandbox-if-no-key"
    };
    run_checked(Command::new(&binary).arg(mode))
}
