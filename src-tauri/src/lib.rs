//! Keyward's desktop shell (Tauri 2): windows, the tray, desktop notifications, start at login,
//! commands, events, the clipboard and opening the one allowed web page; everything else is in
//! keyward-core. Environment: `KEYWARD_DATA_DIR`, `KEYWARD_KEYCHAIN_SERVICE`,
//! `KEYWARD_WATCH_INTERVAL_SECS` (tests), `KEYWARD_CRASH_TEST` (debug builds only), `RUST_LOG`; flags `--sandbox`, `--hidden` (start at login).

mod approval;
mod autostart;
pub mod bindings;
mod clipboard;
pub mod commands;
mod crash;
pub mod events;
mod logging;
mod notifier;
pub mod tray;
pub mod updater;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keyward_core::service::{SandboxConfig, ServiceConfig};
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use keyward_core::watch::{AlertNotifier, WatchSettings, WatcherHandle};
use keyward_core::{Error, Keyward};
use tauri::{Manager, RunEvent, WindowEvent};

/// Overrides the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "KEYWARD_DATA_DIR";
/// Overrides the keychain service name (tests use one of their own).
pub const KEYCHAIN_SERVICE_ENV: &str = "KEYWARD_KEYCHAIN_SERVICE";
/// Sets the watcher's interval in seconds, below the settings' 10 s floor if need be, and stores it
/// in the watch settings (tests: a scratch data directory, cycles every few seconds).
pub const WATCH_INTERVAL_ENV: &str = "KEYWARD_WATCH_INTERVAL_SECS";
/// The main window's label (tauri.conf.json).
pub const MAIN_WINDOW: &str = "main";

/// Command-line options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Open the sandbox at start.
    pub sandbox: bool,
    /// Open the sandbox at start when no management key is stored (what `cargo xtask app` passes).
    pub sandbox_if_no_key: bool,
    /// Start in the tray, the window hidden (a start at login).
    pub hidden: bool,
}

impl Options {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Options {
        let mut options = Options::default();
        for arg in args {
            match arg.as_str() {
                "--sandbox" => options.sandbox = true,
                "--sandbox-if-no-key" => options.sandbox_if_no_key = true,
                autostart::HIDDEN_ARG => options.hidden = true,
                _ => {}
            }
        }
        options
    }
}

/// The background work the app owns: the watcher (stopped when dropped, i.e. when the app exits).
pub struct Background {
    watcher: Mutex<Option<WatcherHandle>>,
}

impl Background {
    /// Runs a watch cycle now.
    pub fn refresh_now(&self) {
        match &*self.watcher.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(watcher) => watcher.refresh_now(),
            None => tracing::warn!("no watcher is running"),
        }
    }
}

pub fn run() {
    let options = Options::parse(std::env::args().skip(1));
    let app = tauri::Builder::default()
        // First, so a second launch only shows the running window.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_main_window(app);
        }))
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(clipboard::CopiedSecret::default())
        // Only for the one link the capability allows; links are opened explicitly by the UI, so the
        // plugin's click interception (which would open any `target=_blank` link) stays off.
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        // Notifications are sent from Rust only; the window has no notification permission.
        .plugin(tauri_plugin_notification::init())
        .plugin(autostart::plugin())
        // For the native dialog approving a command deploy target, shown from Rust only: the window
        // has no dialog permission (capabilities/main-window.json).
        .plugin(tauri_plugin_dialog::init())
        // Installs updates our commands downloaded and verified (src/updater.rs); the window has no
        // updater permission.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            let service = start_service(app.handle(), &options)?;
            app.manage(service.clone());
            app.manage(PendingOpenKey::default());
            app.manage(updater::create(app.handle()));
            start_desktop(app.handle(), &service, &options);
            quit_on_signals(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| match event {
            // Asked again now: a tray host may have come or gone since the start.
            WindowEvent::CloseRequested { .. }
                if window.label() == MAIN_WINDOW && refresh_tray_host(window.app_handle()) =>
            {
                // The window (and its web content process) really closes: an idle app in the tray
                // then costs no web-page memory or timer wake-ups. Opening it again rebuilds it.
                tracing::info!("window closed; Keyward stays in the tray and the watcher goes on");
            }
            WindowEvent::CloseRequested { .. } if window.label() == MAIN_WINDOW => {
                tracing::info!("window closed with no tray to stay in; Keyward quits");
            }
            WindowEvent::Destroyed if window.label() == MAIN_WINDOW => {
                if let Some(service) = window.app_handle().try_state::<Keyward>() {
                    service.set_window_open(false);
                }
                if stays_in_tray(window.app_handle()) {
                    tray::show_in_dock(window.app_handle(), false);
                }
            }
            _ => {}
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|app, event| match event {
            // `code: None`: the last window closed (not Quit, which exits with a code).
            RunEvent::ExitRequested {
                code: None, api, ..
            } if stays_in_tray(app) => api.prevent_exit(),
            // Keyward is quitting. Here rather than at `Exit`: by then the clipboard plugin has
            // dropped its clipboard (and would panic on a read).
            RunEvent::ExitRequested { .. } => clipboard::clear_on_exit(app),
            RunEvent::Exit => tracing::info!("Keyward exits"),
            _ => {}
        }),
        Err(err) => {
            eprintln!("Keyward could not start: {err}");
            std::process::exit(1);
        }
    }
}

