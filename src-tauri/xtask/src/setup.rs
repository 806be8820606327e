//! `cargo xtask setup`: installs what the tests need on a fresh Debian/Ubuntu machine, and does
//! nothing when it is all there already (apt packages, the Python venv, the npm packages).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::process::{run_checked, succeeds};
use crate::workspace::Workspace;

/// Every Debian package the suites need, with the reason. A new suite adds its packages here.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("dbus", "a private session bus for the keychain tests"),
    ("dbus-x11", "dbus-launch for desktop sessions"),
    (
        "gnome-keyring",
        "a real Secret Service for the keychain tests",
    ),
    (
        "libsecret-tools",
        "secret-tool, to read keychain entries back",
    ),
    ("libdbus-1-dev", "the keyring crate links libdbus"),
    ("pkg-config", "finds libdbus when building"),
    ("build-essential", "the desktop shell's C dependencies"),
    (
        "libwebkit2gtk-4.1-dev",
        "the desktop shell (Tauri 2 on WebKitGTK)",
    ),
    (
        "libxdo-dev",
        "the desktop shell (Tauri's menu accelerators)",
    ),
    (
        "libssl-dev",
        "the desktop shell (Tauri's build dependencies)",
    ),
    (
        "libayatana-appindicator3-dev",
        "the desktop shell's tray icon",
    ),
    ("librsvg2-dev", "the desktop shell's icons"),
    (
        "chromium",
        "the UI's browser test (driven by playwright-core)",
    ),
    ("xvfb", "the end-to-end tests' X display (xvfb-run)"),
    (
        "webkit2gtk-driver",
        "WebKitWebDriver, which tauri-driver drives the app window through",
    ),
    (
        "dunst",
        "a real notification daemon in the end-to-end session",
    ),
    (
        "imagemagick",
        "`import`, the end-to-end tests' screenshots of the X screen",
    ),
    (
        "xdotool",
        "the idle benchmark closes the app window; the end-to-end tray scenario clicks the tray icon",
    ),
    (
        "trayer",
        "a real system tray (XEmbed) in the end-to-end session, for the tray scenario",
    ),
    (
        "x11-utils",
        "xwininfo, which finds the tray icon, its menu and the window in the end-to-end session",
    ),
];

/// tauri-driver, the WebDriver bridge for Tauri apps, from crates.io (pinned by its Cargo.lock).
const TAURI_DRIVER_CRATE: &str = "tauri-driver";

/// Installed only when the machine's python3 cannot make a venv (Debian splits venv out).
const PYTHON_VENV_PACKAGES: &[&str] = &["python3", "python3-venv"];
/// Installed only when there is no npm on PATH.
const NODE_PACKAGES: &[&str] = &["nodejs", "npm"];

pub fn run(workspace: &Workspace) -> anyhow::Result<()> {
    println!("==> setup: apt packages");
    install_apt_packages()?;
    println!("==> setup: Python venv (tests/.venv)");
    install_python_venv(workspace)?;
    println!("==> setup: tauri-driver");
    install_tauri_driver()?;
    for directory in npm_projects(workspace) {
        println!(
            "==> setup: npm packages ({})",
            relative(workspace, &directory)
        );
        install_npm_packages(&directory)?;
    }
    println!("==> setup: done");
    Ok(())
}

/// What `cargo xtask app` needs: the system packages and the UI's npm packages, not the test tools.
pub fn run_for_app(workspace: &Workspace) -> anyhow::Result<()> {
    println!("==> setup: apt packages");
    install_apt_packages()?;
    println!("==> setup: npm packages (ui)");
    install_npm_packages(&workspace.ui_dir())
}

