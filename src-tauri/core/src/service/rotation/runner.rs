//! The runner: advancing a rotation until it waits, fails or finishes (one run at a time per
//! rotation), the person's actions, resuming after a restart, the tick and its task, and running one
//! step between its intent and result journal rows.

use std::sync::{Arc, PoisonError};

use crate::Error;
use crate::api::ApiKey;
use crate::rotation::{
    ActionEffect, Boundary, HookPoint, JournalEntry, JournalOutcome, JournalPhase, JournalStep,
    Next, Rotation, RotationAction, RotationStartArgs, RotationStatus, RotationStepName,
    RotationStepStatus, RotationView, StepOutcome, rotation_due_at,
};

use super::Rotations;

impl Rotations {
    // --- Running ------------------------------------------------------------------------------------

    /// Runs a rotation on from where it is until it waits, fails or finishes. Safe to call at any
    /// time and repeatedly (after a crash, from the ticker, concurrently: runs are serialised).
    pub(crate) async fn advance(&self, id: &str) -> Result<RotationView, Error> {
        self.refuse_while_updating()?;
        let lock = self.lock_of(id);
        let _running = lock.lock().await;
        let _lease = self.lease(id)?;
        self.advance_locked(id).await
    }

    pub(super) async fn advance_locked(&self, id: &str) -> Result<RotationView, Error> {
        // Bounds a rotation that keeps restarting (e.g. a secret lost again and again).
        const MAX_STEPS_PER_RUN: usize = 24;
        let mut steps_run = 0;
        loop {
            let mut rotation = self.load_rotation(id)?;
            match rotation.next_move(self.now()) {
                Next::Run(step) => {
                    self.run_step(&mut rotation, step).await?;
                    steps_run += 1;
                    if rotation.status == RotationStatus::Waiting || steps_run >= MAX_STEPS_PER_RUN
                    {
                        return Ok(rotation.view());
                    }
                }
                Next::RollBack => self.run_rollback(&mut rotation).await?,
                Next::Wait(_) | Next::Stop => return Ok(rotation.view()),
            }
        }
    }

    /// Applies the person's action and runs the rotation on if it asks for it.
    pub(crate) async fn action(
        &self,
        id: &str,
        action: RotationAction,
    ) -> Result<RotationView, Error> {
        self.refuse_while_updating()?;
        let lock = self.lock_of(id);
        let _running = lock.lock().await;
        // Another process (the app, another keyward-cli) driving it refuses the action: a rollback
        // must never restore a key that process is deleting.
        let _lease = self.lease(id)?;
        let mut rotation = self.load_rotation(id)?;
        if action == RotationAction::Abandon && self.unsaved().contains_key(id) {
            return Err(Error::invalid(
                "action",
                "the new key's secret is not in the keychain yet: unlock the keychain and retry, or \
                 roll back",
            ));
        }
        let now = self.now();
        let step = rotation
            .current_step()
            .map_or(JournalStep::Rotation, JournalStep::from);
        let effect = rotation.apply_action(action, now)?;
        let entry = JournalEntry::new(
            now,
            step,
            JournalPhase::Action,
            Some(action.into()),
            serde_json::json!({ "action": action }),
        );
        self.save_rotation(&mut rotation, vec![entry])?;
        tracing::info!(rotation = %id, action = action.as_str(), "rotation action");
        match effect {
            ActionEffect::Advance => self.advance_locked(id).await,
            ActionEffect::Settled => {
                self.discard_backups_if_ended(&rotation).await;
                Ok(rotation.view())
            }
        }
    }

