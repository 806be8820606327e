//! `/workspaces` (list, get, create, update, delete; members list/add/remove; budgets per
//! interval) and `/organization/members`, management key only, with the spec's validation.
//!
//! Rules the spec leaves open, chosen here: an unknown workspace (by id or slug) is 404; the
//! default workspace can't be deleted (400) and neither can one that still holds keys (400: the
//! spec lists no 409 for this path, and the real dashboard refuses it until the keys are moved or
//! deleted); a slug in use is 400; adding a user who is not an organization member is 400.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::require_management;
use super::validation::{body_object, page_body, page_params, query_params};
use super::workspace_fields::{
    apply_settings, bool_field, interval, user_ids, valid_name, valid_slug,
};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::state::{
    Budget, DEFAULT_WORKSPACE_ID, Membership, OrgMember, WorkspaceRecord, new_id, workspace_role,
};

type AppState = AxumState<Arc<App>>;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/workspaces", get(list).post(create))
        .route("/workspaces/{id}", get(read).patch(update).delete(remove))
        .route("/workspaces/{id}/members", get(members))
        .route("/workspaces/{id}/members/add", post(add_members))
        .route("/workspaces/{id}/members/remove", post(remove_members))
        .route("/workspaces/{id}/budgets", get(budgets))
        .route(
            "/workspaces/{id}/budgets/{interval}",
            get(budget).put(set_budget).delete(delete_budget),
        )
        .route("/organization/members", get(organization_members))
}

fn workspace_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Workspace not found")
}

fn ok(body: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

// ---------------------------------------------------------------------------------------------
// Workspaces

async fn list(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    let items = state
        .workspaces
        .list
        .iter()
        .map(WorkspaceRecord::to_json)
        .collect();
    ok(page_body(items, offset, limit))
}

async fn create(AxumState(app): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let body = body_object(&body)?;
    let name = valid_name(body.get("name").unwrap_or(&Value::Null))?;
    let slug = valid_slug(body.get("slug").unwrap_or(&Value::Null))?;
    if state.workspaces.slug_taken(&slug, None) {
        return Err(ApiError::bad_request(format!(
            "The slug \"{slug}\" is already used by another workspace"
        )));
    }
    let now = state.now();
    let mut workspace = WorkspaceRecord::new(new_id(), name, slug, now);
    apply_settings(&mut workspace, &body)?;
    let answer = json!({"data": workspace.to_json()});
    state.workspaces.list.push(workspace);
    drop(state);
    app.changed();
    Ok(json_response(StatusCode::CREATED, answer))
}

async fn read(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let workspace = state.workspaces.find(&id).ok_or_else(workspace_not_found)?;
    ok(json!({"data": workspace.to_json()}))
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
    let current = state.workspaces.find(&id).ok_or_else(workspace_not_found)?;
    let mut changed = current.clone();
    if let Some(name) = body.get("name") {
        changed.name = valid_name(name)?;
    }
    if let Some(slug) = body.get("slug") {
        changed.slug = valid_slug(slug)?;
        if state
            .workspaces
            .slug_taken(&changed.slug, Some(&changed.id))
        {
            return Err(ApiError::bad_request(format!(
                "The slug \"{}\" is already used by another workspace",
                changed.slug
            )));
        }
    }
    apply_settings(&mut changed, &body)?;
    changed.updated_at = Some(now);
    let answer = json!({"data": changed.to_json()});
    if let Some(slot) = state.workspaces.find_mut(&id) {
        *slot = changed;
    }
    drop(state);
    app.changed();
    ok(answer)
}

async fn remove(AxumState(app): AppState, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let workspace_id = state
        .workspaces
        .find(&id)
        .ok_or_else(workspace_not_found)?
        .id
        .clone();
    if workspace_id == DEFAULT_WORKSPACE_ID {
        return Err(ApiError::bad_request(
            "The default workspace can't be deleted",
        ));
    }
    let keys = state.keys_in_workspace(&workspace_id);
    if keys > 0 {
        return Err(ApiError::bad_request(format!(
            "The workspace still holds {keys} API key(s): delete them or move them to another workspace first"
        )));
    }
    state.workspaces.remove(&workspace_id);
    drop(state);
    app.changed();
    ok(json!({"deleted": true}))
}

// ---------------------------------------------------------------------------------------------
// Members

async fn members(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    let workspace = state.workspaces.find(&id).ok_or_else(workspace_not_found)?;
    let items = workspace
        .members
        .iter()
        .map(|member| workspace.member_json(member))
        .collect();
    ok(page_body(items, offset, limit))
}

async fn add_members(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let ids = user_ids(&body)?;
    state.workspaces.find(&id).ok_or_else(workspace_not_found)?;
    let mut roles = Vec::with_capacity(ids.len());
    for user in &ids {
        let member = state.workspaces.org_member(user).ok_or_else(|| {
            ApiError::bad_request(format!("\"{user}\" is not a member of the organization"))
        })?;
        roles.push(workspace_role(&member.role).to_owned());
    }
    let now = state.now();
    let Some(workspace) = state.workspaces.find_mut(&id) else {
        return Err(workspace_not_found());
    };
    let mut added = Vec::new();
    for (user, role) in ids.into_iter().zip(roles) {
        let membership = match workspace.members.iter_mut().find(|m| m.user_id == user) {
            Some(existing) => {
                existing.role = role;
                existing.clone()
            }
            None => {
                let membership = Membership {
                    id: new_id(),
                    user_id: user,
                    role,
                    created_at: now,
                };
                workspace.members.push(membership.clone());
                membership
            }
        };
        added.push(workspace.member_json(&membership));
    }
    drop(state);
    app.changed();
    ok(json!({"added_count": added.len(), "data": added}))
}

async fn remove_members(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let ids = user_ids(&body)?;
    let workspace = state
        .workspaces
        .find_mut(&id)
        .ok_or_else(workspace_not_found)?;
    let before = workspace.members.len();
    workspace
        .members
        .retain(|member| !ids.contains(&member.user_id));
    let removed = before - workspace.members.len();
    drop(state);
    app.changed();
    ok(json!({"removed_count": removed}))
}

// ---------------------------------------------------------------------------------------------
// Budgets

async fn budgets(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let workspace = state.workspaces.find(&id).ok_or_else(workspace_not_found)?;
    let data: Vec<Value> = workspace
        .budgets
        .iter()
        .map(|(interval, budget)| workspace.budget_json(*interval, budget))
        .collect();
    ok(json!({"data": data, "include_byok_in_budgets": workspace.include_byok_in_budgets}))
}

async fn budget(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path((id, which)): Path<(String, String)>,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let which = interval(&which)?;
    let workspace = state.workspaces.find(&id).ok_or_else(workspace_not_found)?;
    let budget = workspace.budgets.get(&which).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "This workspace has no budget for that interval",
        )
    })?;
    ok(json!({
        "data": workspace.budget_json(which, budget),
        "include_byok_in_budgets": workspace.include_byok_in_budgets,
    }))
}