/// SIGTERM, SIGINT or SIGHUP (a logout, `kill`, Ctrl-C) quit like the tray's Quit, so the exit
/// hooks run (the clipboard is cleared of a secret copied less than 30 s ago).
fn quit_on_signals(app: &tauri::AppHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) else {
                tracing::warn!(
                    "cannot listen for signals; a kill ends Keyward without its exit hooks"
                );
                return;
            };
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => "SIGHUP",
            };
            tracing::info!(signal = name, "quitting on a signal");
            app.exit(0);
        });
    }
    #[cfg(not(unix))]
    let _ = app;
}

/// Whether closing the window leaves the app running in the tray (so the watcher goes on). Without a
/// tray that shows the icon (no tray library, or no tray host: stock GNOME) closing quits, or
/// nothing could bring the window back but a second launch (see keyward_core::tray_host).
fn stays_in_tray(app: &tauri::AppHandle) -> bool {
    app.try_state::<tray::TrayHost>()
        .is_some_and(|host| host.current().stays_in_tray)
}

/// Probes the tray host again (see [`tray::TrayHost`]); whether closing keeps Keyward in the tray.
fn refresh_tray_host(app: &tauri::AppHandle) -> bool {
    app.try_state::<tray::TrayHost>()
        .is_some_and(|host| host.refresh().stays_in_tray)
}

/// Shows, unminimizes and focuses the main window, building it again from its configuration when
/// it was closed to the tray. True when it had to be built (its page is still loading, so it can't
/// receive events yet).
pub fn show_main_window(app: &tauri::AppHandle) -> bool {
    tray::show_in_dock(app, true);
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return false;
    }
    let Some(config) = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == MAIN_WINDOW)
    else {
        tracing::error!("tauri.conf.json has no main window");
        return false;
    };
    match tauri::WebviewWindowBuilder::from_config(app, config)
        .and_then(|builder| builder.visible(true).focused(true).build())
    {
        Ok(_) => {
            if let Some(service) = app.try_state::<Keyward>() {
                service.set_window_open(true);
            }
            true
        }
        Err(err) => {
            tracing::error!(error = %err, "could not open the window");
            false
        }
    }
}

/// A key to open once the window's page asks (`open_key_take`): set when a notification click
/// had to build the window first.
#[derive(Default)]
pub struct PendingOpenKey(Mutex<Option<keyward_core::ipc::OpenKeyEvent>>);

