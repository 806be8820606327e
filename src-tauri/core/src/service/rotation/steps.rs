//! The step executors (create, store the secret, deploy, verify, drain, disable and delete the old
//! key; attach and detach are in `attach`): each performs its effect and says how it ended; the runner journals the outcome.

use std::collections::HashSet;

use super::{Rotations, failed, is_transient, proves_nothing_created};
use crate::AppError;
use crate::Error;
use crate::api::UpdateKeyRequest;
use crate::deploy::{self, DeployTarget};
use crate::rotation::{
    Boundary, HookPoint, NewKey, Rotation, RotationStepName, StepOutcome, drain_observation,
};
use crate::store::{NewSecretIndexEntry, ProfileManager, SecretState};

impl Rotations {
    // --- Steps --------------------------------------------------------------------------------------

    pub(super) async fn step_create(
        &self,
        rotation: &mut Rotation,
        reconcile_first: bool,
    ) -> StepOutcome {
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        let mut notes = Vec::new();
        if reconcile_first {
            match self.reconcile_create(rotation, &client, false).await {
                Ok(found) => {
                    if !found.deleted.is_empty() {
                        notes.push(format!(
                            "deleted {} key(s) an interrupted attempt had created without keeping \
                             their secret",
                            found.deleted.len()
                        ));
                    }
                    if found.adopted.is_some() {
                        return StepOutcome::Done(format!(
                            "found \"{}\", created before an interruption, with its secret already \
                             in the keychain{}",
                            rotation.new_key_name,
                            notes.iter().map(|n| format!("; {n}")).collect::<String>()
                        ));
                    }
                }
                Err(error) => {
                    return failed(
                        &error,
                        "could not find out whether an interrupted attempt created the key",
                    );
                }
            }
        }
        let request = rotation.create_request(self.now());
        let created = match client.create_key(&request).await {
            Ok(created) => created,
            Err(error) => {
                if proves_nothing_created(&error) {
                    rotation.create_in_doubt = false;
                }
                return failed(&error, "creating the new key failed");
            }
        };
        self.hook(
            &rotation.id,
            HookPoint::new(RotationStepName::Create, Boundary::Posted),
        )
        .await;
        let held = self
            .hold_created_secret(&rotation.profile_id, &created)
            .await;
        rotation.new_key = Some(NewKey {
            hash: created.key.hash.clone(),
            label: created.key.label.clone(),
            created_at: created.key.created_at,
        });
        self.cache_rotated_key(&rotation.profile_id, &created.key);
        let held_note = match held {
            Ok(_) => {
                self.hook(
                    &rotation.id,
                    HookPoint::new(RotationStepName::Create, Boundary::Held),
                )
                .await;
                "its secret is held in the keychain as pending".to_owned()
            }
            Err(error) => {
                tracing::error!(rotation = %rotation.id, kind = %error.kind(), "the keychain refused the new secret; holding it in memory");
                self.unsaved().insert(rotation.id.clone(), created.secret);
                format!(
                    "the keychain refused its secret ({error}); it is held in memory until stored"
                )
            }
        };
        notes.insert(0, held_note);
        // Named as it will be once renamed (it carries the rotation's token until then).
        StepOutcome::Done(format!(
            "created \"{}\" ({}); {}",
            rotation.new_key_name,
            created.key.label,
            notes.join("; ")
        ))
    }

