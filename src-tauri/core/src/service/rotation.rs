//! Rotation as the service runs it: `rotation_advance` loads a rotation, asks the machine what runs
//! next, writes the step's intent to the journal, performs it, writes its result — so it can be
//! called again at any moment (after a crash, from the ticker, twice at once: a per-rotation lock
//! serialises runs) and each step is idempotent or reconciled first. The new secret goes to the
//! keychain the moment the server returns it, exactly like `key_create`.
//!
//! Waiting steps (drain, grace period) never block: the rotation is saved as `waiting` and
//! `rotation_tick` (called by the ticker task, or the watcher's cycle) runs it again when due.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use secrecy::SecretString;

use super::Keyward;
use crate::Error;
use crate::api::{ApiKey, ListKeysQuery, OpenRouterClient, UpdateKeyRequest};
use crate::deploy::{self, ClipboardSink, DeployContext, DeployTarget};
use crate::rotation::ActionEffect;
use crate::rotation::{
    Boundary, CreateReconcile, HookPoint, JournalEntry, JournalPhase, NewKey, Next, OldKey,
    ROLL_BACK, Rotation, RotationAction, RotationBatchArgs, RotationHooks, RotationPolicy,
    RotationSettings, RotationStartArgs, RotationStatus, RotationStepName, RotationView,
    StepOutcome, check_journal, drain_observation, rotation_due_at,
};
use crate::store::{NewSecretIndexEntry, ProfileManager, SecretState};
use crate::views::AppError;

/// How the service runs rotations. `Default` is the real app's.
#[derive(Clone)]
pub struct RotationConfig {
    /// Awaited at every step boundary (crash tests); `None` in production. See
    /// [`crate::rotation::EnvPauseHook`] for the `KEYWARD_ROTATION_PAUSE_AT` variable.
    pub hooks: Option<Arc<dyn RotationHooks>>,
    /// Clipboard targets; the shell may also set it later with `Keyward::set_clipboard_sink`.
    pub clipboard: Option<Arc<dyn ClipboardSink>>,
    /// How long a command target may run.
    pub command_timeout: Duration,
    /// How often the drain step reads the old key's usage at most.
    pub drain_check_interval: Duration,
    /// How often the ticker task (`start_rotation_ticker`) runs `rotation_tick`.
    pub tick_interval: Duration,
    /// Rotations a batch runs at once.
    pub batch_concurrency: usize,
    /// Clock skew allowed when matching a key an interrupted create made by its `created_at`.
    pub create_match_skew: Duration,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            hooks: None,
            clipboard: None,
            command_timeout: deploy::DEFAULT_COMMAND_TIMEOUT,
            drain_check_interval: Duration::from_secs(60),
            tick_interval: Duration::from_secs(30),
            batch_concurrency: 3,
            create_match_skew: Duration::from_secs(300),
        }
    }
}

impl fmt::Debug for RotationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationConfig")
            .field("hooks", &self.hooks.is_some())
            .field("clipboard", &self.clipboard.is_some())
            .field("command_timeout", &self.command_timeout)
            .field("drain_check_interval", &self.drain_check_interval)
            .field("tick_interval", &self.tick_interval)
            .field("batch_concurrency", &self.batch_concurrency)
            .field("create_match_skew", &self.create_match_skew)
            .finish()
    }
}

/// The runner's in-process state (nothing here is needed to resume after a restart).
pub(super) struct RotationRuntime {
    config: RotationConfig,
    clipboard: Mutex<Option<Arc<dyn ClipboardSink>>>,
    /// One lock per rotation: runs and actions of one rotation never overlap.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Held while checking that a key has no active rotation and recording a new one.
    start_lock: tokio::sync::Mutex<()>,
    /// New secrets the keychain refused, by rotation id, until the store-secret step saves them.
    unsaved: Mutex<HashMap<String, SecretString>>,
    ticker: Mutex<Option<tokio::task::AbortHandle>>,
}

impl RotationRuntime {
    pub(super) fn new(config: RotationConfig) -> Self {
        RotationRuntime {
            clipboard: Mutex::new(config.clipboard.clone()),
            config,
            locks: Mutex::new(HashMap::new()),
            start_lock: tokio::sync::Mutex::new(()),
            unsaved: Mutex::new(HashMap::new()),
            ticker: Mutex::new(None),
        }
    }

