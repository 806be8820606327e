//! A key's place in the account: its guardrail, the BYOK credentials and log destinations naming
//! it, and what stops it first.

use keyward_core::AppError;
use keyward_core::service::{KeyAccount, KeyAccountArgs};
use tauri::AppHandle;

use super::service;

#[tauri::command]
pub async fn key_account(app: AppHandle, args: KeyAccountArgs) -> Result<KeyAccount, AppError> {
    Ok(service(&app)
        .key_account(&args.profile_id, &args.key_hash)
        .await?)
}