    /// At start-up: finds every unfinished rotation, records where it stopped, and runs on those that
    /// were interrupted (resumed, or their rollback finished) or are due. Failed ones stay failed
    /// for the person to decide.
    pub(crate) async fn resume(&self) -> Result<Vec<RotationView>, Error> {
        let active = self.store().rotations(None, true)?;
        let mut views = Vec::with_capacity(active.len());
        for listed in active {
            if listed.status == RotationStatus::Running {
                let lock = self.lock_of(&listed.id);
                let _running = lock.lock().await;
                // Driven by another live process: not interrupted, just busy elsewhere.
                let _lease = match self.lease(&listed.id) {
                    Ok(lease) => lease,
                    Err(Error::Conflict { message }) => {
                        tracing::info!(rotation = %listed.id, %message, "left to the process running it");
                        views.push(listed.view());
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                views.push(self.resume_interrupted_locked(&listed.id).await?);
            } else if listed.status == RotationStatus::Waiting {
                match self.advance(&listed.id).await {
                    Ok(view) => views.push(view),
                    Err(Error::Conflict { .. }) => views.push(listed.view()),
                    Err(error) => return Err(error),
                }
            } else {
                views.push(listed.view());
            }
        }
        self.sweep_backups().await;
        Ok(views)
    }

    /// Runs on a rotation that was running when its process stopped (called with its lock and
    /// lease held): notes where it stopped, then resumes it or finishes its rollback. Read again
    /// here: another process may have moved it on meanwhile.
    async fn resume_interrupted_locked(&self, id: &str) -> Result<RotationView, Error> {
        let mut rotation = self.load_rotation(id)?;
        if rotation.status != RotationStatus::Running {
            return self.advance_locked(id).await;
        }
        let now = self.now();
        let stopped_at = rotation
            .current_step()
            .map_or("the end", RotationStepName::as_str);
        let what = if rotation.rolling_back {
            format!("Keyward stopped while rolling back (at {stopped_at}); finishing the rollback")
        } else {
            format!("Keyward stopped during {stopped_at}; resumed")
        };
        rotation.detail = Some(what.clone());
        rotation.updated_at = now;
        let note = JournalEntry::new(
            now,
            JournalStep::Rotation,
            JournalPhase::Note,
            Some(JournalOutcome::Resumed),
            serde_json::json!({ "stopped_at": stopped_at, "detail": what }),
        );
        self.save_rotation(&mut rotation, vec![note])?;
        tracing::info!(rotation = %rotation.id, %stopped_at, "resuming an interrupted rotation");
        self.advance_locked(id).await
    }

    /// Runs every waiting rotation that is due (drain check, end of the grace period) and starts
    /// the automatic rotations that are due. Returns the rotations it ran or started.
    pub(crate) async fn tick(&self) -> Result<Vec<RotationView>, Error> {
        // During an update's install nothing runs on; the next tick after it (or the restart's
        // resume) does.
        if self.refuse_while_updating().is_err() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let due: Vec<String> = self
            .store()
            .rotations(None, true)?
            .into_iter()
            .filter(|rotation| {
                // Running here means running in some process: if none holds its lease any more
                // (the process that ran it died while another one had started), it is resumed.
                rotation.status == RotationStatus::Running
                    || (rotation.status == RotationStatus::Waiting
                        && matches!(rotation.next_move(now), Next::Run(_)))
            })
            .map(|rotation| rotation.id)
            .collect();
        let mut views = Vec::new();
        for id in due {
            let lock = self.lock_of(&id);
            // Already running elsewhere: that run does what this one would.
            let Ok(_running) = lock.try_lock() else {
                continue;
            };
            // Run by another process (the CLI, another app): the same.
            let Ok(_lease) = self.lease(&id) else {
                continue;
            };
            match self.resume_interrupted_locked(&id).await {
                Ok(view) => views.push(view),
                Err(error) => {
                    tracing::warn!(rotation = %id, error = %error, "rotation tick failed")
                }
            }
        }
        views.extend(self.start_due_auto_rotations().await);
        Ok(views)
    }

    pub(super) async fn start_due_auto_rotations(&self) -> Vec<RotationView> {
        let now = self.now();
        let candidates: Vec<RotationStartArgs> = {
            let store = self.store();
            let Ok(policies) = store.rotation_policies(None) else {
                return Vec::new();
            };
            policies
                .into_iter()
                .filter(|policy| policy.auto_rotate && !policy.targets.is_empty())
                .filter(|policy| {
                    let Ok(Some(cached)) =
                        store.cached_key::<ApiKey>(&policy.profile_id, &policy.key_hash)
                    else {
                        return false;
                    };
                    if cached.key.disabled {
                        return false;
                    }
                    let last = store
                        .last_rotation_of_key(&policy.profile_id, &policy.key_hash)
                        .ok()
                        .flatten();
                    let busy = store
                        .active_rotation_of_key(&policy.profile_id, &policy.key_hash)
                        .ok()
                        .flatten()
                        .is_some();
                    !busy
                        && rotation_due_at(policy, &cached.key, last).is_some_and(|due| due <= now)
                })
                .map(|policy| RotationStartArgs {
                    profile_id: policy.profile_id,
                    key_hash: policy.key_hash,
                    delete_at_once: false,
                    new_expiry: None,
                })
                .collect()
        };
        let mut views = Vec::new();
        for args in candidates {
            // Nobody to ask: an unapproved command target is refused before any key is created.
            match self
                .start_as(args.clone(), super::approval::Ask::Never)
                .await
            {
                Ok(view) => views.push(view),
                Err(error) => {
                    tracing::warn!(key = %args.key_hash, error = %error, "automatic rotation did not start");
                }
            }
        }
        views
    }

    /// Starts (or restarts) the task that calls [`tick`](Self::tick) every `tick_interval`; it ends
    /// with the service.
    pub(crate) fn start_ticker(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime; rotations only advance when asked");
            return;
        };
        let rotations = Arc::downgrade(self);
        let interval = self.config.tick_interval;
        let task = runtime.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(rotations) = rotations.upgrade() else {
                    return;
                };
                if let Err(error) = rotations.tick().await {
                    tracing::warn!(error = %error, "rotation tick failed");
                }
            }
        });
        let previous = self
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(task.abort_handle());
        if let Some(previous) = previous {
            previous.abort();
        }
    }

    pub(super) async fn run_step(
        &self,
        rotation: &mut Rotation,
        step: RotationStepName,
    ) -> Result<(), Error> {
        let reconcile_first = step == RotationStepName::Create && rotation.create_in_doubt;
        let interrupted = rotation.step(step).status == RotationStepStatus::Running;
        let now = self.now();
        let facts = rotation.begin_step(step, now);
        let mut entries = Vec::new();
        if interrupted {
            entries.push(JournalEntry::new(
                now,
                step,
                JournalPhase::Note,
                Some(JournalOutcome::Interrupted),
                serde_json::json!({ "detail": "the previous run of this step did not finish; running it again" }),
            ));
        }
        entries.push(JournalEntry::new(
            now,
            step,
            JournalPhase::Intent,
            None,
            facts,
        ));
        self.save_rotation(rotation, entries)?;
        self.hook(&rotation.id, HookPoint::new(step, Boundary::Before))
            .await;

        let outcome = match step {
            RotationStepName::Create => self.step_create(rotation, reconcile_first).await,
            RotationStepName::StoreSecret => self.step_store_secret(rotation).await,
            RotationStepName::Attach => self.step_attach(rotation).await,
            RotationStepName::Deploy => self.step_deploy(rotation).await,
            RotationStepName::Verify => self.step_verify(rotation).await,
            RotationStepName::Drain => self.step_drain(rotation).await,
            RotationStepName::DisableOld => self.step_disable_old(rotation).await,
            RotationStepName::DeleteOld => self.step_delete_old(rotation).await,
            RotationStepName::Detach => self.step_detach(rotation).await,
        };
        let detail = match &outcome {
            StepOutcome::Done(detail)
            | StepOutcome::Skipped(detail)
            | StepOutcome::Waiting(detail)
            | StepOutcome::Failed { detail, .. }
            | StepOutcome::Restart { detail, .. } => detail.clone(),
        };
        let error = match &outcome {
            StepOutcome::Failed { error, .. } => Some(error.clone()),
            _ => None,
        };
        let now = self.now();
        let word = rotation.finish_step(step, outcome, now);
        let mut result = serde_json::json!({ "detail": detail, "error": error });
        if let Some(new_key) = &rotation.new_key {
            result["new_key_hash"] = serde_json::json!(new_key.hash);
        }
        if step == RotationStepName::Deploy {
            result["deploy"] = serde_json::json!(rotation.step(step).deploy);
        }
        self.save_rotation(
            rotation,
            vec![JournalEntry::new(
                now,
                step,
                JournalPhase::Result,
                Some(word),
                result,
            )],
        )?;
        tracing::info!(rotation = %rotation.id, step = step.as_str(), outcome = %word, "rotation step");
        self.discard_backups_if_ended(rotation).await;
        self.hook(&rotation.id, HookPoint::new(step, Boundary::After))
            .await;
        Ok(())
    }
}