    fn unsaved(&self) -> MutexGuard<'_, HashMap<String, SecretString>> {
        self.unsaved.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_of(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(id.to_owned()).or_default())
    }
}

impl Drop for RotationRuntime {
    fn drop(&mut self) {
        if let Some(handle) = self
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            handle.abort();
        }
    }
}

/// Errors after which retrying later may succeed (the drain step keeps waiting on them).
fn is_transient(error: &Error) -> bool {
    matches!(
        error,
        Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Network { .. }
            | Error::Timeout { .. }
    )
}

/// Errors of `POST /keys` that prove no key was created.
fn proves_nothing_created(error: &Error) -> bool {
    matches!(
        error,
        Error::RateLimited { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::InvalidInput { .. }
            | Error::NotManagementKey { .. }
            | Error::ProfileNotFound { .. }
            | Error::SecretNotFound { .. }
            | Error::KeychainLocked { .. }
            | Error::KeychainUnavailable { .. }
            | Error::KeychainDenied { .. }
    )
}

fn failed(error: &Error, what: &str) -> StepOutcome {
    StepOutcome::Failed {
        error: AppError::from(error),
        detail: format!("{what}: {error}"),
    }
}

fn no_rotation(id: &str) -> Error {
    Error::invalid("id", format!("there is no rotation {id}"))
}

impl Keyward {
    // --- Policies -----------------------------------------------------------------------------------

    /// A key's rotation policy (the defaults if it has none).
    pub fn rotation_policy(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<RotationPolicy, Error> {
        let store = self.inner.store();
        store.require_profile(profile_id)?;
        Ok(store
            .rotation_policy(profile_id, key_hash)?
            .unwrap_or_else(|| RotationPolicy::default_for(profile_id, key_hash)))
    }

    /// Validates and stores a policy (`InvalidInput` names the field, e.g. `targets[0].path`).
    pub fn set_rotation_policy(&self, policy: RotationPolicy) -> Result<RotationPolicy, Error> {
        policy.validate()?;
        self.inner.store().set_rotation_policy(&policy)?;
        Ok(policy)
    }

    /// When a key is next due for rotation under its policy, from the cached key list.
    pub fn rotation_due(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let store = self.inner.store();
        let Some(policy) = store.rotation_policy(profile_id, key_hash)? else {
            return Ok(None);
        };
        let Some(cached) = store.cached_key::<ApiKey>(profile_id, key_hash)? else {
            return Ok(None);
        };
        let last = store.last_rotation_of_key(profile_id, key_hash)?;
        Ok(rotation_due_at(&policy, &cached.key, last))
    }

    /// The clipboard the shell provides for clipboard targets (`None`: such targets fail clearly).
    pub fn set_clipboard_sink(&self, sink: Option<Arc<dyn ClipboardSink>>) {
        *self
            .inner
            .rotations
            .clipboard
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = sink;
    }

    // --- Reading ------------------------------------------------------------------------------------

    pub fn rotation(&self, id: &str) -> Result<RotationView, Error> {
        Ok(self.load_rotation(id)?.view())
    }

    /// Rotations, newest first, of one profile or all; `active_only`: running, waiting or failed.
    pub fn rotations(
        &self,
        profile_id: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<RotationView>, Error> {
        Ok(self
            .inner
            .store()
            .rotations(profile_id, active_only)?
            .iter()
            .map(Rotation::view)
            .collect())
    }

    /// Every rotation a key took part in (as the old or the new key), newest first.
    pub fn rotation_history(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Vec<RotationView>, Error> {
        Ok(self
            .inner
            .store()
            .rotations_of_key(profile_id, key_hash)?
            .iter()
            .map(Rotation::view)
            .collect())
    }

    /// A rotation's journal, oldest first (intent and result rows, actions, notes).
    pub fn rotation_journal(&self, id: &str) -> Result<Vec<JournalEntry>, Error> {
        self.inner.store().rotation_journal(id)
    }

    /// What is inconsistent between a rotation's journal and its state (empty = consistent).
    pub fn rotation_journal_problems(&self, id: &str) -> Result<Vec<String>, Error> {
        let rotation = self.load_rotation(id)?;
        let journal = self.inner.store().rotation_journal(id)?;
        Ok(check_journal(&rotation, &journal))
    }

    // --- Starting -----------------------------------------------------------------------------------

    /// Starts rotating a key with its policy and runs it until it waits (drain, grace period), fails
    /// or completes; progress is announced through `EventSink::rotation_changed`. Refused (conflict)
    /// while the key already has an unfinished rotation.
    pub async fn rotation_start(&self, args: RotationStartArgs) -> Result<RotationView, Error> {
        let id = self.record_new_rotation(&args).await?;
        self.rotation_advance(&id).await
    }

    /// Like [`rotation_start`](Self::rotation_start), but answers as soon as the rotation is
    /// recorded and runs it on a tokio task: for a window that follows each step live through
    /// `EventSink::rotation_changed` instead of waiting for the whole rotation.
    pub async fn rotation_start_detached(
        &self,
        args: RotationStartArgs,
    ) -> Result<RotationView, Error> {
        let id = self.record_new_rotation(&args).await?;
        let view = self.rotation(&id)?;
        let service = self.clone();
        tokio::spawn(async move {
            // Step failures are saved in the rotation (failed, with its error); only the store
            // failing ends up here.
            if let Err(err) = service.rotation_advance(&id).await {
                tracing::error!(rotation = %id, error = %err, "a rotation could not be run on");
            }
        });
        Ok(view)
    }

    async fn record_new_rotation(&self, args: &RotationStartArgs) -> Result<String, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        let old = client.get_key(&args.key_hash).await?;
        if old.disabled {
            return Err(Error::invalid(
                "key_hash",
                format!(
                    "key \"{}\" is disabled: enable it before rotating it",
                    old.name
                ),
            ));
        }
        let policy = self.rotation_policy(&profile.id, &old.hash)?;
        let _start = self.inner.rotations.start_lock.lock().await;
        {
            let store = self.inner.store();
            let busy = store
                .rotations_of_key(&profile.id, &old.hash)?
                .into_iter()
                .find(|rotation| !rotation.status.is_terminal());
            if let Some(busy) = busy {
                return Err(Error::Conflict {
                    message: format!(
                        "key \"{}\" is already part of rotation {} ({}); finish, roll back or \
                         abandon it first",
                        old.name,
                        busy.id,
                        busy.status.as_str()
                    ),
                });
            }
        }
        let now = self.now();
        let rotation = Rotation::new(
            uuid::Uuid::new_v4().to_string(),
            profile.id.clone(),
            OldKey::from(&old),
            RotationSettings::from_policy(&policy, args.delete_at_once),
            now,
        );
        let note = JournalEntry::new(
            now,
            "rotation",
            JournalPhase::Note,
            Some("started"),
            serde_json::json!({
                "old_key_hash": rotation.old.hash,
                "new_key_name": rotation.new_key_name,
                "targets": rotation.settings.targets,
            }),
        );
        self.save_rotation(&rotation, vec![note])?;
        tracing::info!(rotation = %rotation.id, profile = %profile.id, key = %old.hash, "rotation started");
        Ok(rotation.id)
    }

    /// Starts rotating every active key of a profile whose name matches `name_pattern` (`prod-*`),
    /// a few at a time. One view per matching key, in the list's order: the rotation it started, the
    /// unfinished one it already had, or (id `""`, status `failed`, `error` set) why it could not
    /// start.
    pub async fn rotation_start_batch(
        &self,
        args: RotationBatchArgs,
    ) -> Result<Vec<RotationView>, Error> {
        let pattern = args.name_pattern.trim().to_owned();
        if pattern.is_empty() {
            return Err(Error::invalid("name_pattern", "must not be empty"));
        }
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        let keys = client
            .list_all(&ListKeysQuery {
                include_disabled: false,
                include_expired: false,
                workspace_id: profile.workspace_id.clone(),
            })
            .await?;
        let matching: Vec<ApiKey> = keys
            .into_iter()
            .filter(|key| crate::rotation::name_matches(&pattern, &key.name))
            .collect();
        let concurrency = self.inner.rotations.config.batch_concurrency.max(1);
        let mut results: Vec<(usize, RotationView)> =
            futures::stream::iter(matching.into_iter().enumerate())
                .map(|(index, key)| {
                    let profile_id = profile.id.clone();
                    async move {
                        let started = self
                            .rotation_start(RotationStartArgs {
                                profile_id: profile_id.clone(),
                                key_hash: key.hash.clone(),
                                delete_at_once: false,
                            })
                            .await;
                        let view = match started {
                            Ok(view) => view,
                            Err(error) => self.batch_failure(&profile_id, &key, &error),
                        };
                        (index, view)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
        results.sort_by_key(|(index, _)| *index);
        Ok(results.into_iter().map(|(_, view)| view).collect())
    }

    /// The per-key result of a batch member that did not start.
    fn batch_failure(&self, profile_id: &str, key: &ApiKey, error: &Error) -> RotationView {
        if matches!(error, Error::Conflict { .. })
            && let Ok(rotations) = self.inner.store().rotations_of_key(profile_id, &key.hash)
            && let Some(active) = rotations.iter().find(|r| !r.status.is_terminal())
        {
            return active.view();
        }
        let mut rotation = Rotation::new(
            String::new(),
            profile_id.to_owned(),
            OldKey::from(key),
            RotationSettings::from_policy(
                &RotationPolicy::default_for(profile_id, &key.hash),
                false,
            ),
            self.now(),
        );
        rotation.status = RotationStatus::Failed;
        rotation.error = Some(AppError::from(error));
        rotation.detail = Some(format!("the rotation could not start: {error}"));
        let mut view = rotation.view();
        view.actions.clear();
        view
    }

    // --- Running ------------------------------------------------------------------------------------

    /// Runs a rotation on from where it is until it waits, fails or finishes. Safe to call at any
    /// time and repeatedly (after a crash, from the ticker, concurrently: runs are serialised).
    pub async fn rotation_advance(&self, id: &str) -> Result<RotationView, Error> {
        let lock = self.inner.rotations.lock_of(id);
        let _running = lock.lock().await;
        self.advance_locked(id).await
    }

    async fn advance_locked(&self, id: &str) -> Result<RotationView, Error> {
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
    pub async fn rotation_action(
        &self,
        id: &str,
        action: RotationAction,
    ) -> Result<RotationView, Error> {
        let lock = self.inner.rotations.lock_of(id);
        let _running = lock.lock().await;
        let mut rotation = self.load_rotation(id)?;
        if action == RotationAction::Abandon && self.inner.rotations.unsaved().contains_key(id) {
            return Err(Error::invalid(
                "action",
                "the new key's secret is not in the keychain yet: unlock the keychain and retry, or \
                 roll back",
            ));
        }
        let now = self.now();
        let step = rotation
            .current_step()
            .map_or("rotation", RotationStepName::as_str);
        let effect = rotation.apply_action(action, now)?;
        let entry = JournalEntry::new(
            now,
            step,
            JournalPhase::Action,
            Some(action.as_str()),
            serde_json::json!({ "action": action }),
        );
        self.save_rotation(&rotation, vec![entry])?;
        tracing::info!(rotation = %id, action = action.as_str(), "rotation action");
        match effect {
            ActionEffect::Advance => self.advance_locked(id).await,
            ActionEffect::Settled => Ok(rotation.view()),
        }
    }

    /// At start-up: finds every unfinished rotation, records where it stopped, and runs on those that
    /// were interrupted (resumed, or their rollback finished) or are due. Failed ones stay failed
    /// for the person to decide.
    pub async fn resume_rotations(&self) -> Result<Vec<RotationView>, Error> {
        let active = self.inner.store().rotations(None, true)?;
        let mut views = Vec::with_capacity(active.len());
        for mut rotation in active {
            if rotation.status == RotationStatus::Running {
                let lock = self.inner.rotations.lock_of(&rotation.id);
                let _running = lock.lock().await;
                let now = self.now();
                let stopped_at = rotation
                    .current_step()
                    .map_or("the end", RotationStepName::as_str);
                let what = if rotation.rolling_back {
                    format!(
                        "Keyward stopped while rolling back (at {stopped_at}); finishing the rollback"
                    )
                } else {
                    format!("Keyward stopped during {stopped_at}; resumed at start-up")
                };
                rotation.detail = Some(what.clone());
                rotation.updated_at = now;
                let note = JournalEntry::new(
                    now,
                    "rotation",
                    JournalPhase::Note,
                    Some("resumed"),
                    serde_json::json!({ "stopped_at": stopped_at, "detail": what }),
                );
                self.save_rotation(&rotation, vec![note])?;
                tracing::info!(rotation = %rotation.id, %stopped_at, "resuming an interrupted rotation");
                views.push(self.advance_locked(&rotation.id).await?);
            } else if rotation.status == RotationStatus::Waiting {
                views.push(self.rotation_advance(&rotation.id).await?);
            } else {
                views.push(rotation.view());
            }
        }
        Ok(views)
    }

    /// Runs every waiting rotation that is due (drain check, end of the grace period) and starts
    /// the automatic rotations that are due. Returns the rotations it ran or started.
    pub async fn rotation_tick(&self) -> Result<Vec<RotationView>, Error> {
        let now = self.now();
        let due: Vec<String> = self
            .inner
            .store()
            .rotations(None, true)?
            .into_iter()
            .filter(|rotation| rotation.status == RotationStatus::Waiting)
            .filter(|rotation| matches!(rotation.next_move(now), Next::Run(_)))
            .map(|rotation| rotation.id)
            .collect();
        let mut views = Vec::new();
        for id in due {
            let lock = self.inner.rotations.lock_of(&id);
            // Already running elsewhere: that run does what this one would.
            let Ok(_running) = lock.try_lock() else {
                continue;
            };
            match self.advance_locked(&id).await {
                Ok(view) => views.push(view),
                Err(error) => {
                    tracing::warn!(rotation = %id, error = %error, "rotation tick failed")
                }
            }
        }
        views.extend(self.start_due_auto_rotations().await);
        Ok(views)
    }

    async fn start_due_auto_rotations(&self) -> Vec<RotationView> {
        let now = self.now();
        let candidates: Vec<RotationStartArgs> = {
            let store = self.inner.store();
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
                })
                .collect()
        };
        let mut views = Vec::new();
        for args in candidates {
            match self.rotation_start(args.clone()).await {
                Ok(view) => views.push(view),
                Err(error) => {
                    tracing::warn!(key = %args.key_hash, error = %error, "automatic rotation did not start");
                }
            }
        }
        views
    }

    /// Starts (or restarts) the task that calls `rotation_tick` every `tick_interval`; it ends with
    /// the service.
    pub fn start_rotation_ticker(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime; rotations only advance when asked");
            return;
        };
        let service = Arc::downgrade(&self.inner);
        let interval = self.inner.rotations.config.tick_interval;
        let task = runtime.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(inner) = service.upgrade() else {
                    return;
                };
                let keyward = Keyward { inner };
                if let Err(error) = keyward.rotation_tick().await {
                    tracing::warn!(error = %error, "rotation tick failed");
                }
            }
        });
        let previous = self
            .inner
            .rotations
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(task.abort_handle());
        if let Some(previous) = previous {
            previous.abort();
        }
    }

    // --- The runner ---------------------------------------------------------------------------------

    fn load_rotation(&self, id: &str) -> Result<Rotation, Error> {
        self.inner
            .store()
            .rotation(id)?
            .ok_or_else(|| no_rotation(id))
    }

    /// Saves the state with its journal rows (one transaction) and announces the change.
    fn save_rotation(&self, rotation: &Rotation, entries: Vec<JournalEntry>) -> Result<(), Error> {
        self.inner.store().save_rotation(rotation, &entries)?;
        self.inner.events.rotation_changed(rotation.view());
        Ok(())
    }

    async fn hook(&self, rotation_id: &str, point: HookPoint) {
        if let Some(hooks) = &self.inner.rotations.config.hooks {
            hooks.at(rotation_id, point).await;
        }
    }

    async fn run_step(&self, rotation: &mut Rotation, step: RotationStepName) -> Result<(), Error> {
        let reconcile_first = step == RotationStepName::Create && rotation.create_in_doubt;
        let interrupted =
            rotation.step(step).status == crate::rotation::RotationStepStatus::Running;
        let now = self.now();
        let facts = rotation.begin_step(step, now);
        let mut entries = Vec::new();
        if interrupted {
            entries.push(JournalEntry::new(
                now,
                step.as_str(),
                JournalPhase::Note,
                Some("interrupted"),
                serde_json::json!({ "detail": "the previous run of this step did not finish; running it again" }),
            ));
        }
        entries.push(JournalEntry::new(
            now,
            step.as_str(),
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
            RotationStepName::Deploy => self.step_deploy(rotation).await,
            RotationStepName::Verify => self.step_verify(rotation).await,
            RotationStepName::Drain => self.step_drain(rotation).await,
            RotationStepName::DisableOld => self.step_disable_old(rotation).await,
            RotationStepName::DeleteOld => self.step_delete_old(rotation).await,
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
                step.as_str(),
                JournalPhase::Result,
                Some(word),
                result,
            )],
        )?;
        tracing::info!(rotation = %rotation.id, step = step.as_str(), outcome = word, "rotation step");
        self.hook(&rotation.id, HookPoint::new(step, Boundary::After))
            .await;
        Ok(())
    }

    async fn profile_client(&self, profile_id: &str) -> Result<OpenRouterClient, Error> {
        let profile = self.require_profile(profile_id)?;
        self.client_for(&profile).await
    }

    /// The new key's secret: from the keychain, or from memory if the keychain refused it.
    async fn new_secret(&self, rotation: &Rotation) -> Result<SecretString, Error> {
        if let Some(secret) = self.inner.rotations.unsaved().get(&rotation.id) {
            return Ok(secret.clone());
        }
        let new_key = rotation.new_key.clone().ok_or_else(|| Error::Internal {
            message: "the rotation has no new key yet".to_owned(),
        })?;
        let profile_id = rotation.profile_id.clone();
        self.blocking(move |inner| {
            let store = inner.store();
            ProfileManager::new(&store, &inner.vault).held_secret(&profile_id, &new_key.hash)
        })
        .await
    }

    // --- Steps --------------------------------------------------------------------------------------

    async fn step_create(&self, rotation: &mut Rotation, reconcile_first: bool) -> StepOutcome {
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
                self.inner
                    .rotations
                    .unsaved()
                    .insert(rotation.id.clone(), created.secret);
                format!(
                    "the keychain refused its secret ({error}); it is held in memory until stored"
                )
            }
        };
        notes.insert(0, held_note);
        StepOutcome::Done(format!(
            "created \"{}\" ({}); {}",
            created.key.name,
            created.key.label,
            notes.join("; ")
        ))
    }

    /// Finds keys this rotation's interrupted create made (same name, created after the first
    /// attempt was recorded, not known to any rotation): the first whose secret reached the keychain
    /// is adopted (unless `discard_all`), every other one deleted — nobody ever had its secret.
    async fn reconcile_create(
        &self,
        rotation: &mut Rotation,
        client: &OpenRouterClient,
        discard_all: bool,
    ) -> Result<CreateReconcile, Error> {
        let mut found = CreateReconcile {
            found: Vec::new(),
            adopted: None,
            deleted: Vec::new(),
        };
        let Some(window_start) = rotation.create_window_start else {
            return Ok(found);
        };
        let skew = chrono::Duration::from_std(self.inner.rotations.config.create_match_skew)
            .unwrap_or(chrono::Duration::minutes(5));
        let from = window_start - skew;
        let keys = client
            .list_all(&ListKeysQuery {
                include_disabled: true,
                include_expired: true,
                workspace_id: rotation.old.workspace_id.clone(),
            })
            .await?;
        let known: HashSet<String> = self
            .inner
            .store()
            .rotation_new_key_hashes(&rotation.profile_id)?
            .into_iter()
            .collect();
        let mut candidates: Vec<ApiKey> = keys
            .into_iter()
            .filter(|key| key.name == rotation.new_key_name && key.hash != rotation.old.hash)
            .filter(|key| !known.contains(&key.hash))
            .filter(|key| key.created_at.is_some_and(|at| at >= from))
            .collect();
        candidates.sort_by_key(|key| key.created_at);
        for key in candidates {
            found.found.push(key.hash.clone());
            if !discard_all && found.adopted.is_none() && self.keychain_holds(rotation, &key).await
            {
                rotation.new_key = Some(NewKey {
                    hash: key.hash.clone(),
                    label: key.label.clone(),
                    created_at: key.created_at,
                });
                found.adopted = Some(key.hash.clone());
                continue;
            }
            match client.delete_key(&key.hash).await {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
            self.forget_secret(&rotation.profile_id, &key.hash).await?;
            self.forget_cached_key(&rotation.profile_id, &key.hash);
            found.deleted.push(key.hash.clone());
        }
        let note = JournalEntry::new(
            self.now(),
            RotationStepName::Create.as_str(),
            JournalPhase::Note,
            Some("reconciled"),
            serde_json::json!(found),
        );
        self.save_rotation(rotation, vec![note])?;
        tracing::info!(rotation = %rotation.id, found = found.found.len(), deleted = found.deleted.len(), adopted = found.adopted.is_some(), "reconciled an interrupted create");
        Ok(found)
    }

    /// Whether the keychain holds `key`'s secret as pending; restores its index row if missing.
    async fn keychain_holds(&self, rotation: &Rotation, key: &ApiKey) -> bool {
        let entry = NewSecretIndexEntry {
            profile_id: rotation.profile_id.clone(),
            key_hash: key.hash.clone(),
            key_name: key.name.clone(),
            label: Some(key.label.clone()),
        };
        self.blocking(move |inner| {
            inner
                .vault
                .pending_secret(&entry.profile_id, &entry.key_hash)?;
            let store = inner.store();
            if store
                .secret_index_entry(&entry.profile_id, &entry.key_hash)?
                .is_none()
            {
                store.record_pending_secret(&entry)?;
            }
            Ok(())
        })
        .await
        .is_ok()
    }

    /// Removes a key's held secret (keychain and index), if any.
    async fn forget_secret(&self, profile_id: &str, key_hash: &str) -> Result<(), Error> {
        let (profile_id, key_hash) = (profile_id.to_owned(), key_hash.to_owned());
        self.blocking(move |inner| {
            let store = inner.store();
            ProfileManager::new(&store, &inner.vault).release_secret(&profile_id, &key_hash)
        })
        .await
    }

    fn cache_rotated_key(&self, profile_id: &str, key: &ApiKey) {
        let now = self.now();
        match self
            .inner
            .store()
            .upsert_cached_key(profile_id, &key.hash, key, now)
        {
            Ok(()) => self.emit_keys_changed(profile_id),
            Err(error) => tracing::warn!(error = %error, "could not cache a rotated key"),
        }
    }

    fn forget_cached_key(&self, profile_id: &str, key_hash: &str) {
        match self.inner.store().remove_cached_key(profile_id, key_hash) {
            Ok(_) => self.emit_keys_changed(profile_id),
            Err(error) => tracing::warn!(error = %error, "could not drop a key from the cache"),
        }
    }

    async fn step_store_secret(&self, rotation: &mut Rotation) -> StepOutcome {
        let Some(new_key) = rotation.new_key.clone() else {
            return failed(
                &Error::Internal {
                    message: "no new key is recorded".to_owned(),
                },
                "storing the secret",
            );
        };
        let unsaved = self.inner.rotations.unsaved().get(&rotation.id).cloned();
        let entry = NewSecretIndexEntry {
            profile_id: rotation.profile_id.clone(),
            key_hash: new_key.hash.clone(),
            key_name: rotation.new_key_name.clone(),
            label: Some(new_key.label.clone()),
        };
        let held = self
            .blocking(move |inner| {
                let store = inner.store();
                let manager = ProfileManager::new(&store, &inner.vault);
                if let Some(indexed) =
                    store.secret_index_entry(&entry.profile_id, &entry.key_hash)?
                {
                    match manager.held_secret(&entry.profile_id, &entry.key_hash) {
                        Ok(_) => return Ok(Some(indexed.state)),
                        Err(Error::SecretNotFound { .. }) => {}
                        Err(error) => return Err(error),
                    }
                }
                match inner
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
                self.inner.rotations.unsaved().remove(&rotation.id);
                let vault = &self.inner.vault;
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

    /// The new secret never reached the keychain and is gone (the process stopped): nobody has it, so
    /// the key is useless. It is deleted and the rotation creates another.
    async fn restart_lost_secret(&self, rotation: &mut Rotation, new_key: &NewKey) -> StepOutcome {
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

    fn deploy_context(&self) -> DeployContext {
        let clipboard = self
            .inner
            .rotations
            .clipboard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        DeployContext {
            clipboard,
            command_timeout: self.inner.rotations.config.command_timeout,
            vault: self.inner.vault.clone(),
            backup_suffix: None,
        }
    }

    async fn step_deploy(&self, rotation: &mut Rotation) -> StepOutcome {
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

    async fn step_verify(&self, rotation: &mut Rotation) -> StepOutcome {
        let Some(new_key) = rotation.new_key.clone() else {
            return failed(
                &Error::Internal {
                    message: "no new key is recorded".to_owned(),
                },
                "verifying",
            );
        };
        let secret = match self.new_secret(rotation).await {
            Ok(secret) => secret,
            Err(error) => return failed(&error, "could not read the new secret from the keychain"),
        };
        let profile = match self.require_profile(&rotation.profile_id) {
            Ok(profile) => profile,
            Err(error) => return failed(&error, "verifying"),
        };
        let base_url = if profile.is_sandbox {
            match self.sandbox_endpoint().await {
                Ok((base_url, _)) => base_url,
                Err(error) => return failed(&error, "the sandbox is not running"),
            }
        } else {
            profile.base_url.clone()
        };
        let client = match self.build_client(&base_url, secret) {
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

    async fn step_drain(&self, rotation: &mut Rotation) -> StepOutcome {
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        let now = self.now();
        let interval = self.inner.rotations.config.drain_check_interval;
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

    async fn step_disable_old(&self, rotation: &mut Rotation) -> StepOutcome {
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

    async fn step_delete_old(&self, rotation: &mut Rotation) -> StepOutcome {
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
            match self.inner.store().move_rotation_policy(
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

    /// The rotation is over: the new secret leaves the keychain if a durable target holds it, stays
    /// kept if the policy says so, and stays pending (for the person to resolve) otherwise.
    async fn resolve_new_secret(&self, rotation: &Rotation) -> String {
        let Some(new_key) = rotation.new_key.clone() else {
            return "no new secret to resolve".to_owned();
        };
        let durable = rotation
            .step(RotationStepName::Deploy)
            .deploy
            .iter()
            .any(|outcome| outcome.ok && outcome.target != DeployTarget::Clipboard);
        let keep = rotation.settings.keep_new_secret;
        if !keep && !durable {
            return "the new secret stays in the keychain as pending until you resolve it"
                .to_owned();
        }
        let profile_id = rotation.profile_id.clone();
        let result = self
            .blocking(move |inner| {
                let store = inner.store();
                let manager = ProfileManager::new(&store, &inner.vault);
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

    // --- Rollback -----------------------------------------------------------------------------------

    async fn run_rollback(&self, rotation: &mut Rotation) -> Result<(), Error> {
        let now = self.now();
        let mut entries = Vec::new();
        for step in &mut rotation.steps {
            if step.status == crate::rotation::RotationStepStatus::Running {
                step.status = crate::rotation::RotationStepStatus::Pending;
                entries.push(JournalEntry::new(
                    now,
                    step.step.as_str(),
                    JournalPhase::Result,
                    Some("interrupted"),
                    serde_json::json!({ "detail": "stopped by a rollback" }),
                ));
            }
        }
        entries.push(JournalEntry::new(
            now,
            ROLL_BACK,
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
                    ROLL_BACK,
                    JournalPhase::Result,
                    Some("rolled_back"),
                    serde_json::json!({ "detail": detail }),
                )
            }
            Err(error) => {
                let detail = format!("rolling back failed: {error}");
                rotation.fail_rollback(AppError::from(&error), detail.clone(), now);
                JournalEntry::new(
                    now,
                    ROLL_BACK,
                    JournalPhase::Result,
                    Some("failed"),
                    serde_json::json!({ "detail": detail, "error": AppError::from(&error) }),
                )
            }
        };
        self.save_rotation(rotation, vec![entry])?;
        tracing::info!(rotation = %rotation.id, status = rotation.status.as_str(), "rollback");
        self.hook(&rotation.id, HookPoint::roll_back(Boundary::After))
            .await;
        Ok(())
    }

    /// Saves rollback progress (so a resumed rollback skips what is done).
    fn rollback_progress(&self, rotation: &Rotation, what: &str) -> Result<(), Error> {
        let entry = JournalEntry::new(
            self.now(),
            ROLL_BACK,
            JournalPhase::Note,
            Some(what),
            serde_json::json!({ "progress": rotation.rollback }),
        );
        self.save_rotation(rotation, vec![entry])
    }

    /// A deploy died before its outcomes were saved: the targets without a successful outcome may
    /// hold the new secret anyway. Each is checked and, if it does, put back from the backup named in
    /// the intent (written before the target, so no backup means there was no previous value).
    async fn undo_interrupted_deploys(
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

    async fn roll_back_effects(&self, rotation: &mut Rotation) -> Result<String, Error> {
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
            self.rollback_progress(rotation, "create_reconciled")?;
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
            self.rollback_progress(rotation, "old_key_reenabled")?;
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
                    self.rollback_progress(rotation, "deploys_undone")?;
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
                    self.rollback_progress(rotation, "new_key_deleted")?;
                }
                if !rotation.rollback.new_secret_released {
                    self.forget_secret(&rotation.profile_id, &new_key.hash)
                        .await?;
                    self.inner.rotations.unsaved().remove(&rotation.id);
                    rotation.rollback.new_secret_released = true;
                    self.rollback_progress(rotation, "new_secret_released")?;
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
