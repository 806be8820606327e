//! Fault injection over real HTTP: the `/_emulator/faults` control, latency (configured and
//! baseline), 429s and 429 storms, 5xx errors, path prefixes, seeded probabilities, dropped
//! connections and held (timed-out) requests.

mod common;

use std::time::{Duration, Instant};

use common::*;
use openrouter_emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An authorised `GET path` on the API, bypassing the harness (to see what the transport does).
fn raw_get(harness: &Harness, path: &str, timeout: Duration) -> reqwest::RequestBuilder {
    harness
        .http
        .get(format!("{}{path}", harness.emulator.base_url()))
        .bearer_auth(MANAGEMENT_KEY)
        .timeout(timeout)
}

#[tokio::test]
async fn health_and_fault_configuration_round_trip() {
    let harness = Harness::start().await;
    let health = harness.control(Method::GET, "/health", None).await;
    assert_eq!(health.body, json!({"ok": true}));
    harness
        .set_faults(
            json!({"latency_ms": 5, "rate_limit": {"next": 2}, "path_prefix": "/api/v1/keys"}),
        )
        .await;
    let faults = harness.control(Method::GET, "/faults", None).await;
    assert_eq!(faults.body["latency_ms"], 5);
    assert_eq!(faults.body["rate_limit"]["next"], 2);
    assert_eq!(faults.body["rate_limit"]["retry_after_seconds"], 1);
    assert_eq!(faults.body["path_prefix"], "/api/v1/keys");
    let bad = harness
        .control(
            Method::POST,
            "/faults",
            Some(&json!({"drop": {"probability": 2}})),
        )
        .await;
    bad.assert_error(400, "probability");
    let typo = harness
        .control(Method::POST, "/faults", Some(&json!({"rate_limt": {}})))
        .await;
    typo.assert_error(400, "rate_limt");
    let cleared = harness.control(Method::DELETE, "/faults", None).await;
    assert_eq!(cleared.body["rate_limit"], Value::Null);
    assert_eq!(get_status(&harness, "/keys").await, 200);
}

#[tokio::test]
async fn rate_limit_next_sends_retry_after_headers() {
    let harness = Harness::start().await;
    harness
        .set_faults(
            json!({"rate_limit": {"next": 2, "retry_after_seconds": 3, "retry_after_ms": 250}}),
        )
        .await;
    for _ in 0..2 {
        let reply = harness.api(Method::GET, "/keys", None).await;
        reply.assert_error(429, "Rate limit exceeded");
        assert_eq!(reply.headers["retry-after"], "3");
        assert_eq!(reply.headers["retry-after-ms"], "250");
    }
    assert_eq!(get_status(&harness, "/keys").await, 200);
    harness.set_faults(json!({"rate_limit": {"next": 1}})).await;
    let reply = harness.api(Method::GET, "/credits", None).await;
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(reply.headers.get("retry-after-ms").is_none());
}

#[tokio::test]
async fn server_errors_with_configured_status_and_precedence() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"server_error": {"next": 2, "status": 503}, "rate_limit": {"next": 1}}))
        .await;
    let statuses = [
        harness.api(Method::GET, "/keys", None).await,
        harness.api(Method::GET, "/keys", None).await,
        harness.api(Method::GET, "/keys", None).await,
        harness.api(Method::GET, "/keys", None).await,
    ];
    statuses[1].assert_error(503, "Internal Server Error");
    let codes: Vec<u16> = statuses.iter().map(status_of).collect();
    assert_eq!(codes, [429, 503, 503, 200]);
    harness
        .set_faults(json!({"server_error": {"next": 1}}))
        .await;
    harness
        .api(Method::GET, "/key", None)
        .await
        .assert_error(500, "Internal Server Error");
}

#[tokio::test]
async fn faults_come_before_auth_and_skip_controls() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"server_error": {"next": 2}}))
        .await;
    // Controls are neither faulted nor counted.
    for _ in 0..3 {
        assert_eq!(
            harness.control(Method::GET, "/health", None).await.status,
            StatusCode::OK
        );
    }
    harness
        .api_as(None, Method::GET, "/keys", None)
        .await
        .assert_error(500, "");
    harness
        .api(Method::GET, "/keys", None)
        .await
        .assert_error(500, "");
    harness
        .api_as(None, Method::GET, "/keys", None)
        .await
        .assert_error(401, "");
}

