//! Updates: check, then install what the person agreed to in the update dialog (never while a
//! rotation runs; download progress as `update-progress`), then restart. See `crate::updater`.

use keyward_core::AppError;
use keyward_core::ipc::EmptyArgs;
use keyward_core::updates::{Consent, UpdateCheck, UpdateInstallArgs};
use tauri::AppHandle;

use super::service;
use crate::events;
use crate::updater;

/// Asks the release endpoint whether a newer Keyward exists.
#[tauri::command]
pub async fn update_check(app: AppHandle, args: EmptyArgs) -> Result<UpdateCheck, AppError> {
    let EmptyArgs {} = args;
    let state = updater::updater(&app)?;
    let updater = state
        .0
        .as_ref()
        .map_err(|error| keyward_core::Error::update(error.to_string()))?;
    Ok(updater.check().await?)
}

/// The person's "Install and restart" for `version`: downloads it (progress events), checks its
/// signature, installs it and restarts. Refused while a rotation runs (`update_blocked`).
#[tauri::command]
pub async fn update_install(app: AppHandle, args: UpdateInstallArgs) -> Result<(), AppError> {
    let guard = service(&app).begin_update_install()?;
    let package = {
        let state = updater::updater(&app)?;
        let updater = state
            .0
            .as_ref()
            .map_err(|error| keyward_core::Error::update(error.to_string()))?;
        let consent = Consent {
            version: args.version,
        };
        updater
            .download(&consent, &guard, |progress| {
                events::emit(&app, events::UPDATE_PROGRESS, progress)
            })
            .await?
    };
    // A rotation another process started during the download still blocks the install.
    guard.ensure_no_rotation_running()?;
    updater::install(&app, package).await?;
    drop(guard);
    tracing::info!("restarting into the update");
    app.restart()
}

/// Whether the tray asked for a check before the page could listen; taking clears it.
#[tauri::command]
pub async fn update_check_take(app: AppHandle, args: EmptyArgs) -> Result<bool, AppError> {
    let EmptyArgs {} = args;
    let _ = app;
    Ok(PENDING_CHECK.swap(false, std::sync::atomic::Ordering::SeqCst))
}

static PENDING_CHECK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The tray's "Check for updates…": shows the window, which opens the update dialog and checks.
pub fn open_update_check(app: &AppHandle) {
    tracing::info!("update check from the tray");
    if crate::show_main_window(app) {
        PENDING_CHECK.store(true, std::sync::atomic::Ordering::SeqCst);
    } else {
        events::emit(app, events::UPDATE_CHECK_OPEN, EmptyArgs {});
    }
}
