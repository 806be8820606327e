//! The window tells the shell it painted its first key table (after a requestAnimationFrame), so
//! the time from process start to a usable window is logged once: for diagnostics and for
//! `cargo xtask bench startup`, which reads the line.

use std::time::Instant;

use keyward_core::AppError;
use keyward_core::ipc::StartupPaintedArgs;
use keyward_core::startup::{FIRST_PAINT_MESSAGE, process_clock};
use tauri::AppHandle;

/// Logs the first table painted since the process started (later ones, after the window was
/// opened again from the tray, only at debug level).
#[tauri::command]
pub async fn startup_painted(_app: AppHandle, args: StartupPaintedArgs) -> Result<(), AppError> {
    let clock = process_clock();
    match clock.record_paint(args.rows, Instant::now()) {
        Some(paint) => tracing::info!(
            since_start_ms = paint.since_start.as_millis() as u64,
            rows = paint.rows,
            page_script_ms = args.script_ms,
            page_keys_ms = args.keys_ms,
            page_rows_ms = args.rows_ms,
            page_painted_ms = args.painted_ms,
            "{FIRST_PAINT_MESSAGE}"
        ),
        None => tracing::debug!(rows = args.rows, "key table painted again"),
    }
    Ok(())
}
