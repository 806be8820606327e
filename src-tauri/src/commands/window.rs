//! What the window asks the shell about itself.

use keyward_core::AppError;
use keyward_core::ipc::{EmptyArgs, OpenKeyEvent};
use tauri::{AppHandle, Manager};

use crate::PendingOpenKey;

/// The key a notification click asked to open while the window was closed (the page was not
/// running to receive `open-key`); `null` when there is none. Taking it clears it.
#[tauri::command]
pub async fn open_key_take(
    app: AppHandle,
    args: EmptyArgs,
) -> Result<Option<OpenKeyEvent>, AppError> {
    let EmptyArgs {} = args;
    Ok(app
        .try_state::<PendingOpenKey>()
        .and_then(|pending| pending.take()))
}
