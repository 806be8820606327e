//! `/observability/destinations` and `/observability/destinations/{id}`: where request logs go
//! (list with offset/limit paging, get, create, update, delete). Each type's `config` is checked
//! for its required fields; its secrets are kept and answered masked.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::byok::{resource_not_found, valid_hashes, workspace_param};
use super::validation::{body_object, query_params, valid_bool, valid_workspace};
use super::validation::{page_body, page_params};
use super::{AppState, require_management};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::state::{DEFAULT_WORKSPACE_ID, Destination, MASK_PREFIX, State, mask_config};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/observability/destinations", get(list).post(create))
        .route(
            "/observability/destinations/{id}",
            get(fetch).patch(update).delete(remove),
        )
}

/// Destination types and the config fields each requires (non-empty strings), from the spec.
pub const TYPES: &[(&str, &[&str])] = &[
    ("arize", &["apiKey", "spaceKey", "modelId"]),
    ("braintrust", &["apiKey", "projectId"]),
    ("clickhouse", &["host", "database", "username", "password"]),
    ("datadog", &["apiKey", "mlApp"]),
    ("grafana", &["apiKey", "instanceId"]),
    ("langfuse", &["secretKey", "publicKey"]),
    ("langsmith", &["apiKey"]),
    ("newrelic", &["licenseKey"]),
    ("opik", &["apiKey", "workspace", "projectName"]),
    ("otel-collector", &["endpoint"]),
    ("posthog", &["apiKey"]),
    ("ramp", &["apiKey"]),
    ("s3", &["bucketName", "accessKeyId", "secretAccessKey"]),
    ("sentry", &["otlpEndpoint", "dsn"]),
    ("snowflake", &["account", "token"]),
    ("weave", &["apiKey", "entity", "project"]),
    ("webhook", &["url"]),
];

/// "A maximum of 5 destinations per type is allowed" (per workspace here).
const MAX_PER_TYPE: usize = 5;

const RULE_FIELDS: &[&str] = &[
    "model",
    "provider",
    "session_id",
    "user_id",
    "api_key_name",
    "finish_reason",
    "input",
    "output",
    "total_cost",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
];
const RULE_OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "regex",
    "starts_with",
    "ends_with",
    "gt",
    "lt",
    "gte",
    "lte",
    "exists",
    "not_exists",
];

fn valid_type(value: &Value) -> Result<&'static [&'static str], ApiError> {
    let kind = value.as_str().unwrap_or("");
    TYPES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, required)| *required)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "\"type\" must be one of {}",
                TYPES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// A config for `kind`: an object with every required field a non-empty string and string headers.
fn check_config(
    kind: &str,
    required: &[&str],
    config: &Map<String, Value>,
) -> Result<(), ApiError> {
    for field in required {
        match config.get(*field) {
            Some(Value::String(text)) if !text.trim().is_empty() => {}
            _ => {
                return Err(ApiError::bad_request(format!(
                    "\"config.{field}\" is required for a {kind} destination and must be a non-empty string"
                )));
            }
        }
    }
    if let Some(headers) = config.get("headers") {
        let all_strings = headers
            .as_object()
            .is_some_and(|headers| headers.values().all(Value::is_string));
        if !all_strings {
            return Err(ApiError::bad_request(
                "\"config.headers\" must be an object of string values",
            ));
        }
    }
    if kind == "webhook"
        && let Some(method) = config.get("method")
        && !matches!(method.as_str(), Some("POST" | "PUT"))
    {
        return Err(ApiError::bad_request(
            "\"config.method\" must be \"POST\" or \"PUT\"",
        ));
    }
    Ok(())
}

fn config_object(value: &Value) -> Result<Map<String, Value>, ApiError> {
    value
        .as_object()
        .cloned()
        .ok_or_else(|| ApiError::bad_request("\"config\" must be an object"))
}

