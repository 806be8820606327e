//! `cargo xtask setup|app|test` on a machine whose Node.js is too old for the UI (apt's 18 on
//! Debian 12 and Ubuntu 24.04): tests/setup.sh must stop first, before any apt or npm step, and say
//! exactly what to install. A fake `node` (a shell script printing a version) comes first on PATH.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory holding a fake `node` printing `version` (none when `None`) and a fake `npm`, and a
/// PATH of it plus only what bash scripts need (so no real node is found).
fn fake_path(dir: &Path, version: Option<&str>) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mut tools = vec![("npm", "#!/bin/sh\necho 10.0.0\n".to_owned())];
    if let Some(version) = version {
        tools.push(("node", format!("#!/bin/sh\necho {version}\n")));
    }
    for (name, script) in tools {
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Core utilities only; /usr/local/bin and the user's PATH may hold a real node.
    format!("{}:/usr/bin:/bin", bin.display())
}

fn run(script: &str, path: &str) -> Output {
    Command::new("bash")
        .arg(repo().join(script))
        .env("PATH", path)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether /usr/bin holds a real node, which the missing-node case cannot hide from PATH.
fn system_node() -> bool {
    Path::new("/usr/bin/node").exists()
}

#[test]
fn setup_stops_first_on_node_18_with_what_to_install() {
    let dir = tempfile_dir("node18");
    let output = run("tests/setup.sh", &fake_path(&dir, Some("v18.19.0")));
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("Node.js v18.19.0 is too old"), "{said}");
    assert!(said.contains("20.19"), "{said}");
    // Exactly what to install, for the systems that ship Node 18.
    assert!(said.contains("Debian 12"), "{said}");
    assert!(said.contains("Ubuntu 22.04 / 24.04"), "{said}");
    assert!(said.contains("setup_22.x"), "{said}");
    assert!(said.contains("nvm install 22"), "{said}");
    // Before anything else: no apt, npm, cargo or venv step ran.
    assert!(!said.contains("==> setup: apt"), "{said}");
    assert!(!said.contains("==> setup: npm"), "{said}");
    assert!(!said.contains("missing apt packages"), "{said}");
}

#[test]
fn one_minor_below_the_requirement_is_too_old() {
    let dir = tempfile_dir("node2018");
    let output = run("tests/check-node.sh", &fake_path(&dir, Some("v20.18.3")));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("v20.18.3 is too old"));
}

#[test]
fn the_required_version_and_newer_pass() {
    for version in ["v20.19.0", "v22.11.0", "v24.1.0"] {
        let dir = tempfile_dir(&format!("ok{version}"));
        let output = run("tests/check-node.sh", &fake_path(&dir, Some(version)));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{version}: {}",
            text(&output)
        );
        assert!(text(&output).contains(version));
    }
}

#[test]
fn a_missing_node_stops_with_what_to_install() {
    if system_node() {
        // /usr/bin/node cannot be taken off PATH without hiding bash's tools too.
        eprintln!("skipped: /usr/bin/node exists on this machine");
        return;
    }
    let dir = tempfile_dir("none");
    let output = run("tests/check-node.sh", &fake_path(&dir, None));
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("Node.js is not installed"), "{said}");
    assert!(said.contains("setup_22.x"), "{said}");
}

#[test]
fn a_garbled_version_is_not_taken_for_a_new_one() {
    let dir = tempfile_dir("garbled");
    let output = run(
        "tests/check-node.sh",
        &fake_path(&dir, Some("node-is-broken")),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("not a version"));
}

/// A fresh scratch directory under the target's tmp dir (xtask has no tempfile dependency).
fn tempfile_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("node-check-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
