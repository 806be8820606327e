//! The tray icon: how many alerts are open (a dot on the icon, the tooltip and the menu's first line)
//! and the menu Open, Refresh now, Pause alerts for 1 h / Resume alerts, Emergency revoke…, About Keyward,
//! Check for updates…, Quit. Linux shows trays
//! through libayatana-appindicator3 and a StatusNotifier host (or an XEmbed tray on X11); without
//! the library, or without a host to show the icon (stock GNOME), closing the window quits instead
//! ([`TrayHost`], keyward_core::tray_host). On macOS the icon is a template image (black + alpha),
//! which the menu bar tints for light and dark, and the Dock icon goes away while only the tray is
//! open (the accessory activation policy), as menu-bar apps do.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Local, Utc};
use keyward_core::Keyward;
use keyward_core::tray_host::{self, TrayStatus};
use keyward_core::watch::AlertsSnapshot;
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::Background;

/// How long "Pause alerts" pauses them.
pub const PAUSE_FOR: chrono::Duration = chrono::Duration::hours(1);

const TRAY_ID: &str = "keyward";
const OPEN: &str = "open";
const REFRESH: &str = "refresh";
const PAUSE: &str = "pause";
const QUIT: &str = "quit";
const EMERGENCY_REVOKE: &str = "emergency-revoke";
const ABOUT: &str = "about";
const CHECK_UPDATES: &str = "check-updates";

#[cfg(not(target_os = "macos"))]
const ICON: &[u8] = include_bytes!("../../icons/tray.png");
#[cfg(not(target_os = "macos"))]
const ICON_ALERTS: &[u8] = include_bytes!("../../icons/tray-alert.png");
// The menu bar wants a template: only the alpha counts, tinted for the bar's light or dark look
// (the key is cut out of the shield, the alert dot stays).
#[cfg(target_os = "macos")]
const ICON: &[u8] = include_bytes!("../../icons/tray-template.png");
#[cfg(target_os = "macos")]
const ICON_ALERTS: &[u8] = include_bytes!("../../icons/tray-alert-template.png");
/// Whether the icons are templates (macOS only; ignored elsewhere).
const TEMPLATE: bool = cfg!(target_os = "macos");

/// The tray, managed by the app once it exists.
pub struct Tray {
    icon: TrayIcon<Wry>,
    status: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    plain: Image<'static>,
    alerting: Image<'static>,
}

/// What the tray says about a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayText {
    /// The tooltip and the menu's first line, e.g. "Keyward — 3 alerts".
    pub status: String,
    /// The pause item: "Pause alerts for 1 h" or "Resume alerts".
    pub pause: &'static str,
    /// Whether the icon shows the dot.
    pub dot: bool,
}

/// The open alerts of `snapshot` (snoozed ones included: they are still open; a lower threshold
/// under a higher one of the same key, e.g. 80 % under 95 %, is not counted twice) and whether
/// alerts are paused at `now`; times are shown in `local` time.
pub fn tray_text(snapshot: &AlertsSnapshot, now: DateTime<Utc>) -> TrayText {
    let open = snapshot
        .alerts
        .iter()
        .filter(|alert| !alert.superseded)
        .count();
    let count = match open {
        0 => "no alerts".to_owned(),
        1 => "1 alert".to_owned(),
        n => format!("{n} alerts"),
    };
    let paused_until = snapshot.paused_until.filter(|until| *until > now);
    let status = match paused_until {
        Some(until) => format!(
            "Keyward — {count} (paused until {})",
            until.with_timezone(&Local).format("%H:%M")
        ),
        None => format!("Keyward — {count}"),
    };
    TrayText {
        status,
        pause: if paused_until.is_some() {
            "Resume alerts"
        } else {
            "Pause alerts for 1 h"
        },
        dot: open > 0,
    }
}

