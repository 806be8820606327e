//! The emulator-only controls under `/_emulator` (no auth, never faulted or logged): reset, seed,
//! management keys, recorded usage, the clock, faults, the request log and the traffic simulator.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::{ApiError, ApiResult, App, Data, json_response};
use crate::faults::FaultConfig;
use crate::models;
use crate::seed;
use crate::state::{KeyObject, MAX_KEYS, MAX_MANAGEMENT_KEYS, ModelUsage, new_secret, wire_time};
use crate::traffic::{self, TrafficConfig};

type AppState = AxumState<Arc<App>>;

/// Largest `count` one seed call accepts: keeps memory and the answer bounded.
pub const MAX_SEED_COUNT: usize = 100_000;
/// The clock may move at most this far from real time (about 100 years).
const MAX_CLOCK_OFFSET_MS: i64 = 100 * 366 * 86_400 * 1000;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/health", get(health))
        .route("/reset", post(reset))
        .route("/seed", post(seed_keys))
        .route("/management-keys", post(add_management_key))
        .route("/keys", get(all_keys))
        .route("/keys/{hash}/usage", post(record_usage))
        .route("/clock", get(get_clock).post(set_clock))
        .route(
            "/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/requests", get(get_requests).delete(clear_requests))
        .route("/traffic", get(get_traffic).post(set_traffic))
        .route("/credits", post(set_credits))
        .merge(crate::api::control_router())
        .merge(crate::issued::router())
}

/// Parses a control body; an empty body counts as `{}`.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text)
        .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))
}

