//! What the desktop app tells about itself: the About dialog's facts ([`AboutInfo`]), the "Copy
//! diagnostics" text ([`render`]), crash notes left by a panic ([`crash`]), the recent warnings and
//! errors kept in memory ([`recent`]) and the log file's writers ([`log_writer`]: redaction, a daily
//! size cap). Nothing here may carry a secret: every text that leaves goes through
//! [`crate::audit::redact`] last, whatever it was built from.

pub mod crash;
pub mod log_writer;
pub mod recent;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::redact;

/// The project's public addresses (About, diagnostics).
pub const HOMEPAGE: &str = "https://github.com/keyward-app/keyward";
pub const ISSUES_URL: &str = "https://github.com/keyward-app/keyward/issues";
pub const DOCS_URL: &str = "https://github.com/keyward-app/keyward#readme";

/// The About dialog's facts, and the head of the diagnostics text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AboutInfo {
    pub name: String,
    pub version: String,
    /// The git commit the app was built from (short hash, `-dirty` when the tree had changes), or
    /// `unknown` outside a checkout.
    pub commit: String,
    pub tauri_version: String,
    /// The web view's engine and version (WebKitGTK, WKWebView, WebView2), when it can be asked.
    pub webview_version: Option<String>,
    /// e.g. `linux x86_64`.
    pub platform: String,
    /// The SPDX id of the app's licence.
    pub license: String,
    pub homepage: String,
    pub issues_url: String,
    pub docs_url: String,
    /// Where the log files and crash notes are.
    pub log_dir: String,
    pub data_dir: String,
}

/// One of About's links, opened by the shell (the web view may open no address but the management
/// keys page itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AboutLink {
    Homepage,
    Issues,
    Docs,
}

impl AboutLink {
    pub fn url(self) -> &'static str {
        match self {
            AboutLink::Homepage => HOMEPAGE,
            AboutLink::Issues => ISSUES_URL,
            AboutLink::Docs => DOCS_URL,
        }
    }
}

/// The arguments of `about_link_open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AboutLinkArgs {
    pub link: AboutLink,
}

/// The payload of `about-open` (the tray's "About Keyward").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AboutOpenEvent {}

/// The platform as `os arch` (what the diagnostics and crash notes say).
pub fn platform() -> String {
    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The result of `diagnostics_copy`: the text that went to the clipboard (shown in About, so the
/// person sees what they would share).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiagnosticsCopied {
    pub text: String,
}

/// Everything "Copy diagnostics" puts together.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    pub about: AboutInfo,
    /// The OS as the system names it (e.g. "Debian GNU/Linux 12"), when known.
    pub os_release: Option<String>,
    /// Non-secret settings, as JSON (the watch settings, the profiles' names and kinds).
    pub settings: serde_json::Value,
    /// The last warnings and errors of this run, oldest first ([`recent::RecentLog`]).
    pub recent: Vec<String>,
    /// The latest crash note's file name, if one exists.
    pub last_crash: Option<String>,
}

/// The diagnostics as plain text for an issue report. Redacted as a whole as the last step, so a
/// secret-shaped value that slipped into any field (an error message, a setting) never leaves.
pub fn render(diagnostics: &Diagnostics) -> String {
    let about = &diagnostics.about;
    let mut text = String::new();
    let mut line = |label: &str, value: &str| {
        text.push_str(label);
        text.push_str(": ");
        text.push_str(value);
        text.push('\n');
    };
    line("App", &format!("{} {}", about.name, about.version));
    line("Commit", &about.commit);
    line("Tauri", &about.tauri_version);
    line(
        "Web view",
        about.webview_version.as_deref().unwrap_or("unknown"),
    );
    line("Platform", &about.platform);
    line("OS", diagnostics.os_release.as_deref().unwrap_or("unknown"));
    line("Data directory", &about.data_dir);
    line("Log directory", &about.log_dir);
    line(
        "Last crash note",
        diagnostics.last_crash.as_deref().unwrap_or("none"),
    );
    text.push_str("\nSettings:\n");
    let settings = serde_json::to_string_pretty(&diagnostics.settings)
        .unwrap_or_else(|err| format!("(could not be written: {err})"));
    text.push_str(&settings);
    text.push('\n');
    text.push_str(&format!(
        "\nRecent warnings and errors ({}):\n",
        diagnostics.recent.len()
    ));
    if diagnostics.recent.is_empty() {
        text.push_str("(none)\n");
    }
    for entry in &diagnostics.recent {
        text.push_str(entry.trim_end());
        text.push('\n');
    }
    redact(&text)
}

/// The OS's own name for itself: `PRETTY_NAME` of /etc/os-release on Linux; elsewhere `None` (the
/// platform line says which OS it is).
pub fn os_release() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string("/etc/os-release").ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map(|value| value.trim_matches('"').to_owned())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn about() -> AboutInfo {
        AboutInfo {
            name: "Keyward".into(),
            version: "0.1.0".into(),
            commit: "abc1234".into(),
            tauri_version: "2.12.5".into(),
            webview_version: Some("WebKitGTK 2.48.1".into()),
            platform: platform(),
            license: "MIT".into(),
            homepage: HOMEPAGE.into(),
            issues_url: ISSUES_URL.into(),
            docs_url: DOCS_URL.into(),
            log_dir: "/home/me/.local/share/dev.keyward.app/logs".into(),
            data_dir: "/home/me/.local/share/dev.keyward.app".into(),
        }
    }

    #[test]
    fn diagnostics_name_versions_paths_settings_and_recent_errors() {
        let text = render(&Diagnostics {
            about: about(),
            os_release: Some("Debian GNU/Linux 12 (bookworm)".into()),
            settings: serde_json::json!({ "watch": { "interval_secs": 300 } }),
            recent: vec!["2026-12-07T10:00:00Z WARN keyward: the refresh failed".into()],
            last_crash: None,
        });
        for expected in [
            "App: Keyward 0.1.0",
            "Commit: abc1234",
            "Tauri: 2.12.5",
            "Web view: WebKitGTK 2.48.1",
            "OS: Debian GNU/Linux 12 (bookworm)",
            "Log directory: /home/me/.local/share/dev.keyward.app/logs",
            "\"interval_secs\": 300",
            "Recent warnings and errors (1):",
            "WARN keyward: the refresh failed",
            "Last crash note: none",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }

    #[test]
    fn diagnostics_never_hold_a_secret_from_an_error_or_a_setting() {
        // A made-up key-shaped value (not a real key), once in a logged error and once in a setting.
        let secret = format!("sk-or-v1-{}", "0f1e2d3c".repeat(8));
        let text = render(&Diagnostics {
            about: about(),
            os_release: None,
            settings: serde_json::json!({ "deploy_command": format!("export KEY={secret}") }),
            recent: vec![format!("ERROR keyward: request failed for {secret}")],
            last_crash: None,
        });
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains("0f1e2d3c0f1e2d3c"), "{text}");
        assert!(text.contains("sk-or-v1-[redacted]"), "{text}");
        assert!(text.contains("OS: unknown"), "{text}");
    }
}
