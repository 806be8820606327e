//! Where things are: the repository root, cargo's target directory (which may be redirected by
//! CARGO_TARGET_DIR or a config file) and the paths the suites share.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

impl Workspace {
    pub fn locate() -> anyhow::Result<Self> {
        let root = repository_root()?;
        let target_dir = cargo_target_dir(&root)?;
        Ok(Self { root, target_dir })
    }

    pub fn venv_python(&self) -> PathBuf {
        self.root.join("tests/.venv/bin/python")
    }

    pub fn conformance_ts_dir(&self) -> PathBuf {
        self.root.join("tests/conformance/ts")
    }

    pub fn ui_dir(&self) -> PathBuf {
        self.root.join("ui")
    }

    pub fn python_requirements(&self) -> PathBuf {
        self.root.join("tests/conformance/python/requirements.txt")
    }

    /// A binary built by `cargo build` in the given profile directory ("debug" or "release").
    pub fn binary(&self, profile_dir: &str, name: &str) -> PathBuf {
        self.target_dir.join(profile_dir).join(name)
    }
}

fn repository_root() -> anyhow::Result<PathBuf> {
    // xtask lives at src-tauri/xtask; the repository root is two levels up.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .context("xtask's manifest directory has no grandparent")?;
    if !root.join("Cargo.toml").is_file() {
        bail!(
            "no Cargo.toml at the expected repository root {}",
            root.display()
        );
    }
    Ok(root.to_path_buf())
}

/// Asks cargo rather than guessing, so CARGO_TARGET_DIR and `build.target-dir` are both respected.
fn cargo_target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .context("running `cargo metadata`")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("parsing `cargo metadata` output")?;
    let target = metadata
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .context("`cargo metadata` has no target_directory")?;
    Ok(PathBuf::from(target))
}

/// Cargo from PATH (the rustup proxy), so `cargo fmt` and `cargo clippy` resolve like in a shell.
pub fn cargo() -> &'static str {
    "cargo"
}
