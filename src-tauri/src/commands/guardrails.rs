//! Commands of the Guardrails view and the key list's Guardrail column.

use keyward_core::AppError;
use keyward_core::api::{CreateGuardrailRequest, Guardrail, Model};
use keyward_core::ipc::ProfileScopedArgs;
use keyward_core::service::{
    AssignmentCounts, GuardrailArgs, GuardrailAssignArgs, GuardrailCreateArgs, GuardrailEntry,
    GuardrailUpdateArgs, GuardrailsListArgs, KeyGuardrails,
};
use tauri::AppHandle;

use super::service;

/// Every guardrail of the profile with the keys and members it applies to.
#[tauri::command]
pub async fn guardrails_list(
    app: AppHandle,
    args: GuardrailsListArgs,
) -> Result<Vec<GuardrailEntry>, AppError> {
    Ok(service(&app).guardrails_list(args).await?)
}

#[tauri::command]
pub async fn guardrail_get(
    app: AppHandle,
    args: GuardrailArgs,
) -> Result<GuardrailEntry, AppError> {
    Ok(service(&app).guardrail_get(args).await?)
}

/// Every problem of the guardrail form (`field` set); nothing is sent. Empty = valid.
#[tauri::command]
pub async fn guardrail_validate(
    app: AppHandle,
    args: CreateGuardrailRequest,
) -> Result<Vec<AppError>, AppError> {
    Ok(service(&app).guardrail_validate(&args))
}

#[tauri::command]
pub async fn guardrail_create(
    app: AppHandle,
    args: GuardrailCreateArgs,
) -> Result<Guardrail, AppError> {
    Ok(service(&app).guardrail_create(args).await?)
}

#[tauri::command]
pub async fn guardrail_update(
    app: AppHandle,
    args: GuardrailUpdateArgs,
) -> Result<Guardrail, AppError> {
    Ok(service(&app).guardrail_update(args).await?)
}

#[tauri::command]
pub async fn guardrail_delete(app: AppHandle, args: GuardrailArgs) -> Result<(), AppError> {
    Ok(service(&app).guardrail_delete(args).await?)
}

/// Assigns keys and members in bulk (one request each).
#[tauri::command]
pub async fn guardrail_assign(
    app: AppHandle,
    args: GuardrailAssignArgs,
) -> Result<AssignmentCounts, AppError> {
    Ok(service(&app).guardrail_assign(args).await?)
}

#[tauri::command]
pub async fn guardrail_unassign(
    app: AppHandle,
    args: GuardrailAssignArgs,
) -> Result<AssignmentCounts, AppError> {
    Ok(service(&app).guardrail_unassign(args).await?)
}

/// OpenRouter's model list for the guardrail form's picker (cached).
#[tauri::command]
pub async fn models_list(app: AppHandle, args: ProfileScopedArgs) -> Result<Vec<Model>, AppError> {
    Ok(service(&app).models(args).await?)
}

/// Key hash → guardrail for the key list's Guardrail column (cached until the key list changes).
#[tauri::command]
pub async fn key_guardrails(
    app: AppHandle,
    args: GuardrailsListArgs,
) -> Result<KeyGuardrails, AppError> {
    Ok(service(&app).key_guardrails(args).await?)
}
