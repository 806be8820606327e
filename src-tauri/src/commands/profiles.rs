//! Commands about the app as a whole and its profiles.

use keyward_core::AppError;
use keyward_core::ipc::{
    AppState, EmptyArgs, ProfileAddArgs, ProfileIdArgs, ProfileRenameArgs, ProfileReplaceKeyArgs,
};
use keyward_core::store::Profile;
use tauri::AppHandle;

use super::service;

#[tauri::command]
pub async fn app_state(app: AppHandle, args: EmptyArgs) -> Result<AppState, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).app_state()?)
}

#[tauri::command]
pub async fn profile_add(app: AppHandle, args: ProfileAddArgs) -> Result<Profile, AppError> {
    Ok(service(&app).profile_add(args).await?)
}

#[tauri::command]
pub async fn profile_replace_key(
    app: AppHandle,
    args: ProfileReplaceKeyArgs,
) -> Result<Profile, AppError> {
    Ok(service(&app).profile_replace_key(args).await?)
}

#[tauri::command]
pub async fn profile_rename(app: AppHandle, args: ProfileRenameArgs) -> Result<Profile, AppError> {
    Ok(service(&app).profile_rename(args).await?)
}

#[tauri::command]
pub async fn profile_remove(app: AppHandle, args: ProfileIdArgs) -> Result<AppState, AppError> {
    Ok(service(&app).profile_remove(args).await?)
}

#[tauri::command]
pub async fn profile_switch(app: AppHandle, args: ProfileIdArgs) -> Result<AppState, AppError> {
    Ok(service(&app).profile_switch(args).await?)
}
