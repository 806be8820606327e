//! `cargo xtask setup`: installs what the tests need on a fresh Debian/Ubuntu machine, and does
//! nothing when it is all there already (apt packages, cargo tools, the Python venv, npm packages).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::{Workspace, run_checked};

/// Every Debian package the suites need. A new suite adds its packages here.
const APT_PACKAGES: &[&str] = &[
    // The private desktop session (tests/session.sh): D-Bus, a real Secret Service, secret-tool.
    "dbus",
    "dbus-x11",
    "gnome-keyring",
    "libsecret-tools",
    // Building: the keyring crate links libdbus; the desktop shell is Tauri 2 on WebKitGTK, with
    // menu accelerators (xdo), a tray icon (appindicator) and icons (rsvg).
    "libdbus-1-dev",
    "pkg-config",
    "build-essential",
    "libwebkit2gtk-4.1-dev",
    "libxdo-dev",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    // The UI's browser test (driven by playwright-core).
    "chromium",
    // The end-to-end session and the idle bench: an X display, WebKitWebDriver for tauri-driver, a
    // notification daemon, screenshots (import), window control (xdotool, xwininfo), a real tray.
    "xvfb",
    "webkit2gtk-driver",
    "dunst",
    "imagemagick",
    "xdotool",
    "x11-utils",
    "trayer",
];

/// Cargo tools, each installed (`cargo install --locked`) only when `<tool> --help` fails:
/// tauri-driver drives the e2e app window; cargo-nextest runs the Rust tests with a JUnit report.
const CARGO_TOOLS: &[(&str, &[&str])] = &[
    ("tauri-driver", &["tauri-driver", "--help"]),
    ("cargo-nextest", &["cargo", "nextest", "--version"]),
];

pub fn run(workspace: &Workspace) -> anyhow::Result<()> {
    println!("==> setup: apt packages");
    install_apt_packages()?;
    println!("==> setup: Python venv (tests/.venv)");
    install_python_venv(workspace)?;
    for (name, probe) in CARGO_TOOLS {
        if !succeeds(Command::new(probe[0]).args(&probe[1..])) {
            println!("==> setup: {name}");
            run_checked(Command::new("cargo").args(["install", "--locked", name]))?;
        }
    }
    for project in ["ui", "tests/conformance/ts", "tests/e2e"] {
        println!("==> setup: npm packages ({project})");
        install_npm_packages(&workspace.path(project))?;
    }
    println!("==> setup: done");
    Ok(())
}

/// What `cargo xtask app` needs: the system packages and the UI's npm packages, not the test tools.
pub fn run_for_app(workspace: &Workspace) -> anyhow::Result<()> {
    install_apt_packages()?;
    install_npm_packages(&workspace.path("ui"))
}

fn install_apt_packages() -> anyhow::Result<()> {
    let mut wanted = APT_PACKAGES.to_vec();
    // Debian splits venv out of python3; nodejs and npm only when there is no npm on PATH.
    if !succeeds(Command::new("python3").args(["-c", "import venv, ensurepip"])) {
        wanted.extend(["python3", "python3-venv"]);
    }
    if !succeeds(Command::new("npm").arg("--version")) {
        wanted.extend(["nodejs", "npm"]);
    }
    let missing: Vec<&str> = wanted.into_iter().filter(|package| !dpkg_installed(package)).collect();
    if missing.is_empty() {
        println!("all apt packages are installed");
        return Ok(());
    }
    println!("missing apt packages: {}", missing.join(" "));
    // As root directly, else through sudo (which must keep DEBIAN_FRONTEND).
    let root = Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    let apt = || {
        let mut command = Command::new(if root { "apt-get" } else { "sudo" });
        if !root {
            command.args(["--preserve-env=DEBIAN_FRONTEND", "apt-get"]);
        }
        command.env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run_checked(apt().arg("update"))?;
    run_checked(apt().args(["install", "-y"]).args(&missing))
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|output| output.stdout == b"install ok installed")
}

fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn install_python_venv(workspace: &Workspace) -> anyhow::Result<()> {
    let venv = workspace.path("tests/.venv");
    if !venv.join("bin/python").is_file() {
        // After installing python3-venv the system interpreter can make one even if PATH's cannot.
        let python = if succeeds(Command::new("python3").args(["-c", "import venv, ensurepip"])) {
            "python3"
        } else {
            "/usr/bin/python3"
        };
        run_checked(Command::new(python).args(["-m", "venv"]).arg(&venv))?;
    }
    let requirements = workspace.path("tests/conformance/python/requirements.txt");
    install_once(&requirements, &venv.join("keyward-requirements.txt"), || {
        run_checked(
            Command::new(venv.join("bin/python"))
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r"])
                .arg(&requirements),
        )
    })
}

fn install_npm_packages(directory: &Path) -> anyhow::Result<()> {
    let stamp = directory.join("node_modules/.keyward-package-lock.json");
    install_once(&directory.join("package-lock.json"), &stamp, || {
        run_checked(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(directory))
    })
}

/// Runs `install` unless `stamp` holds a copy of `source` (what the last install was made from);
/// then stores the copy.
fn install_once(
    source: &Path,
    stamp: &Path,
    install: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let wanted = fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    if fs::read_to_string(stamp).is_ok_and(|installed| installed == wanted) {
        println!("already installed from {}", source.display());
        return Ok(());
    }
    install()?;
    fs::write(stamp, wanted).with_context(|| format!("writing {}", stamp.display()))
}
