//! Keys: the list (instantly from the cache, or refreshed with an offline fallback), credits,
//! validation, create (the secret is held in the keychain before anything else can fail), update,
//! delete, and checking a pasted key.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::recovery::PlannedRetry;
use super::{Keyward, rename_field};
use crate::api::{
    ApiKey, CreateKeyRequest, Credits, DEFAULT_BASE_URL, NewKey, UpdateKeyRequest, parse_expiry,
};
use crate::audit::{AuditAction, AuditValue, KeySettings, NewAuditEntry};
use crate::ipc::{
    CheckedKey, Connectivity, CreateKeyArgs, CreatedKey, KeyCheckArgs, KeyDeleteArgs, KeyRow,
    KeyStatus, KeysListArgs, KeysSnapshot, ProfileScopedArgs, UpdateKeyArgs,
};
use crate::store::{NewSecretIndexEntry, ProfileManager, SecretIndexEntry};
use crate::{AppError, Error};

/// Lists a refresh sends again, at most, when keys changed through Keyward while it listed; after
/// that (a busy profile must still refresh) it writes its list with those changes kept over it.
const RACING_RELISTS: u32 = 3;

/// When a 429 names no wait, the UI counts down from this.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// Errors that mean "OpenRouter can't be reached right now": answer from the cache instead.
fn is_offline(error: &Error) -> bool {
    matches!(
        error,
        Error::Network { .. } | Error::Timeout { .. } | Error::Server { .. }
    )
}

