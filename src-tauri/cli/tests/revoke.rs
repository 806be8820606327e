//! `keyward-cli revoke` and `reenable`, the real binary against the emulator: refused without
//! `--yes` when nobody can confirm, disables exactly the matching keys (JSON parsed), re-enables
//! exactly those, deletes with `--delete`, and explains a bad filter. The management key comes from
//! `KEYWARD_MANAGEMENT_KEY` (no keychain needed: the profile row is written to the store directly).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};

use keyward_core::store::{NewProfile, Store};
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

struct Setup {
    emulator: Emulator,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

async fn setup() -> Setup {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    Store::open_in_dir(dir.path())
        .unwrap()
        .create_profile(&NewProfile {
            name: "ops".into(),
            base_url: Some(emulator.base_url().to_owned()),
            workspace_id: None,
            is_sandbox: false,
        })
        .unwrap();
    Setup {
        emulator,
        dir,
        http: reqwest::Client::new(),
    }
}

impl Setup {
    fn cli(&self, args: &[&str]) -> Output {
        Command::new(CLI)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--keychain-service", "keyward-test-cli-revoke-unused"])
            .args(args)
            .env("KEYWARD_MANAGEMENT_KEY", self.emulator.management_key())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    async fn create(&self, name: &str) -> String {
        let created: Value = self
            .http
            .post(format!("{}/keys", self.emulator.base_url()))
            .bearer_auth(self.emulator.management_key())
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["data"]["hash"].as_str().unwrap().to_owned()
    }

    /// `disabled` of every key on the emulator, by hash.
    async fn disabled(&self) -> HashMap<String, bool> {
        let all: Value = self
            .http
            .get(format!("{}/keys", self.emulator.control_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["hash"].as_str().unwrap().to_owned(),
                    k["disabled"].as_bool().unwrap(),
                )
            })
            .collect()
    }
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: stdout {} stderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_then_reenable_then_delete() {
    let s = setup().await;
    let mut prod = Vec::new();
    for i in 0..5 {
        prod.push(s.create(&format!("prod-{i}")).await);
    }
    let staging = s.create("staging-1").await;

    // No terminal and no --yes: refused, nothing changed.
    let refused = s.cli(&["revoke", "--profile", "ops", "--filter", "name:prod-*"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert!(s.disabled().await.values().all(|d| !d));

    let revoked = s.cli(&[
        "--json",
        "revoke",
        "--profile",
        "ops",
        "--filter",
        "name:prod-*",
        "--yes",
    ]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let out = json_of(&revoked);
    assert_eq!(out["matched"], 5);
    assert_eq!(out["disable"]["done"], 5);
    assert_eq!(out["disable"]["failed"], 0);
    assert!(out["delete"].is_null());
    let revoke_id = out["revoke_id"].as_str().unwrap().to_owned();
    let state = s.disabled().await;
    assert!(prod.iter().all(|h| state[h]));
    assert!(!state[&staging]);

    let back = s.cli(&["--json", "reenable", "--profile", "ops", &revoke_id]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(json_of(&back)["done"], 5);
    assert!(s.disabled().await.values().all(|d| !d));

    // By filter: only what a revoke disabled comes back (staging, disabled by hand, stays off).
    s.http
        .patch(format!("{}/keys/{staging}", s.emulator.base_url()))
        .bearer_auth(s.emulator.management_key())
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    let again = s.cli(&[
        "--json",
        "revoke",
        "--profile",
        "ops",
        "--filter",
        "hash:",
        "--yes",
    ]);
    assert!(!again.status.success(), "an empty hash prefix is refused");
    let again = s.cli(&[
        "--json",
        "revoke",
        "--profile",
        "ops",
        "--filter",
        "name:prod-1",
        "--yes",
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    let by_filter = s.cli(&[
        "--json",
        "reenable",
        "--profile",
        "ops",
        "--filter",
        "name:*",
    ]);
    assert!(by_filter.status.success(), "{}", stderr(&by_filter));
    assert_eq!(json_of(&by_filter)["done"], 1);
    let state = s.disabled().await;
    assert!(!state[&prod[1]]);
    assert!(state[&staging]);

    let deleted = s.cli(&[
        "--json",
        "revoke",
        "--profile",
        "ops",
        "--filter",
        "name:prod-*",
        "--yes",
        "--delete",
    ]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    let out = json_of(&deleted);
    assert_eq!(out["delete"]["done"], 5);
    let state = s.disabled().await;
    assert_eq!(state.len(), 1);
    assert!(state.contains_key(&staging));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_filter_is_explained_and_changes_nothing() {
    let s = setup().await;
    s.create("prod-0").await;
    for (filter, says) in [
        ("colour:red", "unknown field"),
        ("status:gone", "active, disabled or expired"),
        ("prod", "not field:value"),
        ("name:nothing-like-this", "matches no key"),
    ] {
        let out = s.cli(&["revoke", "--profile", "ops", "--filter", filter, "--yes"]);
        assert!(!out.status.success(), "{filter}");
        assert!(stderr(&out).contains(says), "{filter}: {}", stderr(&out));
    }
    let missing = s.cli(&["reenable", "--profile", "ops", "no-such-revoke"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no revoke"),
        "{}",
        stderr(&missing)
    );
    assert!(s.disabled().await.values().all(|d| !d));
}
