//! Signed updates (src-tauri/docs/updates.md): ask the release endpoint's `latest.json` whether a
//! newer Keyward exists, and — only once the person has agreed to exactly that version and no key
//! rotation is running — download its artifact for this machine and check its minisign signature
//! against the public key the app was built with. The desktop shell then hands the checked bytes to
//! `tauri-plugin-updater`, which checks them again and installs them; nothing here installs.
//!
//! Transport: `https://` only. A debug or test build (`debug_assertions`) also accepts plain
//! `http://` to this machine (127.0.0.1, ::1, localhost) so the tests can serve a manifest; a
//! release build has no such path. Redirects (GitHub's `releases/latest/download/…` is one) are
//! followed to `https://` only.

mod fetch;
pub mod manifest;
pub mod signature;

use std::sync::Mutex;
use std::sync::PoisonError;

use minisign_verify::PublicKey;
use semver::Version;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

use crate::Error;
use crate::service::UpdateInstallGuard;
pub use fetch::{MAX_ARTIFACT_BYTES, check_endpoint};
use manifest::Manifest;

/// Where updates come from and who signs them: the release endpoints (tried in order) and the
/// base64 minisign public key (both from `plugins.updater` in tauri.conf.json).
#[derive(Debug, Clone)]
pub struct UpdateSource {
    endpoints: Vec<Url>,
    pubkey: String,
}

impl UpdateSource {
    /// Refuses an endpoint that is not `https://` (see the module header) and a key that is not a
    /// minisign public key.
    pub fn new(endpoints: Vec<Url>, pubkey: &str) -> Result<UpdateSource, Error> {
        if endpoints.is_empty() {
            return Err(Error::invalid(
                "endpoints",
                "no update endpoint is configured",
            ));
        }
        for endpoint in &endpoints {
            check_endpoint(endpoint)?;
        }
        signature::decode_public_key(pubkey)?;
        Ok(UpdateSource {
            endpoints,
            pubkey: pubkey.trim().to_owned(),
        })
    }

    fn public_key(&self) -> Result<PublicKey, Error> {
        signature::decode_public_key(&self.pubkey)
    }
}

/// A newer version the release endpoint offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AvailableUpdate {
    /// e.g. `0.2.0`.
    pub version: String,
    /// The running version.
    pub current_version: String,
    /// When it was published (RFC 3339, as the manifest says), if it says.
    pub date: Option<String>,
    /// The release notes (plain text / Markdown, shown as text).
    pub notes: Option<String>,
}

/// The answer of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum UpdateCheck {
    /// Keyward is up to date.
    None {
        current_version: String,
    },
    Available(AvailableUpdate),
}

/// Download progress of an update's artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UpdateProgress {
    pub downloaded: u64,
    /// From Content-Length, when the server sends it.
    pub total: Option<u64>,
}

/// `update_install`'s arguments: the version the dialog showed and the person agreed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UpdateInstallArgs {
    pub version: String,
}

/// The person's "Install and restart" for one version (the one the dialog showed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub version: String,
}

/// An artifact whose signature checked out, with what the installer needs.
pub struct VerifiedPackage {
    pub version: String,
    pub bytes: Vec<u8>,
    /// The manifest it came from (the plugin rebuilds its view of the update from it, offline).
    pub manifest: serde_json::Value,
    /// The manifest's platform key that was used, e.g. `linux-x86_64`.
    pub target: String,
}

impl std::fmt::Debug for VerifiedPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedPackage")
            .field("version", &self.version)
            .field("bytes", &self.bytes.len())
            .field("target", &self.target)
            .finish()
    }
}

/// What the last check offered (nothing is downloaded without an offer and a consent to it).
#[derive(Debug, Clone)]
struct Offer {
    version: Version,
    manifest: Manifest,
    raw: serde_json::Value,
}

/// Checks for and downloads updates for one running version on one machine.
pub struct Updater {
    source: UpdateSource,
    current: Version,
    /// Manifest platform keys for this machine, most specific first (`linux-x86_64-deb`,
    /// `linux-x86_64`).
    targets: Vec<String>,
    client: reqwest::Client,
    offer: Mutex<Option<Offer>>,
}

impl std::fmt::Debug for Updater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updater")
            .field("endpoints", &self.source.endpoints)
            .field("current", &self.current)
            .field("targets", &self.targets)
            .finish()
    }
}

impl Updater {
    pub fn new(
        source: UpdateSource,
        current_version: &str,
        targets: Vec<String>,
    ) -> Result<Updater, Error> {
        Ok(Updater {
            current: manifest::parse_version("running version", current_version)?,
            client: fetch::client()?,
            source,
            targets,
            offer: Mutex::new(None),
        })
    }

    /// Asks the endpoints (in order; the first that answers with a manifest wins). A newer version
    /// becomes the offer a later [`download`](Self::download) may take, replacing any earlier one.
    pub async fn check(&self) -> Result<UpdateCheck, Error> {
        let mut last_error = None;
        for endpoint in &self.source.endpoints {
            match fetch::manifest(&self.client, endpoint).await {
                Ok((manifest, raw)) => return self.offer_from(manifest, raw),
                Err(error) => {
                    tracing::warn!(%endpoint, %error, "update check failed");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::update("No update endpoint is configured")))
    }

    fn offer_from(&self, manifest: Manifest, raw: serde_json::Value) -> Result<UpdateCheck, Error> {
        let current_version = self.current.to_string();
        let Some(version) = manifest.newer_than(&self.current)? else {
            *self.offer_slot() = None;
            return Ok(UpdateCheck::None { current_version });
        };
        // An update without a download for this machine is an error now, not at install time.
        manifest.entry_for(&self.targets)?;
        let available = AvailableUpdate {
            version: version.to_string(),
            current_version,
            date: manifest.pub_date.clone(),
            notes: manifest.notes.clone(),
        };
        *self.offer_slot() = Some(Offer {
            version,
            manifest,
            raw,
        });
        Ok(UpdateCheck::Available(available))
    }

    fn offer_slot(&self) -> std::sync::MutexGuard<'_, Option<Offer>> {
        self.offer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Downloads the offered update the person agreed to and checks its signature. Refused
    /// without an offer, when `consent` names another version than the one offered, and without
    /// an install guard (which the service gives only while no rotation runs). Nothing is
    /// installed here, and nothing is returned that failed its check.
    pub async fn download(
        &self,
        consent: &Consent,
        _guard: &UpdateInstallGuard,
        progress: impl FnMut(UpdateProgress),
    ) -> Result<VerifiedPackage, Error> {
        let offer = self
            .offer_slot()
            .clone()
            .ok_or_else(|| Error::update("No update has been offered: check for updates first"))?;
        let consented = manifest::parse_version("version agreed to", &consent.version)?;
        if consented != offer.version {
            return Err(Error::update(format!(
                "You agreed to install {consented}, but the update offered is {}: check again",
                offer.version
            )));
        }
        let (target, entry) = offer.manifest.entry_for(&self.targets)?;
        let pubkey = self.source.public_key()?;
        let url = entry.url()?;
        check_endpoint(&url)?;
        let bytes = fetch::artifact(&self.client, &url, progress).await?;
        signature::verify(&bytes, &entry.signature, &pubkey, &offer.version)?;
        tracing::info!(version = %offer.version, target, bytes = bytes.len(), "update downloaded and verified");
        Ok(VerifiedPackage {
            version: offer.version.to_string(),
            bytes,
            manifest: offer.raw.clone(),
            target: target.to_owned(),
        })
    }
}
