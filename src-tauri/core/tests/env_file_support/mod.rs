//! Shared set-up of the env-file deploy tests: a scratch project directory beside a data directory
//! (whose backup directory the deploys use), fixtures and what the file system holds afterwards.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use keyward_core::deploy::{self, DeployContext, DeployOutcome, DeployTarget};
use secrecy::SecretString;

// Made-up key-shaped fixtures (never real keys).
pub const NEW_SECRET: &str =
    "sk-or-v1-1111111111111111111111111111111111111111111111111111111111111111";
pub const OLD_SECRET: &str =
    "sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000";

pub fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

pub fn target(path: &Path, variable: &str) -> DeployTarget {
    DeployTarget::EnvFile {
        path: path.display().to_string(),
        variable: variable.to_owned(),
    }
}

/// A test's scratch space: `project/` (what `path()` gives) for the `.env` files and `data/` as
/// Keyward's data directory, which holds the backup directory.
pub struct Scratch {
    _root: tempfile::TempDir,
    project: PathBuf,
}

impl Scratch {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("project");
        fs::create_dir(&project).unwrap();
        Scratch {
            _root: root,
            project,
        }
    }

    pub fn path(&self) -> &Path {
        &self.project
    }
}

/// The backup directory for a file in a scratch's project (or a directory of it).
pub fn backup_dir_of(env: &Path) -> PathBuf {
    let mut dir = env.parent().unwrap();
    while dir.file_name().unwrap() != "project" {
        dir = dir.parent().unwrap();
    }
    dir.parent()
        .unwrap()
        .join("data")
        .join(deploy::BACKUP_DIR_NAME)
}

pub fn ctx_for(env: &Path) -> DeployContext {
    DeployContext::new().with_backup_dir(backup_dir_of(env))
}

pub async fn deploy_to(path: &Path, variable: &str, value: &str) -> DeployOutcome {
    deploy::deploy(&target(path, variable), &secret(value), &ctx_for(path)).await
}

pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Names of the files in `dir`, sorted (none if it does not exist).
pub fn listing(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Backup files left beside the files of `dir` (there must never be any).
pub fn backups_beside(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|name| name.contains("keyward-backup"))
        .collect()
}

/// Every backup in the backup directory of `env`'s scratch, as `group/name`, sorted.
pub fn backups_of(env: &Path) -> Vec<String> {
    let dir = backup_dir_of(env);
    let mut found = Vec::new();
    for group in listing(&dir) {
        for name in listing(&dir.join(&group)) {
            found.push(format!("{group}/{name}"));
        }
    }
    found
}

/// The outcome, as the UI and the journal see it, never holds the secret.
pub fn assert_no_secret(outcome: &DeployOutcome) {
    let json = serde_json::to_string(outcome).unwrap();
    assert!(!json.contains(NEW_SECRET), "{json}");
    assert!(!format!("{outcome:?}").contains(NEW_SECRET));
}
