//! The rotation crash test's checks: after every kill or resume, whether every new key's secret is
//! recoverable, the journals are consistent, the emulator holds no orphan key and the keys'
//! attachments are where they must be (`attachments.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use keyward_core::Error as KeywardError;
use keyward_core::rotation::{Rotation, RotationStatus, RotationStepName};
use keyward_core::vault::Vault;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::harness::*;
use super::keychain::failed_on_keychain;

impl Harness {
    // --- Checks ----------------------------------------------------------------------------------

    pub(crate) async fn emulator_keys(&self) -> Vec<Value> {
        let answer: Value = self
            .http
            .get(format!("{}/keys", self.emulator.control_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].as_array().unwrap().clone()
    }

    /// GET /key with `secret`: its HTTP status.
    pub(crate) async fn key_status(&self, secret: &str) -> u16 {
        self.http
            .get(format!("{}/key", self.emulator.base_url()))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Whether a deploy backup holds the key's secret: in the data directory's backup directory
    /// (`deploy-backups/<group>/…`), or beside the `.env` files (where earlier versions kept them).
    pub(crate) fn in_backup(&self, hash: &str) -> bool {
        let backup_dir = keyward_core::deploy::backup_dir_in(&self.data_dir);
        let mut dirs = vec![self._scratch.path().to_path_buf()];
        dirs.extend(
            keyward_core::deploy::backup_groups(&backup_dir)
                .into_iter()
                .map(|group| backup_dir.join(group)),
        );
        dirs.iter()
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flat_map(|entries| entries.flatten())
            .any(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .contains(".keyward-backup")
                    && env_value(&entry.path()).is_some_and(|secret| sha256_hex(&secret) == hash)
            })
    }

    pub(crate) async fn keychain_holds(&mut self, hash: &str) -> Result<bool, String> {
        keychain_holds(
            &self.vault,
            &self.profile_id,
            hash,
            &mut self.keychain_read_errors,
        )
        .await
    }

    pub(crate) fn rotations(&self) -> Vec<Rotation> {
        self.store.rotations(None, false).unwrap()
    }

    /// Checks the three invariants; `settled`: no process is mid-rotation (after a resume that
    /// finished), so a key only an interrupted create knows about is an orphan too.
    pub(crate) async fn check(&mut self, context: &str, settled: bool) {
        let rotations = self.rotations();
        let keys = self.emulator_keys().await;
        let on_server: HashMap<String, &Value> = keys
            .iter()
            .map(|key| (key["hash"].as_str().unwrap().to_owned(), key))
            .collect();
        let server_hashes: HashSet<String> = on_server.keys().cloned().collect();
        self.check_attachments(context, settled, &server_hashes)
            .await;
        self.seen_hashes.extend(on_server.keys().cloned());

        // The .env files: each holds a working key.
        let mut deployed: HashMap<String, String> = HashMap::new();
        for slot in &self.slots {
            match env_value(&slot.env_path) {
                Some(secret) => {
                    let status = self.key_status(&secret).await;
                    if status != 200 {
                        note(
                            &mut self.lost,
                            context,
                            format!(
                                "{} holds a key GET /key refuses ({status}; hash {})",
                                slot.env_path.display(),
                                sha256_hex(&secret)
                            ),
                        );
                    }
                    deployed.insert(sha256_hex(&secret), slot.name.clone());
                }
                None => note(
                    &mut self.lost,
                    context,
                    format!("{} has no {VARIABLE} line", slot.env_path.display()),
                ),
            }
        }

        let mut known: BTreeSet<String> = BTreeSet::new();
        let mut active_per_old_key: HashMap<&str, usize> = HashMap::new();
        for rotation in &rotations {
            let id = &rotation.id;
            let problems = self.service.rotation_journal_problems(id).unwrap();
            for problem in problems {
                note(
                    &mut self.problems,
                    context,
                    format!("rotation {id}: journal: {problem}"),
                );
            }
            for problem in attachment_problems(rotation) {
                note(
                    &mut self.problems,
                    context,
                    format!("rotation {id}: {problem}"),
                );
            }
            let mut hashes = BTreeSet::new();
            for entry in self.store.rotation_journal(id).unwrap() {
                journal_hashes(&entry.detail, &mut hashes);
            }
            if let Some(new_key) = &rotation.new_key {
                if !hashes.contains(&new_key.hash) {
                    note(
                        &mut self.problems,
                        context,
                        format!(
                            "rotation {id}: its new key {} is in no journal entry",
                            new_key.hash
                        ),
                    );
                }
                hashes.insert(new_key.hash.clone());
            }
            known.extend(hashes.iter().cloned());
            match rotation.status {
                // A run without a keychain (injected) fails its step; a retry gets over it.
                RotationStatus::Failed if failed_on_keychain(rotation) => {
                    *active_per_old_key.entry(&rotation.old.hash).or_default() += 1;
                }
                RotationStatus::Failed | RotationStatus::Abandoned => note(
                    &mut self.problems,
                    context,
                    format!(
                        "rotation {id} is {} without any fault injected: {:?} {:?}",
                        rotation.status.as_str(),
                        rotation.detail,
                        rotation.error
                    ),
                ),
                RotationStatus::Running | RotationStatus::Waiting => {
                    *active_per_old_key.entry(&rotation.old.hash).or_default() += 1;
                }
                RotationStatus::Completed => {
                    if on_server.contains_key(&rotation.old.hash) {
                        note(
                            &mut self.problems,
                            context,
                            format!(
                                "rotation {id} completed but its old key {} still exists",
                                rotation.old.hash
                            ),
                        );
                    }
                    if rotation.new_key.is_none() {
                        note(
                            &mut self.problems,
                            context,
                            format!("rotation {id} completed without a new key"),
                        );
                    }
                }
                RotationStatus::RolledBack => {
                    // Unless a later rotation took the old key on (and disabled or deleted it).
                    let taken_on = rotations.iter().any(|later| {
                        later.id != rotation.id
                            && later.old.hash == rotation.old.hash
                            && later.status != RotationStatus::RolledBack
                    });
                    match on_server.get(&rotation.old.hash) {
                        _ if taken_on => {}
                        Some(old) if old["disabled"] == true => note(
                            &mut self.problems,
                            context,
                            format!("rotation {id} rolled back but left the old key disabled"),
                        ),
                        Some(_) => {}
                        None => note(
                            &mut self.problems,
                            context,
                            format!("rotation {id} rolled back but the old key is gone"),
                        ),
                    }
                    if let Some(new_key) = &rotation.new_key
                        && !rotation.deployed()
                        && on_server.contains_key(&new_key.hash)
                    {
                        note(
                            &mut self.problems,
                            context,
                            format!(
                                "rotation {id} rolled back before deploying but kept its new key {}",
                                new_key.hash
                            ),
                        );
                    }
                }
            }
            // (1) Every new key still on the server can be used by somebody, unless a later
            // rotation has already replaced it in its .env file.
            for hash in &hashes {
                let replaced = rotations.iter().any(|later| {
                    later.old.hash == *hash
                        && later.status != RotationStatus::RolledBack
                        && later.deployed()
                });
                if replaced {
                    continue;
                }
                if !on_server.contains_key(hash) || deployed.contains_key(hash) {
                    continue;
                }
                let held = match self.keychain_holds(hash).await {
                    Ok(held) => held,
                    // Neither a loss nor "fine": nothing can be checked any more (every later
                    // read would fail too), so the run stops here and says why.
                    Err(error) => panic!(
                        "{context}: rotation {id}: the keychain stopped answering while the key \
                         {hash} was looked up ({error}); did the Secret Service die? (tests/session.sh \
                         reports a gnome-keyring-daemon that exited). Findings so far: lost {:#?}, \
                         problems {:#?}",
                        listed(&self.lost),
                        listed(&self.problems)
                    ),
                };
                if !held {
                    let later: Vec<String> = rotations
                        .iter()
                        .filter(|later| later.old.hash == *hash)
                        .map(|later| {
                            format!(
                                "{} {} (deployed {}, deploy outcomes {})",
                                later.id,
                                later.status.as_str(),
                                later.deployed(),
                                later.step(RotationStepName::Deploy).deploy.len()
                            )
                        })
                        .collect();
                    // Only in a backup is lost too: a backup is a deploy's previous value, which
                    // Keyward removes once the rotation ends, and nothing points anyone to it.
                    let backup = if self.in_backup(hash) {
                        " (only a deploy backup holds it)"
                    } else {
                        ""
                    };
                    let finding = format!(
                        "rotation {id} ({}, at {:?}): key {hash} exists but its secret is neither \
                         in the keychain nor in a .env file{backup}; rotations of it: {later:?}",
                        rotation.status.as_str(),
                        rotation.current_step()
                    );
                    note(&mut self.lost, context, finding);
                }
            }
        }
        for (old, count) in active_per_old_key {
            if count > 1 {
                note(
                    &mut self.problems,
                    context,
                    format!("{count} unfinished rotations of key {old}"),
                );
            }
        }

        // (3) No key unaccounted for. Right after a kill, a key whose create was interrupted is
        // known only to the server until the next run reconciles it.
        for key in &keys {
            let hash = key["hash"].as_str().unwrap();
            if self.seeded.contains(hash) || known.contains(hash) {
                continue;
            }
            let name = key["name"].as_str().unwrap_or_default();
            let in_doubt = rotations.iter().any(|rotation| {
                !rotation.status.is_terminal()
                    && rotation.create_in_doubt
                    // Created under the name marked with the rotation's token (issue 14, #8).
                    && (rotation.create_name() == name || rotation.new_key_name == name)
            });
            if in_doubt && !settled {
                continue;
            }
            self.orphans.entry(hash.to_owned()).or_insert_with(|| {
                format!(
                    "{context}: key {hash} \"{name}\" (created {}) is neither seeded nor in any \
                     rotation's journal{}",
                    key["created_at"],
                    if in_doubt {
                        " (an interrupted create is still unreconciled after a full resume)"
                    } else {
                        ""
                    }
                )
            });
        }
    }
}

/// Whether the keychain holds the key's secret (pending or kept), or why it could not tell. An
/// entry holds it only if the secret's SHA-256 is the key's hash (an entry with another value, say
/// a different key's secret saved under this hash, holds nothing usable). Only "no such entry" (or
/// a wrong value) for both places means "not there": any other error (a Secret Service call past
/// its 2 s D-Bus timeout on a loaded machine, say) proves nothing either way, so the read is retried
/// (each failed read counted in `failed_reads`); a keychain that never answers is an error, never
/// "not there" (a loss) nor "there".
pub(crate) async fn keychain_holds(
    vault: &Vault,
    profile_id: &str,
    hash: &str,
    failed_reads: &mut usize,
) -> Result<bool, String> {
    let read = |found: Result<SecretString, KeywardError>| match found {
        Ok(secret) => Ok(sha256_hex(secret.expose_secret()) == hash),
        Err(KeywardError::SecretNotFound { .. }) => Ok(false),
        Err(error) => Err(error.to_string()),
    };
    let mut last_error = String::new();
    for attempt in 0..KEYCHAIN_READ_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(KEYCHAIN_RETRY_DELAY).await;
        }
        let held = read(vault.pending_secret(profile_id, hash)).and_then(|pending| {
            if pending {
                Ok(true)
            } else {
                read(vault.kept_secret(profile_id, hash))
            }
        });
        match held {
            Ok(held) => {
                if attempt > 0 {
                    println!(
                        "keychain read of {hash} answered {held} after {attempt} failed read(s) \
                         ({last_error})"
                    );
                }
                return Ok(held);
            }
            Err(error) => {
                *failed_reads += 1;
                last_error = error;
            }
        }
    }
    Err(format!(
        "{KEYCHAIN_READ_ATTEMPTS} reads failed, the last with: {last_error}"
    ))
}

