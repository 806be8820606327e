//! The sandbox: an embedded emulator with demo keys, never a real account.

use keyward_core::AppError;
use keyward_core::ipc::EmptyArgs;
use keyward_core::store::Profile;
use tauri::AppHandle;

use super::service;

#[tauri::command]
pub async fn sandbox_open(app: AppHandle, args: EmptyArgs) -> Result<Profile, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).sandbox_open().await?)
}
