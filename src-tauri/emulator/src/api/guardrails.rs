//! `/guardrails`: CRUD (PATCH replaces whole arrays), key and member assignments per guardrail and
//! account-wide, with the documented paging (`offset`, `limit` ≤ 100, `total_count`). Management key
//! only. Assigning an unknown key hash or user id is a 404 and assigns nothing (the spec documents 404
//! "Resource does not exist"); removing one that is not assigned just doesn't count.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::validation::{body_object, parse_workspace, query_params, valid_workspace};
use super::{AppState, require_management};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::models;
use crate::state::{ACCOUNT_USER_ID, DEFAULT_WORKSPACE_ID, Guardrail, LimitReset, State};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/guardrails", get(list).post(create))
        .route("/guardrails/assignments/keys", get(all_key_assignments))
        .route(
            "/guardrails/assignments/members",
            get(all_member_assignments),
        )
        .route("/guardrails/{id}", get(read).patch(update).delete(delete))
        .route(
            "/guardrails/{id}/assignments/keys",
            get(key_assignments).post(assign_keys),
        )
        .route(
            "/guardrails/{id}/assignments/keys/remove",
            post(unassign_keys),
        )
        .route(
            "/guardrails/{id}/assignments/members",
            get(member_assignments).post(assign_members),
        )
        .route(
            "/guardrails/{id}/assignments/members/remove",
            post(unassign_members),
        )
}

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 1000;
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 100;

fn guardrail_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Guardrail not found")
}

/// `offset` (≥ 0, default 0) and `limit` (1–100, default 50) of the list endpoints.
fn paging(params: &BTreeMap<String, String>) -> Result<(usize, usize), ApiError> {
    let offset = match params.get("offset").map(String::as_str) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request("\"offset\" must be a non-negative integer"))?,
    };
    let limit = match params.get("limit").map(String::as_str) {
        None | Some("") => DEFAULT_PAGE,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
            _ => {
                return Err(ApiError::bad_request(
                    "\"limit\" must be an integer from 1 to 100",
                ));
            }
        },
    };
    Ok((offset, limit))
}

/// `{"data": page, "total_count": n}`.
fn paged(items: Vec<Value>, offset: usize, limit: usize) -> ApiResult {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"data": page, "total_count": total}),
    ))
}

// ---------------------------------------------------------------------------------------------
// Body validation

fn valid_guardrail_name(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(name)
            if !name.trim().is_empty() && name.chars().count() <= MAX_NAME_CHARS =>
        {
            Ok(name.clone())
        }
        _ => Err(ApiError::bad_request(
            "\"name\" is required and must be a string of 1 to 200 characters",
        )),
    }
}

fn valid_description(value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.chars().count() <= MAX_DESCRIPTION_CHARS => {
            Ok(Some(text.clone()))
        }
        _ => Err(ApiError::bad_request(
            "\"description\" must be a string of at most 1000 characters or null",
        )),
    }
}

fn valid_limit_usd(value: &Value) -> Result<Option<f64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => match number.as_f64() {
            Some(limit) if limit.is_finite() && limit >= 0.0 => Ok(Some(limit)),
            _ => Err(ApiError::bad_request(
                "\"limit_usd\" must be a non-negative number or null",
            )),
        },
        _ => Err(ApiError::bad_request(
            "\"limit_usd\" must be a non-negative number or null",
        )),
    }
}

fn valid_reset_interval(value: &Value) -> Result<Option<LimitReset>, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "\"reset_interval\" must be one of \"daily\", \"weekly\", \"monthly\" or null",
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::String(text) => text.parse::<LimitReset>().map(Some).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

fn valid_optional_bool(name: &str, value: &Value) -> Result<Option<bool>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(flag) => Ok(Some(*flag)),
        _ => Err(ApiError::bad_request(format!(
            "\"{name}\" must be a boolean or null"
        ))),
    }
}

/// A non-empty array of non-empty strings, or null; duplicates dropped, order kept.
fn valid_string_list(name: &str, value: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "\"{name}\" must be a non-empty array of non-empty strings or null"
        ))
    };
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(invalid()),
    };
    let mut list: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let text = item
            .as_str()
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(invalid)?;
        if !list.iter().any(|existing| existing == text) {
            list.push(text.to_owned());
        }
    }
    Ok(Some(list))
}

