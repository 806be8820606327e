//! The emulated OpenRouter API under `/api/v1`: authentication, validation and the key, credits and
//! activity endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use chrono::{Days, NaiveDate};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::{ApiError, ApiResult, App, Data, json_response};
use crate::models;
use crate::state::{
    ACCOUNT_USER_ID, Caller, DEFAULT_WORKSPACE_ID, DailyUsage, KeyObject, KeyRecord, LimitReset,
    ListFilter, MAX_KEYS, ModelUsage, State, label_for, money, new_secret, sha256_hex,
};

mod analytics;
mod byok;
mod catalog;
mod chat;
mod guardrails;
mod observability;
mod validation;
mod workspace_fields;
mod workspaces;

pub use workspaces::control_router;

use validation::{
    body_object, parse_workspace, query_bool, query_params, valid_bool, valid_expires_at,
    valid_external, valid_limit, valid_limit_reset, valid_name, valid_workspace,
};

type AppState = AxumState<Arc<App>>;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/", get(list_keys).post(create_key))
        .route(
            "/keys/{hash}",
            get(get_key).patch(update_key).delete(delete_key),
        )
        .route("/key", get(current_key))
        .fallback(not_found)
        .route("/credits", get(credits))
        .route("/activity", get(activity))
        .merge(byok::router())
        .merge(observability::router())
        .merge(analytics::router())
        .merge(guardrails::router())
        .merge(catalog::router())
        .merge(chat::router())
        .merge(workspaces::router())
}

// ---------------------------------------------------------------------------------------------
// Authentication

const MANAGEMENT_ONLY: &str = "Only management keys can perform this operation";

/// The bearer token of the request. A missing header, or one without a `Bearer` token, is
/// "missing"; anything else is looked up by its hash.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || ApiError::new(StatusCode::UNAUTHORIZED, "Missing Authentication header");
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key"))?
        .trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

fn authenticate(state: &State, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer_token(headers)?;
    state
        .authenticate(token)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key"))
}

fn require_management(state: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    match authenticate(state, headers)? {
        Caller::Management(_) => Ok(()),
        Caller::Inference(_) => Err(ApiError::new(StatusCode::FORBIDDEN, MANAGEMENT_ONLY)),
    }
}

/// A `workspace_id` naming no workspace: 400, the only client error `POST /keys` documents.
fn unknown_workspace(workspace_id: &str) -> ApiError {
    ApiError::bad_request(format!(
        "\"workspace_id\" names no workspace of this account: {workspace_id}"
    ))
}

fn data(value: Value) -> Data<Value> {
    Data { data: value }
}

/// The 201 of `POST /keys`: the secret, only here, at the top level.
#[derive(Serialize)]
struct Created<'a> {
    key: &'a str,
    data: KeyObject<'a>,
}

// ---------------------------------------------------------------------------------------------
// /keys

async fn list_keys(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let params = query_params(query.as_deref());
    let offset = match params.get("offset") {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request("\"offset\" must be a non-negative integer"))?,
    };
    let include_disabled = query_bool(&params, "include_disabled")?;
    let include_expired = query_bool(&params, "include_expired")?;
    let workspace_id = match params.get("workspace_id") {
        Some(text) => parse_workspace(text)?,
        None => DEFAULT_WORKSPACE_ID.to_owned(),
    };
    let now = state.now();
    let filter = ListFilter {
        include_disabled,
        include_expired,
        workspace_id: &workspace_id,
    };
    let page: Vec<KeyObject<'_>> = state
        .list_page(&filter, offset, now)
        .into_iter()
        .map(|key| key.key_object(now))
        .collect();
    Ok(json_response(StatusCode::OK, Data { data: page }))
}