    pub(super) async fn step_store_secret(&self, rotation: &mut Rotation) -> StepOutcome {
        let Some(new_key) = rotation.new_key.clone() else {
            return failed(
                &Error::Internal {
                    message: "no new key is recorded".to_owned(),
                    source: None,
                },
                "storing the secret",
            );
        };
        let unsaved = self.unsaved().get(&rotation.id).cloned();
        let entry = NewSecretIndexEntry {
            profile_id: rotation.profile_id.clone(),
            key_hash: new_key.hash.clone(),
            key_name: rotation.new_key_name.clone(),
            label: Some(new_key.label.clone()),
        };
        let held = self
            .blocking(move |shared| {
                let store = shared.store();
                let manager = ProfileManager::new(&store, &shared.vault);
                if let Some(indexed) =
                    store.secret_index_entry(&entry.profile_id, &entry.key_hash)?
                {
                    match manager.held_secret(&entry.profile_id, &entry.key_hash) {
                        Ok(_) => return Ok(Some(indexed.state)),
                        Err(Error::SecretNotFound { .. }) => {}
                        Err(error) => return Err(error),
                    }
                }
                match shared
                    .vault
                    .pending_secret(&entry.profile_id, &entry.key_hash)
                {
                    Ok(_) => {
                        store.record_pending_secret(&entry)?;
                        return Ok(Some(SecretState::Pending));
                    }
                    Err(Error::SecretNotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
                match unsaved {
                    Some(secret) => manager
                        .hold_created_secret(&entry, &secret)
                        .map(|_| Some(SecretState::Pending)),
                    None => Ok(None),
                }
            })
            .await;
        match held {
            Ok(Some(state)) => {
                self.unsaved().remove(&rotation.id);
                // The secret is safe and the key recorded: it takes its final name (until now it
                // carried the rotation's token, so a crash could not confuse it with anyone's).
                if let Err(error) = self.rename_new_key(rotation, &new_key.hash).await {
                    return failed(&error, "giving the new key its final name failed");
                }
                // Its tags and notes go with it (kept on the old key too, until that is deleted).
                if let Err(error) = self.store().copy_key_metadata(
                    &rotation.profile_id,
                    &rotation.old.hash,
                    &new_key.hash,
                ) {
                    tracing::warn!(rotation = %rotation.id, error = %error, "could not copy the key's metadata to the new key");
                }
                let vault = &self.shared.vault;
                let place = vault
                    .pending_secret_entry(&rotation.profile_id, &new_key.hash)
                    .map(|entry| {
                        format!(
                            "service \"{}\", account \"{}\"",
                            entry.service, entry.account
                        )
                    })
                    .unwrap_or_default();
                StepOutcome::Done(match state {
                    SecretState::Pending => format!("held in the keychain as pending ({place})"),
                    SecretState::Kept => "kept in the keychain".to_owned(),
                })
            }
            Ok(None) => self.restart_lost_secret(rotation, &new_key).await,
            Err(error) => failed(&error, "the keychain could not hold the new secret"),
        }
    }

    /// Renames the new key from its token-marked create name to its final name (nothing to do for
    /// rotations from before tokens).
    async fn rename_new_key(&self, rotation: &Rotation, hash: &str) -> Result<(), Error> {
        if rotation.create_token.is_none() {
            return Ok(());
        }
        let client = self.profile_client(&rotation.profile_id).await?;
        // Renaming to the name it has is harmless, so a repeated step simply sends it again.
        let request = UpdateKeyRequest {
            name: Some(rotation.new_key_name.clone()),
            ..UpdateKeyRequest::default()
        };
        let renamed = client.update_key(hash, &request).await?;
        self.cache_rotated_key(&rotation.profile_id, &renamed);
        Ok(())
    }

    /// The new secret never reached the keychain and is gone (the process stopped): nobody has it, so
    /// the key is useless. It is deleted and the rotation creates another.
    pub(super) async fn restart_lost_secret(
        &self,
        rotation: &mut Rotation,
        new_key: &NewKey,
    ) -> StepOutcome {
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        match client.delete_key(&new_key.hash).await {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(error) => {
                return failed(
                    &error,
                    "the new key's secret was lost before it was stored, and deleting that key failed",
                );
            }
        }
        if let Err(error) = self
            .forget_secret(&rotation.profile_id, &new_key.hash)
            .await
        {
            tracing::warn!(error = %error, "could not clear the lost secret's index row");
        }
        self.forget_cached_key(&rotation.profile_id, &new_key.hash);
        rotation.new_key = None;
        rotation.create_window_start = None;
        rotation.create_in_doubt = false;
        StepOutcome::Restart {
            from: RotationStepName::Create,
            detail: format!(
                "the secret of the first new key ({}) was lost before it reached the keychain; that \
                 key was deleted and another is created",
                new_key.label
            ),
        }
    }

    pub(super) async fn step_deploy(&self, rotation: &mut Rotation) -> StepOutcome {
        if rotation.settings.targets.is_empty() {
            return StepOutcome::Waiting(
                "no deploy targets are configured: copy the new secret from the held secrets to \
                 where the old key is used, then choose Resume"
                    .to_owned(),
            );
        }
        let secret = match self.new_secret(rotation).await {
            Ok(secret) => secret,
            Err(error) => return failed(&error, "could not read the new secret from the keychain"),
        };
        let done: HashSet<DeployTarget> = rotation
            .step(RotationStepName::Deploy)
            .deploy
            .iter()
            .filter(|outcome| outcome.ok)
            .map(|outcome| outcome.target.clone())
            .collect();
        let to_do: Vec<DeployTarget> = rotation
            .settings
            .targets
            .iter()
            .filter(|target| !done.contains(*target))
            .cloned()
            .collect();
        let ctx = self
            .deploy_context()
            .with_backup_suffix(rotation.deploy_backup_suffix());
        let outcomes = deploy::deploy_all(&to_do, &secret, &ctx).await;
        rotation.deploy_in_doubt = false;
        if outcomes.iter().any(|outcome| outcome.ok) {
            rotation.secret_deployed = true;
        }
        let record = rotation.step_mut(RotationStepName::Deploy);
        for outcome in outcomes {
            match record
                .deploy
                .iter_mut()
                .find(|known| known.target == outcome.target)
            {
                Some(known) => *known = outcome,
                None => record.deploy.push(outcome),
            }
        }
        let failures: Vec<String> = record
            .deploy
            .iter()
            .filter(|outcome| !outcome.ok)
            .map(|outcome| format!("{}: {}", outcome.target.describe(), outcome.message))
            .collect();
        if failures.is_empty() {
            StepOutcome::Done(format!(
                "delivered to {} target(s)",
                rotation.settings.targets.len()
            ))
        } else {
            let message = format!("deploying failed for {}", failures.join("; "));
            StepOutcome::Failed {
                error: AppError::from(&Error::invalid("targets", message.clone())),
                detail: message,
            }
        }
    }

    pub(super) async fn step_verify(&self, rotation: &mut Rotation) -> StepOutcome {
        let Some(new_key) = rotation.new_key.clone() else {
            return failed(
                &Error::Internal {
                    message: "no new key is recorded".to_owned(),
                    source: None,
                },
                "verifying",
            );
        };
        let secret = match self.new_secret(rotation).await {
            Ok(secret) => secret,
            Err(error) => return failed(&error, "could not read the new secret from the keychain"),
        };
        let profile = match self.store().require_profile(&rotation.profile_id) {
            Ok(profile) => profile,
            Err(error) => return failed(&error, "verifying"),
        };
        let base_url = match self.clients.base_url(&profile).await {
            Ok(base_url) => base_url,
            Err(error) => return failed(&error, "the sandbox is not running"),
        };
        let client = match self.clients.with_key(&base_url, secret) {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not build a client with the new key"),
        };
        match client.current_key().await {
            Ok(current) if current.label.is_empty() || current.label == new_key.label => {
                StepOutcome::Done(format!(
                    "GET /key with the new key answered ({})",
                    current.label
                ))
            }
            Ok(current) => failed(
                &Error::Conflict {
                    message: format!(
                        "GET /key answered for {} instead of the new key {}",
                        current.label, new_key.label
                    ),
                },
                "the new secret is not the new key's",
            ),
            Err(error) => failed(&error, "GET /key with the new key failed"),
        }
    }

    pub(super) async fn step_drain(&self, rotation: &mut Rotation) -> StepOutcome {
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        let now = self.now();
        let interval = self.config.drain_check_interval;
        match client.get_key(&rotation.old.hash).await {
            Ok(key) => {
                let (state, drained) = drain_observation(
                    rotation.drain.as_ref(),
                    key.usage + key.byok_usage,
                    key.last_used_at,
                    now,
                    rotation.settings.quiet_period_secs,
                    interval,
                );
                let quiet_since = state.quiet_since;
                rotation.drain = Some(state);
                self.cache_rotated_key(&rotation.profile_id, &key);
                if drained {
                    StepOutcome::Done(format!(
                        "the old key's usage has not moved since {}",
                        quiet_since.format("%Y-%m-%d %H:%M:%S UTC")
                    ))
                } else {
                    StepOutcome::Waiting(format!(
                        "the old key has used ${:.4}; last used {}",
                        key.usage + key.byok_usage,
                        key.last_used_at.map_or("never".to_owned(), |at| at
                            .format("%Y-%m-%d %H:%M UTC")
                            .to_string())
                    ))
                }
            }
            Err(Error::NotFound { .. }) => {
                StepOutcome::Done("the old key is already gone".to_owned())
            }
            Err(error) if is_transient(&error) => {
                if let Some(drain) = &mut rotation.drain {
                    drain.next_check_at = now
                        + chrono::Duration::from_std(interval)
                            .unwrap_or(chrono::Duration::seconds(60));
                }
                StepOutcome::Waiting(format!(
                    "could not check the old key ({error}); trying again"
                ))
            }
            Err(error) => failed(&error, "reading the old key's usage failed"),
        }
    }

    pub(super) async fn step_disable_old(&self, rotation: &mut Rotation) -> StepOutcome {
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        let request = UpdateKeyRequest {
            disabled: Some(true),
            ..UpdateKeyRequest::default()
        };
        // Noted first: a crash right after the request must not leave the watcher reporting the
        // old key as "disabled outside Keyward".
        self.note_disabled_by_keyward(&rotation.profile_id, &rotation.old.hash, true);
        match client.update_key(&rotation.old.hash, &request).await {
            Ok(key) => {
                self.cache_rotated_key(&rotation.profile_id, &key);
                StepOutcome::Done(format!("disabled the old key \"{}\"", rotation.old.name))
            }
            Err(Error::NotFound { .. }) => {
                StepOutcome::Done("the old key was already deleted".to_owned())
            }
            Err(error) => failed(&error, "disabling the old key failed"),
        }
    }

    pub(super) async fn step_delete_old(&self, rotation: &mut Rotation) -> StepOutcome {
        let now = self.now();
        if let Some(until) = rotation.grace_until
            && until > now
        {
            return StepOutcome::Waiting(format!(
                "grace period until {}",
                until.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        match client.delete_key(&rotation.old.hash).await {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(error) => return failed(&error, "deleting the old key failed"),
        }
        self.forget_cached_key(&rotation.profile_id, &rotation.old.hash);
        if let Err(error) = self
            .store()
            .remove_key_metadata(&rotation.profile_id, &rotation.old.hash)
        {
            tracing::warn!(rotation = %rotation.id, error = %error, "could not drop the old key's metadata");
        }
        let mut notes = vec![format!("deleted the old key \"{}\"", rotation.old.name)];
        // The backups hold the old secret, useless now.
        let ctx = self.deploy_context();
        for outcome in &rotation.step(RotationStepName::Deploy).deploy {
            if outcome.ok
                && let Err(error) = deploy::discard_backup(outcome, &ctx).await
            {
                notes.push(format!(
                    "could not remove the backup of {}: {error}",
                    outcome.target.describe()
                ));
            }
        }
        notes.push(self.resolve_new_secret(rotation).await);
        if let Some(new_key) = &rotation.new_key {
            match self.store().move_rotation_policy(
                &rotation.profile_id,
                &rotation.old.hash,
                &new_key.hash,
            ) {
                Ok(true) => notes.push("the rotation policy moved to the new key".to_owned()),
                Ok(false) => {}
                Err(error) => notes.push(format!("could not move the rotation policy: {error}")),
            }
        }
        StepOutcome::Done(notes.join("; "))
    }

    /// The rotation is over: the new secret leaves the keychain if a durable target Keyward wrote
    /// itself (an env file, a keychain entry) holds it, stays kept if the policy says so, and stays
    /// pending (for the person to resolve) otherwise. A command that exited 0 is not proof that the
    /// secret is stored anywhere (Keyward cannot check what it did), so it never removes the secret.
    pub(super) async fn resolve_new_secret(&self, rotation: &Rotation) -> String {
        let Some(new_key) = rotation.new_key.clone() else {
            return "no new secret to resolve".to_owned();
        };
        let deploys = &rotation.step(RotationStepName::Deploy).deploy;
        let durable = deploys.iter().any(|outcome| {
            outcome.ok
                && matches!(
                    outcome.target,
                    DeployTarget::EnvFile { .. } | DeployTarget::Keychain { .. }
                )
        });
        // A "keyward run" target means the secret stays kept in the keychain for `keyward-cli run`.
        let keep = rotation.settings.keep_new_secret
            || deploys
                .iter()
                .any(|outcome| outcome.ok && matches!(outcome.target, DeployTarget::KeywardRun));
        if !keep && !durable {
            let commands = deploys.iter().any(|outcome| {
                outcome.ok && matches!(outcome.target, DeployTarget::Command { .. })
            });
            return if commands {
                "the new secret stays in the keychain as pending until you resolve it: a command \
                 that finished successfully is not proof that it stored the secret"
                    .to_owned()
            } else {
                "the new secret stays in the keychain as pending until you resolve it".to_owned()
            };
        }
        let profile_id = rotation.profile_id.clone();
        let result = self
            .blocking(move |shared| {
                let store = shared.store();
                let manager = ProfileManager::new(&store, &shared.vault);
                match store.secret_index_entry(&profile_id, &new_key.hash)? {
                    None => Ok(()),
                    Some(entry) if keep => match entry.state {
                        SecretState::Pending => manager.keep_secret(&profile_id, &new_key.hash),
                        SecretState::Kept => Ok(()),
                    },
                    Some(_) => manager.release_secret(&profile_id, &new_key.hash),
                }
            })
            .await;
        match (result, keep) {
            (Ok(()), true) => "the new secret is kept in the keychain".to_owned(),
            (Ok(()), false) => {
                "the new secret left the keychain: its deploy targets hold it".to_owned()
            }
            (Err(error), _) => {
                format!("the new secret stays in the keychain as pending ({error})")
            }
        }
    }
}
