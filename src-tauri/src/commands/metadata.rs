//! Commands about a key's local metadata (tags, environment, project, owner, notes).

use keyward_core::AppError;
use keyward_core::ipc::{KeyMetadataSetArgs, KeyRow};
use keyward_core::metadata::KeyMetadata;
use tauri::AppHandle;

use super::service;

/// The core's rules for a metadata form: one error per bad field, empty = valid.
#[tauri::command]
pub async fn key_metadata_validate(
    app: AppHandle,
    args: KeyMetadata,
) -> Result<Vec<AppError>, AppError> {
    Ok(service(&app).key_metadata_validate(&args))
}

#[tauri::command]
pub async fn key_metadata_set(
    app: AppHandle,
    args: KeyMetadataSetArgs,
) -> Result<KeyRow, AppError> {
    Ok(service(&app).key_metadata_set(args).await?)
}
