//! Commands of the Audit view: list, verify, and export to a file the person picks in a native save
//! dialog opened from Rust (the web view has no dialog or file-system permission, so it can neither
//! choose a path nor write one: it only asks for an export).

use keyward_core::AppError;
use keyward_core::audit::{
    AuditExportArgs, AuditExportFormat, AuditExported, AuditFilter, AuditPage, AuditVerification,
};
use keyward_core::ipc::EmptyArgs;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

use super::service;
use crate::MAIN_WINDOW;

/// Entries matching the filter, newest first, a page at a time.
#[tauri::command]
pub async fn audit_list(app: AppHandle, args: AuditFilter) -> Result<AuditPage, AppError> {
    Ok(service(&app).audit_list(args)?)
}

/// Checks the whole hash chain.
#[tauri::command]
pub async fn audit_verify(app: AppHandle, args: EmptyArgs) -> Result<AuditVerification, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).audit_verify()?)
}

/// Asks where to save (native dialog), then writes the matching entries there; `path: null` when
/// the person cancelled.
#[tauri::command]
pub async fn audit_export(
    app: AppHandle,
    args: AuditExportArgs,
) -> Result<AuditExported, AppError> {
    let (extension, label) = match args.format {
        AuditExportFormat::Csv => ("csv", "CSV"),
        AuditExportFormat::Json => ("json", "JSON"),
    };
    let (answer, answered) = tokio::sync::oneshot::channel();
    let mut dialog = app
        .dialog()
        .file()
        .set_title("Export the audit log")
        .add_filter(label, &[extension])
        .set_file_name(format!(
            "keyward-audit-{}.{extension}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ));
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        dialog = dialog.set_parent(&window);
    }
    dialog.save_file(move |path| {
        // The receiver is gone only if the command was dropped: nobody waits for the answer.
        let _ = answer.send(path);
    });
    let Some(path) = answered.await.ok().flatten() else {
        return Ok(AuditExported {
            path: None,
            count: 0,
        });
    };
    let path = path.into_path().map_err(|err| {
        AppError::from(&keyward_core::Error::invalid(
            "path",
            format!("the chosen location is not a file path: {err}"),
        ))
    })?;
    let service = service(&app);
    tokio::task::spawn_blocking(move || service.audit_export_to(&path, args))
        .await
        .map_err(|join| {
            AppError::from(&keyward_core::Error::Internal {
                message: format!("the export did not finish ({join})"),
                source: None,
            })
        })?
        .map_err(|err| AppError::from(&err))
}