fn install_apt_packages() -> anyhow::Result<()> {
    let mut wanted: Vec<&str> = APT_PACKAGES.iter().map(|(name, _)| *name).collect();
    if !python_can_make_venv("python3") {
        wanted.extend_from_slice(PYTHON_VENV_PACKAGES);
    }
    if !succeeds(Command::new("npm").arg("--version")) {
        wanted.extend_from_slice(NODE_PACKAGES);
    }
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|package| !dpkg_installed(package))
        .collect();
    if missing.is_empty() {
        println!("all apt packages are installed");
        return Ok(());
    }
    println!("missing apt packages: {}", missing.join(" "));
    run_checked(privileged("apt-get").arg("update"))?;
    run_checked(
        privileged("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y"])
            .args(&missing),
    )
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|output| {
            output.status.success()
                && String::from_utf8_lossy(&output.stdout).trim() == "install ok installed"
        })
}

/// `apt-get` as root: directly when we are root, through sudo otherwise.
fn privileged(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut command = Command::new("sudo");
        // sudo drops the environment; DEBIAN_FRONTEND must survive it.
        command.args(["--preserve-env=DEBIAN_FRONTEND", program]);
        command
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn python_can_make_venv(python: &str) -> bool {
    succeeds(Command::new(python).args(["-c", "import venv, ensurepip"]))
}

fn install_python_venv(workspace: &Workspace) -> anyhow::Result<()> {
    let python = workspace.venv_python();
    if !python.is_file() {
        // After installing python3-venv the system interpreter can make one even if PATH's cannot.
        let interpreter = if python_can_make_venv("python3") {
            "python3"
        } else {
            "/usr/bin/python3"
        };
        run_checked(
            Command::new(interpreter)
                .args(["-m", "venv"])
                .arg(workspace.root.join("tests/.venv")),
        )?;
    }
    let requirements_path = workspace.python_requirements();
    let requirements = fs::read_to_string(&requirements_path)
        .with_context(|| format!("reading {}", requirements_path.display()))?;
    let stamp = workspace.root.join("tests/.venv/keyward-requirements.txt");
    if stamp_matches(&stamp, &requirements) {
        println!("the venv already has {}", requirements_path.display());
        return Ok(());
    }
    run_checked(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
            ])
            .arg(&requirements_path),
    )?;
    fs::write(&stamp, requirements).with_context(|| format!("writing {}", stamp.display()))
}

/// Every npm project the tests use: the UI (when it exists), the TypeScript SDK suite and the
/// end-to-end harness.
fn npm_projects(workspace: &Workspace) -> Vec<PathBuf> {
    let mut projects = Vec::new();
    if workspace.ui_dir().join("package-lock.json").is_file() {
        projects.push(workspace.ui_dir());
    }
    projects.push(workspace.conformance_ts_dir());
    projects.push(workspace.root.join("tests/e2e"));
    projects
}

/// `cargo install tauri-driver --locked`, only when there is no tauri-driver on PATH (2.1.0 has no
/// `--version`; `--help` answers).
fn install_tauri_driver() -> anyhow::Result<()> {
    if succeeds(Command::new("tauri-driver").arg("--help")) {
        println!("tauri-driver is installed");
        return Ok(());
    }
    run_checked(Command::new(crate::workspace::cargo()).args([
        "install",
        TAURI_DRIVER_CRATE,
        "--locked",
    ]))
}

fn relative(workspace: &Workspace, path: &Path) -> String {
    path.strip_prefix(&workspace.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn install_npm_packages(directory: &Path) -> anyhow::Result<()> {
    let lock_path = directory.join("package-lock.json");
    let lock = fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let stamp = directory.join("node_modules/.keyward-package-lock.json");
    if stamp_matches(&stamp, &lock) {
        println!("node_modules already matches {}", lock_path.display());
        return Ok(());
    }
    run_checked(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(directory),
    )?;
    if !directory.join("node_modules").is_dir() {
        bail!("`npm ci` left no node_modules in {}", directory.display());
    }
    fs::write(&stamp, lock).with_context(|| format!("writing {}", stamp.display()))
}

/// A stamp holds a copy of the file an install was made from; a different copy means reinstall.
fn stamp_matches(stamp: &Path, expected: &str) -> bool {
    fs::read_to_string(stamp).is_ok_and(|content| content == expected)
}
