//! The runner's public surface: policies, reading rotations and their journals, planning one
//! rotation, and starting one rotation or a batch (recording it, then running it through the runner).

use std::sync::{Arc, PoisonError};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::OwnedMutexGuard;

use super::Rotations;
use super::approval::Ask;
use crate::AppError;
use crate::Error;
use crate::api::{ApiKey, ListKeysQuery};
use crate::deploy::ClipboardSink;
use crate::rotation::{
    JournalEntry, JournalOutcome, JournalPhase, JournalStep, OldKey, Rotation, RotationBatchArgs,
    RotationPlan, RotationPlanArgs, RotationPolicy, RotationSettings, RotationStartArgs,
    RotationStatus, RotationView, check_journal, rotation_due_at, validate_new_expiry,
};

impl Rotations {
    // --- Policies -----------------------------------------------------------------------------------

    /// A key's rotation policy (the defaults if it has none).
    pub(crate) fn policy(&self, profile_id: &str, key_hash: &str) -> Result<RotationPolicy, Error> {
        let store = self.store();
        store.require_profile(profile_id)?;
        Ok(store
            .rotation_policy(profile_id, key_hash)?
            .unwrap_or_else(|| RotationPolicy::default_for(profile_id, key_hash)))
    }

    /// Validates and stores a policy (`InvalidInput` names the field, e.g. `targets[0].path`). A
    /// command target must be approved already (`targets[i].program` otherwise).
    pub(crate) fn set_policy(&self, policy: RotationPolicy) -> Result<RotationPolicy, Error> {
        policy.validate()?;
        // The vault's own service may not be the default one (the CLI's --keychain-service).
        for (index, target) in policy.targets.iter().enumerate() {
            crate::deploy::validate_target_for(target, self.shared.vault.service()).map_err(
                |error| match error {
                    Error::InvalidInput { field, message } => Error::InvalidInput {
                        field: Some(format!("targets[{index}].{}", field.unwrap_or_default())),
                        message,
                    },
                    other => other,
                },
            )?;
        }
        self.require_commands_approved(&policy.targets)?;
        self.store().set_rotation_policy(&policy)?;
        Ok(policy)
    }

