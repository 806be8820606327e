//! Where each key lives, as service calls: the folders to scan, a scan (one at a time, with progress
//! and cancel), the report, one key's places and the deploy targets a rotation could use. The
//! walk and matching live in [`crate::locate`]; this file gathers what they need from the store and
//! the keychain. No call returns, stores or logs a secret: only hashes and places.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Inner, Keyward};
use crate::Error;
use crate::api::ApiKey;
use crate::api::endpoint::KEY_PREFIX;
use crate::deploy::DeployTarget;
use crate::locate::{
    self, Knowledge, KnownKey, LocateReport, Place, PlaceKind, ProblemKind, RotatedKey,
    ScanOptions, ScanProblem, ScanProgress, ScanSummary,
};
use crate::rotation::RotationStatus;
use crate::store::Store;
use crate::vault::KeychainEntry;

/// Called with a running scan's progress (from a blocking thread; keep it quick).
pub type ScanProgressSink = Arc<dyn Fn(ScanProgress) + Send + Sync>;

/// The running scan's cancel flag, if one runs.
#[derive(Default)]
pub(crate) struct LocateState {
    running: Mutex<Option<Arc<AtomicBool>>>,
}

/// Clears the running scan when the scan ends, however it ends.
struct RunningScan<'a>(&'a LocateState);