fn valid_filter_rules(value: &Value) -> Result<Value, ApiError> {
    let invalid = |why: &str| ApiError::bad_request(format!("\"filter_rules\" {why}"));
    let rules = match value {
        Value::Null => return Ok(Value::Null),
        Value::Object(rules) => rules,
        _ => return Err(invalid("must be an object with \"groups\", or null")),
    };
    let groups = rules
        .get("groups")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("must have a \"groups\" array"))?;
    if rules
        .get("enabled")
        .is_some_and(|enabled| !enabled.is_boolean())
    {
        return Err(invalid("\"enabled\" must be a boolean"));
    }
    for group in groups {
        if group
            .get("logic")
            .is_some_and(|logic| !matches!(logic.as_str(), Some("and" | "or")))
        {
            return Err(invalid("group \"logic\" must be \"and\" or \"or\""));
        }
        let items = group
            .get("rules")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("groups must each have a \"rules\" array"))?;
        for rule in items {
            let field = rule.get("field").and_then(Value::as_str).unwrap_or("");
            let operator = rule.get("operator").and_then(Value::as_str).unwrap_or("");
            if !RULE_FIELDS.contains(&field) || !RULE_OPERATORS.contains(&operator) {
                return Err(invalid(
                    "rules need a known \"field\" and \"operator\" (see the API reference)",
                ));
            }
            if rule
                .get("value")
                .is_some_and(|value| !(value.is_string() || value.is_number()))
            {
                return Err(invalid("rule \"value\" must be a string or a number"));
            }
        }
    }
    Ok(value.clone())
}

fn valid_sampling_rate(value: &Value) -> Result<f64, ApiError> {
    match value.as_f64() {
        Some(rate) if (0.0001..=1.0).contains(&rate) => Ok(rate),
        _ => Err(ApiError::bad_request(
            "\"sampling_rate\" must be a number from 0.0001 to 1",
        )),
    }
}

