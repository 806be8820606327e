//! The update manifest: `latest.json` as `tauri-action` publishes it with each release, and how
//! this machine's entry and the "is it newer" answer are taken from it. The manifest itself is not
//! signed (only each artifact is), so nothing in it is trusted beyond choosing what to download:
//! the version it announces must also be the version the artifact's signature names
//! (`signature.rs`).
//!
//! ```json
//! { "version": "0.2.0", "notes": "…", "pub_date": "2026-12-01T12:00:00Z",
//!   "platforms": { "linux-x86_64": { "signature": "<base64 minisign .sig>", "url": "https://…" } } }
//! ```

use std::collections::BTreeMap;

use semver::Version;
use serde::Deserialize;
use url::Url;

use crate::Error;

/// One platform's artifact.
#[derive(Debug, Clone, Deserialize)]
pub struct PlatformEntry {
    /// The minisign signature file, base64-encoded (what `tauri signer sign` writes to `.sig`).
    pub signature: String,
    /// Parsed (and its scheme checked) when it is downloaded: [`PlatformEntry::url`].
    pub url: String,
}

impl PlatformEntry {
    pub fn url(&self) -> Result<Url, Error> {
        Url::parse(self.url.trim()).map_err(|err| {
            Error::update(format!(
                "The update's download address \"{}\" is not a URL ({err})",
                self.url
            ))
        })
    }
}

/// `latest.json`; unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// May carry a leading `v` (`v0.2.0`), as tags do.
    pub version: String,
    #[serde(default)]
    pub notes: Option<String>,
    /// RFC 3339; kept as text (shown, never computed with).
    #[serde(default)]
    pub pub_date: Option<String>,
    pub platforms: BTreeMap<String, PlatformEntry>,
}

/// A manifest is a few kilobytes; anything past this is not one.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// Parses `version` as semver, with or without a leading `v`.
pub fn parse_version(field: &str, version: &str) -> Result<Version, Error> {
    Version::parse(version.trim().trim_start_matches('v')).map_err(|err| {
        Error::update(format!(
            "The {field} \"{version}\" is not a version number ({err})"
        ))
    })
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Error> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(Error::update(
                "The update manifest is larger than 1 MiB: it is not an update manifest",
            ));
        }
        serde_json::from_slice(bytes).map_err(|err| {
            Error::update(format!("The update manifest could not be read: {err}")).with_source(err)
        })
    }

    /// The announced version, if newer than `current` (pre-releases order below their release).
    pub fn newer_than(&self, current: &Version) -> Result<Option<Version>, Error> {
        let announced = parse_version("update manifest's version", &self.version)?;
        Ok((announced > *current).then_some(announced))
    }

    /// The first of `targets` (most specific first, e.g. `linux-x86_64-deb`, `linux-x86_64`) the
    /// manifest has an entry for.
    pub fn entry_for<'a>(
        &'a self,
        targets: &[String],
    ) -> Result<(&'a str, &'a PlatformEntry), Error> {
        targets
            .iter()
            .find_map(|target| self.platforms.get_key_value(target.as_str()))
            .map(|(key, entry)| (key.as_str(), entry))
            .ok_or_else(|| {
                Error::update(format!(
                    "The update has no download for this system ({}); it lists {}",
                    targets.join(" or "),
                    self.platforms
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(version: &str) -> Manifest {
        Manifest::parse(
            format!(
                r#"{{"version":"{version}","platforms":{{"linux-x86_64":{{"signature":"s","url":"https://example.invalid/a"}}}}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn only_a_strictly_newer_version_is_an_update() {
        let current = Version::parse("0.2.0").unwrap();
        assert_eq!(
            manifest("v0.3.0").newer_than(&current).unwrap(),
            Some(Version::parse("0.3.0").unwrap())
        );
        assert_eq!(manifest("0.2.0").newer_than(&current).unwrap(), None);
        assert_eq!(manifest("0.1.9").newer_than(&current).unwrap(), None);
        assert_eq!(manifest("0.2.0-rc.1").newer_than(&current).unwrap(), None);
        assert!(manifest("latest").newer_than(&current).is_err());
    }

    #[test]
    fn the_most_specific_target_wins_and_a_missing_one_is_named() {
        let m = manifest("1.0.0");
        let targets = vec!["linux-x86_64-deb".to_owned(), "linux-x86_64".to_owned()];
        assert_eq!(m.entry_for(&targets).unwrap().0, "linux-x86_64");
        let error = m.entry_for(&["darwin-aarch64".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("darwin-aarch64"), "{error}");
    }
}
