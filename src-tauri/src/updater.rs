//! Updates in the shell (src-tauri/docs/updates.md): builds keyward-core's `Updater` from
//! `plugins.updater` in tauri.conf.json (the release endpoint and the public key compiled into the
//! app), and installs a package core has downloaded and verified through tauri-plugin-updater,
//! which checks the signature once more before it installs. Then the app restarts. The web view
//! has no updater permission: the UI calls our commands (`commands/updater.rs`).
//!
//! A debug build (`debug_assertions`) only also reads `KEYWARD_UPDATER_ENDPOINT` and
//! `KEYWARD_UPDATER_PUBKEY`, so a test can point it at a release server on 127.0.0.1; in a release
//! build neither the variables nor plain http exist (`cfg(debug_assertions)` and the core's
//! https-only rule).

use keyward_core::Error;
use keyward_core::updates::{UpdateSource, Updater, VerifiedPackage};
use serde::Deserialize;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_updater::UpdaterExt;
use url::Url;

/// Debug builds only: the manifest URL to check instead of the configured one.
#[cfg(debug_assertions)]
pub const ENDPOINT_ENV: &str = "KEYWARD_UPDATER_ENDPOINT";
/// Debug builds only: the public key to check signatures with instead of the configured one.
#[cfg(debug_assertions)]
pub const PUBKEY_ENV: &str = "KEYWARD_UPDATER_PUBKEY";

/// What tauri.conf.json's `plugins.updater` holds that we use.
#[derive(Debug, Clone, Deserialize)]
struct PluginConfig {
    pubkey: String,
    endpoints: Vec<Url>,
}

/// The app's updater, managed from set-up; `Err` (shown when a check is asked for) when the
/// configuration is unusable.
pub struct AppUpdater(pub Result<Updater, Error>);

/// The source the app checks: the configuration, or in a debug build the variables above.
fn source<R: Runtime>(app: &AppHandle<R>) -> Result<(UpdateSource, Option<String>), Error> {
    let config = app
        .config()
        .plugins
        .0
        .get("updater")
        .cloned()
        .ok_or_else(|| Error::update("This build has no updater configuration"))?;
    let config: PluginConfig = serde_json::from_value(config)
        .map_err(|err| Error::update(format!("The updater configuration is invalid: {err}")))?;
    #[cfg(debug_assertions)]
    {
        if let Ok(endpoint) = std::env::var(ENDPOINT_ENV) {
            let endpoint = Url::parse(&endpoint)
                .map_err(|err| Error::invalid(ENDPOINT_ENV, err.to_string()))?;
            let pubkey = std::env::var(PUBKEY_ENV).unwrap_or(config.pubkey);
            tracing::warn!(%endpoint, "debug build: updates from {ENDPOINT_ENV}");
            return Ok((UpdateSource::new(vec![endpoint], &pubkey)?, Some(pubkey)));
        }
    }
    Ok((UpdateSource::new(config.endpoints, &config.pubkey)?, None))
}

/// The manifest keys for this machine, most specific first, as tauri-plugin-updater looks them
/// up: `{os}-{arch}-{installer}` (when the binary knows which bundle it came in), `{os}-{arch}`.
pub fn targets() -> Vec<String> {
    use tauri::utils::config::BundleType;
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7",
        other => other,
    };
    let installer = match tauri::utils::platform::bundle_type() {
        Some(BundleType::Deb) => Some("deb"),
        Some(BundleType::Rpm) => Some("rpm"),
        Some(BundleType::AppImage) => Some("appimage"),
        Some(BundleType::Msi) => Some("msi"),
        Some(BundleType::Nsis) => Some("nsis"),
        Some(BundleType::App) | Some(BundleType::Dmg) => Some("app"),
        None => None,
    };
    let mut targets = Vec::new();
    if let Some(installer) = installer {
        targets.push(format!("{os}-{arch}-{installer}"));
    }
    targets.push(format!("{os}-{arch}"));
    targets
}

/// Builds the app's updater (at set-up).
pub fn create<R: Runtime>(app: &AppHandle<R>) -> AppUpdater {
    let version = app.package_info().version.to_string();
    let updater = source(app).and_then(|(source, _)| Updater::new(source, &version, targets()));
    if let Err(error) = &updater {
        tracing::warn!(%error, "updates are unavailable");
    }
    AppUpdater(updater)
}

/// Installs a verified package with tauri-plugin-updater (which verifies it again against the
/// same key and version), off the async runtime: the installer may run a while (on Linux a `.deb`
/// goes through `pkexec dpkg -i`, an AppImage is replaced in place). The caller restarts the app.
pub async fn install<R: Runtime>(
    app: &AppHandle<R>,
    package: VerifiedPackage,
) -> Result<(), Error> {
    let mut builder = app.updater_builder();
    if let Ok((_, Some(pubkey))) = source(app) {
        builder = builder.pubkey(pubkey);
    }
    let plugin_error = |err: tauri_plugin_updater::Error| Error::update(install_failure(&err));
    let updater = builder.build().map_err(plugin_error)?;
    let update = updater
        .restore_update(package.manifest)
        .map_err(plugin_error)?
        .ok_or_else(|| Error::update("The update is no longer newer than this version"))?;
    let bytes = package.bytes;
    tauri::async_runtime::spawn_blocking(move || update.install(bytes))
        .await
        .map_err(|err| Error::update(format!("The installer stopped: {err}")))?
        .map_err(plugin_error)?;
    tracing::info!(version = %package.version, "update installed");
    Ok(())
}

/// What a person reads when the plugin could not install: the plugin's own words are for
/// developers ("invalid updater binary format"), so the failures a person can act on are said
/// plainly; the rest keep the plugin's text after the plain part.
fn install_failure(err: &tauri_plugin_updater::Error) -> String {
    use tauri_plugin_updater::Error as Plugin;
    let plain = match err {
        Plugin::AuthenticationFailed => {
            "The update was not installed: the administrator password was not given. Try again, \
             or update Keyward with your package manager"
        }
        Plugin::InvalidUpdaterFormat | Plugin::BinaryNotFoundInArchive => {
            "The update was not installed: the download is not an installer for this copy of \
             Keyward (a .deb, .rpm or AppImage on Linux). Download the new version from the \
             release page instead"
        }
        Plugin::DebInstallFailed | Plugin::PackageInstallFailed => {
            "The update was not installed: the package manager refused the package. Its log says \
             why; the release page has the package to install by hand"
        }
        Plugin::TempDirNotOnSameMountPoint | Plugin::TempDirNotFound | Plugin::Io(_) => {
            "The update was not installed: Keyward could not write next to itself (a read-only \
             location, or no space left). Move Keyward somewhere you can write, or install the \
             new version by hand"
        }
        Plugin::Minisign(_)
        | Plugin::SignatureUtf8(_)
        | Plugin::SignedVersionMismatch { .. }
        | Plugin::MissingSignedVersion => {
            "The update was not installed: its signature does not check out against Keyward's \
             release key"
        }
        _ => "The update could not be installed",
    };
    format!("{plain} ({err})")
}

/// The managed updater.
pub fn updater<R: Runtime>(app: &AppHandle<R>) -> Result<tauri::State<'_, AppUpdater>, Error> {
    app.try_state::<AppUpdater>()
        .ok_or_else(|| Error::update("The updater has not started yet"))
}
