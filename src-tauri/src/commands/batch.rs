//! Commands of batch operations and the emergency revoke; the tray's "Emergency revoke…" opens the
//! window on the flow (by event, or through [`emergency_revoke_take`] when the window had to be
//! built and its page could not receive one yet).

use std::sync::atomic::{AtomicBool, Ordering};

use keyward_core::AppError;
use keyward_core::batch::{
    BatchArgs, BatchCancelArgs, BatchReport, EmergencyRevokeOpenEvent, RevokeArgs,
    RevokeFollowUpArgs, RevokePreview, RevokePreviewArgs, RevokeRecord, RevokeReport,
};
use keyward_core::ipc::{EmptyArgs, ProfileScopedArgs};
use tauri::AppHandle;

use super::service;
use crate::events;

/// One operation over many keys; progress comes as `batch-progress` events.
#[tauri::command]
pub async fn batch_run(app: AppHandle, args: BatchArgs) -> Result<BatchReport, AppError> {
    Ok(service(&app).batch_run(args).await?)
}

/// Cancels a run under way; false when it had ended.
#[tauri::command]
pub async fn batch_cancel(app: AppHandle, args: BatchCancelArgs) -> Result<bool, AppError> {
    Ok(service(&app).batch_cancel(args))
}

/// The keys an emergency revoke would disable.
#[tauri::command]
pub async fn revoke_preview(
    app: AppHandle,
    args: RevokePreviewArgs,
) -> Result<RevokePreview, AppError> {
    Ok(service(&app).revoke_preview(args).await?)
}

/// Emergency revoke: disables every matching key and records which.
#[tauri::command]
pub async fn revoke_start(app: AppHandle, args: RevokeArgs) -> Result<RevokeReport, AppError> {
    Ok(service(&app).revoke_start(args).await?)
}

/// Deletes every key a revoke matched.
#[tauri::command]
pub async fn revoke_delete(
    app: AppHandle,
    args: RevokeFollowUpArgs,
) -> Result<BatchReport, AppError> {
    Ok(service(&app).revoke_delete(args).await?)
}

/// Enables again exactly the keys a revoke disabled.
#[tauri::command]
pub async fn revoke_reenable(
    app: AppHandle,
    args: RevokeFollowUpArgs,
) -> Result<BatchReport, AppError> {
    Ok(service(&app).revoke_reenable(args).await?)
}

/// A profile's emergency revokes, newest first.
#[tauri::command]
pub async fn revokes_list(
    app: AppHandle,
    args: ProfileScopedArgs,
) -> Result<Vec<RevokeRecord>, AppError> {
    Ok(service(&app).revokes_list(args)?)
}

/// Set when the tray asked for the flow while the window had to be built.
static PENDING_OPEN: AtomicBool = AtomicBool::new(false);

/// Whether the tray asked for the emergency revoke before the page could listen; taking clears it.
#[tauri::command]
pub async fn emergency_revoke_take(app: AppHandle, args: EmptyArgs) -> Result<bool, AppError> {
    let EmptyArgs {} = args;
    let _ = app;
    Ok(PENDING_OPEN.swap(false, Ordering::SeqCst))
}

/// The tray's "Emergency revoke…": shows the window on the flow.
pub fn open_emergency_revoke(app: &AppHandle) {
    tracing::info!("emergency revoke from the tray");
    if crate::show_main_window(app) {
        PENDING_OPEN.store(true, Ordering::SeqCst);
    } else {
        events::emit(
            app,
            events::EMERGENCY_REVOKE_OPEN,
            EmergencyRevokeOpenEvent {},
        );
    }
}
