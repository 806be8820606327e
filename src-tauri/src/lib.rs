//! Keyward's desktop shell (Tauri 2): windows, commands, events, the clipboard and opening the one
//! allowed web page. Everything else is in keyward-core; a command here parses its `args`, calls one
//! service function and maps the result.
//!
//! Environment: `KEYWARD_DATA_DIR` replaces the data directory (tests), `KEYWARD_KEYCHAIN_SERVICE` the
//! keychain service name (tests), `RUST_LOG` the log filter. Command line: `--sandbox` opens the
//! sandbox directly.

pub mod bindings;
pub mod commands;
pub mod events;
mod logging;

use std::path::PathBuf;
use std::sync::Arc;

use keyward_core::service::{SandboxConfig, ServiceConfig};
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use keyward_core::{Error, Keyward};
use tauri::{Manager, RunEvent, WindowEvent};

/// Overrides the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "KEYWARD_DATA_DIR";
/// Overrides the keychain service name (tests use one of their own).
pub const KEYCHAIN_SERVICE_ENV: &str = "KEYWARD_KEYCHAIN_SERVICE";
/// The main window's label (tauri.conf.json).
pub const MAIN_WINDOW: &str = "main";

/// What closing the main window does. Quitting for now; the tray (a later issue) will keep the app
/// running instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseBehavior {
    Quit,
    HideToTray,
}

pub const CLOSE_BEHAVIOR: CloseBehavior = CloseBehavior::Quit;

/// Command-line options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Open the sandbox at start.
    pub sandbox: bool,
    /// Open the sandbox at start when no management key is stored (what `cargo xtask app` passes).
    pub sandbox_if_no_key: bool,
}

impl Options {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Options {
        let mut options = Options::default();
        for arg in args {
            match arg.as_str() {
                "--sandbox" => options.sandbox = true,
                "--sandbox-if-no-key" => options.sandbox_if_no_key = true,
                _ => {}
            }
        }
        options
    }
}

pub fn run() {
    let options = Options::parse(std::env::args().skip(1));
    let app = tauri::Builder::default()
        // First, so a second launch only focuses the running window.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            focus_main_window(app);
        }))
        .plugin(tauri_plugin_clipboard_manager::init())
        // Only for the one link the capability allows; links are opened explicitly by the UI, so the
        // plugin's click interception (which would open any `target=_blank` link) stays off.
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        .invoke_handler(commands::handler())
        .setup(move |app| {
            let service = start_service(app.handle(), &options)?;
            app.manage(service);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && CLOSE_BEHAVIOR == CloseBehavior::HideToTray
            {
                api.prevent_close();
                if let Err(err) = window.hide() {
                    tracing::warn!(error = %err, "could not hide the window");
                }
            }
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_app, event| {
            if let RunEvent::Exit = event {
                tracing::info!("Keyward exits");
            }
        }),
        Err(err) => {
            eprintln!("Keyward could not start: {err}");
            std::process::exit(1);
        }
    }
}

fn focus_main_window(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Opens the store in the data directory, starts logging there and builds the service.
fn start_service(
    app: &tauri::AppHandle,
    options: &Options,
) -> Result<Keyward, Box<dyn std::error::Error>> {
    let data_dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&data_dir)?;
    logging::init(&data_dir);
    tracing::info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), "Keyward starts");

    let vault = match std::env::var(KEYCHAIN_SERVICE_ENV) {
        Ok(service) if !service.trim().is_empty() => Vault::with_service(service),
        _ => Vault::new(),
    };
    let store = Store::open_in_dir(&data_dir)?;
    let mut config = ServiceConfig::new(vault);
    config.events = Arc::new(events::WindowEvents::new(app.clone()));
    config.sandbox = SandboxConfig {
        state_file: Some(data_dir.join("sandbox-emulator.json")),
        traffic: true,
        ..SandboxConfig::default()
    };
    let service = Keyward::new(store, config);
    let open_sandbox = options.sandbox
        || (options.sandbox_if_no_key && !service.has_real_profile().unwrap_or(true));
    if open_sandbox {
        let opened: Result<_, Error> = tauri::async_runtime::block_on(service.sandbox_open());
        match opened {
            Ok(profile) => tracing::info!(profile = %profile.id, "opened the sandbox (--sandbox)"),
            Err(err) => tracing::error!(error = %err, "could not open the sandbox"),
        }
    }
    Ok(service)
}
