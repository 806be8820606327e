//! `/byok` and `/byok/{id}`: bring-your-own-key provider credentials (list with offset/limit paging,
//! get, create, update, delete). The provider key is write-only: only its masked `label` is kept.
//! Also the list paging and allowlist validation `/observability/destinations` shares.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::validation::{
    body_object, page_body, page_params, parse_workspace, query_params, valid_bool, valid_workspace,
};
use super::{AppState, require_management};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::state::{ByokKey, DEFAULT_WORKSPACE_ID, State, byok_label};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/byok", get(list).post(create))
        .route("/byok/{id}", get(fetch).patch(update).delete(remove))
}

/// `BYOKProviderSlug` of the spec.
pub const PROVIDERS: &[&str] = &[
    "ai21",
    "aion-labs",
    "akashml",
    "alibaba",
    "amazon-bedrock",
    "amazon-nova",
    "ambient",
    "anthropic",
    "arcee-ai",
    "atlas-cloud",
    "avian",
    "azure",
    "baidu",
    "baseten",
    "black-forest-labs",
    "byteplus",
    "cerebras",
    "chutes",
    "cirrascale",
    "clarifai",
    "cloudflare",
    "cohere",
    "coreweave",
    "crusoe",
    "darkbloom",
    "databricks",
    "decart",
    "deepgram",
    "deepinfra",
    "deepseek",
    "dekallm",
    "digitalocean",
    "featherless",
    "fireworks",
    "fish-audio",
    "friendli",
    "gmicloud",
    "google-ai-studio",
    "google-vertex",
    "groq",
    "heygen",
    "inception",
    "inceptron",
    "inferact-vllm",
    "inference-net",
    "infermatic",
    "inflection",
    "io-net",
    "ionstream",
    "krea",
    "liquid",
    "makora",
    "mancer",
    "mara",
    "meta",
    "minimax",
    "mistral",
    "modal",
    "modelrun",
    "modular",
    "moonshotai",
    "morph",
    "ncompass",
    "nebius",
    "nex-agi",
    "nextbit",
    "novita",
    "nvidia",
    "open-inference",
    "openai",
    "parasail",
    "perceptron",
    "perplexity",
    "phala",
    "poolside",
    "quiver",
    "recraft",
    "reka",
    "relace",
    "runway",
    "sail-research",
    "sakana",
    "sakana-ai",
    "sambanova",
    "seed",
    "siliconflow",
    "sourceful",
    "stepfun",
    "streamlake",
    "switchpoint",
    "tencent",
    "tenstorrent",
    "thinkingmachines",
    "together",
    "upstage",
    "venice",
    "wafer",
    "wandb",
    "wandb-legacy",
    "xai",
    "xiaomi",
    "z-ai",
];

/// The most items an allowlist holds (`maxItems` of the spec).
const MAX_LIST: usize = 100;
/// The most BYOK credentials the emulator keeps (memory stays bounded).
const MAX_BYOK_KEYS: usize = 10_000;

pub(super) fn resource_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Resource not found")
}

/// The workspace of a list query: `workspace_id` or the default workspace.
pub(super) fn workspace_param(params: &BTreeMap<String, String>) -> Result<String, ApiError> {
    match params.get("workspace_id") {
        Some(text) => parse_workspace(text),
        None => Ok(DEFAULT_WORKSPACE_ID.to_owned()),
    }
}

/// An allowlist of key hashes: `null` (no restriction) or 1–100 lowercase SHA-256 hex strings,
/// duplicates dropped. With `must_exist`, every hash must be a key of the account, except those
/// already in the list (`current`): a deleted key's hash stays in the lists naming it, and sending
/// such a list back (to add or remove another hash) must still work.
pub(super) fn valid_hashes(
    state: &State,
    field: &str,
    value: &Value,
    must_exist: bool,
    current: Option<&[String]>,
) -> Result<Option<Vec<String>>, ApiError> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => {
            return Err(ApiError::bad_request(format!(
                "\"{field}\" must be an array of key hashes or null"
            )));
        }
    };
    if items.is_empty() || items.len() > MAX_LIST {
        return Err(ApiError::bad_request(format!(
            "\"{field}\" must hold 1 to {MAX_LIST} key hashes (null removes the restriction)"
        )));
    }
    let mut hashes: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let hash = match item {
            Value::String(hash)
                if hash.len() == 64
                    && hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
            {
                hash
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "\"{field}\" items must be 64-character lowercase hex key hashes"
                )));
            }
        };
        let known = current.is_some_and(|current| current.contains(hash));
        if must_exist && !known && state.get(hash).is_none() {
            return Err(ApiError::bad_request(format!(
                "\"{field}\": {hash} is not a key of this account"
            )));
        }
        if !hashes.contains(hash) {
            hashes.push(hash.clone());
        }
    }
    Ok(Some(hashes))
}

/// `null` or up to 100 strings.
fn valid_strings(field: &str, value: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "\"{field}\" must be an array of at most {MAX_LIST} strings or null"
        ))
    };
    match value {
        Value::Null => Ok(None),
        Value::Array(items) if items.len() <= MAX_LIST => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(invalid()),
    }
}

fn valid_provider(value: &Value) -> Result<String, ApiError> {
    match value.as_str() {
        Some(provider) if PROVIDERS.contains(&provider) => Ok(provider.to_owned()),
        _ => Err(ApiError::bad_request(
            "\"provider\" must be a provider slug such as \"openai\", \"anthropic\" or \"amazon-bedrock\"",
        )),
    }
}

