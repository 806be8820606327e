//! `cargo xtask bundle`: the Linux installers, `.deb` and `.rpm`, made with the Tauri bundler (the
//! Tauri CLI pinned in ui/package.json) from the app cargo built; and the `install` test suite,
//! which packages the debug app the workspace build already made, then installs, launches, quits
//! and removes it (tests/install/run.sh).
//!
//! The release app is built with `--features tauri/custom-protocol`, as `tauri build` (and so the
//! release pipeline's tauri-action) builds it: `tauri bundle` only packages the binary it finds in
//! `<target>/<profile>/`, it builds nothing. Without that feature Tauri compiles in "dev" mode. For
//! Keyward on Linux that changes nothing a person sees (no `devUrl`, so the UI is embedded either
//! way, and no `devCsp`, so the same CSP applies), but `tauri::is_dev()` is then true, which on
//! macOS and Windows changes how notifications are attributed. The debug packages (`--debug`, the
//! install suite) package the plain debug build the workspace build makes: adding the feature there
//! would compile tauri and everything above it a second time.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::junit::Counts;
use crate::{Workspace, run_checked};

#[derive(clap::Args)]
pub struct BundleArgs {
    /// Package the debug build (fast to build, a larger binary) instead of the release build.
    #[arg(long)]
    debug: bool,
    /// Do not build the UI and the app; package what cargo built last.
    #[arg(long)]
    no_build: bool,
}

/// The packages one bundling run made.
pub struct Bundles {
    pub deb: PathBuf,
    pub rpm: PathBuf,
}

pub fn run(ws: &Workspace, args: &BundleArgs) -> anyhow::Result<()> {
    if !args.no_build {
        crate::setup(ws, true)?;
        println!("==> building the UI");
        run_checked(
            ws.command("npm")
                .args(["run", "build"])
                .current_dir(ws.path("ui")),
        )?;
        println!(
            "==> building the desktop app{}",
            if args.debug {
                ""
            } else {
                " (release, as `tauri build` builds it; about 10 minutes the first time)"
            }
        );
        let mut build = ws.cargo(&["build", "-p", "keyward", "--bin", "keyward"]);
        if !args.debug {
            build.args(["--release", "--features", "tauri/custom-protocol"]);
        }
        run_checked(&mut build)?;
    }
    let bundles = package(ws, args.debug)?;
    println!("==> packages");
    for path in [&bundles.deb, &bundles.rpm] {
        let bytes = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        println!("{:>10.1} MiB  {}", mib(bytes), path.display());
    }
    Ok(())
}

/// `tauri bundle --bundles <bundles>` with the pinned Tauri CLI, run in `dir` (a Tauri app's folder)
/// on the binary cargo already built in this workspace's target directory.
pub fn tauri_bundle(ws: &Workspace, dir: &str, bundles: &str, debug: bool) -> Command {
    let mut bundle = ws.command(ws.path("ui/node_modules/.bin/tauri"));
    bundle
        .current_dir(ws.path(dir))
        .args(["bundle", "--bundles", bundles, "--ci"])
        // The CLI finds the binary in cargo's target directory, wherever it is.
        .env("CARGO_TARGET_DIR", &ws.target_dir);
    if debug {
        bundle.arg("--debug");
    }
    // With an updater key configured, the bundler signs the packages for the updater and fails
    // without the private key; a local build without the key makes unsigned packages instead.
    if std::env::var_os("TAURI_SIGNING_PRIVATE_KEY").is_none() {
        bundle.arg("--no-sign");
    }
    bundle
}

/// Packages the app binary cargo already built (`debug` or `release` profile) into a `.deb` and an
/// `.rpm` with `tauri bundle`, and returns their paths. Older packages in the output directories
/// are removed first, so the paths returned are this run's.
pub fn package(ws: &Workspace, debug: bool) -> anyhow::Result<Bundles> {
    let profile = if debug { "debug" } else { "release" };
    let binary = ws.binary(profile, "keyward");
    if !binary.is_file() {
        bail!(
            "{} is missing: build the app first (cargo build -p keyward{})",
            binary.display(),
            if debug { "" } else { " --release" }
        );
    }
    let cli = ws.path("ui/node_modules/.bin/tauri");
    if !cli.is_file() {
        bail!(
            "{} is missing: run `npm ci` in ui/ (cargo xtask setup does)",
            cli.display()
        );
    }
    let out = ws.target_dir.join(profile).join("bundle");
    for (kind, extension) in [("deb", "deb"), ("rpm", "rpm")] {
        for old in packages_in(&out.join(kind), extension)? {
            std::fs::remove_file(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }

    println!("==> packaging {} as .deb and .rpm", binary.display());
    run_checked(&mut tauri_bundle(ws, "src-tauri", "deb,rpm", debug))?;

    let one = |kind: &str, extension: &str| -> anyhow::Result<PathBuf> {
        let dir = out.join(kind);
        let mut found = packages_in(&dir, extension)?;
        match (found.pop(), found.is_empty()) {
            (Some(path), true) => Ok(path),
            (None, _) => bail!("tauri bundle made no .{extension} in {}", dir.display()),
            (Some(_), false) => bail!("several .{extension} files in {}", dir.display()),
        }
    };
    Ok(Bundles {
        deb: one("deb", "deb")?,
        rpm: one("rpm", "rpm")?,
    })
}

/// The files in `dir` ending in `.extension` (none when `dir` does not exist).
fn packages_in(dir: &Path, extension: &str) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", dir.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == extension) {
            found.push(path);
        }
    }
    Ok(found)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The `install` suite: packages the debug app (the packaging, metadata and desktop entry are the
/// release's; a release build would cost CI ~10 minutes more), then tests/install/run.sh installs
/// the `.deb`, launches it from its desktop entry in a private desktop session, quits it from the
/// tray and removes it, writing a JUnit report.
pub fn install_suite(ws: &Workspace) -> anyhow::Result<Counts> {
    let bundles = package(ws, true)?;
    let report = ws.target_dir.join("xtask-reports/install.xml");
    let mut script = ws.command("bash");
    script
        .arg(ws.path("tests/install/run.sh"))
        .env("KEYWARD_DEB", &bundles.deb)
        .env("KEYWARD_RPM", &bundles.rpm)
        .env("INSTALL_JUNIT", &report);
    crate::suites::junit_run(&mut script, &report)
}