/// Model lists: every entry a known model (slug or canonical slug), stored as canonical slugs.
fn valid_models(name: &str, value: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = valid_string_list(name, value)? else {
        return Ok(None);
    };
    let mut canonical: Vec<String> = Vec::with_capacity(list.len());
    for slug in list {
        let model = models::find_model(&slug).ok_or_else(|| {
            ApiError::bad_request(format!("\"{name}\": unknown model \"{slug}\""))
        })?;
        if !canonical
            .iter()
            .any(|existing| existing == model.canonical_slug)
        {
            canonical.push(model.canonical_slug.to_owned());
        }
    }
    Ok(Some(canonical))
}

/// Provider lists: provider slugs (lowercase letters, digits, `-`, `.`, `_`).
fn valid_providers(name: &str, value: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let list = valid_string_list(name, value)?;
    if let Some(bad) = list.iter().flatten().find(|provider| {
        !provider
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c))
    }) {
        return Err(ApiError::bad_request(format!(
            "\"{name}\": \"{bad}\" is not a provider slug (e.g. \"openai\")"
        )));
    }
    Ok(list)
}

fn valid_filters(name: &str, value: &Value) -> Result<Option<Value>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Array(items) if items.iter().all(Value::is_object) => Ok(Some(value.clone())),
        _ => Err(ApiError::bad_request(format!(
            "\"{name}\" must be an array of objects or null"
        ))),
    }
}

const ZDR_FIELDS: [&str; 5] = [
    "enforce_zdr_anthropic",
    "enforce_zdr_google",
    "enforce_zdr_openai",
    "enforce_zdr_other",
    "enforce_zdr_xai",
];

const UPDATE_FIELDS: [&str; 20] = [
    "name",
    "description",
    "limit_usd",
    "reset_interval",
    "allowed_models",
    "ignored_models",
    "allowed_providers",
    "ignored_providers",
    "enforce_zdr",
    "enforce_zdr_anthropic",
    "enforce_zdr_google",
    "enforce_zdr_openai",
    "enforce_zdr_other",
    "enforce_zdr_xai",
    "enable_free_model_publication",
    "enable_free_model_training",
    "enable_paid_model_training",
    "include_byok_in_budgets",
    "content_filters",
    "content_filter_builtins",
];

