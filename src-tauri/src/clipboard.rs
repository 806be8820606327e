//! The clipboard, written from Rust only: a copied secret is marked so clipboard managers keep it out
//! of their history, and cleared again after [`CLIPBOARD_CLEAR_AFTER`]. Used by `secret_copy` and, as
//! keyward-core's [`ClipboardSink`], by the rotation's clipboard deploy target.

use std::time::Duration;

use chrono::{DateTime, Utc};
use keyward_core::deploy::ClipboardSink;
use secrecy::{ExposeSecret, SecretString};
use tauri::AppHandle;
use tauri_plugin_clipboard_manager::ClipboardExt;

/// How long a copied secret stays on the clipboard.
pub const CLIPBOARD_CLEAR_AFTER: Duration = Duration::from_secs(30);

/// Copies `secret` and clears the clipboard after [`CLIPBOARD_CLEAR_AFTER`] unless something else
/// was copied meanwhile. Returns when it will be cleared; `Err` carries a secret-free reason.
pub fn copy_then_clear(app: &AppHandle, secret: SecretString) -> Result<DateTime<Utc>, String> {
    app.clipboard()
        .write_secret(secret.expose_secret())
        .map_err(|err| format!("could not copy to the clipboard: {err}"))?;
    let clears_at = Utc::now()
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
    Ok(clears_at)
}

/// The clipboard deploy target of a rotation: copy, then clear after 30 s.
pub struct ShellClipboard {
    app: AppHandle,
}

impl ShellClipboard {
    pub fn new(app: AppHandle) -> Self {
        ShellClipboard { app }
    }
}

impl ClipboardSink for ShellClipboard {
    fn copy_secret(&self, secret: &SecretString) -> Result<(), String> {
        copy_then_clear(&self.app, secret.clone()).map(|_| ())
    }
}