async fn create_key(AxumState(app): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let body = body_object(&body)?;
    let now = state.now();
    let name = valid_name(body.get("name").unwrap_or(&Value::Null))?;
    let limit = body.get("limit").map(valid_limit).transpose()?.flatten();
    let limit_reset = body
        .get("limit_reset")
        .map(valid_limit_reset)
        .transpose()?
        .flatten();
    let include_byok_in_limit = match body.get("include_byok_in_limit") {
        None | Some(Value::Null) => false,
        Some(value) => valid_bool("include_byok_in_limit", value)?,
    };
    let expires_at = body
        .get("expires_at")
        .map(|value| valid_expires_at(value, now))
        .transpose()?
        .flatten();
    let creator_user_id = match body.get("creator_user_id") {
        None | Some(Value::Null) => ACCOUNT_USER_ID.to_owned(),
        Some(Value::String(user)) if !user.trim().is_empty() => user.clone(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"creator_user_id\" must be a non-empty string or null",
            ));
        }
    };
    let workspace_id = match body.get("workspace_id") {
        None | Some(Value::Null) => DEFAULT_WORKSPACE_ID.to_owned(),
        Some(value) => valid_workspace(value)?,
    };
    if !state.workspaces.exists(&workspace_id) {
        return Err(unknown_workspace(&workspace_id));
    }
    let (external_user, external_api_key_sha256) = match body.get("external") {
        None => (None, None),
        Some(value) => valid_external(value)?,
    };

    if state.key_count() >= MAX_KEYS {
        return Err(ApiError::bad_request(format!(
            "This account has reached the emulator's limit of {MAX_KEYS} keys"
        )));
    }
    let secret = new_secret(&mut rand::rng());
    let record = KeyRecord {
        hash: sha256_hex(&secret),
        seq: state.next_seq(),
        name,
        label: label_for(&secret),
        disabled: false,
        limit,
        limit_reset,
        include_byok_in_limit,
        created_at: now,
        updated_at: None,
        expires_at,
        last_used_at: None,
        creator_user_id: Some(creator_user_id),
        external_user,
        external_api_key_sha256,
        workspace_id,
        total_usage: 0.0,
        total_byok_usage: 0.0,
        days: DailyUsage::default(),
    };
    let response = json_response(
        StatusCode::CREATED,
        Created {
            key: &secret,
            data: record.key_object(now),
        },
    );
    state.insert(record);
    drop(state);
    app.issued.record(&secret);
    app.changed();
    Ok(response)
}

async fn get_key(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let now = state.now();
    let key = state.get(&hash).ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        Data {
            data: key.key_object(now),
        },
    ))
}

/// Validated PATCH fields; `Some(None)` clears a nullable field.
#[derive(Default)]
struct Update {
    name: Option<String>,
    disabled: Option<bool>,
    limit: Option<Option<f64>>,
    limit_reset: Option<Option<LimitReset>>,
    include_byok_in_limit: Option<bool>,
    workspace_id: Option<String>,
}

fn parse_update(body: &Map<String, Value>) -> Result<Update, ApiError> {
    const ACCEPTED: [&str; 6] = [
        "name",
        "disabled",
        "limit",
        "limit_reset",
        "include_byok_in_limit",
        "workspace_id",
    ];
    if !ACCEPTED.iter().any(|field| body.contains_key(*field)) {
        return Err(ApiError::bad_request("No update fields provided"));
    }
    Ok(Update {
        name: body.get("name").map(valid_name).transpose()?,
        disabled: body
            .get("disabled")
            .map(|value| valid_bool("disabled", value))
            .transpose()?,
        limit: body.get("limit").map(valid_limit).transpose()?,
        limit_reset: body.get("limit_reset").map(valid_limit_reset).transpose()?,
        include_byok_in_limit: body
            .get("include_byok_in_limit")
            .map(|value| valid_bool("include_byok_in_limit", value))
            .transpose()?,
        workspace_id: body.get("workspace_id").map(valid_workspace).transpose()?,
    })
}

async fn update_key(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let update = parse_update(&body_object(&body)?)?;
    if let Some(workspace_id) = &update.workspace_id
        && !state.workspaces.exists(workspace_id)
    {
        return Err(unknown_workspace(workspace_id));
    }
    let now = state.now();
    let response = state
        .patch(&hash, |key| {
            if let Some(name) = update.name {
                key.name = name;
            }
            if let Some(disabled) = update.disabled {
                key.disabled = disabled;
            }
            if let Some(limit) = update.limit {
                key.limit = limit;
            }
            if let Some(limit_reset) = update.limit_reset {
                key.limit_reset = limit_reset;
            }
            if let Some(include) = update.include_byok_in_limit {
                key.include_byok_in_limit = include;
            }
            if let Some(workspace_id) = update.workspace_id {
                key.workspace_id = workspace_id;
            }
            key.updated_at = Some(now);
            json_response(
                StatusCode::OK,
                Data {
                    data: key.key_object(now),
                },
            )
        })
        .ok_or_else(ApiError::not_found)?;
    drop(state);
    app.changed();
    Ok(response)
}

async fn delete_key(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let today = state.now().date_naive();
    state.remove(&hash, today).ok_or_else(ApiError::not_found)?;
    drop(state);
    app.changed();
    Ok(json_response(StatusCode::OK, json!({"deleted": true})))
}

// ---------------------------------------------------------------------------------------------
// /key, /credits