/// Builds the tray. `Err` (logged by the caller) when the platform has no tray: the app goes on.
pub fn create(app: &AppHandle, snapshot: &AlertsSnapshot) -> Result<Tray, String> {
    let plain = Image::from_bytes(ICON).map_err(|err| err.to_string())?;
    let alerting = Image::from_bytes(ICON_ALERTS).map_err(|err| err.to_string())?;
    let text = tray_text(snapshot, Utc::now());
    let menu_error = |err: tauri::Error| format!("could not build the tray menu: {err}");
    let status =
        MenuItem::with_id(app, "status", &text.status, false, None::<&str>).map_err(menu_error)?;
    let pause =
        MenuItem::with_id(app, PAUSE, text.pause, true, None::<&str>).map_err(menu_error)?;
    let open =
        MenuItem::with_id(app, OPEN, "Open Keyward", true, None::<&str>).map_err(menu_error)?;
    let refresh =
        MenuItem::with_id(app, REFRESH, "Refresh now", true, None::<&str>).map_err(menu_error)?;
    let emergency = MenuItem::with_id(
        app,
        EMERGENCY_REVOKE,
        "Emergency revoke…",
        true,
        None::<&str>,
    )
    .map_err(menu_error)?;
    let about =
        MenuItem::with_id(app, ABOUT, "About Keyward", true, None::<&str>).map_err(menu_error)?;
    let check_updates =
        MenuItem::with_id(app, CHECK_UPDATES, "Check for updates…", true, None::<&str>)
            .map_err(menu_error)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>).map_err(menu_error)?;
    let first_separator = PredefinedMenuItem::separator(app).map_err(menu_error)?;
    let last_separator = PredefinedMenuItem::separator(app).map_err(menu_error)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &first_separator,
            &open,
            &refresh,
            &pause,
            &emergency,
            &last_separator,
            &about,
            &check_updates,
            &quit,
        ],
    )
    .map_err(menu_error)?;
    let builder = TrayIconBuilder::with_id(TRAY_ID)
        .icon(if text.dot {
            alerting.clone()
        } else {
            plain.clone()
        })
        .icon_as_template(TEMPLATE)
        .tooltip(&text.status)
        .menu(&menu)
        // Left click opens the window (Windows, macOS); the menu is on the right button. Linux
        // always opens the menu.
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu_event)
        .on_tray_icon_event(on_tray_icon_event);
    // Linux loads libayatana-appindicator3 when the first tray is built and panics when it is
    // missing; that must not take the app down.
    let built = crate::crash::catch_expected(|| builder.build(app))
        .map_err(|_| "no tray library (libayatana-appindicator3) on this system".to_owned())?
        .map_err(|err| format!("could not create the tray icon: {err}"))?;
    Ok(Tray {
        icon: built,
        status,
        pause,
        plain,
        alerting,
    })
}

impl Tray {
    /// Shows the open alerts of `snapshot`.
    pub fn show_alerts(&self, snapshot: &AlertsSnapshot) {
        let text = tray_text(snapshot, Utc::now());
        let results = [
            self.status.set_text(&text.status),
            self.pause.set_text(text.pause),
            self.icon.set_tooltip(Some(&text.status)),
            // Not set_icon: on macOS it drops the template flag.
            self.icon.set_icon_with_as_template(
                Some(if text.dot {
                    self.alerting.clone()
                } else {
                    self.plain.clone()
                }),
                TEMPLATE,
            ),
        ];
        for result in results {
            if let Err(err) = result {
                tracing::warn!(error = %err, "could not update the tray");
            }
        }
    }
}

/// What closing the window does ([`keyward_core::tray_host`]): probed at start and again each time
/// the window closes, since a tray host can come (an extension enabled) or go while Keyward runs.
pub struct TrayHost {
    icon_built: bool,
    status: Mutex<TrayStatus>,
}

impl TrayHost {
    /// Probes the desktop; `icon_built` says whether [`create`] succeeded.
    pub fn probe(icon_built: bool) -> TrayHost {
        let status = tray_host::decide(&tray_host::probe(icon_built));
        log_status(&status);
        TrayHost {
            icon_built,
            status: Mutex::new(status),
        }
    }

    /// Probes again and keeps the answer.
    pub fn refresh(&self) -> TrayStatus {
        let status = tray_host::decide(&tray_host::probe(self.icon_built));
        let mut current = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        if *current != status {
            log_status(&status);
            *current = status.clone();
        }
        status
    }

