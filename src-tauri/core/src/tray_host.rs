//! Whether this desktop shows Keyward's tray icon, and so what closing the window does.
//!
//! macOS (the menu bar) and Windows (the notification area) always have a tray. On Linux the icon
//! goes through libayatana-appindicator3, which shows it on a StatusNotifierItem host (KDE, GNOME
//! with the AppIndicator extension, most panels) or falls back to an XEmbed system tray on X11
//! (`_NET_SYSTEM_TRAY_S<screen>`: XFCE, MATE, trayer). Stock GNOME has neither: the icon is built
//! but never seen, so a window closed "to the tray" would leave an app nobody can reach. There,
//! closing the window quits (the watcher stops with it) and Settings says why — rather than
//! minimizing: GNOME shows no minimize button and has no other way to quit Keyward, and a closed
//! window that stays open is not what closing means there.
//!
//! [`decide`] is the rule (pure, tested); [`probe`] asks the session bus and the X server.

use serde::Serialize;
use ts_rs::TS;

/// Which tray shows the icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrayHostKind {
    /// macOS's menu bar or Windows's notification area.
    System,
    /// A StatusNotifierItem host registered with `org.kde.StatusNotifierWatcher` (Linux).
    StatusNotifier,
    /// An XEmbed system tray owning `_NET_SYSTEM_TRAY_S<n>` (Linux on X11).
    Xembed,
}

/// What closing the window does, and why; shown in Settings next to the close behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TrayStatus {
    /// Closing the window leaves Keyward running in the tray (the watcher goes on); false: closing
    /// the window quits Keyward.
    pub stays_in_tray: bool,
    /// The tray that shows the icon; null when none does.
    pub host: Option<TrayHostKind>,
    /// Why there is no tray, and how to get one; null when there is one.
    pub reason: Option<String>,
}

/// What [`probe`] found. `None`: could not be checked (no session bus; not on X11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrayProbe {
    /// The tray icon was built (Linux: libayatana-appindicator3 could be loaded).
    pub icon_built: bool,
    /// The platform always has a tray (macOS, Windows).
    pub system_tray: bool,
    /// `org.kde.StatusNotifierWatcher` runs and says a host is registered.
    pub status_notifier_host: Option<bool>,
    /// Some X client owns an `_NET_SYSTEM_TRAY_S<n>` selection.
    pub xembed_tray: Option<bool>,
}

const NO_LIBRARY: &str = "There is no tray on this system (libayatana-appindicator3 is missing), so \
     closing the window quits Keyward and alerts stop until you open it again. Install \
     libayatana-appindicator3-1 to keep Keyward watching in the tray.";
const NO_HOST: &str = "This desktop shows no tray icons (on GNOME, the \"AppIndicator and \
     KStatusNotifierItem Support\" extension adds them), so closing the window quits Keyward and \
     alerts stop until you open it again. With a tray, closing the window keeps Keyward watching \
     there.";
const UNKNOWN: &str = "Keyward could not find a tray on this desktop (no session bus to ask, and \
     not an X11 session), so closing the window quits Keyward and alerts stop until you open it \
     again.";

/// The rule: a tray that shows the icon keeps Keyward running when the window closes; anything
/// else (no library, no host, or no way to tell) quits, so nothing runs unseen.
pub fn decide(probe: &TrayProbe) -> TrayStatus {
    let with = |host| TrayStatus {
        stays_in_tray: true,
        host: Some(host),
        reason: None,
    };
    let without = |reason: &str| TrayStatus {
        stays_in_tray: false,
        host: None,
        reason: Some(reason.to_owned()),
    };
    if !probe.icon_built {
        return without(NO_LIBRARY);
    }
    if probe.system_tray {
        return with(TrayHostKind::System);
    }
    match (probe.status_notifier_host, probe.xembed_tray) {
        (Some(true), _) => with(TrayHostKind::StatusNotifier),
        (_, Some(true)) => with(TrayHostKind::Xembed),
        (None, None) => without(UNKNOWN),
        _ => without(NO_HOST),
    }
}

