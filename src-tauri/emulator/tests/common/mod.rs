//! Shared helpers of the emulator's integration tests: an emulator on an ephemeral port and raw
//! HTTP calls against it.
// Helpers panic on purpose: a failed call is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use openrouter_emulator::{Emulator, EmulatorConfig};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const MANAGEMENT_KEY: &str = "sk-or-v1-test-management-key";

/// Every key of the KeyObject (Python 1.3.84 superset).
pub const KEY_OBJECT_FIELDS: &[&str] = &[
    "hash",
    "name",
    "label",
    "disabled",
    "limit",
    "limit_remaining",
    "limit_reset",
    "include_byok_in_limit",
    "usage",
    "usage_daily",
    "usage_weekly",
    "usage_monthly",
    "byok_usage",
    "byok_usage_daily",
    "byok_usage_weekly",
    "byok_usage_monthly",
    "created_at",
    "updated_at",
    "creator_user_id",
    "external_user",
    "workspace_id",
    "last_used_at",
    "expires_at",
];

/// Every key of `GET /key`'s data.
pub const CURRENT_KEY_FIELDS: &[&str] = &[
    "label",
    "limit",
    "limit_remaining",
    "limit_reset",
    "include_byok_in_limit",
    "usage",
    "usage_daily",
    "usage_weekly",
    "usage_monthly",
    "byok_usage",
    "byok_usage_daily",
    "byok_usage_weekly",
    "byok_usage_monthly",
    "is_free_tier",
    "is_management_key",
    "is_provisioning_key",
    "rate_limit",
    "creator_user_id",
    "organization_id",
    "workspace_id",
    "allowed_data_regions",
    "free_model_daily_requests",
    "budgets",
    "effective_budget",
    "expires_at",
];

pub const BUDGET_FIELDS: &[&str] = &[
    "scope",
    "budget_id",
    "guardrail_id",
    "include_byok",
    "limit_usd",
    "spend_usd",
    "remaining_usd",
    "reset_interval",
    "resets_at",
];

pub const ACTIVITY_FIELDS: &[&str] = &[
    "date",
    "model",
    "model_permaslug",
    "endpoint_id",
    "provider_name",
    "usage",
    "byok_usage_inference",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
];

pub fn assert_fields(object: &Value, fields: &[&str]) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"));
    for field in fields {
        assert!(map.contains_key(*field), "missing {field} in {object}");
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    /// Asserts an OpenRouter error: the status, a JSON body `{"error":{"code","message"}}` with the
    /// same integer code, and a message containing `message`.
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.body["error"]["code"].as_u64(),
            Some(u64::from(status)),
            "{}",
            self.body
        );
        assert!(
            self.error_message().contains(message),
            "{:?} lacks {message:?}",
            self.error_message()
        );
        assert_json(&self.headers);
    }
}

pub fn assert_json(headers: &HeaderMap) {
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}"
    );
}

pub struct Harness {
    pub emulator: Emulator,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::with(EmulatorConfig::default().management_key(MANAGEMENT_KEY)).await
    }

    pub async fn with(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        Self {
            emulator,
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        key: Option<&str>,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request succeeds");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// An API call with the management key; `path` is relative to `/api/v1`.
    pub async fn api(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.api_as(Some(MANAGEMENT_KEY), method, path, body).await
    }

    pub async fn api_as(
        &self,
        key: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let url = format!("{}{path}", self.emulator.base_url());
        self.send(key, method, url, body).await
    }

    /// A control call; `path` is relative to `/_emulator`.
    pub async fn control(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let url = format!("{}{path}", self.emulator.control_url());
        let reply = self.send(None, method, url, body).await;
        assert_json(&reply.headers);
        reply
    }

    /// Makes a workspace with this id exist (keys can only be created in an existing one).
    pub async fn ensure_workspace(&self, id: &str) {
        let body = serde_json::json!({"count": 0, "workspace_id": id});
        let reply = self.control(Method::POST, "/seed", Some(&body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    /// Creates a key; answers (secret, KeyObject).
    pub async fn create(&self, body: Value) -> (String, Value) {
        let reply = self.api(Method::POST, "/keys", Some(&body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        (
            reply.body["key"].as_str().expect("key").to_owned(),
            reply.body["data"].clone(),
        )
    }

    pub async fn record_usage(&self, hash: &str, body: Value) -> Value {
        let reply = self
            .control(Method::POST, &format!("/keys/{hash}/usage"), Some(&body))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["data"].clone()
    }

    pub async fn set_clock(&self, now: &str) {
        let reply = self
            .control(
                Method::POST,
                "/clock",
                Some(&serde_json::json!({"now": now})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    pub async fn advance(&self, seconds: f64) {
        let body = serde_json::json!({"advance_seconds": seconds});
        let reply = self.control(Method::POST, "/clock", Some(&body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    pub async fn set_faults(&self, faults: Value) {
        let reply = self.control(Method::POST, "/faults", Some(&faults)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    pub async fn key(&self, hash: &str) -> Value {
        let reply = self.api(Method::GET, &format!("/keys/{hash}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["data"].clone()
    }
}

pub fn f(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

pub fn status_of(result: &Reply) -> u16 {
    result.status.as_u16()
}

/// The status of an authorised `GET path` on the API.
pub async fn get_status(harness: &Harness, path: &str) -> u16 {
    status_of(&harness.api(Method::GET, path, None).await)
}