    /// When a key is next due for rotation under its policy, from the cached key list.
    pub(crate) fn due(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let store = self.store();
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
    pub(crate) fn set_clipboard_sink(&self, sink: Option<Arc<dyn ClipboardSink>>) {
        *self
            .clipboard
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = sink;
    }

    // --- Reading ------------------------------------------------------------------------------------

    pub(crate) fn view(&self, id: &str) -> Result<RotationView, Error> {
        Ok(self.load_rotation(id)?.view())
    }

    /// Rotations, newest first, of one profile or all; `active_only`: running, waiting or failed.
    pub(crate) fn list(
        &self,
        profile_id: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<RotationView>, Error> {
        Ok(self
            .store()
            .rotations(profile_id, active_only)?
            .iter()
            .map(Rotation::view)
            .collect())
    }

    /// Every rotation a key took part in (as the old or the new key), newest first.
    pub(crate) fn history(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Vec<RotationView>, Error> {
        Ok(self
            .store()
            .rotations_of_key(profile_id, key_hash)?
            .iter()
            .map(Rotation::view)
            .collect())
    }

    /// A rotation's journal, oldest first (intent and result rows, actions, notes).
    pub(crate) fn journal(&self, id: &str) -> Result<Vec<JournalEntry>, Error> {
        self.store().rotation_journal(id)
    }

    /// What is inconsistent between a rotation's journal and its state (empty = consistent).
    pub(crate) fn journal_problems(&self, id: &str) -> Result<Vec<String>, Error> {
        let rotation = self.load_rotation(id)?;
        let journal = self.store().rotation_journal(id)?;
        Ok(check_journal(&rotation, &journal))
    }

    // --- Planning -----------------------------------------------------------------------------------

    /// What rotating a key would give the new key if it started now: the key as OpenRouter has it,
    /// its policy, the expiry (this rotation's override, checked like `start` checks it) and what
    /// names the key. Sends only reads.
    pub(crate) async fn plan(&self, args: &RotationPlanArgs) -> Result<RotationPlan, Error> {
        let now = self.now();
        if let Some(expiry) = args.new_expiry {
            validate_new_expiry(expiry, now)?;
        }
        let profile = self.store().require_profile(&args.profile_id)?;
        let client = self.clients.client(&profile).await?;
        let key = client.get_key(&args.key_hash).await?;
        let policy = self.policy(&profile.id, &key.hash)?;
        let attachments = self
            .config
            .links
            .attachments(&client, &key.hash, key.workspace_id.as_deref())
            .await?;
        Ok(RotationPlan::for_key(
            &key,
            policy,
            args.new_expiry,
            attachments,
            now,
        ))
    }

    // --- Starting -----------------------------------------------------------------------------------

    /// Starts rotating a key with its policy and runs it until it waits (drain, grace period), fails
    /// or completes; progress is announced through `EventSink::rotation_changed`. Refused (conflict)
    /// while the key already has an unfinished rotation.
    pub(crate) async fn start(&self, args: RotationStartArgs) -> Result<RotationView, Error> {
        self.start_as(args, Ask::Person).await
    }

    /// [`start`](Self::start); `ask` says whether an unapproved command target may be put to the
    /// person ([`Ask::Never`] for automatic rotations).
    pub(super) async fn start_as(
        &self,
        args: RotationStartArgs,
        ask: Ask,
    ) -> Result<RotationView, Error> {
        let (id, lease, running) = self.record_new_rotation(&args, ask).await?;
        let view = self.advance_locked(&id).await;
        drop(lease);
        drop(running);
        view
    }

    /// Like [`start`](Self::start), but answers as soon as the rotation is recorded and runs it on a
    /// tokio task: for a window that follows each step live through `EventSink::rotation_changed`
    /// instead of waiting for the whole rotation.
    pub(crate) async fn start_detached(
        self: &Arc<Self>,
        args: RotationStartArgs,
    ) -> Result<RotationView, Error> {
        let (id, lease, running) = self.record_new_rotation(&args, Ask::Person).await?;
        let view = self.view(&id)?;
        let rotations = Arc::clone(self);
        tokio::spawn(async move {
            // Step failures are saved in the rotation (failed, with its error); only the store
            // failing ends up here.
            if let Err(err) = rotations.advance_locked(&id).await {
                tracing::error!(rotation = %id, error = %err, "a rotation could not be run on");
            }
            drop(lease);
            drop(running);
        });
        Ok(view)
    }

    /// Records a new rotation (refused while the key has an unfinished one, in this process or
    /// another: the store allows one per key) and takes its lock and its lease, before anything
    /// else (the ticker, another process) can see it.
    pub(super) async fn record_new_rotation(
        &self,
        args: &RotationStartArgs,
        ask: Ask,
    ) -> Result<(String, super::lease::Lease, OwnedMutexGuard<()>), Error> {
        self.refuse_while_updating()?;
        if let Some(expiry) = args.new_expiry {
            validate_new_expiry(expiry, self.now())?;
        }
        let profile = self.store().require_profile(&args.profile_id)?;
        let client = self.clients.client(&profile).await?;
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
        let policy = self.policy(&profile.id, &old.hash)?;
        // Before anything is created: an unapproved (or changed) command target never runs.
        self.ensure_commands_approved(&policy.targets, ask).await?;
        // Snapshotted now and saved with the rotation: a resumed run carries this same list.
        let attachments = self
            .config
            .links
            .attachments(&client, &old.hash, old.workspace_id.as_deref())
            .await?;
        let _start = self.start_lock.lock().await;
        {
            let store = self.store();
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
        let mut settings = RotationSettings::from_policy(&policy, args.delete_at_once);
        if let Some(expiry) = args.new_expiry {
            settings.new_expiry = expiry;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let running = self.lock_of(&id).lock_owned().await;
        let mut rotation = Rotation::new(id, profile.id.clone(), OldKey::from(&old), settings, now);
        rotation.attachments = attachments;
        let note = JournalEntry::new(
            now,
            JournalStep::Rotation,
            JournalPhase::Note,
            Some(JournalOutcome::Started),
            serde_json::json!({
                "old_key_hash": rotation.old.hash,
                "new_key_name": rotation.new_key_name,
                "targets": rotation.settings.targets,
                "new_expiry": rotation.settings.new_expiry,
                "workspace_id": rotation.old.workspace_id,
                "attachments": rotation.attachments,
            }),
        );
        self.save_rotation(&mut rotation, vec![note])?;
        let lease = self.lease(&rotation.id)?;
        tracing::info!(rotation = %rotation.id, profile = %profile.id, key = %old.hash, "rotation started");
        Ok((rotation.id, lease, running))
    }

    /// Starts rotating every active key (of every workspace) of a profile whose name matches `name_pattern` (`prod-*`),
    /// a few at a time. One view per matching key, in the list's order: the rotation it started, the
    /// unfinished one it already had, or (id `""`, status `failed`, `error` set) why it could not
    /// start.
    pub(crate) async fn start_batch(
        &self,
        args: RotationBatchArgs,
    ) -> Result<Vec<RotationView>, Error> {
        let pattern = args.name_pattern.trim().to_owned();
        if pattern.is_empty() {
            return Err(Error::invalid("name_pattern", "must not be empty"));
        }
        let profile = self.store().require_profile(&args.profile_id)?;
        let client = self.clients.client(&profile).await?;
        let query = ListKeysQuery {
            include_disabled: false,
            include_expired: false,
            workspace_id: None,
        };
        // Every workspace (as the key list shows them), or the one the profile is pinned to.
        let keys = match &profile.workspace_id {
            Some(pinned) => client.list_all_in(pinned, &query).await?,
            None => match client.list_all_workspaces(&query).await {
                Ok(account) => account.keys,
                Err(error) if super::super::workspaces::no_workspaces_endpoint(&error) => {
                    client.list_all(&query).await?
                }
                Err(error) => return Err(error),
            },
        };
        let matching: Vec<ApiKey> = keys
            .into_iter()
            .filter(|key| crate::rotation::name_matches(&pattern, &key.name))
            .collect();
        let concurrency = self.config.batch_concurrency.max(1);
        let mut results: Vec<(usize, RotationView)> =
            futures::stream::iter(matching.into_iter().enumerate())
                .map(|(index, key)| {
                    let profile_id = profile.id.clone();
                    async move {
                        let started = self
                            .start(RotationStartArgs {
                                profile_id: profile_id.clone(),
                                key_hash: key.hash.clone(),
                                delete_at_once: false,
                                new_expiry: None,
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
    pub(super) fn batch_failure(
        &self,
        profile_id: &str,
        key: &ApiKey,
        error: &Error,
    ) -> RotationView {
        if matches!(error, Error::Conflict { .. })
            && let Ok(rotations) = self.store().rotations_of_key(profile_id, &key.hash)
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
}