/// Asks the desktop what [`TrayProbe`] records; `icon_built` is the caller's to say. Quick (one
/// D-Bus call with a short timeout, one X request per screen), so it can run when the window
/// closes: a tray host can appear (an extension enabled) or go while Keyward runs.
pub fn probe(icon_built: bool) -> TrayProbe {
    #[cfg(target_os = "linux")]
    {
        TrayProbe {
            icon_built,
            system_tray: false,
            status_notifier_host: linux::status_notifier_host(),
            xembed_tray: linux::xembed_tray(),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        TrayProbe {
            icon_built,
            system_tray: true,
            status_notifier_host: None,
            xembed_tray: None,
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::Duration;

    const WATCHER: &str = "org.kde.StatusNotifierWatcher";
    const TIMEOUT: Duration = Duration::from_millis(500);

    /// `Some(true)` when a StatusNotifierWatcher runs and reports a registered host, `Some(false)`
    /// when none runs (or it has no host), `None` without a session bus.
    pub(super) fn status_notifier_host() -> Option<bool> {
        use dbus::blocking::Connection;
        use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;

        std::env::var_os("DBUS_SESSION_BUS_ADDRESS")?;
        let connection = match Connection::new_session() {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(%error, "no session bus to look for a tray host on");
                return None;
            }
        };
        let proxy = connection.with_proxy(WATCHER, "/StatusNotifierWatcher", TIMEOUT);
        match proxy.get::<bool>(WATCHER, "IsStatusNotifierHostRegistered") {
            Ok(registered) => Some(registered),
            Err(error) => {
                // ServiceUnknown / NameHasNoOwner: no watcher, so no StatusNotifier host.
                tracing::debug!(error = %error.message().unwrap_or_default(), "no StatusNotifierWatcher");
                Some(false)
            }
        }
    }

    /// `Some(true)` when any screen's `_NET_SYSTEM_TRAY_S<n>` selection has an owner, `None` when
    /// no X server is reachable (Wayland without XWayland's DISPLAY, a console).
    pub(super) fn xembed_tray() -> Option<bool> {
        use x11rb::connection::Connection as _;
        use x11rb::protocol::xproto::ConnectionExt as _;

        std::env::var_os("DISPLAY")?;
        let (connection, _) = match x11rb::connect(None) {
            Ok(connected) => connected,
            Err(error) => {
                tracing::debug!(%error, "no X server to look for an XEmbed tray on");
                return None;
            }
        };
        let screens = connection.setup().roots.len();
        let owned = (0..screens).any(|screen| {
            let name = format!("_NET_SYSTEM_TRAY_S{screen}");
            let atom = connection
                .intern_atom(true, name.as_bytes())
                .ok()
                .and_then(|cookie| cookie.reply().ok())
                .map(|reply| reply.atom)
                .unwrap_or(0);
            // only_if_exists: atom 0 means no client ever named the selection.
            atom != 0
                && connection
                    .get_selection_owner(atom)
                    .ok()
                    .and_then(|cookie| cookie.reply().ok())
                    .is_some_and(|reply| reply.owner != 0)
        });
        Some(owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(status_notifier_host: Option<bool>, xembed_tray: Option<bool>) -> TrayProbe {
        TrayProbe {
            icon_built: true,
            system_tray: false,
            status_notifier_host,
            xembed_tray,
        }
    }

    #[test]
    fn macos_and_windows_always_keep_keyward_in_the_tray() {
        let status = decide(&TrayProbe {
            icon_built: true,
            system_tray: true,
            ..TrayProbe::default()
        });
        assert!(status.stays_in_tray);
        assert_eq!(status.host, Some(TrayHostKind::System));
        assert_eq!(status.reason, None);
    }

    #[test]
    fn a_status_notifier_host_or_an_xembed_tray_keeps_it_in_the_tray() {
        let kde = decide(&linux(Some(true), Some(false)));
        assert!(kde.stays_in_tray);
        assert_eq!(kde.host, Some(TrayHostKind::StatusNotifier));
        // Wayland with a StatusNotifier host: no X server to ask.
        assert!(decide(&linux(Some(true), None)).stays_in_tray);
        // XFCE, trayer: no watcher, an XEmbed tray.
        let xembed = decide(&linux(Some(false), Some(true)));
        assert!(xembed.stays_in_tray);
        assert_eq!(xembed.host, Some(TrayHostKind::Xembed));
        assert!(decide(&linux(None, Some(true))).stays_in_tray);
    }

    #[test]
    fn stock_gnome_without_a_tray_host_quits_on_close_and_says_why() {
        // GNOME on X11 or Wayland without the AppIndicator extension: nothing hosts the icon.
        for probe in [linux(Some(false), Some(false)), linux(Some(false), None)] {
            let status = decide(&probe);
            assert!(!status.stays_in_tray, "{probe:?}");
            assert_eq!(status.host, None);
            let reason = status.reason.unwrap();
            assert!(reason.contains("AppIndicator"), "{reason}");
            assert!(reason.contains("closing the window quits"), "{reason}");
        }
    }

    #[test]
    fn no_way_to_tell_counts_as_no_tray() {
        let status = decide(&linux(None, None));
        assert!(!status.stays_in_tray);
        assert!(status.reason.unwrap().contains("could not find a tray"));
    }

    #[test]
    fn without_the_tray_library_nothing_else_matters() {
        for system_tray in [false, true] {
            let status = decide(&TrayProbe {
                icon_built: false,
                system_tray,
                status_notifier_host: Some(true),
                xembed_tray: Some(true),
            });
            assert!(!status.stays_in_tray);
            assert!(status.reason.unwrap().contains("libayatana-appindicator3"));
        }
    }

    /// The real probe in tests/session.sh's private session: a session bus with no
    /// StatusNotifierWatcher, and (with `--x11`) Xvfb, where an XEmbed tray exists only while
    /// trayer runs. By hand: `tests/session.sh --x11 -- sh -c 'trayer & sleep 1; KEYWARD_EXPECT_XEMBED=1
    /// cargo test -p keyward-core --lib tray_host -- --ignored'`.
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore = "needs tests/session.sh (a private session bus)"]
    fn the_probe_asks_the_session_bus_and_the_x_server() {
        let probe = probe(true);
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            // session.sh starts no StatusNotifierWatcher.
            assert_eq!(probe.status_notifier_host, Some(false), "{probe:?}");
        }
        match std::env::var_os("DISPLAY") {
            None => assert_eq!(probe.xembed_tray, None),
            Some(_) => {
                let expected = std::env::var_os("KEYWARD_EXPECT_XEMBED").is_some();
                assert_eq!(probe.xembed_tray, Some(expected), "{probe:?}");
            }
        }
    }

    #[test]
    fn the_status_serialises_for_the_ui() {
        let json = serde_json::to_value(decide(&linux(Some(false), Some(true)))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "stays_in_tray": true, "host": "xembed", "reason": null })
        );
    }
}
