//! Rollback: the old key stays (re-enabled if it was disabled), the new hash leaves the lists the
//! attach step put it on, deploys are taken back, and the new key is deleted only if its secret was
//! never deployed. Progress is journalled, so an interrupted
//! rollback resumes where it stopped.

use std::collections::HashSet;

use super::Rotations;
use crate::AppError;
use crate::Error;
use crate::api::UpdateKeyRequest;
use crate::deploy::{self, DeployContext, DeployTarget};
use crate::rotation::{
    Boundary, HookPoint, JournalEntry, JournalOutcome, JournalPhase, JournalStep, Rotation,
    RotationStepName, RotationStepStatus,
};

impl Rotations {
    // --- Rollback -----------------------------------------------------------------------------------

    pub(super) async fn run_rollback(&self, rotation: &mut Rotation) -> Result<(), Error> {
        let now = self.now();
        let mut entries = Vec::new();
        for step in &mut rotation.steps {
            if step.status == RotationStepStatus::Running {
                step.status = RotationStepStatus::Pending;
                entries.push(JournalEntry::new(
                    now,
                    step.step,
                    JournalPhase::Result,
                    Some(JournalOutcome::Interrupted),
                    serde_json::json!({ "detail": "stopped by a rollback" }),
                ));
            }
        }
        entries.push(JournalEntry::new(
            now,
            JournalStep::RollBack,
            JournalPhase::Intent,
            None,
            serde_json::json!({
                "new_key_hash": rotation.new_key.as_ref().map(|key| key.hash.clone()),
                "deployed": rotation.deployed(),
                "create_in_doubt": rotation.create_in_doubt,
                "old_key_touched": rotation.old_key_touched(),
                "progress": rotation.rollback,
            }),
        ));
        self.save_rotation(rotation, entries)?;
        self.hook(&rotation.id, HookPoint::roll_back(Boundary::Before))
            .await;
        let outcome = self.roll_back_effects(rotation).await;
        let now = self.now();
        let entry = match outcome {
            Ok(detail) => {
                rotation.finish_rollback(detail.clone(), now);
                JournalEntry::new(
                    now,
                    JournalStep::RollBack,
                    JournalPhase::Result,
                    Some(JournalOutcome::RolledBack),
                    serde_json::json!({ "detail": detail }),
                )
            }
            Err(error) => {
                let detail = format!("rolling back failed: {error}");
                rotation.fail_rollback(AppError::from(&error), detail.clone(), now);
                JournalEntry::new(
                    now,
                    JournalStep::RollBack,
                    JournalPhase::Result,
                    Some(JournalOutcome::Failed),
                    serde_json::json!({ "detail": detail, "error": AppError::from(&error) }),
                )
            }
        };
        self.save_rotation(rotation, vec![entry])?;
        tracing::info!(rotation = %rotation.id, status = rotation.status.as_str(), "rollback");
        self.discard_backups_if_ended(rotation).await;
        self.hook(&rotation.id, HookPoint::roll_back(Boundary::After))
            .await;
        Ok(())
    }

    /// Saves rollback progress (so a resumed rollback skips what is done).
    pub(super) fn rollback_progress(
        &self,
        rotation: &mut Rotation,
        what: JournalOutcome,
    ) -> Result<(), Error> {
        let entry = JournalEntry::new(
            self.now(),
            JournalStep::RollBack,
            JournalPhase::Note,
            Some(what),
            serde_json::json!({ "progress": rotation.rollback }),
        );
        self.save_rotation(rotation, vec![entry])
    }

    /// A deploy died before its outcomes were saved: the targets without a successful outcome may
    /// hold the new secret anyway. Each is checked and, if it does, put back from the backup named in
    /// the intent (written before the target, so no backup means there was no previous value).
    pub(super) async fn undo_interrupted_deploys(
        &self,
        rotation: &Rotation,
        ctx: &DeployContext,
        notes: &mut Vec<String>,
    ) {
        let recorded: HashSet<&DeployTarget> = rotation
            .step(RotationStepName::Deploy)
            .deploy
            .iter()
            .filter(|outcome| outcome.ok)
            .map(|outcome| &outcome.target)
            .collect();
        let unrecorded: Vec<&DeployTarget> = rotation
            .settings
            .targets
            .iter()
            .filter(|target| !recorded.contains(target))
            .collect();
        if unrecorded.is_empty() {
            return;
        }
        let secret = match self.new_secret(rotation).await {
            Ok(secret) => secret,
            Err(error) => {
                notes.push(format!(
                    "could not check the targets of the interrupted deploy (the new secret is not \
                     readable: {error})"
                ));
                return;
            }
        };
        let since = rotation
            .step(RotationStepName::Deploy)
            .started_at
            .unwrap_or(rotation.started_at);
        for target in unrecorded {
            match deploy::undo_interrupted(target, &secret, since.into(), ctx).await {
                Ok(Some(done)) => notes.push(done),
                Ok(None) => {}
                Err(error) => notes.push(format!(
                    "could not take back the interrupted deploy to {}: {error}",
                    target.describe()
                )),
            }
        }
    }