fn valid_regions(value: &Value) -> Result<Vec<String>, ApiError> {
    let invalid = || {
        ApiError::bad_request("\"regions\" must be an array of \"global\", \"europe\" or \"us\"")
    };
    let items = value.as_array().ok_or_else(invalid)?;
    let mut regions = Vec::new();
    for item in items {
        match item.as_str() {
            Some(region @ ("global" | "europe" | "us")) => {
                if !regions.iter().any(|known| known == region) {
                    regions.push(region.to_owned());
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(regions)
}

fn valid_destination_name(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(name.clone()),
        _ => Err(ApiError::bad_request(
            "\"name\" is required and must be a non-empty string",
        )),
    }
}

/// Applies the optional fields of a create or update body (config is handled by the caller).
fn apply(state: &State, dest: &mut Destination, body: &Map<String, Value>) -> Result<(), ApiError> {
    for (field, value) in body {
        match field.as_str() {
            "name" => dest.name = Some(valid_destination_name(value)?),
            "enabled" => dest.enabled = valid_bool(field, value)?,
            "privacy_mode" => dest.privacy_mode = valid_bool(field, value)?,
            "broadcast_generation_cost" => {
                dest.broadcast_generation_cost = valid_bool(field, value)?
            }
            "broadcast_generation_cost_allocation" => {
                dest.broadcast_generation_cost_allocation = valid_bool(field, value)?;
            }
            "broadcast_generation_identity" => {
                dest.broadcast_generation_identity = valid_bool(field, value)?;
            }
            "broadcast_generation_request_context" => {
                dest.broadcast_generation_request_context = valid_bool(field, value)?;
            }
            "sampling_rate" => dest.sampling_rate = valid_sampling_rate(value)?,
            "regions" => dest.regions = valid_regions(value)?,
            "filter_rules" => dest.filter_rules = valid_filter_rules(value)?,
            "api_key_hashes" => {
                dest.api_key_hashes = valid_hashes(state, field, value, false, None)?;
            }
            _ => {}
        }
    }
    Ok(())
}

async fn list(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let params = query_params(query.as_deref());
    let (offset, limit) = page_params(&params)?;
    let workspace = workspace_param(&params)?;
    let items: Vec<Value> = state
        .byok
        .destinations
        .iter()
        .filter(|dest| dest.workspace_id == workspace)
        .map(Destination::to_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        page_body(items, offset, limit),
    ))
}

async fn create(AxumState(app): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let body = body_object(&body)?;
    let kind_value = body.get("type").unwrap_or(&Value::Null);
    let required = valid_type(kind_value)?;
    let kind = kind_value.as_str().unwrap_or_default().to_owned();
    let name = valid_destination_name(body.get("name").unwrap_or(&Value::Null))?;
    let mut config = match body.get("config") {
        Some(value) => config_object(value)?,
        None => return Err(ApiError::bad_request("\"config\" is required")),
    };
    check_config(&kind, required, &config)?;
    mask_config(&mut config);
    let workspace_id = match body.get("workspace_id") {
        None | Some(Value::Null) => DEFAULT_WORKSPACE_ID.to_owned(),
        Some(value) => valid_workspace(value)?,
    };
    if !state.workspaces.exists(&workspace_id) {
        return Err(super::unknown_workspace(&workspace_id));
    }
    let now = state.now();
    let mut dest = Destination {
        id: uuid::Uuid::new_v4().to_string(),
        workspace_id,
        kind,
        name: Some(name),
        enabled: true,
        privacy_mode: false,
        broadcast_generation_cost: false,
        broadcast_generation_cost_allocation: false,
        broadcast_generation_identity: false,
        broadcast_generation_request_context: false,
        sampling_rate: 1.0,
        api_key_hashes: None,
        filter_rules: Value::Null,
        regions: vec!["global".to_owned()],
        config,
        created_at: now,
        updated_at: now,
    };
    apply(&state, &mut dest, &body)?;
    let same_type = state
        .byok
        .destinations
        .iter()
        .filter(|other| other.kind == dest.kind && other.workspace_id == dest.workspace_id)
        .count();
    if same_type >= MAX_PER_TYPE {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "A maximum of {MAX_PER_TYPE} destinations of type {} is allowed",
                dest.kind
            ),
        ));
    }
    let response = json_response(StatusCode::CREATED, json!({"data": dest.to_json()}));
    state.byok.destinations.push(dest);
    drop(state);
    app.changed();
    Ok(response)
}

async fn fetch(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let dest = state.destination(&id).ok_or_else(resource_not_found)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"data": dest.to_json()}),
    ))
}

async fn update(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let body = body_object(&body)?;
    let mut dest = state
        .destination(&id)
        .cloned()
        .ok_or_else(resource_not_found)?;
    apply(&state, &mut dest, &body)?;
    if let Some(value) = body.get("config") {
        // Given fields replace stored ones; masked values (as GET answers them) and unset fields
        // keep what is stored.
        for (field, value) in config_object(value)? {
            let masked = value
                .as_str()
                .is_some_and(|text| text.starts_with(MASK_PREFIX));
            if !masked {
                dest.config.insert(field, value);
            }
        }
        let required = valid_type(&Value::String(dest.kind.clone()))?;
        check_config(&dest.kind, required, &dest.config)?;
        mask_config(&mut dest.config);
    }
    dest.updated_at = state.now();
    let response = json_response(StatusCode::OK, json!({"data": dest.to_json()}));
    if let Some(stored) = state.destination_mut(&id) {
        *stored = dest;
    }
    drop(state);
    app.changed();
    Ok(response)
}

async fn remove(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let position = state
        .byok
        .destinations
        .iter()
        .position(|dest| dest.id == id)
        .ok_or_else(resource_not_found)?;
    state.byok.destinations.remove(position);
    drop(state);
    app.changed();
    Ok(json_response(StatusCode::OK, json!({"deleted": true})))
}
