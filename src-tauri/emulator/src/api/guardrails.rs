//! `/guardrails`: CRUD (PATCH replaces whole arrays), key and member assignments per guardrail and
//! account-wide, with the documented paging (`offset`, `limit` ≤ 100, `total_count`). Management key
//! only. Assigning an unknown key hash or user id is a 404 and assigns nothing (the spec documents 404
//! "Resource does not exist"); removing one that is not assigned just doesn't count.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::validation::{
    body_object, page_body, page_params, parse_workspace, query_params, valid_workspace,
};
use super::{AppState, require_management};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::state::{ACCOUNT_USER_ID, DEFAULT_WORKSPACE_ID, Guardrail, State};

mod fields;

use fields::{UPDATE_FIELDS, apply, valid_guardrail_name, valid_string_list};

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

fn guardrail_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Guardrail not found")
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
    let (offset, limit) = page_params(&params)?;
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
    Ok(json_response(
        StatusCode::OK,
        page_body(items, offset, limit),
    ))
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
    if !state.workspaces.exists(&workspace_id) {
        return Err(super::unknown_workspace(&workspace_id));
    }
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
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    Ok(json_response(
        StatusCode::OK,
        page_body(key_assignment_list(&state, None), offset, limit),
    ))
}

async fn all_member_assignments(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    Ok(json_response(
        StatusCode::OK,
        page_body(member_assignment_list(&state, None), offset, limit),
    ))
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
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    Ok(json_response(
        StatusCode::OK,
        page_body(key_assignment_list(&state, Some(&id)), offset, limit),
    ))
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
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    Ok(json_response(
        StatusCode::OK,
        page_body(member_assignment_list(&state, Some(&id)), offset, limit),
    ))
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
