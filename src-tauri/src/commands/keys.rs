//! Commands about a profile's keys and credits.

use keyward_core::AppError;
use keyward_core::api::Credits;
use keyward_core::ipc::{
    CheckedKey, CreateKeyArgs, CreatedKey, KeyCheckArgs, KeyDeleteArgs, KeyRow, KeysListArgs,
    KeysSnapshot, ProfileScopedArgs, UpdateKeyArgs, WorkspaceInfo, WorkspacesListArgs,
};
use tauri::AppHandle;

use super::service;

#[tauri::command]
pub async fn keys_list(app: AppHandle, args: KeysListArgs) -> Result<KeysSnapshot, AppError> {
    Ok(service(&app).keys_list(args).await?)
}

#[tauri::command]
pub async fn credits_get(app: AppHandle, args: ProfileScopedArgs) -> Result<Credits, AppError> {
    Ok(service(&app).credits(args).await?)
}

/// The profile's workspaces (id, name, slug) for the workspace column, filter and create form.
#[tauri::command]
pub async fn workspaces_list(
    app: AppHandle,
    args: WorkspacesListArgs,
) -> Result<Vec<WorkspaceInfo>, AppError> {
    Ok(service(&app).workspaces_list(args).await?)
}

#[tauri::command]
pub async fn key_validate_create(
    app: AppHandle,
    args: CreateKeyArgs,
) -> Result<Vec<AppError>, AppError> {
    Ok(service(&app).validate_create(&args))
}

#[tauri::command]
pub async fn key_create(app: AppHandle, args: CreateKeyArgs) -> Result<CreatedKey, AppError> {
    Ok(service(&app).key_create(args).await?)
}

#[tauri::command]
pub async fn key_update(app: AppHandle, args: UpdateKeyArgs) -> Result<KeyRow, AppError> {
    Ok(service(&app).key_update(args).await?)
}

#[tauri::command]
pub async fn key_delete(app: AppHandle, args: KeyDeleteArgs) -> Result<(), AppError> {
    Ok(service(&app).key_delete(args).await?)
}

#[tauri::command]
pub async fn key_check(app: AppHandle, args: KeyCheckArgs) -> Result<CheckedKey, AppError> {
    Ok(service(&app).key_check(args).await?)
}