async fn set_budget(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path((id, which)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let which = interval(&which)?;
    let body = body_object(&body)?;
    let limit = match body.get("limit_usd").and_then(Value::as_f64) {
        Some(limit) if limit.is_finite() && limit > 0.0 => limit,
        _ => {
            return Err(ApiError::bad_request(
                "\"limit_usd\" is required and must be a number greater than 0",
            ));
        }
    };
    let include_byok = bool_field(&body, "include_byok_in_budgets")?;
    let now = state.now();
    let workspace = state
        .workspaces
        .find_mut(&id)
        .ok_or_else(workspace_not_found)?;
    if let Some(conflict) = workspace.budget_conflict(which, limit) {
        return Err(ApiError::bad_request(conflict));
    }
    if let Some(include) = include_byok {
        workspace.include_byok_in_budgets = include;
    }
    let budget = workspace
        .budgets
        .entry(which)
        .and_modify(|budget| {
            budget.limit_usd = limit;
            budget.updated_at = now;
        })
        .or_insert_with(|| Budget {
            id: new_id(),
            limit_usd: limit,
            created_at: now,
            updated_at: now,
        })
        .clone();
    let answer = json!({
        "data": workspace.budget_json(which, &budget),
        "include_byok_in_budgets": workspace.include_byok_in_budgets,
    });
    drop(state);
    app.changed();
    ok(answer)
}

async fn delete_budget(
    AxumState(app): AppState,
    headers: HeaderMap,
    Path((id, which)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.state();
    require_management(&state, &headers)?;
    let which = interval(&which)?;
    let workspace = state
        .workspaces
        .find_mut(&id)
        .ok_or_else(workspace_not_found)?;
    // "deleted (or did not exist)": removing a missing budget is still a success.
    workspace.budgets.remove(&which);
    drop(state);
    app.changed();
    ok(json!({"deleted": true}))
}

// ---------------------------------------------------------------------------------------------
// Organization

async fn organization_members(
    AxumState(app): AppState,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let (offset, limit) = page_params(&query_params(query.as_deref()))?;
    let items = state
        .workspaces
        .organization
        .iter()
        .map(|member| {
            json!({
                "id": member.id,
                "email": member.email,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "role": member.role,
            })
        })
        .collect();
    ok(page_body(items, offset, limit))
}

// ---------------------------------------------------------------------------------------------
// Emulator control (under /_emulator, no auth)

/// `POST /_emulator/organization/members` `{id, email, first_name?, last_name?, role?}`: adds or
/// replaces an organization member, so tests can add people to workspaces.
pub fn control_router() -> Router<Arc<App>> {
    Router::new().route("/organization/members", post(control_add_org_member))
}

async fn control_add_org_member(AxumState(app): AppState, body: Bytes) -> ApiResult {
    let body = body_object(&body)?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let id = text("id")
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("\"id\" must be a non-empty string"))?;
    let role = text("role").unwrap_or_else(|| "org:member".to_owned());
    if role != "org:admin" && role != "org:member" {
        return Err(ApiError::bad_request(
            "\"role\" must be \"org:admin\" or \"org:member\"",
        ));
    }
    let member = OrgMember {
        email: text("email").unwrap_or_else(|| format!("{id}@example.com")),
        first_name: text("first_name"),
        last_name: text("last_name"),
        role,
        id,
    };
    app.state().workspaces.upsert_org_member(member);
    app.changed();
    ok(json!({"ok": true}))
}
