//! Shared set-up of the `api_*` integration tests: an in-process emulator on 127.0.0.1, clients for
//! it, and helpers around its `/_emulator` control API (faults, request log, clock, seeding).
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use keyward_core::api::{ClientConfig, OpenRouterClient, RetryPolicy};
use keyward_core::backoff::Backoff;
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

pub struct TestEnv {
    pub emulator: Emulator,
    pub control: reqwest::Client,
    /// A client with the management key and `fast_retry()`.
    pub client: OpenRouterClient,
}

/// Retries with millisecond backoff, so retry tests take milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        backoff: Backoff::new(Duration::from_millis(10), Duration::from_millis(50)),
        max_elapsed: Duration::from_secs(10),
        retry_rate_limited: true,
    }
}

pub async fn start() -> TestEnv {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let key = emulator.management_key().to_owned();
    let client = client_with(&emulator, &key, |_| {});
    TestEnv {
        emulator,
        control: reqwest::Client::new(),
        client,
    }
}

/// A client for the emulator with `key`, `fast_retry()`, a 5 s timeout, then `adjust`.
pub fn client_with(
    emulator: &Emulator,
    key: &str,
    adjust: impl FnOnce(&mut ClientConfig),
) -> OpenRouterClient {
    let mut config = ClientConfig::new(emulator.base_url(), SecretString::from(key));
    config.retry = fast_retry();
    config.request_timeout = Duration::from_secs(5);
    adjust(&mut config);
    OpenRouterClient::new(config).unwrap()
}

impl TestEnv {
    pub fn client_with(&self, adjust: impl FnOnce(&mut ClientConfig)) -> OpenRouterClient {
        client_with(&self.emulator, self.emulator.management_key(), adjust)
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.control_url())
    }

    pub async fn control_get(&self, path: &str) -> Value {
        let response = self
            .control
            .get(self.control_url(path))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn control_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .control
            .post(self.control_url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "POST {path}: {status} {answer}");
        answer
    }

    pub async fn control_delete(&self, path: &str) {
        let response = self
            .control
            .delete(self.control_url(path))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "DELETE {path}");
    }

    pub async fn set_faults(&self, faults: Value) {
        self.control_post("/faults", faults).await;
    }

    /// The API requests the emulator received, oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        self.control_get("/requests").await["requests"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn clear_requests(&self) {
        self.control_delete("/requests").await;
    }

    /// Every key the emulator holds, in every workspace, disabled and expired included.
    pub async fn all_keys(&self) -> Vec<Value> {
        self.control_get("/keys").await["data"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Seeds `count` demo keys; answers their hashes, newest first.
    pub async fn seed(&self, count: usize, workspace_id: Option<&str>) -> Vec<String> {
        // Repeatable, but a different seed per call: the same seed makes the same secrets, so a
        // second seeding could replace keys of the first (the emulator keys them by hash).
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seed = 7 + CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut body = json!({"count": count, "seed": seed});
        if let Some(workspace_id) = workspace_id {
            body["workspace_id"] = json!(workspace_id);
        }
        self.control_post("/seed", body).await["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hash| hash.as_str().unwrap().to_owned())
            .collect()
    }
}

/// "method path" of each logged request, e.g. "POST /api/v1/keys".
pub fn request_lines(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .map(|request| {
            format!(
                "{} {}",
                request["method"].as_str().unwrap(),
                request["path"].as_str().unwrap()
            )
        })
        .collect()
}