/// Records a finding once (the first context it was seen in).
pub(crate) fn note(findings: &mut BTreeMap<String, String>, context: &str, finding: String) {
    findings
        .entry(finding)
        .or_insert_with(|| context.to_owned());
}

/// Findings as "where first seen: what".
pub(crate) fn listed(findings: &BTreeMap<String, String>) -> Vec<String> {
    findings
        .iter()
        .map(|(finding, context)| format!("{context}: {finding}"))
        .collect()
}

/// The order the attach and detach steps keep, whatever was killed when: the new secret is never
/// deployed before the attachments were carried (attach done or, with nothing to carry, skipped),
/// the old hash is detached only once the old key's delete is done, and a completed rotation ran
/// both (or skipped them with nothing to carry). Where the hashes themselves are is checked on the
/// emulator (`Harness::check_attachments`).
pub(crate) fn attachment_problems(rotation: &Rotation) -> Vec<String> {
    use keyward_core::rotation::RotationStepStatus as S;
    let finished =
        |step: RotationStepName| matches!(rotation.step(step).status, S::Done | S::Skipped);
    let mut problems = Vec::new();
    let deploy_started = rotation.step(RotationStepName::Deploy).attempts > 0;
    if deploy_started && !finished(RotationStepName::Attach) {
        problems.push(format!(
            "deploy ran while attach is {}",
            rotation.step(RotationStepName::Attach).status
        ));
    }
    if rotation.step(RotationStepName::Detach).attempts > 0
        && rotation.step(RotationStepName::DeleteOld).status != S::Done
    {
        problems.push("detach ran before the old key's delete was done".to_owned());
    }
    if rotation.status == RotationStatus::Completed {
        for step in [RotationStepName::Attach, RotationStepName::Detach] {
            let status = rotation.step(step).status;
            let expected = if rotation.attachments.is_empty() {
                S::Skipped
            } else {
                S::Done
            };
            if status != expected {
                problems.push(format!(
                    "completed with {step} {status} ({} attachment(s))",
                    rotation.attachments.len()
                ));
            }
        }
    }
    problems
}
