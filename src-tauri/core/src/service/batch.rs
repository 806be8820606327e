//! Batch operations and the emergency revoke, bound to a profile: the generic runner
//! (`batch::runner`) with this profile's client, each key's change kept in the cache as it lands,
//! progress through the event sink, and one keys-changed event when the run ends.
//!
//! Every mutation goes through [`Keyward::batch_apply_one`] (one key) inside
//! [`Keyward::run_batch`] (one run): the two places an audit entry belongs.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::Keyward;
use crate::Error;
use crate::api::{ApiKey, OpenRouterClient, validate_hash};
use crate::audit::AuditAction;
use crate::batch::runner::{self, Applied, Item, RunnerConfig};
use crate::batch::{
    BatchArgs, BatchCancelArgs, BatchKeyResult, BatchOperation, BatchProgressEvent, BatchReport,
    DEFAULT_CONCURRENCY, KeyFilter, KeyOutcome, MAX_CONCURRENCY, RevokeArgs, RevokeFollowUpArgs,
    RevokeMatch, RevokePreview, RevokePreviewArgs, RevokeRecord, RevokeReport, RevokeSelection,
    dedupe,
};
use crate::ipc::ProfileScopedArgs;
use crate::store::Profile;

/// Cache changes written per transaction during a run.
const CACHE_WRITE_CHUNK: usize = 64;

/// A key's change, waiting to be written to the cache.
enum CacheWrite {
    /// Changed: the key as OpenRouter answered, and `disabled` when this run set it.
    Upsert(Box<ApiKey>, Option<bool>),
    Remove(String),
}

/// The cache changes of one run not written yet.
struct CacheWrites {
    profile_id: String,
    pending: Mutex<Vec<CacheWrite>>,
}

