//! Commands of the Workspaces view: a workspace's details and its budget edits.

use keyward_core::AppError;
use keyward_core::ipc::{
    WorkspaceBudgetDeleteArgs, WorkspaceBudgetSetArgs, WorkspaceDetails, WorkspaceDetailsArgs,
};
use tauri::AppHandle;

use super::service;

/// One workspace with its key count, spend, budgets and members.
#[tauri::command]
pub async fn workspace_details(
    app: AppHandle,
    args: WorkspaceDetailsArgs,
) -> Result<WorkspaceDetails, AppError> {
    Ok(service(&app).workspace_details(args).await?)
}

/// Sets one interval's budget (checked by the core before sending); the workspace as it is now.
#[tauri::command]
pub async fn workspace_budget_set(
    app: AppHandle,
    args: WorkspaceBudgetSetArgs,
) -> Result<WorkspaceDetails, AppError> {
    Ok(service(&app).workspace_budget_set(args).await?)
}

/// Removes one interval's budget; the workspace as it is now.
#[tauri::command]
pub async fn workspace_budget_delete(
    app: AppHandle,
    args: WorkspaceBudgetDeleteArgs,
) -> Result<WorkspaceDetails, AppError> {
    Ok(service(&app).workspace_budget_delete(args).await?)
}