/// Applies every field present in `body` to `guardrail` (replace semantics: arrays are whole).
fn apply(guardrail: &mut Guardrail, body: &Map<String, Value>) -> Result<(), ApiError> {
    let mut next = guardrail.clone();
    for (field, value) in body {
        match field.as_str() {
            "name" => next.name = valid_guardrail_name(value)?,
            "description" => next.description = valid_description(value)?,
            "limit_usd" => next.limit_usd = valid_limit_usd(value)?,
            "reset_interval" => next.reset_interval = valid_reset_interval(value)?,
            "allowed_models" => next.allowed_models = valid_models(field, value)?,
            "ignored_models" => next.ignored_models = valid_models(field, value)?,
            "allowed_providers" => next.allowed_providers = valid_providers(field, value)?,
            "ignored_providers" => next.ignored_providers = valid_providers(field, value)?,
            "enforce_zdr_anthropic" => {
                next.enforce_zdr_anthropic = valid_optional_bool(field, value)?
            }
            "enforce_zdr_google" => next.enforce_zdr_google = valid_optional_bool(field, value)?,
            "enforce_zdr_openai" => next.enforce_zdr_openai = valid_optional_bool(field, value)?,
            "enforce_zdr_other" => next.enforce_zdr_other = valid_optional_bool(field, value)?,
            "enforce_zdr_xai" => next.enforce_zdr_xai = valid_optional_bool(field, value)?,
            "enable_free_model_publication" => {
                next.enable_free_model_publication = valid_optional_bool(field, value)?;
            }
            "enable_free_model_training" => {
                next.enable_free_model_training = valid_optional_bool(field, value)?;
            }
            "enable_paid_model_training" => {
                next.enable_paid_model_training = valid_optional_bool(field, value)?;
            }
            "include_byok_in_budgets" => {
                next.include_byok_in_budgets = value.as_bool().ok_or_else(|| {
                    ApiError::bad_request("\"include_byok_in_budgets\" must be a boolean")
                })?;
            }
            "content_filters" => next.content_filters = valid_filters(field, value)?,
            "content_filter_builtins" => {
                next.content_filter_builtins = valid_filters(field, value)?;
            }
            _ => {}
        }
    }
    // The deprecated `enforce_zdr` fills every per-provider field the request did not name.
    if let Some(value) = body.get("enforce_zdr") {
        let zdr = valid_optional_bool("enforce_zdr", value)?;
        for field in ZDR_FIELDS
            .iter()
            .filter(|field| !body.contains_key(**field))
        {
            let slot = match *field {
                "enforce_zdr_anthropic" => &mut next.enforce_zdr_anthropic,
                "enforce_zdr_google" => &mut next.enforce_zdr_google,
                "enforce_zdr_openai" => &mut next.enforce_zdr_openai,
                "enforce_zdr_other" => &mut next.enforce_zdr_other,
                _ => &mut next.enforce_zdr_xai,
            };
            *slot = zdr;
        }
    }
    *guardrail = next;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Guardrail CRUD

async fn list(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let params = query_params(query.as_deref());
    let (offset, limit) = paging(&params)?;
    let workspace_id = match params.get("workspace_id") {
        Some(text) => parse_workspace(text)?,
        None => DEFAULT_WORKSPACE_ID.to_owned(),
    };
    let items = state
        .guardrails()
        .guardrails
        .iter()
        .filter(|guardrail| guardrail.workspace_id == workspace_id)
        .map(Guardrail::to_json)
        .collect();
    paged(items, offset, limit)
}

async fn create(AxumState(app): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let body = body_object(&body)?;
    let name = valid_guardrail_name(body.get("name").unwrap_or(&Value::Null))?;
    let workspace_id = match body.get("workspace_id") {
        None | Some(Value::Null) => DEFAULT_WORKSPACE_ID.to_owned(),
        Some(value) => valid_workspace(value)?,
    };
    let mut guardrail = Guardrail {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description: None,
        limit_usd: None,
        reset_interval: None,
        allowed_models: None,
        ignored_models: None,
        allowed_providers: None,
        ignored_providers: None,
        enforce_zdr_anthropic: None,
        enforce_zdr_google: None,
        enforce_zdr_openai: None,
        enforce_zdr_other: None,
        enforce_zdr_xai: None,
        enable_free_model_publication: None,
        enable_free_model_training: None,
        enable_paid_model_training: None,
        include_byok_in_budgets: false,
        content_filters: None,
        content_filter_builtins: None,
        workspace_id,
        created_at: state.now(),
        updated_at: None,
    };
    apply(&mut guardrail, &body)?;
    let response = json_response(StatusCode::CREATED, json!({"data": guardrail.to_json()}));
    state.guardrails_mut().insert(guardrail);
    drop(state);
    app.changed();
    Ok(response)
}

async fn read(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let guardrail = state
        .guardrails()
        .get(&id)
        .ok_or_else(guardrail_not_found)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"data": guardrail.to_json()}),
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
    let now = state.now();
    let guardrail = state
        .guardrails_mut()
        .get_mut(&id)
        .ok_or_else(guardrail_not_found)?;
    if !UPDATE_FIELDS.iter().any(|field| body.contains_key(*field)) {
        return Err(ApiError::bad_request("No update fields provided"));
    }
    apply(guardrail, &body)?;
    guardrail.updated_at = Some(now);
    let response = json_response(StatusCode::OK, json!({"data": guardrail.to_json()}));
    drop(state);
    app.changed();
    Ok(response)
}

async fn delete(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    state
        .guardrails_mut()
        .remove(&id)
        .ok_or_else(guardrail_not_found)?;
    drop(state);
    app.changed();
    Ok(json_response(StatusCode::OK, json!({"deleted": true})))
}

// ---------------------------------------------------------------------------------------------
// Assignments

