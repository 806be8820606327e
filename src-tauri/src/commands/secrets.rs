//! Held secrets of created keys: copying one to the clipboard from Rust (the UI never needs a secret
//! it no longer displays) and resolving pending ones.

use std::time::Duration;

use keyward_core::views::{AppError, AppState, PendingResolveArgs, SecretCopied, SecretCopyArgs};
use secrecy::{ExposeSecret, SecretString};
use tauri::AppHandle;
use tauri_plugin_clipboard_manager::ClipboardExt;

use super::service;

/// How long a copied secret stays on the clipboard.
pub const CLIPBOARD_CLEAR_AFTER: Duration = Duration::from_secs(30);

#[tauri::command]
pub async fn secret_copy(app: AppHandle, args: SecretCopyArgs) -> Result<SecretCopied, AppError> {
    let secret = service(&app)
        .held_secret(&args.profile_id, &args.key_hash)
        .await?;
    copy_then_clear(&app, secret)
}

#[tauri::command]
pub async fn pending_resolve(
    app: AppHandle,
    args: PendingResolveArgs,
) -> Result<AppState, AppError> {
    Ok(service(&app).pending_resolve(args).await?)
}

/// Copies `secret` (marked so clipboard managers keep it out of their history) and clears the
/// clipboard after [`CLIPBOARD_CLEAR_AFTER`] unless something else was copied meanwhile.
fn copy_then_clear(app: &AppHandle, secret: SecretString) -> Result<SecretCopied, AppError> {
    app.clipboard()
        .write_secret(secret.expose_secret())
        .map_err(|err| internal(format!("could not copy to the clipboard: {err}")))?;
    let clears_at = chrono::Utc::now()
        + chrono::Duration::from_std(CLIPBOARD_CLEAR_AFTER).unwrap_or(chrono::Duration::zero());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(CLIPBOARD_CLEAR_AFTER).await;
        let clipboard = app.clipboard();
        let unchanged = clipboard
            .read_text()
            .map(SecretString::from)
            .is_ok_and(|text| text.expose_secret() == secret.expose_secret());
        if unchanged {
            if let Err(err) = clipboard.clear() {
                tracing::warn!(error = %err, "could not clear the clipboard");
            } else {
                tracing::info!("cleared the copied secret from the clipboard");
            }
        }
    });
    Ok(SecretCopied { clears_at })
}

fn internal(message: String) -> AppError {
    AppError::from(keyward_core::Error::Internal { message })
}
