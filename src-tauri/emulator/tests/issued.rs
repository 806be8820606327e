//! `GET /_emulator/issued-secrets`: every secret the emulator handed out (the startup and added
//! management keys, each created key's secret), in memory only — never in the state file.

mod common;

use common::*;
use openrouter_emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn every_handed_out_secret_is_listed_and_none_is_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let harness = Harness::with(
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .state_file(&state_file),
    )
    .await;
    let (first, _) = harness.create(json!({"name": "one"})).await;
    let (second, _) = harness.create(json!({"name": "two"})).await;
    let added = harness
        .control(Method::POST, "/management-keys", Some(&json!({})))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let added = added.body["key"].as_str().unwrap().to_owned();
    // A refused create hands out nothing.
    let refused = harness
        .api(Method::POST, "/keys", Some(&json!({"name": ""})))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let listed = harness.control(Method::GET, "/issued-secrets", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        listed.body,
        json!({"secrets": [MANAGEMENT_KEY, first, second, added]})
    );

    harness.emulator.shutdown().await;
    let persisted = std::fs::read_to_string(&state_file).unwrap();
    for secret in [MANAGEMENT_KEY, &first, &second, &added] {
        assert!(!persisted.contains(secret), "a secret in the state file");
    }
}
