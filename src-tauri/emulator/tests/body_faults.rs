//! Faults on the way back, over real HTTP: a slow body (headers, then the body in chunks) and a cut
//! body (half the body, then the connection closes) — both after the handler ran, so the request's
//! effect stays — and the counts of requests and injected faults that `GET /_emulator/faults` reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `POST /api/v1/keys` creating `name`, with the client's own timeout (the harness's helpers read
/// the whole answer; these tests need to see the transport fail).
fn create(harness: &Harness, name: &str, timeout: Duration) -> reqwest::RequestBuilder {
    harness
        .http
        .post(format!("{}/keys", harness.emulator.base_url()))
        .bearer_auth(MANAGEMENT_KEY)
        .json(&json!({ "name": name }))
        .timeout(timeout)
}

async fn names(harness: &Harness) -> Vec<String> {
    let keys = harness.control(Method::GET, "/keys", None).await;
    keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_slow_body_arrives_whole_in_chunks_and_a_short_timeout_loses_it_after_the_work() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"slow_body": {"next": 1, "chunks": 3, "chunk_delay_ms": 150}}))
        .await;
    let started = Instant::now();
    let response = create(&harness, "slow", Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(body["key"].as_str().unwrap().starts_with("sk-or-v1-"));
    assert_eq!(body["data"]["name"], "slow");

    // A client that gives up before the last chunk never sees the secret, yet the key exists.
    harness
        .set_faults(json!({"slow_body": {"next": 1, "chunks": 2, "chunk_delay_ms": 2000}}))
        .await;
    let response = create(&harness, "lost", Duration::from_millis(500))
        .send()
        .await
        .unwrap();
    let error = response
        .bytes()
        .await
        .expect_err("the body never completes");
    assert!(error.is_timeout(), "{error:?}");
    assert!(names(&harness).await.contains(&"lost".to_owned()));

    let log = harness.control(Method::GET, "/requests", None).await;
    let faults: Vec<_> = log.body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["fault"].clone(), entry["status"].clone()))
        .collect();
    assert_eq!(
        faults,
        [
            (json!("slow_body"), json!(201)),
            (json!("slow_body"), json!(201))
        ]
    );
}

#[tokio::test]
async fn a_cut_body_closes_the_connection_mid_answer_after_the_work() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"cut_body": {"next": 1}})).await;
    let response = create(&harness, "cut", Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let error = response.bytes().await.expect_err("half a body");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(names(&harness).await.contains(&"cut".to_owned()));
    // The next request works (on a new connection).
    let next = create(&harness, "after", Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), StatusCode::CREATED);
    next.json::<Value>().await.unwrap();
}

#[tokio::test]
async fn faults_are_counted_by_kind_until_a_reset() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({
            "seed": 11,
            "server_error": {"probability": 0.2, "status": 503},
            "rate_limit": {"probability": 0.2, "retry_after_ms": 1},
            "slow_body": {"probability": 0.2, "chunks": 2, "chunk_delay_ms": 1}
        }))
        .await;
    for _ in 0..40 {
        let reply = harness.api(Method::GET, "/credits", None).await;
        assert!([200, 429, 503].contains(&reply.status.as_u16()));
    }
    let log = harness.control(Method::GET, "/requests", None).await;
    let logged = |kind: &str| {
        log.body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["fault"] == kind)
            .count() as u64
    };
    // A new configuration keeps counting.
    harness.set_faults(json!({"drop": {"next": 0}})).await;
    let faults = harness.control(Method::GET, "/faults", None).await;
    assert_eq!(faults.body["requests"], 40);
    for kind in ["server_error", "rate_limit", "slow_body"] {
        let counted = faults.body["injected"][kind].as_u64().unwrap_or(0);
        assert_eq!(counted, logged(kind), "{kind}: {}", faults.body);
        assert!(counted > 0, "{kind}: {}", faults.body);
    }
    harness.control(Method::POST, "/reset", None).await;
    let faults = harness.control(Method::GET, "/faults", None).await;
    assert_eq!(faults.body["requests"], 0);
    assert_eq!(faults.body["injected"], json!({}));
}

#[tokio::test]
async fn body_fault_settings_are_checked() {
    let harness = Harness::start().await;
    for bad in [
        json!({"slow_body": {"chunks": 0}}),
        json!({"slow_body": {"chunk_delay_ms": 600_000}}),
        json!({"cut_body": {"probability": -1}}),
        json!({"cut_body": {"nxt": 1}}),
    ] {
        let reply = harness.control(Method::POST, "/faults", Some(&bad)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
