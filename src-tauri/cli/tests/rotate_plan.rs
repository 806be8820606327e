//! `keyward-cli rotate --dry-run` against an emulator: a key in a second workspace with a
//! guardrail, a BYOK allowlist and a log destination (made over the emulator's API). The plan, as
//! text and as JSON, names the workspace and the three attachments as the account has them, and
//! nothing is changed. The key is found by its name across workspaces.
//!
//! Needs a Secret Service (the profile's management key goes to the keychain):
//! `tests/session.sh -- cargo test -p keyward-cli --test rotate_plan -- --ignored`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use keyward_core::vault::Vault;
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

struct Run {
    dir: tempfile::TempDir,
    keychain_service: String,
}

impl Run {
    fn cli(&self, args: &[&str], management_key: Option<&str>) -> Output {
        let mut command = Command::new(CLI);
        command
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--keychain-service", &self.keychain_service])
            .args(args)
            .env_remove("KEYWARD_MANAGEMENT_KEY")
            .env_remove("KEYWARD_ROTATION_PAUSE_AT");
        if let Some(key) = management_key {
            command.env("KEYWARD_MANAGEMENT_KEY", key);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

async fn post(emulator: &Emulator, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", emulator.base_url()))
        .bearer_auth(emulator.management_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn get(emulator: &Emulator, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", emulator.base_url()))
        .bearer_auth(emulator.management_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn a_dry_run_prints_the_real_attachments_and_changes_nothing() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let workspace = post(
        &emulator,
        "/workspaces",
        json!({"name": "EU", "slug": "eu"}),
    )
    .await;
    let workspace_id = workspace["data"]["id"].as_str().unwrap().to_owned();
    let key = post(
        &emulator,
        "/keys",
        json!({"name": "eu-api", "limit": 5.0, "limit_reset": "weekly",
               "workspace_id": workspace_id}),
    )
    .await;
    let hash = key["data"]["hash"].as_str().unwrap().to_owned();
    let guardrail = post(
        &emulator,
        "/guardrails",
        json!({"name": "EU models only", "workspace_id": workspace_id}),
    )
    .await;
    let guardrail_id = guardrail["data"]["id"].as_str().unwrap().to_owned();
    post(
        &emulator,
        &format!("/guardrails/{guardrail_id}/assignments/keys"),
        json!({"key_hashes": [hash]}),
    )
    .await;
    post(
        &emulator,
        "/byok",
        json!({"provider": "openai", "key": "sk-provider-secret-material-AbCd",
               "name": "prod OpenAI", "workspace_id": workspace_id,
               "allowed_api_key_hashes": [hash]}),
    )
    .await;
    post(
        &emulator,
        "/observability/destinations",
        json!({"type": "langfuse", "name": "traces", "workspace_id": workspace_id,
               "config": {"publicKey": "pk-lf-1", "secretKey": "sk-lf-secret-5678"},
               "api_key_hashes": [hash]}),
    )
    .await;

    let run = Run {
        dir: tempfile::tempdir().unwrap(),
        keychain_service: format!("keyward-test-cli-plan-{}", std::process::id()),
    };
    let added = run.cli(
        &[
            "--json",
            "profile-add",
            "--name",
            "plan",
            "--base-url",
            emulator.base_url(),
        ],
        Some(emulator.management_key()),
    );
    let profile: Value = serde_json::from_slice(&added.stdout).unwrap();
    let profile_id = profile["id"].as_str().unwrap().to_owned();

    let text = String::from_utf8(run.cli(&["rotate", "eu-api", "--dry-run"], None).stdout).unwrap();
    for expected in [
        format!("workspace    {workspace_id}"),
        "guardrail    guardrail \"EU models only\"".to_owned(),
        "BYOK list    BYOK key \"prod OpenAI\" (openai)".to_owned(),
        "logs         log destination \"traces\" (langfuse)".to_owned(),
        "(dry run: nothing was changed)".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
    let json_plan = run.cli(&["--json", "rotate", &hash, "--dry-run"], None);
    let plan: Value = serde_json::from_slice(&json_plan.stdout).unwrap();
    assert_eq!(plan["workspace_id"], workspace_id.as_str());
    let kinds: Vec<&str> = plan["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attachment| attachment["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["guardrail", "byok", "destination"]);
    assert_eq!(plan["attachments"][0]["id"], guardrail_id.as_str());

    // Nothing changed: still one key in the workspace, the guardrail on it alone.
    let keys = get(&emulator, &format!("/keys?workspace_id={workspace_id}")).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1, "{keys:#}");
    let assigned = get(
        &emulator,
        &format!("/guardrails/{guardrail_id}/assignments/keys"),
    )
    .await;
    assert_eq!(
        assigned["data"].as_array().unwrap().len(),
        1,
        "{assigned:#}"
    );

    let _ = Vault::with_service(run.keychain_service.clone()).delete_management_key(&profile_id);
}