    pub(super) async fn roll_back_effects(&self, rotation: &mut Rotation) -> Result<String, Error> {
        let client = self.profile_client(&rotation.profile_id).await?;
        let mut notes = Vec::new();
        if rotation.create_in_doubt && !rotation.rollback.create_reconciled {
            let found = self.reconcile_create(rotation, &client, true).await?;
            // An adopted key is never kept by a rollback; reconcile with discard_all deleted it.
            rotation.create_in_doubt = false;
            rotation.rollback.create_reconciled = true;
            if !found.deleted.is_empty() {
                notes.push(format!(
                    "deleted {} key(s) an interrupted create had made",
                    found.deleted.len()
                ));
            }
            self.rollback_progress(rotation, JournalOutcome::CreateReconciled)?;
        }
        if rotation.old_key_touched() && !rotation.rollback.old_key_reenabled {
            let request = UpdateKeyRequest {
                disabled: Some(false),
                ..UpdateKeyRequest::default()
            };
            match client.update_key(&rotation.old.hash, &request).await {
                Ok(key) => {
                    self.cache_rotated_key(&rotation.profile_id, &key);
                    notes.push(format!("re-enabled the old key \"{}\"", rotation.old.name));
                }
                Err(Error::NotFound { .. }) => {
                    notes.push("the old key was already deleted".to_owned());
                }
                Err(error) => return Err(error),
            }
            rotation.rollback.old_key_reenabled = true;
            self.rollback_progress(rotation, JournalOutcome::OldKeyReenabled)?;
        }
        let attached = rotation.step(RotationStepName::Attach).attempts > 0
            && !rotation.attachments.is_empty();
        if attached && !rotation.rollback.attachments_removed {
            if let Some(note) = self
                .remove_new_hash(rotation, &client, rotation.deployed())
                .await?
            {
                notes.push(note);
            }
            rotation.rollback.attachments_removed = true;
            self.rollback_progress(rotation, JournalOutcome::AttachmentsRemoved)?;
        }
        if let Some(new_key) = rotation.new_key.clone() {
            if rotation.deployed() {
                if !rotation.rollback.deploys_undone {
                    let ctx = self
                        .deploy_context()
                        .with_backup_suffix(rotation.deploy_backup_suffix());
                    if rotation.deploy_in_doubt {
                        self.undo_interrupted_deploys(rotation, &ctx, &mut notes)
                            .await;
                    }
                    for outcome in &rotation.step(RotationStepName::Deploy).deploy {
                        if outcome.ok && outcome.undo.is_some() {
                            match deploy::undo(outcome, &ctx).await {
                                Ok(done) => notes.push(done),
                                Err(error) => notes.push(format!(
                                    "could not take back the deploy to {}: {error}",
                                    outcome.target.describe()
                                )),
                            }
                        }
                    }
                    rotation.rollback.deploys_undone = true;
                    self.rollback_progress(rotation, JournalOutcome::DeploysUndone)?;
                }
                notes.push(format!(
                    "kept both keys: the new key \"{}\" ({}) had been deployed, so it was not \
                     deleted; its secret stays in the keychain as pending, and the old key stays in use",
                    rotation.new_key_name, new_key.label
                ));
            } else {
                if !rotation.rollback.new_key_deleted {
                    match client.delete_key(&new_key.hash).await {
                        Ok(()) | Err(Error::NotFound { .. }) => {}
                        Err(error) => return Err(error),
                    }
                    self.forget_cached_key(&rotation.profile_id, &new_key.hash);
                    rotation.rollback.new_key_deleted = true;
                    self.rollback_progress(rotation, JournalOutcome::NewKeyDeleted)?;
                }
                if !rotation.rollback.new_secret_released {
                    self.forget_secret(&rotation.profile_id, &new_key.hash)
                        .await?;
                    self.unsaved().remove(&rotation.id);
                    rotation.rollback.new_secret_released = true;
                    self.rollback_progress(rotation, JournalOutcome::NewSecretReleased)?;
                }
                notes.push(format!(
                    "deleted the new key \"{}\" ({}): its secret was never deployed",
                    rotation.new_key_name, new_key.label
                ));
            }
        }
        if notes.is_empty() {
            notes.push("nothing had changed yet; the old key stays as it was".to_owned());
        }
        Ok(notes.join("; "))
    }
}
