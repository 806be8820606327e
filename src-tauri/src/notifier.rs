//! Where the watcher's results land on the desktop: desktop notifications (tauri-plugin-notification),
//! the `alerts-changed` window event and the tray. Clicking a notification shows the window and asks
//! it to open the key (`open-key`), where the platform reports clicks: Linux (Desktop Notifications
//! servers that offer the `default` action, e.g. GNOME, KDE, dunst), Windows while the toast is on
//! screen, macOS. Servers without actions (e.g. xfce4-notifyd without them, notify-osd) only show it.

use keyward_core::Keyward;
use keyward_core::ipc::{OpenKeyAction, OpenKeyEvent};
use keyward_core::watch::{AlertNotifier, AlertsSnapshot, Notification};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::{ActionPerformed, NotificationExt};

use crate::events;
use crate::tray::Tray;

/// The extras a notification carries so a click can tell which key it is about.
const EXTRA_PROFILE: &str = "profile_id";
const EXTRA_KEY: &str = "key_hash";
const EXTRA_ACTION: &str = "action";

/// The plugin reports a click on the notification itself as this action.
const TAP: &str = "tap";

/// The shell's [`AlertNotifier`]; cheap, everything it needs is managed by the app.
pub struct DesktopNotifier {
    app: AppHandle,
}

impl DesktopNotifier {
    pub fn new(app: AppHandle) -> Self {
        DesktopNotifier { app }
    }

    /// Notifications are off in the settings (the watcher holds them back already; checked again
    /// here so nothing reaches the desktop whatever the caller).
    fn notifications_off(&self) -> bool {
        self.app
            .try_state::<Keyward>()
            .is_some_and(|service| !service.watch_settings().notifications_enabled)
    }
}

impl AlertNotifier for DesktopNotifier {
    fn notify(&self, notifications: &[Notification]) {
        if self.notifications_off() {
            tracing::info!(
                count = notifications.len(),
                "notifications are off; not showing"
            );
            return;
        }
        for notification in notifications {
            let mut builder = self
                .app
                .notification()
                .builder()
                .title(&notification.title)
                .body(&notification.body);
            if let (Some(profile_id), Some(key_hash)) =
                (&notification.profile_id, &notification.key_hash)
            {
                builder = builder
                    .extra(EXTRA_PROFILE, profile_id)
                    .extra(EXTRA_KEY, key_hash);
                if let Some(action) = notification.key_action {
                    builder = builder.extra(EXTRA_ACTION, action);
                }
            }
            match builder.show() {
                Ok(()) => tracing::info!(
                    title = %notification.title,
                    alerts = notification.alert_ids.len(),
                    "notification sent"
                ),
                Err(err) => {
                    tracing::warn!(title = %notification.title, error = %err, "could not show a notification");
                }
            }
        }
    }

    fn alerts_changed(&self, snapshot: AlertsSnapshot) {
        if let Some(tray) = self.app.try_state::<Tray>() {
            tray.show_alerts(&snapshot);
        }
        events::emit(&self.app, events::ALERTS_CHANGED, snapshot);
    }
}

/// Answers clicks on Keyward's notifications: shows the window and, for a notification about one
/// key, asks it to open that key. Registered before the first notification (the plugin reports
/// nothing about notifications shown before a handler existed).
pub fn handle_clicks(app: &AppHandle) {
    let handle = app.clone();
    let registered = app
        .notification()
        .on_action(move |performed| on_action(&handle, performed));
    if let Err(err) = registered {
        tracing::warn!(error = %err, "notification clicks will not open keys");
    }
}

fn on_action(app: &AppHandle, performed: &ActionPerformed) {
    if performed.action_id() != TAP {
        return;
    }
    let key = performed.notification().and_then(|notification| {
        let extra = notification.extra();
        let text = |name: &str| extra.get(name)?.as_str().map(str::to_owned);
        Some(OpenKeyEvent {
            profile_id: text(EXTRA_PROFILE)?,
            key_hash: text(EXTRA_KEY)?,
            // An unknown or missing action still opens the key.
            action: extra
                .get(EXTRA_ACTION)
                .and_then(|value| serde_json::from_value::<OpenKeyAction>(value.clone()).ok()),
        })
    });
    tracing::info!(opens_key = key.is_some(), "notification clicked");
    match key {
        Some(key) => crate::open_key(app, key),
        // A grouped notification: the window, no particular key.
        None => {
            crate::show_main_window(app);
        }
    }
}