async fn current_key(AxumState(app): AppState, headers: HeaderMap) -> ApiResult {
    let state = app.state();
    let now = state.now();
    let current = match authenticate(&state, &headers)? {
        Caller::Management(hash) => state
            .management_key(&hash)
            .map(|key| key.current_key())
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key"))?,
        Caller::Inference(hash) => {
            let key = state
                .get(&hash)
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key"))?;
            if key.disabled {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "API key is disabled",
                ));
            }
            if key.is_expired(now) {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "API key has expired",
                ));
            }
            key.current_key(now)
        }
    };
    Ok(json_response(StatusCode::OK, data(current)))
}

async fn credits(AxumState(app): AppState, headers: HeaderMap) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    Ok(json_response(
        StatusCode::OK,
        data(json!({
            "total_credits": money(state.total_credits),
            "total_usage": money(state.total_usage()),
        })),
    ))
}

// ---------------------------------------------------------------------------------------------
// /activity

/// Days `/activity` covers: the last 30 completed UTC days (today excluded).
const ACTIVITY_DAYS: u64 = 30;

fn parse_activity_date(
    text: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<NaiveDate, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "\"date\" must be a YYYY-MM-DD date within the last 30 completed UTC days ({first} to {last})"
        ))
    };
    if text.len() != 10 {
        return Err(invalid());
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())?;
    if date < first || date > last {
        return Err(invalid());
    }
    Ok(date)
}

type ActivityKey = (std::cmp::Reverse<NaiveDate>, String, Option<String>);

async fn activity(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let params = query_params(query.as_deref());
    let today = state.now().date_naive();
    let last = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let first = today
        .checked_sub_days(Days::new(ACTIVITY_DAYS))
        .unwrap_or(today);
    let (from, to) = match params.get("date") {
        Some(text) => {
            let date = parse_activity_date(text, first, last)?;
            (date, date)
        }
        None => (first, last),
    };
    let group_by_workspace = match params.get("group_by").map(String::as_str) {
        None | Some("") => false,
        Some("workspace") => true,
        Some(_) => return Err(ApiError::bad_request("\"group_by\" must be \"workspace\"")),
    };
    let workspace = params
        .get("workspace_id")
        .map(|text| parse_workspace(text))
        .transpose()?;
    let user = params.get("user_id").cloned();
    let key_hash = params.get("api_key_hash").cloned();
    if let Some(hash) = &key_hash
        && state.get(hash).is_none()
    {
        return Err(ApiError::not_found());
    }

    let wanted = |workspace_id: &str, creator: Option<&str>| {
        workspace
            .as_deref()
            .is_none_or(|wanted| wanted == workspace_id)
            && user.as_deref().is_none_or(|wanted| Some(wanted) == creator)
    };
    let mut items: BTreeMap<ActivityKey, ModelUsage> = BTreeMap::new();
    let mut add = |date: NaiveDate, workspace_id: &str, usage: &ModelUsage| {
        let group = group_by_workspace.then(|| workspace_id.to_owned());
        items
            .entry((std::cmp::Reverse(date), usage.model.clone(), group))
            .or_insert_with(|| ModelUsage {
                model: usage.model.clone(),
                ..ModelUsage::default()
            })
            .absorb(usage);
    };
    let keys: Box<dyn Iterator<Item = &KeyRecord>> = match &key_hash {
        Some(hash) => Box::new(state.get(hash).into_iter()),
        None => Box::new(state.all_newest_first()),
    };
    for key in keys.filter(|key| wanted(&key.workspace_id, key.creator_user_id.as_deref())) {
        for (date, buckets) in key.days.range(from, to) {
            for bucket in buckets {
                add(*date, &key.workspace_id, bucket);
            }
        }
    }
    if key_hash.is_none() {
        for (date, buckets) in state.retired().days.range(from..=to) {
            for (workspace_id, creator, bucket) in buckets {
                if wanted(workspace_id, creator.as_deref()) {
                    add(*date, workspace_id, bucket);
                }
            }
        }
    }

    let list: Vec<Value> = items
        .into_iter()
        .map(|((date, model, group), usage)| {
            let (permaslug, endpoint_id, provider) = models::describe(&model);
            let mut item = json!({
                "date": date.0.format("%Y-%m-%d").to_string(),
                "model": model,
                "model_permaslug": permaslug,
                "endpoint_id": endpoint_id,
                "provider_name": provider,
                "usage": money(usage.usage),
                "byok_usage_inference": money(usage.byok_usage),
                "requests": usage.requests,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "reasoning_tokens": usage.reasoning_tokens,
                "cached_tokens": usage.cached_tokens,
            });
            if let (Some(workspace_id), Some(map)) = (group, item.as_object_mut()) {
                map.insert("workspace_id".into(), json!(workspace_id));
            }
            item
        })
        .collect();
    Ok(json_response(StatusCode::OK, data(Value::Array(list))))
}

/// Unknown paths under `/api/v1` (inside the fault gate, so they are faulted and logged too).
async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}
