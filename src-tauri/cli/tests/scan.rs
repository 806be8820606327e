//! `keyward-cli scan`, the real binary: keys made on the emulator and cached for a profile, a tree
//! holding them (one in an unreadable folder, one of nobody), `--json` parsed, the text map, the
//! exit code without folders, a saved scan of the chosen folders, and no secret in the output or
//! the data directory.
//!
//! The unreadable folder is real: as root (here and in CI, where a 0000 folder is still readable)
//! the CLI runs as `nobody` through `setpriv`, from a copy in a folder nobody can read (/root is
//! private), on a data directory handed to nobody.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use keyward_core::store::{NewProfile, Store};
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap()) == 0
}

/// The CLI, as `nobody` when this runs as root.
struct Runner {
    program: PathBuf,
    as_nobody: bool,
    _copy_dir: Option<tempfile::TempDir>,
}

impl Runner {
    fn new() -> Self {
        if !is_root() {
            return Runner {
                program: PathBuf::from(CLI),
                as_nobody: false,
                _copy_dir: None,
            };
        }
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let program = dir.path().join("keyward-cli");
        fs::copy(CLI, &program).unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        Runner {
            program,
            as_nobody: true,
            _copy_dir: Some(dir),
        }
    }

    fn run(&self, data_dir: &Path, args: &[&str]) -> Output {
        if self.as_nobody {
            give_to_nobody(data_dir);
        }
        let mut command = if self.as_nobody {
            let mut command = Command::new("setpriv");
            command
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&self.program);
            command
        } else {
            Command::new(&self.program)
        };
        command
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--keychain-service", "keyward-test-cli-scan"])
            .args(args)
            .env_remove("KEYWARD_MANAGEMENT_KEY")
            .env("HOME", data_dir)
            .current_dir("/")
            .stdin(Stdio::null());
        command.output().unwrap()
    }
}

/// Hands a folder and everything in it to `nobody` (the CLI must open the database as that user).
fn give_to_nobody(path: &Path) {
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            give_to_nobody(&entry.unwrap().path());
        }
    }
}

/// Makes the tree readable by anyone (tempdirs are 0700), except what the test locks.
fn open_to_all(path: &Path) {
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            open_to_all(&entry.unwrap().path());
        }
    }
}

async fn create(emulator: &Emulator, name: &str) -> (String, String) {
    let created: Value = reqwest::Client::new()
        .post(format!("{}/keys", emulator.base_url()))
        .bearer_auth(emulator.management_key())
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["data"]["hash"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    )
}

async fn keys(emulator: &Emulator) -> Vec<Value> {
    let answer: Value = reqwest::Client::new()
        .get(format!("{}/keys", emulator.base_url()))
        .bearer_auth(emulator.management_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"].as_array().unwrap().clone()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn scan_prints_the_map_and_never_a_secret() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (web_hash, web) = create(&emulator, "web").await;
    let (_, hidden) = create(&emulator, "hidden").await;
    let nobody_key = format!("sk-or-v1-{}", "ab12".repeat(16));

    let data = tempfile::tempdir().unwrap();
    {
        let store = Store::open_in_dir(data.path()).unwrap();
        let profile = store
            .create_profile(&NewProfile {
                name: "Work".into(),
                base_url: Some(emulator.base_url().to_owned()),
                workspace_id: None,
                is_sandbox: false,
            })
            .unwrap();
        let listed = keys(&emulator).await;
        store
            .replace_cached_keys(
                &profile.id,
                &listed,
                |key| key["hash"].as_str().unwrap(),
                Utc::now(),
            )
            .unwrap();
    }

    let tree = tempfile::tempdir().unwrap();
    let project = tree.path().join("project");
    fs::create_dir_all(project.join("locked")).unwrap();
    fs::write(project.join(".env"), format!("OPENROUTER_API_KEY={web}\n")).unwrap();
    fs::write(project.join(".env.example"), format!("KEY={nobody_key}\n")).unwrap();
    fs::write(project.join("locked/.env"), format!("KEY={hidden}\n")).unwrap();
    open_to_all(tree.path());
    fs::set_permissions(project.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();

    let runner = Runner::new();
    let folder = project.display().to_string();
    let out = runner.run(data.path(), &["--json", "scan", "--folder", &folder]);
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["keys"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["keys"][0]["key_hash"], web_hash.as_str());
    assert_eq!(report["keys"][0]["key_name"], "web");
    assert_eq!(report["keys"][0]["profile_name"], "Work");
    let place = &report["keys"][0]["places"][0];
    assert_eq!(place["variable"], "OPENROUTER_API_KEY");
    assert_eq!(place["line"], 1);
    assert_eq!(report["stale"].as_array().unwrap().len(), 1);
    assert_eq!(report["stale"][0]["status"], "foreign");
    let scan = &report["last_scan"];
    assert_eq!(scan["saved"], false);
    let problems = scan["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{scan:#}");
    assert_eq!(problems[0]["kind"], "unreadable");
    assert!(problems[0]["path"].as_str().unwrap().ends_with("/locked"));

    // The text map.
    let text_out = runner.run(data.path(), &["scan", "--folder", &folder]);
    assert!(text_out.status.success(), "{text_out:?}");
    let text = String::from_utf8(text_out.stdout.clone()).unwrap();
    assert!(text.contains("Work / web"), "{text}");
    assert!(text.contains("in 1 place"), "{text}");
    assert!(text.contains("[unknown key]"), "{text}");
    assert!(text.contains("[unreadable]"), "{text}");

    // No folders chosen and none given: a usage error, exit code 2.
    let none = runner.run(data.path(), &["scan"]);
    assert_eq!(none.status.code(), Some(2), "{none:?}");
    assert!(String::from_utf8_lossy(&none.stderr).contains("--folder"));

    // A chosen folder: the scan is saved.
    {
        let store = Store::open_in_dir(data.path()).unwrap();
        store
            .set_locate_folders(&[fs::canonicalize(&project).unwrap().display().to_string()])
            .unwrap();
    }
    let saved = runner.run(data.path(), &["--json", "scan"]);
    assert!(saved.status.success(), "{saved:?}");
    let saved_report: Value = serde_json::from_slice(&saved.stdout).unwrap();
    assert_eq!(saved_report["last_scan"]["saved"], true);
    fs::set_permissions(project.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
    {
        let store = Store::open_in_dir(data.path()).unwrap();
        assert_eq!(store.key_locations(None).unwrap().len(), 2);
    }

    // No secret in any output or in the data directory.
    let outputs = [&out, &text_out, &none, &saved];
    for secret in [&web, &hidden, &nobody_key] {
        let body = secret.trim_start_matches("sk-or-v1-");
        for output in outputs {
            assert!(!contains(&output.stdout, body));
            assert!(!contains(&output.stderr, body));
        }
        for file in files_under(data.path()) {
            assert!(
                !contains(&fs::read(&file).unwrap(), body),
                "{}",
                file.display()
            );
        }
    }
}