fn existing<'a>(state: &'a State, id: &str) -> Result<&'a Guardrail, ApiError> {
    state.guardrails().get(id).ok_or_else(guardrail_not_found)
}

fn key_assignment_list(state: &State, guardrail_id: Option<&str>) -> Vec<Value> {
    state
        .guardrails()
        .key_assignments
        .iter()
        .filter(|a| guardrail_id.is_none_or(|id| a.guardrail_id == id))
        .map(|a| state.key_assignment_json(a))
        .collect()
}

fn member_assignment_list(state: &State, guardrail_id: Option<&str>) -> Vec<Value> {
    state
        .guardrails()
        .member_assignments
        .iter()
        .filter(|a| guardrail_id.is_none_or(|id| a.guardrail_id == id))
        .map(|a| a.to_json())
        .collect()
}

async fn all_key_assignments(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let (offset, limit) = paging(&query_params(query.as_deref()))?;
    paged(key_assignment_list(&state, None), offset, limit)
}

async fn all_member_assignments(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let (offset, limit) = paging(&query_params(query.as_deref()))?;
    paged(member_assignment_list(&state, None), offset, limit)
}

async fn key_assignments(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    existing(&state, &id)?;
    let (offset, limit) = paging(&query_params(query.as_deref()))?;
    paged(key_assignment_list(&state, Some(&id)), offset, limit)
}

async fn member_assignments(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    existing(&state, &id)?;
    let (offset, limit) = paging(&query_params(query.as_deref()))?;
    paged(member_assignment_list(&state, Some(&id)), offset, limit)
}

/// The request's id list (`key_hashes` or `member_user_ids`): a non-empty array of non-empty
/// strings, duplicates dropped.
fn id_list(body: &Bytes, field: &str) -> Result<Vec<String>, ApiError> {
    let body = body_object(body)?;
    valid_string_list(field, body.get(field).unwrap_or(&Value::Null))?.ok_or_else(|| {
        ApiError::bad_request(format!(
            "\"{field}\" is required and must be a non-empty array of non-empty strings"
        ))
    })
}

async fn assign_keys(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    existing(&state, &id)?;
    let hashes = id_list(&body, "key_hashes")?;
    if let Some(unknown) = hashes.iter().find(|hash| state.get(hash).is_none()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("API key not found: {unknown}"),
        ));
    }
    let now = state.now();
    let guardrails = state.guardrails_mut();
    let assigned = hashes
        .iter()
        .filter(|hash| guardrails.assign_key(&id, hash, Some(ACCOUNT_USER_ID), now))
        .count();
    drop(state);
    app.changed();
    Ok(json_response(
        StatusCode::OK,
        json!({"assigned_count": assigned}),
    ))
}

async fn unassign_keys(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    existing(&state, &id)?;
    let hashes = id_list(&body, "key_hashes")?;
    let guardrails = state.guardrails_mut();
    let removed = hashes
        .iter()
        .filter(|hash| guardrails.unassign_key(&id, hash))
        .count();
    drop(state);
    app.changed();
    Ok(json_response(
        StatusCode::OK,
        json!({"unassigned_count": removed}),
    ))
}

async fn assign_members(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    existing(&state, &id)?;
    let users = id_list(&body, "member_user_ids")?;
    if let Some(unknown) = users.iter().find(|user| !state.is_member(user)) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Organization member not found: {unknown}"),
        ));
    }
    let now = state.now();
    let guardrails = state.guardrails_mut();
    let assigned = users
        .iter()
        .filter(|user| guardrails.assign_member(&id, user, Some(ACCOUNT_USER_ID), now))
        .count();
    drop(state);
    app.changed();
    Ok(json_response(
        StatusCode::OK,
        json!({"assigned_count": assigned}),
    ))
}

async fn unassign_members(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    existing(&state, &id)?;
    let users = id_list(&body, "member_user_ids")?;
    let guardrails = state.guardrails_mut();
    let removed = users
        .iter()
        .filter(|user| guardrails.unassign_member(&id, user))
        .count();
    drop(state);
    app.changed();
    Ok(json_response(
        StatusCode::OK,
        json!({"unassigned_count": removed}),
    ))
}
