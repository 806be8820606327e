//! `keyward-cli rotate` with a command deploy target nobody approved, run without a terminal (as a
//! script or CI would): the CLI asks no one, refuses before creating a key, and the command never
//! runs. (The `[y/N]` prompt itself is unit-tested in `src/approve.rs`.)
//!
//! Needs a Secret Service (the profile's management key goes to the keychain):
//! `tests/session.sh -- cargo test -p keyward-cli --test rotate_command -- --ignored`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::RotationPolicy;
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

fn cli(dir: &std::path::Path, service: &str, args: &[&str], key: Option<&str>) -> Output {
    let mut command = Command::new(CLI);
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["--keychain-service", service])
        .args(args)
        .env_remove("KEYWARD_MANAGEMENT_KEY")
        .env_remove("KEYWARD_ROTATION_PAUSE_AT")
        // Not a terminal: nobody can be asked.
        .stdin(Stdio::null());
    if let Some(key) = key {
        command.env("KEYWARD_MANAGEMENT_KEY", key);
    }
    command.output().unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn an_unapproved_command_target_is_refused_without_a_terminal() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let created: Value = reqwest::Client::new()
        .post(format!("{}/keys", emulator.base_url()))
        .bearer_auth(emulator.management_key())
        .json(&json!({"name": "svc-api"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = created["data"]["hash"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let service = format!("keyward-test-cli-command-{}", std::process::id());
    let added = cli(
        dir.path(),
        &service,
        &[
            "--json",
            "profile-add",
            "--name",
            "cmd",
            "--base-url",
            emulator.base_url(),
        ],
        Some(emulator.management_key()),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let profile: Value = serde_json::from_slice(&added.stdout).unwrap();
    let profile_id = profile["id"].as_str().unwrap().to_owned();

    // A policy that reached the database without anyone approving its command.
    let out = dir.path().join("ran");
    let mut policy = RotationPolicy::default_for(&profile_id, &hash);
    policy.targets = vec![DeployTarget::Command {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            "printf %s \"$KEY\" > \"$1\"".into(),
            "sh".into(),
            out.display().to_string(),
        ],
        env_var: "KEY".into(),
        working_dir: None,
    }];
    Store::open_in_dir(dir.path())
        .unwrap()
        .set_rotation_policy(&policy)
        .unwrap();

    let rotated = cli(dir.path(), &service, &["rotate", "svc-api"], None);
    let stderr = String::from_utf8_lossy(&rotated.stderr);
    assert!(!rotated.status.success(), "{stderr}");
    assert!(stderr.contains("not a terminal"), "{stderr}");
    assert!(stderr.contains("was not approved"), "{stderr}");
    assert_eq!(keys(&emulator).await.len(), 1, "a key was created");
    assert!(!out.exists(), "the command ran");

    let _ = Vault::with_service(service).delete_management_key(&profile_id);
}