#[tokio::test]
async fn path_prefix_limits_faults_and_latency() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"server_error": {"next": 1}, "latency_ms": 500, "path_prefix": "/api/v1/credits"}))
        .await;
    let started = Instant::now();
    assert_eq!(get_status(&harness, "/keys").await, 200);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "no latency outside the prefix"
    );
    let started = Instant::now();
    harness
        .api(Method::GET, "/credits", None)
        .await
        .assert_error(500, "");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn latency_delays_api_responses_only() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"latency_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(get_status(&harness, "/keys").await, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    harness.control(Method::GET, "/health", None).await;
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn baseline_latency_from_the_config() {
    let harness = Harness::with(
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .latency(Duration::from_millis(300)),
    )
    .await;
    let started = Instant::now();
    harness.api(Method::GET, "/keys", None).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let faults = harness.control(Method::GET, "/faults", None).await;
    assert_eq!(faults.body["baseline_latency_ms"], 300);
    harness.set_faults(json!({"latency_ms": 0})).await;
    let started = Instant::now();
    harness.api(Method::GET, "/keys", None).await;
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn probability_faults_repeat_with_the_same_seed() {
    let harness = Harness::start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        harness
            .set_faults(json!({"server_error": {"probability": 0.5}, "seed": 11}))
            .await;
        let mut codes = Vec::new();
        for _ in 0..30 {
            codes.push(get_status(&harness, "/credits").await);
        }
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1]);
    let errors = runs[0].iter().filter(|code| **code == 500).count();
    assert!((5..=25).contains(&errors), "{errors} errors of 30");
    assert!(runs[0].iter().all(|code| *code == 500 || *code == 200));
}

#[tokio::test]
async fn a_429_storm_lasts_for_seconds() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"rate_limit": {"for_seconds": 0.8}}))
        .await;
    for _ in 0..3 {
        harness
            .api(Method::GET, "/keys", None)
            .await
            .assert_error(429, "Rate limit exceeded");
    }
    let faults = harness.control(Method::GET, "/faults", None).await;
    let left = f(&faults.body["rate_limit"]["for_seconds"]);
    assert!(left > 0.0 && left <= 0.8, "{left}");
    tokio::time::sleep(Duration::from_millis(850)).await;
    assert_eq!(get_status(&harness, "/keys").await, 200);
}

#[tokio::test]
async fn drop_closes_the_connection_without_a_response() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"drop": {"next": 1}})).await;
    let started = Instant::now();
    let result = raw_get(&harness, "/keys", Duration::from_secs(5))
        .send()
        .await;
    let error = result.expect_err("no response");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        get_status(&harness, "/keys").await,
        200,
        "the next request works"
    );
    let log = harness.control(Method::GET, "/requests", None).await;
    assert_eq!(log.body["requests"][0]["fault"], "drop");
    assert_eq!(log.body["requests"][0]["status"], Value::Null);
}

#[tokio::test]
async fn timeout_holds_the_request_until_the_client_gives_up_or_the_emulator_stops() {
    let harness = Harness::start().await;
    harness.set_faults(json!({"timeout": {"next": 1}})).await;
    let result = raw_get(&harness, "/credits", Duration::from_millis(300))
        .send()
        .await;
    assert!(result.expect_err("held").is_timeout());
    assert_eq!(get_status(&harness, "/credits").await, 200);

    // A held request ends when the emulator shuts down.
    harness.set_faults(json!({"timeout": {"next": 1}})).await;
    let request = raw_get(&harness, "/credits", Duration::from_secs(10)).send();
    let pending = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    harness.emulator.shutdown().await;
    let result = pending.await.unwrap();
    assert!(result.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn timeout_hold_seconds_then_closes() {
    let harness = Harness::start().await;
    harness
        .set_faults(json!({"timeout": {"next": 1, "hold_seconds": 1}}))
        .await;
    let started = Instant::now();
    let result = raw_get(&harness, "/keys", Duration::from_secs(5))
        .send()
        .await;
    let error = result.expect_err("closed");
    assert!(!error.is_timeout());
    assert!(started.elapsed() >= Duration::from_millis(950));
}