    /// The last answer.
    pub fn current(&self) -> TrayStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn log_status(status: &TrayStatus) {
    match (&status.host, &status.reason) {
        (Some(host), _) => tracing::info!(
            ?host,
            "tray icon shown; closing the window keeps Keyward in the tray"
        ),
        (None, reason) => tracing::warn!(
            reason = reason.as_deref().unwrap_or_default(),
            "no tray; closing the window quits"
        ),
    }
}

/// macOS: a Dock icon only while the window is open (`Regular`); with only the tray left, Keyward
/// is a menu-bar app (`Accessory`: no Dock icon, no app menu). Elsewhere nothing to do.
pub fn show_in_dock(app: &AppHandle, visible: bool) {
    #[cfg(target_os = "macos")]
    {
        let policy = if visible {
            tauri::ActivationPolicy::Regular
        } else {
            tauri::ActivationPolicy::Accessory
        };
        if let Err(err) = app.set_activation_policy(policy) {
            tracing::warn!(error = %err, "could not change the Dock icon");
        }
    }
    #[cfg(not(target_os = "macos"))]
    let _ = (app, visible);
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => {
            crate::show_main_window(app);
        }
        REFRESH => match app.try_state::<Background>() {
            Some(background) => background.refresh_now(),
            None => tracing::warn!("refresh asked before the watcher started"),
        },
        PAUSE => toggle_pause(app),
        EMERGENCY_REVOKE => crate::commands::batch::open_emergency_revoke(app),
        ABOUT => crate::commands::about::open_about(app),
        CHECK_UPDATES => crate::commands::updater::open_update_check(app),
        QUIT => {
            tracing::info!("quit from the tray");
            app.exit(0);
        }
        _ => {}
    }
}

fn on_tray_icon_event(tray: &TrayIcon<Wry>, event: TrayIconEvent) {
    if let TrayIconEvent::Click {
        button: MouseButton::Left,
        button_state: MouseButtonState::Up,
        ..
    } = event
    {
        crate::show_main_window(tray.app_handle());
    }
}

/// Pauses alerts for [`PAUSE_FOR`], or resumes them when paused. Off the main thread: it writes the
/// store. The watcher's notifier updates the tray and the window with the new state.
fn toggle_pause(app: &AppHandle) {
    let Some(service) = app
        .try_state::<Keyward>()
        .map(|state| state.inner().clone())
    else {
        return;
    };
    tauri::async_runtime::spawn_blocking(move || {
        let now = Utc::now();
        let paused = service
            .alerts(None)
            .map(|snapshot| snapshot.paused_until.is_some_and(|until| until > now))
            .unwrap_or(false);
        let until = if paused { None } else { Some(now + PAUSE_FOR) };
        match service.pause_alerts(until) {
            Ok(_) => tracing::info!(?until, "alerts paused or resumed from the tray"),
            Err(err) => tracing::warn!(error = %err, "could not pause or resume alerts"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::watch::{AlertKind, AlertSeverity, AlertView};

    fn alert(id: &str) -> AlertView {
        AlertView {
            id: id.to_owned(),
            profile_id: "p".to_owned(),
            key_hash: "h".to_owned(),
            key_name: "prod-api".to_owned(),
            kind: AlertKind::Limit,
            severity: AlertSeverity::Warning,
            threshold: "80".to_owned(),
            period: "2026-11".to_owned(),
            title: "prod-api used 80 % of its limit".to_owned(),
            body: String::new(),
            action: String::new(),
            raised_at: Utc::now(),
            due_at: None,
            snoozed_until: None,
            limit: Some(10.0),
            superseded: false,
        }
    }

    #[test]
    fn counts_alerts_and_shows_the_dot() {
        let now = Utc::now();
        let mut snapshot = AlertsSnapshot::default();
        let text = tray_text(&snapshot, now);
        assert_eq!(text.status, "Keyward — no alerts");
        assert!(!text.dot);
        snapshot.alerts.push(alert("a"));
        assert_eq!(tray_text(&snapshot, now).status, "Keyward — 1 alert");
        snapshot.alerts.push(alert("b"));
        snapshot.alerts.push(alert("c"));
        let text = tray_text(&snapshot, now);
        assert_eq!(text.status, "Keyward — 3 alerts");
        assert!(text.dot);
        assert_eq!(text.pause, "Pause alerts for 1 h");
        // 80 % under 95 % of the same key counts once.
        snapshot.alerts.push(AlertView {
            superseded: true,
            ..alert("d")
        });
        assert_eq!(tray_text(&snapshot, now).status, "Keyward — 3 alerts");
    }

    #[test]
    fn a_pause_offers_resume_until_it_ends() {
        let now = Utc::now();
        let snapshot = AlertsSnapshot {
            alerts: vec![alert("a")],
            paused_until: Some(now + PAUSE_FOR),
            ..AlertsSnapshot::default()
        };
        let text = tray_text(&snapshot, now);
        assert_eq!(text.pause, "Resume alerts");
        assert!(
            text.status.starts_with("Keyward — 1 alert (paused until "),
            "{}",
            text.status
        );
        let later = tray_text(&snapshot, now + PAUSE_FOR + chrono::Duration::seconds(1));
        assert_eq!(later.pause, "Pause alerts for 1 h");
        assert_eq!(later.status, "Keyward — 1 alert");
    }
}
