//! Held secrets of created keys: copying one to the clipboard from Rust (the UI never needs a secret
//! it no longer displays) and resolving pending ones.

use keyward_core::AppError;
use keyward_core::ipc::{AppState, PendingResolveArgs, SecretCopied, SecretCopyArgs};
use tauri::AppHandle;

use super::service;
use crate::clipboard::copy_then_clear;

#[tauri::command]
pub async fn secret_copy(app: AppHandle, args: SecretCopyArgs) -> Result<SecretCopied, AppError> {
    let secret = service(&app)
        .held_secret(&args.profile_id, &args.key_hash)
        .await?;
    let clears_at = copy_then_clear(&app, secret).map_err(internal)?;
    Ok(SecretCopied { clears_at })
}

#[tauri::command]
pub async fn pending_resolve(
    app: AppHandle,
    args: PendingResolveArgs,
) -> Result<AppState, AppError> {
    Ok(service(&app).pending_resolve(args).await?)
}

fn internal(message: String) -> AppError {
    AppError::from(keyward_core::Error::Internal {
        message,
        source: None,
    })
}
