//! About, "Copy diagnostics", crash notes and the log folder. The facts only the shell knows (Tauri's
//! and the web view's versions, the commit, the paths) are gathered here; the texts are made, and
//! redacted, by `keyward_core::diagnostics`.

use std::sync::atomic::{AtomicBool, Ordering};

use keyward_core::AppError;
use keyward_core::diagnostics::crash::{self, CrashArgs, CrashReport};
use keyward_core::diagnostics::{
    self, AboutInfo, AboutLinkArgs, AboutOpenEvent, Diagnostics, DiagnosticsCopied,
};
use keyward_core::ipc::EmptyArgs;
use tauri::{AppHandle, Manager};
use tauri_plugin_opener::OpenerExt;

use super::service;
use crate::logging::AppLog;
use crate::{crash::COMMIT, events};

/// The tray asked for About while the window was being built (its page could not get the event).
static PENDING_OPEN: AtomicBool = AtomicBool::new(false);

fn app_log(app: &AppHandle) -> Result<tauri::State<'_, AppLog>, AppError> {
    app.try_state::<AppLog>()
        .ok_or_else(|| internal("the log is not set up yet".to_owned()))
}

fn internal(message: String) -> AppError {
    AppError::from(keyward_core::Error::Internal {
        message,
        source: None,
    })
}

fn about(app: &AppHandle) -> Result<AboutInfo, AppError> {
    let log = app_log(app)?;
    Ok(AboutInfo {
        name: app.package_info().name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit: COMMIT.to_owned(),
        tauri_version: tauri::VERSION.to_owned(),
        webview_version: tauri::webview_version().ok().map(webview_name),
        platform: diagnostics::platform(),
        license: env!("CARGO_PKG_LICENSE").to_owned(),
        homepage: diagnostics::HOMEPAGE.to_owned(),
        issues_url: diagnostics::ISSUES_URL.to_owned(),
        docs_url: diagnostics::DOCS_URL.to_owned(),
        log_dir: log.log_dir.display().to_string(),
        data_dir: log.data_dir.display().to_string(),
    })
}

/// The engine's name before its version.
fn webview_name(version: String) -> String {
    let engine = if cfg!(target_os = "linux") {
        "WebKitGTK"
    } else if cfg!(target_os = "macos") {
        "WKWebView"
    } else if cfg!(windows) {
        "WebView2"
    } else {
        "web view"
    };
    format!("{engine} {version}")
}

#[tauri::command]
pub async fn about_info(app: AppHandle, args: EmptyArgs) -> Result<AboutInfo, AppError> {
    let EmptyArgs {} = args;
    about(&app)
}

/// Puts the diagnostics on the clipboard (no secret in them: they are redacted as a whole) and
/// returns them, so the window can show what was copied.
#[tauri::command]
pub async fn diagnostics_copy(
    app: AppHandle,
    args: EmptyArgs,
) -> Result<DiagnosticsCopied, AppError> {
    let EmptyArgs {} = args;
    let about = about(&app)?;
    let log = app_log(&app)?;
    let settings = serde_json::json!({ "watch": service(&app).watch_settings() });
    let text = diagnostics::render(&Diagnostics {
        about,
        os_release: diagnostics::os_release(),
        settings,
        recent: log.recent.snapshot(),
        last_crash: crash::latest_name(&log.log_dir),
    });
    crate::clipboard::copy_text(&app, &text).map_err(internal)?;
    tracing::info!("diagnostics copied to the clipboard");
    Ok(DiagnosticsCopied { text })
}

/// The newest crash note not dismissed yet (`null` when there is none).
#[tauri::command]
pub async fn crash_latest(
    app: AppHandle,
    args: EmptyArgs,
) -> Result<Option<CrashReport>, AppError> {
    let EmptyArgs {} = args;
    let log = app_log(&app)?;
    crash::latest_unseen(&log.log_dir)
        .map_err(|err| internal(format!("could not read the crash notes: {err}")))
}

/// Copies a crash note to the clipboard.
#[tauri::command]
pub async fn crash_copy(app: AppHandle, args: CrashArgs) -> Result<(), AppError> {
    let log = app_log(&app)?;
    let text = crash::read(&log.log_dir, &args.id)?;
    crate::clipboard::copy_text(&app, &text).map_err(internal)
}

/// Marks a crash note seen: it is not offered again (the file stays in the log folder).
#[tauri::command]
pub async fn crash_dismiss(app: AppHandle, args: CrashArgs) -> Result<(), AppError> {
    let log = app_log(&app)?;
    crash::mark_seen(&log.log_dir, &args.id)?;
    Ok(())
}

/// Opens the log folder in the file manager.
#[tauri::command]
pub async fn log_folder_open(app: AppHandle, args: EmptyArgs) -> Result<(), AppError> {
    let EmptyArgs {} = args;
    let dir = app_log(&app)?.log_dir.display().to_string();
    app.opener()
        .open_path(dir, None::<&str>)
        .map_err(|err| internal(format!("could not open the log folder: {err}")))
}

/// Opens one of About's fixed links (homepage, issues, docs) in the browser; the page can name a
/// link, never an address.
#[tauri::command]
pub async fn about_link_open(app: AppHandle, args: AboutLinkArgs) -> Result<(), AppError> {
    app.opener()
        .open_url(args.link.url(), None::<&str>)
        .map_err(|err| internal(format!("could not open the link: {err}")))
}

/// Whether the tray asked for About before the page could receive `about-open`. Taking it clears it.
#[tauri::command]
pub async fn about_open_take(app: AppHandle, args: EmptyArgs) -> Result<bool, AppError> {
    let EmptyArgs {} = args;
    let _ = app;
    Ok(PENDING_OPEN.swap(false, Ordering::SeqCst))
}

/// The tray's "About Keyward": shows the window with About open.
pub fn open_about(app: &AppHandle) {
    if crate::show_main_window(app) {
        PENDING_OPEN.store(true, Ordering::SeqCst);
    } else {
        events::emit(app, events::ABOUT_OPEN, AboutOpenEvent {});
    }
}
