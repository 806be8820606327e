//! Start at login (tauri-plugin-autostart), off by default and following the `start_at_login` watch
//! setting: applied at start and whenever the settings change. A login start passes
//! [`HIDDEN_ARG`], so Keyward starts in the tray without opening its window.

use tauri::AppHandle;
use tauri_plugin_autostart::ManagerExt;

/// The argument the login entry starts Keyward with.
pub const HIDDEN_ARG: &str = "--hidden";

/// The autostart plugin, registering [`HIDDEN_ARG`] as the login entry's argument.
pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_autostart::Builder::new()
        .arg(HIDDEN_ARG)
        .build()
}

/// Makes the login entry match `enabled`. Enabling always rewrites the entry, so it points at the
/// executable running now (an update may have moved it). `Err` carries the reason.
pub fn apply(app: &AppHandle, enabled: bool) -> Result<(), String> {
    let manager = app.autolaunch();
    if enabled {
        manager.enable().map_err(|err| err.to_string())?;
        tracing::info!("start at login is on");
    } else if manager.is_enabled().map_err(|err| err.to_string())? {
        manager.disable().map_err(|err| err.to_string())?;
        tracing::info!("start at login is off");
    }
    Ok(())
}
