//! Commands for organising keys: saved filters of the key list and a profile's tags with their key
//! counts. The rules live in keyward-core (`saved_filters`, `metadata`).

use keyward_core::AppError;
use keyward_core::ipc::{EmptyArgs, ProfileScopedArgs, SavedFilterDeleteArgs};
use keyward_core::metadata::TagCount;
use keyward_core::saved_filters::SavedFilter;
use tauri::AppHandle;

use super::service;

#[tauri::command]
pub async fn saved_filters_list(
    app: AppHandle,
    args: EmptyArgs,
) -> Result<Vec<SavedFilter>, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).saved_filters()?)
}

/// Saves (or replaces, by name) a filter; answers the whole list.
#[tauri::command]
pub async fn saved_filter_save(
    app: AppHandle,
    args: SavedFilter,
) -> Result<Vec<SavedFilter>, AppError> {
    Ok(service(&app).saved_filter_save(&args)?)
}

#[tauri::command]
pub async fn saved_filter_delete(
    app: AppHandle,
    args: SavedFilterDeleteArgs,
) -> Result<Vec<SavedFilter>, AppError> {
    Ok(service(&app).saved_filter_delete(&args.name)?)
}

#[tauri::command]
pub async fn key_tags(app: AppHandle, args: ProfileScopedArgs) -> Result<Vec<TagCount>, AppError> {
    Ok(service(&app).key_tags(&args.profile_id)?)
}