fn ok(body: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

async fn health() -> ApiResult {
    ok(json!({"ok": true}))
}

async fn reset(AxumState(app): AppState) -> ApiResult {
    app.state().reset();
    app.faults().clear();
    *app.quirks() = crate::quirks::QuirkConfig::default();
    app.faults().reset_counts();
    app.log().clear();
    app.changed();
    ok(json!({"ok": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    count: usize,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    workspace_id: Option<String>,
    /// Spreads the keys round-robin over this many workspaces (the default one and new ones).
    #[serde(default)]
    workspaces: Option<usize>,
}

async fn seed_keys(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let request: SeedRequest = parse(&body)?;
    if request.count > MAX_SEED_COUNT {
        return Err(ApiError::bad_request(format!(
            "\"count\" must be at most {MAX_SEED_COUNT}"
        )));
    }
    let workspace = request
        .workspace_id
        .as_deref()
        .map(|text| {
            uuid::Uuid::parse_str(text)
                .map(|id| id.hyphenated().to_string())
                .map_err(|_| ApiError::bad_request("\"workspace_id\" must be a UUID"))
        })
        .transpose()?;
    if matches!(request.workspaces, Some(0 | 51..)) {
        return Err(ApiError::bad_request("\"workspaces\" must be from 1 to 50"));
    }
    let hashes = {
        let mut state = app.state();
        if state.key_count().saturating_add(request.count) > MAX_KEYS {
            return Err(ApiError::bad_request(format!(
                "the emulator holds at most {MAX_KEYS} keys"
            )));
        }
        if let Some(workspace) = &workspace {
            seed::ensure_workspace(&mut state, workspace, "Seeded workspace");
        }
        let hashes = seed::seed_demo(
            &mut state,
            request.count,
            request.seed,
            workspace.as_deref(),
        );
        match request.workspaces {
            Some(spread) if spread > 1 => {
                let targets = seed::spread_targets(&mut state, spread);
                for (index, hash) in hashes.iter().enumerate() {
                    let target = targets[index % targets.len()].clone();
                    state.patch(hash, |key| key.workspace_id = target);
                }
            }
            _ => {}
        }
        hashes
    };
    app.changed();
    ok(json!({"created": hashes.len(), "hashes": hashes}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagementKeyRequest {
    #[serde(default)]
    key: Option<String>,
}

async fn add_management_key(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let request: ManagementKeyRequest = parse(&body)?;
    let key = match request.key {
        Some(key) if key.trim().is_empty() || key.chars().any(char::is_whitespace) => {
            return Err(ApiError::bad_request(
                "\"key\" must be a non-empty string without spaces",
            ));
        }
        Some(key) => key,
        None => new_secret(&mut rand::rng()),
    };
    if !app.state().add_management_key(&key) {
        return Err(ApiError::bad_request(format!(
            "the emulator holds at most {MAX_MANAGEMENT_KEYS} management keys"
        )));
    }
    app.issued.record(&key);
    app.changed();
    ok(json!({"key": key}))
}

async fn all_keys(AxumState(app): AppState) -> ApiResult {
    let state = app.state();
    let now = state.now();
    let keys: Vec<KeyObject<'_>> = state
        .all_newest_first()
        .map(|key| key.key_object(now))
        .collect();
    Ok(json_response(StatusCode::OK, Data { data: keys }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageRequest {
    usage: f64,
    #[serde(default)]
    byok_usage: f64,
    #[serde(default)]
    requests: Option<u64>,
    #[serde(default)]
    model: Option<String>,
}

async fn record_usage(
    AxumState(app): AppState,
    Path(hash): Path<String>,
    body: Bytes,
) -> ApiResult {
    let request: UsageRequest = parse(&body)?;
    let spend_ok = |value: f64| value.is_finite() && (0.0..=1.0e9).contains(&value);
    if !spend_ok(request.usage) || !spend_ok(request.byok_usage) {
        return Err(ApiError::bad_request(
            "\"usage\" and \"byok_usage\" must be numbers between 0 and 1e9",
        ));
    }
    let model = match request.model {
        Some(model) if model.trim().is_empty() || model.len() > 200 => {
            return Err(ApiError::bad_request(
                "\"model\" must be a non-empty string of at most 200 bytes",
            ));
        }
        Some(model) => model,
        None => models::CATALOG[0].0.to_owned(),
    };
    let requests = request.requests.unwrap_or(1);
    let response = {
        let mut state = app.state();
        let now = state.now();
        let key = state.get_mut(&hash).ok_or_else(ApiError::not_found)?;
        key.record(
            now,
            &ModelUsage::synthetic(&model, request.usage, request.byok_usage, requests),
        );
        json_response(
            StatusCode::OK,
            Data {
                data: key.key_object(now),
            },
        )
    };
    app.changed();
    Ok(response)
}

fn clock_json(now: DateTime<Utc>, offset_ms: i64) -> Value {
    json!({"now": wire_time(now), "offset_seconds": offset_ms as f64 / 1000.0})
}

async fn get_clock(AxumState(app): AppState) -> ApiResult {
    let state = app.state();
    ok(clock_json(state.now(), state.clock_offset_ms))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    advance_seconds: Option<f64>,
    #[serde(default)]
    offset_seconds: Option<f64>,
}

async fn set_clock(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let request: ClockRequest = parse(&body)?;
    let seconds_to_ms = |seconds: f64, name: &str| {
        let ms = seconds * 1000.0;
        if ms.is_finite() && ms.abs() <= MAX_CLOCK_OFFSET_MS as f64 {
            Ok(ms.round() as i64)
        } else {
            Err(ApiError::bad_request(format!("\"{name}\" is out of range")))
        }
    };
    let mut state = app.state();
    let new_offset = match (request.now, request.advance_seconds, request.offset_seconds) {
        (Some(now), None, None) => {
            let target = DateTime::parse_from_rfc3339(now.trim())
                .map_err(|_| {
                    ApiError::bad_request("\"now\" must be an RFC 3339 datetime with a zone")
                })?
                .to_utc();
            // Round up so that "now" is never a fraction of a millisecond before the target.
            let micros = (target - Utc::now()).num_microseconds().ok_or_else(|| {
                ApiError::bad_request("the clock may move at most 100 years from real time")
            })?;
            micros.div_euclid(1000) + i64::from(micros.rem_euclid(1000) != 0)
        }
        (None, Some(advance), None) => state
            .clock_offset_ms
            .saturating_add(seconds_to_ms(advance, "advance_seconds")?),
        (None, None, Some(offset)) => seconds_to_ms(offset, "offset_seconds")?,
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of \"now\", \"advance_seconds\" or \"offset_seconds\"",
            ));
        }
    };
    if new_offset.abs() > MAX_CLOCK_OFFSET_MS || TimeDelta::try_milliseconds(new_offset).is_none() {
        return Err(ApiError::bad_request(
            "the clock may move at most 100 years from real time",
        ));
    }
    state.clock_offset_ms = new_offset;
    let answer = clock_json(state.now(), state.clock_offset_ms);
    drop(state);
    app.changed();
    ok(answer)
}

async fn get_faults(AxumState(app): AppState) -> ApiResult {
    ok(app.faults().describe(Instant::now()))
}

async fn set_faults(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let config: FaultConfig = parse(&body)?;
    config.validate().map_err(ApiError::bad_request)?;
    let mut faults = app.faults();
    let now = Instant::now();
    faults.configure(config, now);
    ok(faults.describe(now))
}

async fn clear_faults(AxumState(app): AppState) -> ApiResult {
    let mut faults = app.faults();
    faults.clear();
    ok(faults.describe(Instant::now()))
}

async fn get_requests(AxumState(app): AppState) -> ApiResult {
    ok(app.log().to_json())
}

async fn clear_requests(AxumState(app): AppState) -> ApiResult {
    app.log().clear();
    ok(json!({"requests": []}))
}

async fn get_traffic(AxumState(app): AppState) -> ApiResult {
    ok(traffic::describe(&app))
}

async fn set_traffic(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let request: TrafficConfig = parse(&body)?;
    request.validate().map_err(ApiError::bad_request)?;
    traffic::configure(&app, request);
    ok(traffic::describe(&app))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditsRequest {
    total_credits: f64,
}

async fn set_credits(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let request: CreditsRequest = parse(&body)?;
    if !(request.total_credits.is_finite() && request.total_credits >= 0.0) {
        return Err(ApiError::bad_request(
            "\"total_credits\" must be a non-negative number",
        ));
    }
    app.state().total_credits = request.total_credits;
    app.changed();
    ok(json!({"total_credits": request.total_credits}))
}