impl PendingOpenKey {
    pub fn take(&self) -> Option<keyward_core::ipc::OpenKeyEvent> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Shows the window and selects `key` in it: by event when the page is running, or through
/// [`PendingOpenKey`] when the window had to be built.
pub fn open_key(app: &tauri::AppHandle, key: keyward_core::ipc::OpenKeyEvent) {
    if show_main_window(app) {
        if let Some(pending) = app.try_state::<PendingOpenKey>() {
            *pending.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(key);
        }
    } else {
        events::emit(app, events::OPEN_KEY, key);
    }
}

/// Everything around the window: the tray, notification clicks, start at login and the watcher.
/// None of it is needed to manage keys, so a failure is logged and the app goes on.
fn start_desktop(app: &tauri::AppHandle, service: &Keyward, options: &Options) {
    if !options.hidden {
        show_main_window(app);
    }
    notifier::handle_clicks(app);
    let snapshot = service.alerts(None).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "could not read the open alerts");
        Default::default()
    });
    let icon_built = match tray::create(app, &snapshot) {
        Ok(tray) => {
            app.manage(tray);
            true
        }
        Err(reason) => {
            tracing::warn!(%reason, "no tray icon; closing the window will quit");
            false
        }
    };
    let host = tray::TrayHost::probe(icon_built);
    match (options.hidden, host.current().stays_in_tray) {
        // Started at login with no tray to show: nothing else would show the window.
        (true, false) => {
            show_main_window(app);
        }
        // Started at login into the tray: no Dock icon (macOS).
        (true, true) => tray::show_in_dock(app, false),
        _ => {}
    }
    app.manage(host);
    let start_at_login = service.watch_settings().start_at_login;
    if let Err(reason) = autostart::apply(app, start_at_login) {
        tracing::warn!(%reason, start_at_login, "could not apply start at login");
    }
    let notifier: Arc<dyn AlertNotifier> = Arc::new(notifier::DesktopNotifier::new(app.clone()));
    // `start_watcher` spawns on the current tokio runtime: Tauri's.
    let watcher = tauri::async_runtime::block_on(async {
        service.start_rotation_ticker();
        service.start_watcher(notifier)
    });
    // Interrupted rotations resume (or finish rolling back) without holding up the window.
    let resuming = service.clone();
    tauri::async_runtime::spawn(async move {
        match resuming.resume_rotations().await {
            Ok(rotations) if !rotations.is_empty() => {
                tracing::info!(
                    count = rotations.len(),
                    "unfinished rotations found at start-up"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not resume the unfinished rotations"),
        }
    });
    app.manage(Background {
        watcher: Mutex::new(Some(watcher)),
    });
}

/// The watcher interval from [`WATCH_INTERVAL_ENV`], if set to a whole number of seconds ≥ 1.
fn watch_interval_override() -> Option<u32> {
    let text = std::env::var(WATCH_INTERVAL_ENV).ok()?;
    match text.trim().parse::<u32>() {
        Ok(secs) if secs >= 1 => Some(secs),
        _ => {
            tracing::warn!(value = %text, "ignoring {WATCH_INTERVAL_ENV}: not a number of seconds ≥ 1");
            None
        }
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
    // 0700, also an existing directory an earlier version made 0755.
    keyward_core::private_fs::ensure_private_dir(&data_dir)?;
    // The OS log directory, or beside the data when that is overridden (tests stay in their scratch
    // directory).
    let log_dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => data_dir.join("logs"),
        _ => app.path().app_log_dir()?,
    };
    let recent = logging::init(&log_dir);
    crash::install(log_dir.clone());
    tracing::info!(data_dir = %data_dir.display(), log_dir = %log_dir.display(), version = env!("CARGO_PKG_VERSION"), commit = crash::COMMIT, "Keyward starts");
    app.manage(logging::AppLog {
        log_dir,
        data_dir: data_dir.clone(),
        recent,
    });
    crash::crash_test_if_asked();

    let vault = match std::env::var(KEYCHAIN_SERVICE_ENV) {
        Ok(service) if !service.trim().is_empty() => Vault::with_service(service),
        _ => Vault::new(),
    };
    let store = Store::open_in_dir(&data_dir)?;
    let interval_override = watch_interval_override();
    let mut config = ServiceConfig::new(vault);
    if let Some(secs) = interval_override {
        let interval = Duration::from_secs(u64::from(secs));
        config.watcher.min_interval = interval;
        config.watcher.backoff.initial = config.watcher.backoff.initial.min(interval);
    }
    config.events = Arc::new(events::WindowEvents::new(app.clone()));
    config.rotation.clipboard = Some(Arc::new(clipboard::ShellClipboard::new(app.clone())));
    config.rotation.approver = Some(Arc::new(approval::NativeApprover::new(app.clone())));
    config.sandbox = SandboxConfig {
        state_file: Some(data_dir.join("sandbox-emulator.json")),
        traffic: true,
        ..SandboxConfig::default()
    };
    let service = Keyward::new(store, config);
    if let Some(interval_secs) = interval_override {
        let settings = service.watch_settings();
        if settings.interval_secs != interval_secs {
            service.set_watch_settings(WatchSettings {
                interval_secs,
                ..settings
            })?;
        }
        tracing::info!(interval_secs, "watch interval set by {WATCH_INTERVAL_ENV}");
    }
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