impl Keyward {
    /// A profile's keys. `refresh: false` answers from the cache at once. `refresh: true` fetches
    /// every key (the cache holds all; the flags filter the answer) and replaces the cache; if
    /// OpenRouter can't be reached or rate-limits, the cached list comes back with `connectivity`
    /// saying so instead of an error, and a background retry brings the profile back online by
    /// itself. Other failures (e.g. `unauthorized`) are errors. An explicit refresh supersedes any
    /// pending background retry of the profile.
    pub async fn keys_list(&self, args: KeysListArgs) -> Result<KeysSnapshot, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let mut fresh = false;
        if args.refresh {
            self.cancel_recovery(&profile.id);
            let fetched = self.fetch_into_cache(&profile).await;
            if fetched.is_err() {
                self.no_retry_pending(&profile.id);
            }
            match fetched? {
                None => {
                    fresh = true;
                    self.refresh_succeeded(&profile.id);
                }
                Some(failure) => {
                    if let Some(planned) = self.refresh_failed_with_retry(&profile.id, &failure, 0)
                    {
                        self.schedule_recovery(&profile.id, planned);
                    }
                }
            }
        }
        self.snapshot(&args, fresh)
    }

    /// Fetches every key of `profile` into the cache. `Ok(None)`: done. `Ok(Some(failure))`:
    /// OpenRouter is unreachable or rate limiting (the cache stays). `Err`: anything else.
    pub(super) async fn fetch_into_cache(
        &self,
        profile: &crate::store::Profile,
    ) -> Result<Option<Error>, Error> {
        let client = self.client_for(profile).await?;
        let mut relisted = 0;
        loop {
            let changes_before = self.inner.store().cache_changes(&profile.id);
            // Every workspace of the account (or the profile's pinned one): alerts watch them all.
            match self.list_profile_keys(&client, profile).await {
                Ok(keys) => {
                    let now = self.now();
                    let store = self.inner.store();
                    // A key created, changed or deleted through Keyward while the list was on its
                    // way: the list may predate that change, so list again rather than undo it.
                    if store.cache_changes(&profile.id) != changes_before
                        && relisted < RACING_RELISTS
                    {
                        drop(store);
                        relisted += 1;
                        tracing::debug!(profile = %profile.id, "a key changed during the refresh; listing again");
                        continue;
                    }
                    // Keys changed one by one since this list began (a busy profile that kept
                    // moving through every relist) keep their cached rows over the listed ones.
                    store.replace_cached_keys_since(
                        &profile.id,
                        &keys,
                        |key: &ApiKey| key.hash.as_str(),
                        now,
                        Some(changes_before),
                    )?;
                    return Ok(None);
                }
                Err(error) if is_offline(&error) || matches!(error, Error::RateLimited { .. }) => {
                    return Ok(Some(error));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Records and announces a refresh that replaced the cache.
    pub(super) fn refresh_succeeded(&self, profile_id: &str) {
        self.set_connectivity(profile_id, Connectivity::Online);
        self.emit_keys_changed(profile_id);
        self.emit_connectivity(profile_id, Connectivity::Online);
    }

    /// Records and announces a refresh that ended offline or rate limited, with the time of the
    /// next background retry (after `attempt` failed ones), which it returns.
    pub(super) fn refresh_failed_with_retry(
        &self,
        profile_id: &str,
        failure: &Error,
        attempt: u32,
    ) -> Option<PlannedRetry> {
        let mut connectivity = self.refresh_failed(profile_id, failure);
        let planned = self.plan_retry(&connectivity, attempt);
        if let (Connectivity::Offline { next_retry_at, .. }, Some(planned)) =
            (&mut connectivity, &planned)
        {
            *next_retry_at = chrono::Duration::from_std(planned.wait)
                .ok()
                .and_then(|wait| self.now().checked_add_signed(wait));
        }
        self.set_connectivity(profile_id, connectivity.clone());
        self.emit_connectivity(profile_id, connectivity);
        planned
    }

    /// The connectivity a failed refresh leads to; the failure is recorded beside the cache.
    fn refresh_failed(&self, profile_id: &str, error: &Error) -> Connectivity {
        let now = self.now();
        tracing::warn!(profile = %profile_id, kind = %error.kind(), "refresh failed; answering from the cache");
        if let Err(record) =
            self.inner
                .store()
                .record_cache_error(profile_id, &error.to_string(), now)
        {
            tracing::warn!(profile = %profile_id, error = %record, "could not record the refresh error");
        }
        let app_error = AppError::from(error);
        if let Error::RateLimited { retry_after, .. } = error {
            let wait = retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
            let retry_at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            return Connectivity::RateLimited {
                retry_at,
                error: app_error,
            };
        }
        // Offline since the first failure in a row, not since the latest.
        let since = match self.connectivity_of(profile_id) {
            Connectivity::Offline { since, .. } => since,
            _ => now,
        };
        Connectivity::Offline {
            error: app_error,
            since,
            next_retry_at: None,
        }
    }

    /// Announces that no background retry will come (it was cancelled, or hit an error retrying
    /// can't fix), so the UI stops counting down to one.
    pub(super) fn no_retry_pending(&self, profile_id: &str) {
        let changed = {
            let mut states = self
                .inner
                .connectivity
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match states.get_mut(profile_id) {
                Some(Connectivity::Offline { next_retry_at, .. }) if next_retry_at.is_some() => {
                    *next_retry_at = None;
                    states.get(profile_id).cloned()
                }
                _ => None,
            }
        };
        if let Some(connectivity) = changed {
            self.emit_connectivity(profile_id, connectivity);
        }
    }

    fn connectivity_of(&self, profile_id: &str) -> Connectivity {
        self.inner
            .connectivity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(profile_id)
            .cloned()
            .unwrap_or(Connectivity::Online)
    }

    fn set_connectivity(&self, profile_id: &str, connectivity: Connectivity) {
        self.inner
            .connectivity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(profile_id.to_owned(), connectivity);
    }

    fn snapshot(&self, args: &KeysListArgs, fresh: bool) -> Result<KeysSnapshot, Error> {
        let now = self.now();
        let (cached, meta, mut metadata, mut idle) = {
            let store = self.inner.store();
            let cached = store.cached_keys::<ApiKey>(&args.profile_id)?;
            let listed: Vec<&ApiKey> = cached.iter().map(|cached| &cached.key).collect();
            let idle = Self::idle_by_key(&store, &args.profile_id, &listed, now)?;
            (
                cached,
                store.cache_meta(&args.profile_id)?,
                store.profile_key_metadata(&args.profile_id)?,
                idle,
            )
        };
        let keys = cached
            .iter()
            .map(|cached| {
                let metadata = metadata.remove(&cached.key.hash).unwrap_or_default();
                let row = KeyRow::new(&cached.key, now).with_metadata(metadata);
                match idle.remove(&cached.key.hash) {
                    Some(idle) => row.with_idle(idle),
                    None => row,
                }
            })
            .filter(|row| args.include_disabled || !row.key.disabled)
            .filter(|row| args.include_expired || row.status != KeyStatus::Expired)
            .collect();
        Ok(KeysSnapshot {
            profile_id: args.profile_id.clone(),
            keys,
            fetched_at: meta.and_then(|meta| meta.last_refresh_at),
            from_cache: !fresh,
            connectivity: self.connectivity_of(&args.profile_id),
        })
    }

    pub async fn credits(&self, args: ProfileScopedArgs) -> Result<Credits, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        client.credits().await
    }

    /// The core's validation of a create form, one error per bad field (`field` set); nothing is
    /// sent. Empty = valid.
    pub fn validate_create(&self, args: &CreateKeyArgs) -> Vec<AppError> {
        self.create_errors(args)
            .iter()
            .map(AppError::from)
            .collect()
    }

    pub(super) fn create_errors(&self, args: &CreateKeyArgs) -> Vec<Error> {
        let now = self.now();
        let mut errors = Vec::new();
        if let Err(error) = CreateKeyRequest::new(args.name.clone()).validate(now) {
            errors.push(error);
        }
        if let Some(limit) = args.limit {
            let request = CreateKeyRequest {
                limit: Some(limit),
                ..CreateKeyRequest::new("limit check")
            };
            if let Err(error) = request.validate(now) {
                errors.push(error);
            }
        }
        if args.limit_reset.is_some() {
            let request = CreateKeyRequest {
                limit_reset: args.limit_reset.clone(),
                ..CreateKeyRequest::new("limit_reset check")
            };
            if let Err(error) = request.validate(now) {
                errors.push(error);
            }
        }
        if let Some(expires_at) = &args.expires_at
            && let Err(error) = parse_expiry(expires_at, now)
        {
            errors.push(error);
        }
        if let Some(workspace_id) = args.workspace_id.as_deref().map(str::trim)
            && !workspace_id.is_empty()
            && let Err(error) = crate::api::validate_workspace_ref(workspace_id)
        {
            errors.push(error);
        }
        errors
    }

    /// Puts a key's secret in the keychain as pending and lists it in the store, the moment
    /// OpenRouter returns it (creating a key, rotating one): nothing else may run first.
    pub(super) async fn hold_created_secret(
        &self,
        profile_id: &str,
        created: &NewKey,
    ) -> Result<SecretIndexEntry, Error> {
        let entry = NewSecretIndexEntry::for_key(profile_id, &created.key);
        let secret = created.secret.clone();
        self.blocking(move |inner| {
            let store = inner.store();
            ProfileManager::new(&store, &inner.vault).hold_created_secret(&entry, &secret)
        })
        .await
    }

    /// Creates a key. Right after OpenRouter's answer, and before anything else that can fail, the
    /// secret goes to the keychain as pending with its index row. If that fails the secret is still
    /// returned (`pending_saved: false`, `keychain_error` says why): OpenRouter never shows it again.
    pub async fn key_create(&self, args: CreateKeyArgs) -> Result<CreatedKey, Error> {
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::KeyCreate);
        let name = args.name.trim().to_owned();
        let result = self.create_key(args).await;
        let entry = match &result {
            Ok(created) => entry
                .key(Some(&created.key.key.hash), Some(&created.key.key.name))
                .after(AuditValue::Key(KeySettings::from(&created.key.key))),
            Err(_) => entry.key(None, Some(&name)),
        };
        self.audited(entry, result)
    }

    async fn create_key(&self, args: CreateKeyArgs) -> Result<CreatedKey, Error> {
        if let Some(first) = self.create_errors(&args).into_iter().next() {
            return Err(first);
        }
        let profile = self.require_profile(&args.profile_id)?;
        let now = self.now();
        let request = CreateKeyRequest {
            name: args.name.trim().to_owned(),
            limit: args.limit,
            limit_reset: args.limit_reset.clone(),
            include_byok_in_limit: Some(args.include_byok_in_limit),
            expires_at: args
                .expires_at
                .as_deref()
                .map(|at| parse_expiry(at, now))
                .transpose()?,
            workspace_id: self.creation_workspace(&profile, args.workspace_id.as_deref())?,
            creator_user_id: None,
        };
        let client = self.client_for(&profile).await?;
        let created = client.create_key(&request).await?;

        let held = self.hold_created_secret(&profile.id, &created).await;
        let keychain_error = match held {
            Ok(_) => None,
            Err(error) => {
                tracing::error!(
                    profile = %profile.id,
                    key = %created.key.hash,
                    kind = %error.kind(),
                    "could not hold the new key's secret; the person must copy it now"
                );
                Some(AppError::from(&error))
            }
        };

        let now = self.now();
        match self.inner.store().upsert_cached_key(
            &profile.id,
            &created.key.hash,
            &created.key,
            now,
        ) {
            Ok(()) => self.emit_keys_changed(&profile.id),
            Err(error) => {
                tracing::warn!(profile = %profile.id, error = %error, "could not cache the new key");
            }
        }
        tracing::info!(profile = %profile.id, key = %created.key.hash, "created key");
        Ok(CreatedKey {
            key: KeyRow::new(&created.key, now),
            secret: created.secret.expose_secret().to_owned(),
            pending_saved: keychain_error.is_none(),
            keychain_error,
        })
    }

    /// Changes a key; a field left out stays, `limit`/`limit_reset` set to null are cleared.
    /// Recorded as `key_disable` / `key_enable` when only `disabled` changes, else `key_update`.
    pub async fn key_update(&self, args: UpdateKeyArgs) -> Result<KeyRow, Error> {
        let only_disabled = args.name.is_none()
            && args.limit.is_keep()
            && args.limit_reset.is_keep()
            && args.include_byok_in_limit.is_none();
        let action = match args.disabled {
            Some(true) if only_disabled => AuditAction::KeyDisable,
            Some(false) if only_disabled => AuditAction::KeyEnable,
            _ => AuditAction::KeyUpdate,
        };
        let before = self.cached_settings(&args.profile_id, &args.hash);
        let entry = NewAuditEntry::new(&args.profile_id, action).key(
            Some(&args.hash),
            before.as_ref().map(|key| key.name.as_str()),
        );
        let result = self.update_key(args).await;
        let entry = match &result {
            Ok(row) => entry
                .key(Some(&row.key.hash), Some(&row.key.name))
                .after(AuditValue::Key(KeySettings::from(&row.key))),
            Err(_) => entry,
        };
        self.audited(entry.before(before.map(AuditValue::Key)), result)
    }

    async fn update_key(&self, args: UpdateKeyArgs) -> Result<KeyRow, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let request = UpdateKeyRequest {
            name: args.name.map(|name| name.trim().to_owned()),
            disabled: args.disabled,
            limit: args.limit,
            limit_reset: args.limit_reset,
            include_byok_in_limit: args.include_byok_in_limit,
            workspace_id: None,
        };
        let client = self.client_for(&profile).await?;
        let key = client.update_key(&args.hash, &request).await?;
        if let Some(disabled) = request.disabled {
            self.note_disabled_by_keyward(&profile.id, &key.hash, disabled);
        }
        self.cache_changed_key(&profile.id, &key);
        let metadata = self.metadata_of(&profile.id, &key.hash);
        Ok(KeyRow::new(&key, self.now()).with_metadata(metadata))
    }

    pub async fn key_delete(&self, args: KeyDeleteArgs) -> Result<(), Error> {
        let before = self.cached_settings(&args.profile_id, &args.hash);
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::KeyDelete)
            .key(
                Some(&args.hash),
                before.as_ref().map(|key| key.name.as_str()),
            )
            .before(before.map(AuditValue::Key));
        let result = self.delete_key(args).await;
        self.audited(entry, result)
    }

    async fn delete_key(&self, args: KeyDeleteArgs) -> Result<(), Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        client.delete_key(&args.hash).await?;
        if let Err(error) = self
            .inner
            .store()
            .remove_key_metadata(&profile.id, &args.hash)
        {
            tracing::warn!(profile = %profile.id, error = %error, "could not drop the deleted key's metadata");
        }
        match self
            .inner
            .store()
            .remove_cached_key(&profile.id, &args.hash)
        {
            Ok(_) => self.emit_keys_changed(&profile.id),
            Err(error) => {
                tracing::warn!(profile = %profile.id, error = %error, "could not drop the deleted key from the cache");
            }
        }
        tracing::info!(profile = %profile.id, key = %args.hash, "deleted key");
        Ok(())
    }

    fn cache_changed_key(&self, profile_id: &str, key: &ApiKey) {
        let now = self.now();
        match self
            .inner
            .store()
            .upsert_cached_key(profile_id, &key.hash, key, now)
        {
            Ok(()) => self.emit_keys_changed(profile_id),
            Err(error) => {
                tracing::warn!(profile = %profile_id, error = %error, "could not cache the changed key");
            }
        }
    }

    /// GET /key with a pasted key; nothing is stored.
    pub async fn key_check(&self, args: KeyCheckArgs) -> Result<CheckedKey, Error> {
        let base_url = args
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .to_owned();
        // A pasted key is held to the same rules as a management key: shaped like one, sent only
        // over https (or to loopback), never after a redirect (the client's policy).
        crate::api::endpoint::check_key_shape("secret", &args.secret)?;
        let renames = [("api_key", "secret")];
        let client = self
            .build_client(&base_url, args.secret)
            .map_err(|err| rename_field(err, &renames))?;
        let current = client.current_key().await?;
        Ok(CheckedKey::from(&current))
    }
}