fn valid_provider_key(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(key) if !key.trim().is_empty() => Ok(byok_label(key.trim())),
        _ => Err(ApiError::bad_request(
            "\"key\" must be a non-empty string (the provider's API key)",
        )),
    }
}

fn valid_byok_name(value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(name) if name.chars().count() <= 255 => Ok(Some(name.clone())),
        _ => Err(ApiError::bad_request(
            "\"name\" must be a string of at most 255 characters or null",
        )),
    }
}

fn valid_region(value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(region) if ["global", "europe", "us"].contains(&region.as_str()) => {
            Ok(Some(region.clone()))
        }
        _ => Err(ApiError::bad_request(
            "\"declared_region\" must be \"global\", \"europe\", \"us\" or null",
        )),
    }
}

fn valid_optional_bool(field: &str, value: &Value) -> Result<Option<bool>, ApiError> {
    match value {
        Value::Null => Ok(None),
        other => valid_bool(field, other).map(Some),
    }
}

/// Applies the fields of a create or update body to `key` (the caller checks required ones).
fn apply(state: &State, key: &mut ByokKey, body: &Map<String, Value>) -> Result<(), ApiError> {
    for (field, value) in body {
        match field.as_str() {
            "key" => key.label = valid_provider_key(value)?,
            "name" => key.name = valid_byok_name(value)?,
            "disabled" => key.disabled = valid_bool(field, value)?,
            "is_fallback" => key.is_fallback = valid_bool(field, value)?,
            "is_byok_only" => key.is_byok_only = valid_bool(field, value)?,
            "is_required" => key.is_required = valid_bool(field, value)?,
            "declared_region" => key.declared_region = valid_region(value)?,
            "declared_zdr" => key.declared_zdr = valid_optional_bool(field, value)?,
            "allowed_models" => key.allowed_models = valid_strings(field, value)?,
            "allowed_user_ids" => key.allowed_user_ids = valid_strings(field, value)?,
            "allowed_api_key_hashes" => {
                key.allowed_api_key_hashes = valid_hashes(
                    state,
                    field,
                    value,
                    true,
                    key.allowed_api_key_hashes.as_deref(),
                )?;
            }
            _ => {}
        }
    }
    if key.is_fallback && key.is_byok_only {
        return Err(ApiError::bad_request(
            "\"is_fallback\" cannot be combined with \"is_byok_only\"",
        ));
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
    let provider = params
        .get("provider")
        .map(|text| valid_provider(&Value::String(text.clone())))
        .transpose()?;
    let items: Vec<Value> = state
        .byok
        .keys
        .iter()
        .filter(|key| key.workspace_id.as_deref() == Some(workspace.as_str()))
        .filter(|key| {
            provider
                .as_deref()
                .is_none_or(|wanted| key.provider == wanted)
        })
        .map(ByokKey::to_json)
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
    let provider = valid_provider(body.get("provider").unwrap_or(&Value::Null))?;
    let label = valid_provider_key(body.get("key").unwrap_or(&Value::Null))?;
    let workspace_id = match body.get("workspace_id") {
        None | Some(Value::Null) => DEFAULT_WORKSPACE_ID.to_owned(),
        Some(value) => valid_workspace(value)?,
    };
    if !state.workspaces.exists(&workspace_id) {
        return Err(super::unknown_workspace(&workspace_id));
    }
    if state.byok.keys.len() >= MAX_BYOK_KEYS {
        return Err(ApiError::bad_request(format!(
            "This account has reached the emulator's limit of {MAX_BYOK_KEYS} BYOK credentials"
        )));
    }
    let sort_order = state
        .byok
        .keys
        .iter()
        .filter(|key| {
            key.provider == provider && key.workspace_id.as_deref() == Some(workspace_id.as_str())
        })
        .count() as i64;
    let mut key = ByokKey {
        id: uuid::Uuid::new_v4().to_string(),
        provider,
        workspace_id: Some(workspace_id),
        name: None,
        label,
        disabled: false,
        is_fallback: false,
        is_byok_only: false,
        is_required: false,
        declared_region: None,
        declared_zdr: None,
        allowed_models: None,
        allowed_api_key_hashes: None,
        allowed_user_ids: None,
        sort_order,
        created_at: state.now(),
    };
    apply(&state, &mut key, &body)?;
    let response = json_response(StatusCode::CREATED, json!({"data": key.to_json()}));
    state.byok.keys.push(key);
    drop(state);
    app.changed();
    Ok(response)
}

async fn fetch(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let key = state.byok_key(&id).ok_or_else(resource_not_found)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"data": key.to_json()}),
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
    let mut key = state
        .byok_key(&id)
        .cloned()
        .ok_or_else(resource_not_found)?;
    apply(&state, &mut key, &body)?;
    let response = json_response(StatusCode::OK, json!({"data": key.to_json()}));
    if let Some(stored) = state.byok_key_mut(&id) {
        *stored = key;
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
        .keys
        .iter()
        .position(|key| key.id == id)
        .ok_or_else(resource_not_found)?;
    state.byok.keys.remove(position);
    drop(state);
    app.changed();
    Ok(json_response(StatusCode::OK, json!({"deleted": true})))
}
