//! Commands of "Where keys live": the chosen folders, a scan with progress events and cancel, the
//! report, one key's places and the deploy targets a rotation could use.
//!
//! A folder is added only through a native folder picker opened here, from Rust: the web view has
//! no dialog permission and no command that takes a path to add or scan, so only the person (in
//! the picker) decides which folders are read. Removing a folder needs no such care.

use keyward_core::AppError;
use keyward_core::deploy::DeployTarget;
use keyward_core::ipc::EmptyArgs;
use keyward_core::locate::{KeyLocations, LocateReport};
use keyward_core::service::{LocateFolderArgs, LocateKeyArgs, LocateScanArgs};
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

use super::service;
use crate::MAIN_WINDOW;
use crate::events;

/// The folders a scan reads.
#[tauri::command]
pub async fn locate_folders(app: AppHandle, args: EmptyArgs) -> Result<Vec<String>, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).locate_folders()?)
}

/// Opens the native folder picker and adds the chosen folder; the list unchanged when the person
/// cancels.
#[tauri::command]
pub async fn locate_folder_pick(app: AppHandle, args: EmptyArgs) -> Result<Vec<String>, AppError> {
    let EmptyArgs {} = args;
    let (answer, answered) = tokio::sync::oneshot::channel();
    let mut picker = app
        .dialog()
        .file()
        .set_title("Keyward: choose a folder to scan for keys");
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        picker = picker.set_parent(&window);
    }
    picker.pick_folder(move |folder| {
        // The receiver is gone only if the command was dropped: nobody waits for the answer.
        let _ = answer.send(folder);
    });
    let service = service(&app);
    match answered
        .await
        .ok()
        .flatten()
        .map(|folder| folder.into_path())
    {
        Some(Ok(path)) => Ok(service.locate_folder_add(LocateFolderArgs {
            path: path.display().to_string(),
        })?),
        Some(Err(err)) => Err(keyward_core::Error::invalid(
            "path",
            format!("the chosen folder is not a local path ({err})"),
        )
        .into()),
        None => Ok(service.locate_folders()?),
    }
}

#[tauri::command]
pub async fn locate_folder_remove(
    app: AppHandle,
    args: LocateFolderArgs,
) -> Result<Vec<String>, AppError> {
    Ok(service(&app).locate_folder_remove(args)?)
}

/// Scans the chosen folders (progress as `locate-progress` events) and saves the findings.
#[tauri::command]
pub async fn locate_scan(app: AppHandle, args: EmptyArgs) -> Result<LocateReport, AppError> {
    let EmptyArgs {} = args;
    let progress_app = app.clone();
    Ok(service(&app)
        .locate_scan(
            LocateScanArgs::default(),
            std::sync::Arc::new(move |step| {
                events::emit(&progress_app, events::LOCATE_PROGRESS, step);
            }),
        )
        .await?)
}

/// Stops the running scan; `false` when none runs.
#[tauri::command]
pub async fn locate_scan_cancel(app: AppHandle, args: EmptyArgs) -> Result<bool, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).locate_scan_cancel())
}

#[tauri::command]
pub async fn locate_report(app: AppHandle, args: EmptyArgs) -> Result<LocateReport, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).locate_report()?)
}

#[tauri::command]
pub async fn key_locations(app: AppHandle, args: LocateKeyArgs) -> Result<KeyLocations, AppError> {
    Ok(service(&app).key_locations(args)?)
}

/// `.env` targets where the key was found that its rotation policy lacks.
#[tauri::command]
pub async fn locate_deploy_suggestions(
    app: AppHandle,
    args: LocateKeyArgs,
) -> Result<Vec<DeployTarget>, AppError> {
    Ok(service(&app).locate_deploy_suggestions(args)?)
}