impl Keyward {
    /// Runs one operation over many keys of a profile (see `batch`): every key ends done, failed
    /// (with the error) or not run (cancelled first). Bad input is refused before any request.
    pub async fn batch_run(&self, args: BatchArgs) -> Result<BatchReport, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let concurrency = args.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(Error::invalid(
                "concurrency",
                format!("must be from 1 to {MAX_CONCURRENCY}"),
            ));
        }
        let before = self.cached_settings_by_hash(&profile.id);
        let report = self
            .run_batch(
                &profile,
                &args.run_id,
                args.operation,
                &args.hashes,
                concurrency,
            )
            .await?;
        self.record_batch(&profile, &report, &before, AuditAction::BatchRun, None);
        Ok(report)
    }

    /// Cancels a run under way: keys not yet sent end "not run". `false`: no such run (it ended).
    pub fn batch_cancel(&self, args: BatchCancelArgs) -> bool {
        self.inner.batches.cancel(&args.run_id)
    }

    /// One run: validates, dedupes, sends, keeps the cache, reports.
    async fn run_batch(
        &self,
        profile: &Profile,
        run_id: &str,
        operation: BatchOperation,
        hashes: &[String],
        concurrency: u32,
    ) -> Result<BatchReport, Error> {
        operation.validate()?;
        let hashes = dedupe(hashes);
        if hashes.is_empty() {
            return Err(Error::invalid("hashes", "choose at least one key"));
        }
        for hash in &hashes {
            validate_hash(hash)?;
        }
        let guard = self.inner.batches.start(run_id)?;
        let client = self.client_for(profile).await?;
        let names = self.cached_names(&profile.id);
        let items: Vec<Item> = hashes
            .iter()
            .map(|hash| Item {
                hash: hash.clone(),
                name: names.get(hash).cloned(),
            })
            .collect();
        let total = items.len() as u32;
        let config = RunnerConfig {
            concurrency: concurrency as usize,
            ..RunnerConfig::default()
        };
        tracing::info!(profile = %profile.id, run = %run_id, operation = operation.as_str(), keys = total, "batch started");
        let cache = CacheWrites {
            profile_id: profile.id.clone(),
            pending: Mutex::new(Vec::new()),
        };
        let (mut done, mut failed, mut not_run) = (0u32, 0u32, 0u32);
        let results = runner::run(
            items,
            &config,
            &guard.flag,
            |hash| {
                let client = client.clone();
                let operation = &operation;
                let cache = &cache;
                async move { self.batch_apply_one(&client, cache, operation, &hash).await }
            },
            |result: &BatchKeyResult| {
                match result.outcome {
                    KeyOutcome::Done => done += 1,
                    KeyOutcome::Failed => failed += 1,
                    KeyOutcome::NotRun => not_run += 1,
                }
                self.inner.events.batch_progress(BatchProgressEvent {
                    run_id: run_id.to_owned(),
                    profile_id: profile.id.clone(),
                    total,
                    done,
                    failed,
                    not_run,
                    last: result.clone(),
                });
            },
        )
        .await;
        self.cache_flush(&cache);
        let cancelled = guard.flag.is_cancelled();
        drop(guard);
        if done > 0 {
            // One event for the whole run: the list reloads once, not once per key.
            self.emit_keys_changed(&profile.id);
        }
        tracing::info!(profile = %profile.id, run = %run_id, done, failed, not_run, cancelled, "batch ended");
        Ok(BatchReport {
            run_id: run_id.to_owned(),
            profile_id: profile.id.clone(),
            operation,
            results,
            total,
            done,
            failed,
            not_run,
            cancelled,
        })
    }

    /// Applies `operation` to one key and keeps the cache (without an event: the run sends one).
    /// A delete answered 404 is done: the key is gone, which is what was asked (e.g. a retried
    /// DELETE whose first copy went through).
    async fn batch_apply_one(
        &self,
        client: &OpenRouterClient,
        cache: &CacheWrites,
        operation: &BatchOperation,
        hash: &str,
    ) -> Result<Applied, Error> {
        match operation {
            BatchOperation::Delete => {
                let note = match client.delete_key(hash).await {
                    Ok(()) => None,
                    Err(Error::NotFound { .. }) => Some("already deleted".to_owned()),
                    Err(error) => return Err(error),
                };
                self.cache_write(cache, CacheWrite::Remove(hash.to_owned()));
                Ok(Applied { note })
            }
            BatchOperation::AssignGuardrail { guardrail_id } => {
                let assigned = client.assign_keys(guardrail_id, &[hash.to_owned()]).await?;
                let note = (assigned == 0).then(|| "already assigned".to_owned());
                Ok(Applied { note })
            }
            other => {
                let request = other.update_request().ok_or_else(|| Error::Internal {
                    message: format!("{} is not a key update", other.as_str()),
                    source: None,
                })?;
                let key = client.update_key(hash, &request).await?;
                self.cache_write(cache, CacheWrite::Upsert(Box::new(key), request.disabled));
                Ok(Applied::default())
            }
        }
    }

    /// Queues one key's cache change; every [`CACHE_WRITE_CHUNK`] changes are written together.
    fn cache_write(&self, cache: &CacheWrites, write: CacheWrite) {
        let full = {
            let mut pending = cache.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.push(write);
            pending.len() >= CACHE_WRITE_CHUNK
        };
        if full {
            self.cache_flush(cache);
        }
    }

    /// Writes the queued cache changes in one transaction (the store syncs every commit to disk:
    /// one commit per key would make the disk, not OpenRouter, the limit of a large run).
    fn cache_flush(&self, cache: &CacheWrites) {
        let writes =
            std::mem::take(&mut *cache.pending.lock().unwrap_or_else(PoisonError::into_inner));
        if writes.is_empty() {
            return;
        }
        let now = self.now();
        let profile_id = cache.profile_id.as_str();
        let written = self.inner.store().in_transaction(|store| {
            for write in &writes {
                match write {
                    CacheWrite::Remove(hash) => {
                        store.remove_cached_key(profile_id, hash)?;
                    }
                    CacheWrite::Upsert(key, disabled) => {
                        if let Some(disabled) = disabled {
                            store.set_disabled_by_keyward(profile_id, &key.hash, *disabled, now)?;
                        }
                        store.upsert_cached_key(profile_id, &key.hash, key.as_ref(), now)?;
                    }
                }
            }
            Ok(())
        });
        if let Err(error) = written {
            tracing::warn!(profile = %profile_id, error = %error, "could not write a batch's changes to the cache; the next refresh will");
        }
    }

    pub(super) fn cached_keys_of(&self, profile_id: &str) -> Vec<ApiKey> {
        match self.inner.store().cached_keys::<ApiKey>(profile_id) {
            Ok(cached) => cached.into_iter().map(|cached| cached.key).collect(),
            Err(error) => {
                tracing::warn!(profile = %profile_id, error = %error, "could not read the cached keys");
                Vec::new()
            }
        }
    }

    fn cached_names(&self, profile_id: &str) -> HashMap<String, String> {
        self.cached_keys_of(profile_id)
            .into_iter()
            .map(|key| (key.hash, key.name))
            .collect()
    }

    /// A key's local tags, by hash, for `tag:` filter terms (read once per filter from the metadata
    /// store; a store that can't be read is an error rather than "no key is tagged", so a revoke by
    /// tag never silently matches nothing).
    fn tag_lookup(&self, profile_id: &str) -> Result<impl Fn(&str) -> Vec<String> + use<>, Error> {
        let tags: std::collections::HashMap<String, Vec<String>> = self
            .inner
            .store()
            .profile_key_metadata(profile_id)?
            .into_iter()
            .map(|(hash, metadata)| (hash, metadata.tags))
            .collect();
        Ok(move |hash: &str| tags.get(hash).cloned().unwrap_or_default())
    }

    // --- Emergency revoke -------------------------------------------------------------------------

    /// The keys a revoke would act on. A filter is matched against the key list (fetched again
    /// first when `refresh`; the cache answers when OpenRouter can't be reached).
    pub async fn revoke_preview(&self, args: RevokePreviewArgs) -> Result<RevokePreview, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let matched = self
            .revoke_matches(&profile, &args.selection, args.refresh)
            .await?;
        Ok(RevokePreview {
            profile_id: profile.id,
            matched,
        })
    }

    async fn revoke_matches(
        &self,
        profile: &Profile,
        selection: &RevokeSelection,
        refresh: bool,
    ) -> Result<Vec<RevokeMatch>, Error> {
        // Parsed before anything is fetched: a typo fails at once.
        let filter = match selection {
            RevokeSelection::Filter { expression } => Some(KeyFilter::parse(expression)?),
            RevokeSelection::Hashes { hashes } => {
                for hash in hashes {
                    validate_hash(hash.trim())?;
                }
                None
            }
        };
        if refresh && let Some(failure) = self.fetch_into_cache(profile).await? {
            tracing::warn!(profile = %profile.id, kind = %failure.kind(), "revoke matches the cached list: the refresh failed");
        } else if refresh {
            self.refresh_succeeded(&profile.id);
        }
        let keys = self.cached_keys_of(&profile.id);
        match (selection, filter) {
            (_, Some(filter)) => {
                let workspaces = self.inner.workspaces.get(&profile.id).unwrap_or_default();
                filter.check_workspaces(&workspaces)?;
                let tags = self.tag_lookup(&profile.id)?;
                let now = self.now();
                Ok(keys
                    .iter()
                    .filter(|key| filter.matches(key, now, &workspaces, &tags))
                    .map(|key| RevokeMatch {
                        hash: key.hash.clone(),
                        name: key.name.clone(),
                        disabled: key.disabled,
                    })
                    .collect())
            }
            (RevokeSelection::Hashes { hashes }, None) => {
                let by_hash: HashMap<&str, &ApiKey> =
                    keys.iter().map(|key| (key.hash.as_str(), key)).collect();
                Ok(dedupe(hashes)
                    .into_iter()
                    .map(|hash| match by_hash.get(hash.as_str()) {
                        Some(key) => RevokeMatch {
                            hash: hash.clone(),
                            name: key.name.clone(),
                            disabled: key.disabled,
                        },
                        None => RevokeMatch {
                            name: String::new(),
                            disabled: false,
                            hash,
                        },
                    })
                    .collect())
            }
            (RevokeSelection::Filter { .. }, None) => Ok(Vec::new()),
        }
    }

    /// Emergency revoke, step one: disables every matching key that is enabled (instant and
    /// reversible) and records which it disabled. A filter is matched against a fresh list.
    pub async fn revoke_start(&self, args: RevokeArgs) -> Result<RevokeReport, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let refresh = matches!(args.selection, RevokeSelection::Filter { .. });
        let matched = self
            .revoke_matches(&profile, &args.selection, refresh)
            .await?;
        if matched.is_empty() {
            return Err(Error::invalid("filter", "matches no key"));
        }
        let (already, to_disable): (Vec<&RevokeMatch>, Vec<&RevokeMatch>) =
            matched.iter().partition(|m| m.disabled);
        let mut revoke = RevokeRecord {
            id: uuid::Uuid::new_v4().to_string(),
            profile_id: profile.id.clone(),
            created_at: self.now(),
            selection: match &args.selection {
                RevokeSelection::Filter { expression } => expression.trim().to_owned(),
                RevokeSelection::Hashes { hashes } => {
                    format!("selection of {} keys", dedupe(hashes).len())
                }
            },
            matched: matched.iter().map(|m| m.hash.clone()).collect(),
            disabled: Vec::new(),
            reenabled_at: None,
            deleted_at: None,
        };
        // Stored before anything is sent, then again with what was disabled.
        self.inner.store().save_revoke(&revoke)?;
        tracing::warn!(profile = %profile.id, revoke = %revoke.id, keys = to_disable.len(), "emergency revoke: disabling");
        let hashes: Vec<String> = to_disable.iter().map(|m| m.hash.clone()).collect();
        let report = if hashes.is_empty() {
            BatchReport {
                run_id: args.run_id.clone(),
                profile_id: profile.id.clone(),
                operation: BatchOperation::Disable,
                results: Vec::new(),
                total: 0,
                done: 0,
                failed: 0,
                not_run: 0,
                cancelled: false,
            }
        } else {
            let before = self.cached_settings_by_hash(&profile.id);
            let report = self
                .run_batch(
                    &profile,
                    &args.run_id,
                    BatchOperation::Disable,
                    &hashes,
                    DEFAULT_CONCURRENCY,
                )
                .await?;
            self.record_batch(
                &profile,
                &report,
                &before,
                AuditAction::EmergencyRevoke,
                Some(revoke.selection.clone()),
            );
            report
        };
        revoke.disabled = report.hashes_with(KeyOutcome::Done);
        self.inner.store().save_revoke(&revoke)?;
        Ok(RevokeReport {
            revoke,
            already_disabled: already.iter().map(|m| m.hash.clone()).collect(),
            report,
        })
    }

    fn require_revoke(&self, profile_id: &str, revoke_id: &str) -> Result<RevokeRecord, Error> {
        self.inner
            .store()
            .revoke(profile_id, revoke_id.trim())?
            .ok_or_else(|| {
                Error::invalid(
                    "revoke_id",
                    format!("no revoke {revoke_id} in this profile"),
                )
            })
    }

    /// Emergency revoke, step two: deletes every key the revoke matched (the disabled ones and
    /// those that were disabled already). Keys already gone count as done.
    pub async fn revoke_delete(&self, args: RevokeFollowUpArgs) -> Result<BatchReport, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let revoke = self.require_revoke(&profile.id, &args.revoke_id)?;
        let before = self.cached_settings_by_hash(&profile.id);
        let report = self
            .run_batch(
                &profile,
                &args.run_id,
                BatchOperation::Delete,
                &revoke.matched,
                DEFAULT_CONCURRENCY,
            )
            .await?;
        self.record_batch(
            &profile,
            &report,
            &before,
            AuditAction::BatchRun,
            Some(format!("revoke {}", revoke.id)),
        );
        self.inner
            .store()
            .mark_revoke(&revoke.id, None, Some(self.now()))?;
        Ok(report)
    }

    /// Undoes a revoke's disable: enables exactly the keys it disabled (a key that was disabled
    /// before the revoke stays disabled). Refused once the revoke's keys were deleted.
    pub async fn revoke_reenable(&self, args: RevokeFollowUpArgs) -> Result<BatchReport, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let revoke = self.require_revoke(&profile.id, &args.revoke_id)?;
        self.reenable(&profile, &args.run_id, &revoke).await
    }

    /// `reenable --filter`: enables the keys matching `expression` that a revoke of this profile
    /// disabled (and that were not re-enabled or deleted since).
    pub async fn revoke_reenable_matching(
        &self,
        profile_id: &str,
        run_id: &str,
        expression: &str,
    ) -> Result<BatchReport, Error> {
        let profile = self.require_profile(profile_id)?;
        let selection = RevokeSelection::Filter {
            expression: expression.to_owned(),
        };
        let matched = self.revoke_matches(&profile, &selection, true).await?;
        let revokes: Vec<RevokeRecord> = self
            .inner
            .store()
            .revokes(&profile.id)?
            .into_iter()
            .filter(|r| r.reenabled_at.is_none() && r.deleted_at.is_none())
            .collect();
        let disabled_by_revoke: std::collections::HashSet<&str> = revokes
            .iter()
            .flat_map(|r| r.disabled.iter().map(String::as_str))
            .collect();
        let hashes: Vec<String> = matched
            .into_iter()
            .filter(|m| disabled_by_revoke.contains(m.hash.as_str()))
            .map(|m| m.hash)
            .collect();
        if hashes.is_empty() {
            return Err(Error::invalid(
                "filter",
                "matches no key an emergency revoke disabled",
            ));
        }
        let report = self
            .run_batch(
                &profile,
                run_id,
                BatchOperation::Enable,
                &hashes,
                DEFAULT_CONCURRENCY,
            )
            .await?;
        // A revoke all of whose keys are enabled again is re-enabled.
        let enabled: std::collections::HashSet<String> =
            report.hashes_with(KeyOutcome::Done).into_iter().collect();
        let now = self.now();
        for revoke in revokes {
            if revoke.disabled.iter().all(|hash| enabled.contains(hash)) {
                self.inner
                    .store()
                    .mark_revoke(&revoke.id, Some(now), None)?;
            }
        }
        Ok(report)
    }

    async fn reenable(
        &self,
        profile: &Profile,
        run_id: &str,
        revoke: &RevokeRecord,
    ) -> Result<BatchReport, Error> {
        if revoke.deleted_at.is_some() {
            return Err(Error::Conflict {
                message: format!("the keys of revoke {} were deleted", revoke.id),
            });
        }
        if revoke.disabled.is_empty() {
            return Err(Error::invalid(
                "revoke_id",
                "this revoke disabled no key: nothing to re-enable",
            ));
        }
        let before = self.cached_settings_by_hash(&profile.id);
        let report = self
            .run_batch(
                profile,
                run_id,
                BatchOperation::Enable,
                &revoke.disabled,
                DEFAULT_CONCURRENCY,
            )
            .await?;
        self.record_batch(
            profile,
            &report,
            &before,
            AuditAction::EmergencyReenable,
            Some(format!("revoke {}", revoke.id)),
        );
        if report.failed == 0 && report.not_run == 0 {
            self.inner
                .store()
                .mark_revoke(&revoke.id, Some(self.now()), None)?;
        }
        Ok(report)
    }

    /// A profile's emergency revokes, newest first.
    pub fn revokes_list(&self, args: ProfileScopedArgs) -> Result<Vec<RevokeRecord>, Error> {
        self.require_profile(&args.profile_id)?;
        self.inner.store().revokes(&args.profile_id)
    }
}
