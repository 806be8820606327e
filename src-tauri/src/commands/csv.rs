//! Commands of the CSV flows. Files are chosen in native open/save dialogs shown from Rust (the web
//! view has no dialog or file permission): a pick reads and previews the file and keeps its bytes
//! here under a random `file_id`, so the apply/run that follows uses exactly the previewed file and
//! the window never names a path to read. The logic is the core's (`Keyward::labels_*`,
//! `Keyward::keys_csv_*`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use keyward_core::csv_io;
use keyward_core::ipc::{
    CsvSaved, KeysCsvCreateArgs, KeysCsvPicked, KeysCsvRun, LabelsImportApplyArgs,
    LabelsImportPicked, LabelsImportResult, ProfileScopedArgs,
};
use keyward_core::service::KeysCsvRunOptions;
use keyward_core::{AppError, Error};
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

use super::service;
use crate::MAIN_WINDOW;
use crate::events::{KEYS_CSV_PROGRESS, emit};

/// A picked file's id and bytes.
type PickedFile = (String, Vec<u8>);
/// Files picked and previewed, by id (a few at most: older ones are dropped).
static PICKED: LazyLock<Mutex<Vec<PickedFile>>> = LazyLock::new(Mutex::default);
/// How many picked files are kept.
const KEEP_PICKED: usize = 4;
/// The running bulk create's cancel flag, by profile.
static RUNNING: LazyLock<Mutex<HashMap<String, Arc<AtomicBool>>>> = LazyLock::new(Mutex::default);

enum Dialog {
    Open,
    Save(&'static str),
}

/// Shows a native file dialog over the main window; `None` when the person cancelled.
async fn choose(app: &AppHandle, dialog: Dialog) -> Result<Option<PathBuf>, Error> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let mut builder = app.dialog().file().add_filter("CSV", &["csv", "txt"]);
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        builder = builder.set_parent(&window);
    }
    let send = move |path: Option<tauri_plugin_dialog::FilePath>| {
        let _ = answer.send(path.and_then(|p| p.into_path().ok()));
    };
    match dialog {
        Dialog::Open => builder.pick_file(send),
        Dialog::Save(name) => builder.set_file_name(name).save_file(send),
    }
    Ok(answered.await.unwrap_or(None))
}

fn keep(bytes: Vec<u8>) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = format!("csv-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut picked = PICKED.lock().unwrap_or_else(PoisonError::into_inner);
    picked.push((id.clone(), bytes));
    let extra = picked.len().saturating_sub(KEEP_PICKED);
    picked.drain(..extra);
    id
}

fn picked(file_id: &str) -> Result<Vec<u8>, Error> {
    PICKED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(id, _)| id == file_id)
        .map(|(_, bytes)| bytes.clone())
        .ok_or_else(|| Error::invalid("file_id", "that file is no longer open: choose it again"))
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

/// "Export labels…": a save dialog, then the profile's labels CSV written there. `None` = cancelled.
#[tauri::command]
pub async fn labels_export_pick(
    app: AppHandle,
    args: ProfileScopedArgs,
) -> Result<Option<CsvSaved>, AppError> {
    let text = service(&app).labels_export(&args.profile_id, false).await?;
    let Some(path) = choose(&app, Dialog::Save("keyward-labels.csv")).await? else {
        return Ok(None);
    };
    std::fs::write(&path, &text).map_err(|err| {
        Error::invalid("file", format!("could not write {}: {err}", path.display()))
    })?;
    Ok(Some(CsvSaved {
        path: path.display().to_string(),
        keys: u32::try_from(text.lines().count().saturating_sub(1)).unwrap_or(u32::MAX),
    }))
}

/// "Import labels…": an open dialog, then the file's preview. `None` = cancelled.
#[tauri::command]
pub async fn labels_import_pick(
    app: AppHandle,
    args: ProfileScopedArgs,
) -> Result<Option<LabelsImportPicked>, AppError> {
    let Some(path) = choose(&app, Dialog::Open).await? else {
        return Ok(None);
    };
    let bytes = csv_io::read_bytes(&path)?;
    let preview = service(&app)
        .labels_import_preview(&args.profile_id, &bytes)
        .await?;
    Ok(Some(LabelsImportPicked {
        file_id: keep(bytes),
        file_name: file_name(&path),
        preview,
    }))
}

#[tauri::command]
pub async fn labels_import_apply(
    app: AppHandle,
    args: LabelsImportApplyArgs,
) -> Result<LabelsImportResult, AppError> {
    let bytes = picked(&args.file_id)?;
    Ok(service(&app)
        .labels_import_apply(&args.profile_id, &bytes, args.valid_only)
        .await?)
}

/// "Create keys from CSV…": an open dialog, then the file's preview. `None` = cancelled.
#[tauri::command]
pub async fn keys_csv_pick(
    app: AppHandle,
    args: ProfileScopedArgs,
) -> Result<Option<KeysCsvPicked>, AppError> {
    let Some(path) = choose(&app, Dialog::Open).await? else {
        return Ok(None);
    };
    let bytes = csv_io::read_bytes(&path)?;
    let preview = service(&app)
        .keys_csv_preview(&args.profile_id, &bytes)
        .await?;
    Ok(Some(KeysCsvPicked {
        file_id: keep(bytes),
        file_name: file_name(&path),
        preview,
    }))
}

/// Runs a picked bulk-create file; progress arrives as `keys-csv-progress` events.
#[tauri::command]
pub async fn keys_csv_create(
    app: AppHandle,
    args: KeysCsvCreateArgs,
) -> Result<KeysCsvRun, AppError> {
    let bytes = picked(&args.file_id)?;
    let cancel = Arc::new(AtomicBool::new(false));
    RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(args.profile_id.clone(), Arc::clone(&cancel));
    let events = app.clone();
    let progress = move |p| emit(&events, KEYS_CSV_PROGRESS, p);
    let run = service(&app)
        .keys_csv_create(
            &args.profile_id,
            &bytes,
            KeysCsvRunOptions {
                only_rows: args.only_rows,
            },
            &progress,
            &cancel,
        )
        .await;
    RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&args.profile_id);
    Ok(run?)
}

/// Stops the profile's running bulk create before its next row.
#[tauri::command]
pub async fn keys_csv_cancel(_app: AppHandle, args: ProfileScopedArgs) -> Result<(), AppError> {
    if let Some(flag) = RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&args.profile_id)
    {
        flag.store(true, Ordering::SeqCst);
    }
    Ok(())
}
