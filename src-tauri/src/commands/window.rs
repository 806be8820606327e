//! What the window asks the shell about itself.

use keyward_core::AppError;
use keyward_core::ipc::{EmptyArgs, OpenKeyEvent};
use tauri::{AppHandle, Manager};

use keyward_core::tray_host::{self, TrayStatus};

use crate::PendingOpenKey;
use crate::tray::TrayHost;

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

/// What closing the window does on this desktop (stay in the tray, or quit when no tray shows the
/// icon) and why: Settings shows it next to the start-at-login option. Probed afresh.
#[tauri::command]
pub async fn tray_status(app: AppHandle, args: EmptyArgs) -> Result<TrayStatus, AppError> {
    let EmptyArgs {} = args;
    Ok(match app.try_state::<TrayHost>() {
        Some(host) => host.refresh(),
        // Asked before the desktop side started: what a probe says now.
        None => tray_host::decide(&tray_host::probe(false)),
    })
}