impl Drop for RunningScan<'_> {
    fn drop(&mut self) {
        *self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LocateFolderArgs {
    /// An absolute path to a folder.
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LocateScanArgs {
    /// Scan these folders once instead of the chosen ones: the findings are returned, not saved.
    /// `null`: the chosen folders, and the findings replace the stored ones.
    #[serde(default)]
    #[ts(optional)]
    pub folders: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LocateKeyArgs {
    pub profile_id: String,
    pub key_hash: String,
}

/// A folder path as given, checked: absolute, an existing folder; returned as its real path.
fn checked_folder(field: &str, path: &str) -> Result<String, Error> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "is empty: choose a folder"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    if !Path::new(trimmed).is_absolute() {
        return Err(Error::invalid(
            field,
            format!("\"{trimmed}\" is not an absolute path (e.g. /home/me/projects)"),
        ));
    }
    let real = std::fs::canonicalize(trimmed)
        .map_err(|err| Error::invalid(field, format!("\"{trimmed}\" cannot be opened: {err}")))?;
    if !real.is_dir() {
        return Err(Error::invalid(
            field,
            format!("\"{trimmed}\" is not a folder"),
        ));
    }
    Ok(real.display().to_string())
}

impl Keyward {
    /// The folders a scan reads.
    pub fn locate_folders(&self) -> Result<Vec<String>, Error> {
        self.inner.store().locate_folders()
    }

    /// Adds a folder (stored as its real path; a folder already chosen is not added twice).
    pub fn locate_folder_add(&self, args: LocateFolderArgs) -> Result<Vec<String>, Error> {
        let real = checked_folder("path", &args.path)?;
        let mut folders = self.locate_folders()?;
        if folders.contains(&real) {
            return Ok(folders);
        }
        if folders.len() >= locate::MAX_FOLDERS {
            return Err(Error::invalid(
                "path",
                format!(
                    "at most {} folders can be scanned; remove one first",
                    locate::MAX_FOLDERS
                ),
            ));
        }
        folders.push(real);
        self.store_locate_folders(&folders)
    }

    /// Removes a folder (as listed); removing one that is not listed changes nothing.
    pub fn locate_folder_remove(&self, args: LocateFolderArgs) -> Result<Vec<String>, Error> {
        let mut folders = self.locate_folders()?;
        folders.retain(|folder| folder != &args.path);
        self.store_locate_folders(&folders)
    }

    /// The one write of the folder list.
    fn store_locate_folders(&self, folders: &[String]) -> Result<Vec<String>, Error> {
        self.inner.store().set_locate_folders(folders)?;
        Ok(folders.to_vec())
    }

    /// Scans the chosen folders (or `args.folders`, once) and Keyward's keychain deploy targets,
    /// and answers with the map of that scan. One scan at a time (`Conflict` otherwise). A scan of
    /// the chosen folders that runs to the end replaces the stored findings; a cancelled one keeps
    /// the previous findings.
    pub async fn locate_scan(
        &self,
        args: LocateScanArgs,
        progress: ScanProgressSink,
    ) -> Result<LocateReport, Error> {
        let one_off = match &args.folders {
            Some(folders) if folders.is_empty() => {
                return Err(Error::invalid("folders", "name at least one folder"));
            }
            Some(folders) => Some(
                folders
                    .iter()
                    .map(|folder| checked_folder("folders", folder))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let now = self.now();
        self.blocking(move |inner| scan_blocking(inner, one_off, &*progress, now))
            .await
    }

    /// Stops the running scan (it ends at the next folder); `false` when none runs.
    pub fn locate_scan_cancel(&self) -> bool {
        match &*self
            .inner
            .locate
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The map of the last saved scan, matched against what Keyward knows now.
    pub fn locate_report(&self) -> Result<LocateReport, Error> {
        let store = self.inner.store();
        let places = store.key_locations(None)?;
        let summary = store.last_key_location_scan()?;
        report(&store, &places, summary)
    }

    /// Where one key was found by the last saved scan.
    pub fn key_locations(&self, args: LocateKeyArgs) -> Result<locate::KeyLocations, Error> {
        let store = self.inner.store();
        store.require_profile(&args.profile_id)?;
        let mut replaced_key_places = Vec::new();
        for rotation in store.rotations_of_key(&args.profile_id, &args.key_hash)? {
            let replaced_this = rotation.status == RotationStatus::Completed
                && rotation
                    .new_key
                    .as_ref()
                    .is_some_and(|new_key| new_key.hash == args.key_hash);
            if replaced_this {
                replaced_key_places.extend(store.key_locations(Some(&rotation.old.hash))?);
            }
        }
        Ok(locate::KeyLocations {
            places: store.key_locations(Some(&args.key_hash))?,
            replaced_key_places,
            scanned_at: store
                .last_key_location_scan()?
                .map(|summary| summary.finished_at),
            key_hash: args.key_hash,
        })
    }

    /// `.env` deploy targets (file and variable) where the last scan found the key, less those its
    /// rotation policy already has: what a rotation of it should update.
    pub fn locate_deploy_suggestions(
        &self,
        args: LocateKeyArgs,
    ) -> Result<Vec<DeployTarget>, Error> {
        let store = self.inner.store();
        store.require_profile(&args.profile_id)?;
        let existing: HashSet<DeployTarget> = store
            .rotation_policy(&args.profile_id, &args.key_hash)?
            .map(|policy| policy.targets.into_iter().collect())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        Ok(store
            .key_locations(Some(&args.key_hash))?
            .into_iter()
            .filter(|place| place.kind == PlaceKind::EnvFile && !place.variable.is_empty())
            .map(|place| DeployTarget::EnvFile {
                path: place.path,
                variable: place.variable,
            })
            .filter(|target| !existing.contains(target) && seen.insert(target.clone()))
            .collect())
    }
}

fn scan_blocking(
    inner: &Inner,
    one_off: Option<Vec<String>>,
    progress: &(dyn Fn(ScanProgress) + Send + Sync),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<LocateReport, Error> {
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut running = inner
            .locate
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if running.is_some() {
            return Err(Error::Conflict {
                message: "a scan is already running: wait for it or cancel it".to_owned(),
            });
        }
        *running = Some(Arc::clone(&cancel));
    }
    let _running = RunningScan(&inner.locate);
    let (folders, exclude, keychain_targets) = {
        let store = inner.store();
        let folders = match &one_off {
            Some(folders) => folders.clone(),
            None => store.locate_folders()?,
        };
        let exclude: Vec<PathBuf> = store
            .path()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .into_iter()
            .collect();
        (folders, exclude, keychain_targets(&store)?)
    };
    tracing::info!(
        folders = folders.len(),
        keychain_entries = keychain_targets.len(),
        "scanning for keys"
    );
    let mut options = ScanOptions::new(folders.iter().map(PathBuf::from).collect(), now);
    options.exclude = exclude;
    let mut walked = locate::scan_folders(&options, &cancel, &mut |step| progress(step.clone()));
    let mut checked = 0;
    if !walked.cancelled {
        for entry in &keychain_targets {
            checked += 1;
            match inner.vault.entry(entry) {
                Ok(secret) => {
                    let secret = secret.expose_secret().trim();
                    if secret.starts_with(KEY_PREFIX) {
                        walked.places.push(Place {
                            kind: PlaceKind::Keychain,
                            path: entry.service.clone(),
                            variable: entry.account.clone(),
                            line: None,
                            key_hash: locate::secret_hash(secret.as_bytes()),
                            modified_at: None,
                            found_at: now,
                        });
                    }
                }
                Err(Error::SecretNotFound { .. }) => {}
                Err(err) => walked.problems.push(ScanProblem {
                    kind: ProblemKind::Keychain,
                    path: format!("{} / {}", entry.service, entry.account),
                    message: err.to_string(),
                }),
            }
        }
    }
    let summary = ScanSummary {
        folders,
        started_at: now,
        finished_at: chrono::Utc::now().max(now),
        dirs_scanned: walked.dirs_scanned,
        files_scanned: walked.files_scanned,
        keychain_entries_checked: checked,
        places_found: u32::try_from(walked.places.len()).unwrap_or(u32::MAX),
        problems: walked.problems,
        cancelled: walked.cancelled,
        saved: !walked.cancelled && one_off.is_none(),
    };
    tracing::info!(
        places = summary.places_found,
        problems = summary.problems.len(),
        cancelled = summary.cancelled,
        "scan finished"
    );
    let store = inner.store();
    if summary.saved {
        store.save_key_locations(&summary, &walked.places)?;
    }
    report(&store, &walked.places, Some(summary))
}

/// Every keychain entry a rotation policy deploys to, once.
fn keychain_targets(store: &Store) -> Result<Vec<KeychainEntry>, Error> {
    let mut seen = HashSet::new();
    Ok(store
        .rotation_policies(None)?
        .into_iter()
        .flat_map(|policy| policy.targets)
        .filter_map(|target| match target {
            DeployTarget::Keychain { service, account } => {
                Some(KeychainEntry::new(service, account))
            }
            _ => None,
        })
        .filter(|entry| seen.insert(entry.clone()))
        .collect())
}

/// What Keyward knows about key hashes now: cached key lists, rotations, held secrets.
fn knowledge(store: &Store) -> Result<Knowledge, Error> {
    let mut knowledge = Knowledge::default();
    let profiles = store.profiles()?;
    let profile_name = |id: &str| {
        profiles
            .iter()
            .find(|profile| profile.id == id)
            .map_or_else(|| id.to_owned(), |profile| profile.name.clone())
    };
    for profile in &profiles {
        for cached in store.cached_keys::<ApiKey>(&profile.id)? {
            knowledge.add_live(
                &cached.key_hash,
                KnownKey {
                    profile_id: profile.id.clone(),
                    profile_name: profile.name.clone(),
                    name: cached.key.name.clone(),
                    disabled: cached.key.disabled,
                },
            );
        }
    }
    for rotation in store.rotations(None, false)? {
        let name = profile_name(&rotation.profile_id);
        knowledge.add_seen(
            &rotation.old.hash,
            &rotation.profile_id,
            &name,
            &rotation.old.name,
        );
        if let Some(new_key) = &rotation.new_key {
            knowledge.add_seen(
                &new_key.hash,
                &rotation.profile_id,
                &name,
                &rotation.new_key_name,
            );
            if rotation.status == RotationStatus::Completed {
                knowledge
                    .rotated
                    .entry(rotation.old.hash.clone())
                    .or_insert(RotatedKey {
                        profile_id: rotation.profile_id.clone(),
                        profile_name: name.clone(),
                        old_name: rotation.old.name.clone(),
                        new_hash: new_key.hash.clone(),
                        new_name: rotation.new_key_name.clone(),
                        finished_at: rotation.finished_at,
                    });
            }
        }
    }
    for held in store.secret_index(None, None)? {
        let name = profile_name(&held.profile_id);
        knowledge.add_seen(&held.key_hash, &held.profile_id, &name, &held.key_name);
    }
    Ok(knowledge)
}

fn report(
    store: &Store,
    places: &[Place],
    last_scan: Option<ScanSummary>,
) -> Result<LocateReport, Error> {
    let knowledge = knowledge(store)?;
    let (keys, stale) = locate::group(locate::classify(places, &knowledge));
    Ok(LocateReport {
        folders: store.locate_folders()?,
        last_scan,
        keys,
        stale,
    })
}
