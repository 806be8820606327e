//! Rotation as the service runs it: [`Rotations`] holds only what a rotation needs (store, vault,
//! clients, clock, events, locks) and `Keyward`'s rotation methods delegate to it. Parts: `api`
//! (policies, reading, planning, starting), `runner` (advancing, actions, resume, tick, journaled
//! steps), `steps` (the step executors), `attach` (carrying the key's attachments), `links` (the
//! seam to what names a key), `api_links` (that seam on the API), `reconcile` (after an
//! interrupted create), `rollback`, `backups` (removed when a rotation ends).

mod api;
mod api_links;
mod approval;
mod attach;
mod backups;
mod lease;
mod links;
mod reconcile;
mod rollback;
mod runner;
mod steps;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;

use super::{EventSink, Inner, Keyward};
use crate::AppError;
use crate::Error;
use crate::api::{ApiKey, Clock, NewKey, OpenRouterClient};
use crate::deploy::{self, ClipboardSink, CommandApprover, DeployContext};
use crate::ipc::KeysChangedEvent;
use crate::rotation::{
    HookPoint, JournalEntry, Rotation, RotationAction, RotationBatchArgs, RotationHooks,
    RotationPolicy, RotationStartArgs, RotationView, StepOutcome,
};
use crate::store::{self, NewSecretIndexEntry, ProfileManager, SecretIndexEntry, Store};
use crate::vault::Vault;

pub use api_links::ApiAccountLinks;
pub use links::{AccountLinks, MemoryAccountLinks};

/// How the service runs rotations. `Default` is the real app's.
#[derive(Clone)]
pub struct RotationConfig {
    /// Awaited at every step boundary (crash tests); `None` in production. See
    /// [`crate::rotation::EnvPauseHook`] (the CLI's `--crash-test-pause-at`).
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
    /// No longer used: an interrupted create's keys are found by the token in their name, not by
    /// name and time. Kept so configurations that set it still build.
    pub create_match_skew: Duration,
    /// What names a key (guardrail, BYOK allowlists, log destinations), carried to the new key.
    /// Default: [`ApiAccountLinks`] (the profile's API); tests may use [`MemoryAccountLinks`].
    pub links: Arc<dyn AccountLinks>,
    /// Asks the person to approve a command target (a native dialog, a terminal prompt); `None`:
    /// unapproved command targets are refused. The shell may set it later with
    /// `Keyward::set_command_approver`.
    pub approver: Option<Arc<dyn CommandApprover>>,
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
            links: Arc::new(ApiAccountLinks),
            approver: None,
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
            .field("approver", &self.approver.is_some())
            .finish_non_exhaustive()
    }
}

/// How the runner reaches OpenRouter for a profile. The service implements it with its client
/// cache and the sandbox, so the runner holds nothing else of the service.
pub(crate) trait ProfileClients: Send + Sync {
    /// The profile's client, with its management key.
    fn client<'a>(
        &'a self,
        profile: &'a store::Profile,
    ) -> BoxFuture<'a, Result<OpenRouterClient, Error>>;
    /// Where the profile's API answers (the sandbox's only while it runs).
    fn base_url<'a>(&'a self, profile: &'a store::Profile) -> BoxFuture<'a, Result<String, Error>>;
    /// A client for `base_url` with `key`, tuned like every client of the service.
    fn with_key(&self, base_url: &str, key: SecretString) -> Result<OpenRouterClient, Error>;
}

/// The service's [`ProfileClients`]: weak, so the service and its runner do not keep each other.
pub(super) struct ServiceClients(pub(super) Weak<Inner>);

impl ServiceClients {
    fn service(&self) -> Result<Keyward, Error> {
        self.0
            .upgrade()
            .map(|inner| Keyward { inner })
            .ok_or_else(|| Error::Internal {
                message: "the service has stopped".to_owned(),
                source: None,
            })
    }
}

impl ProfileClients for ServiceClients {
    fn client<'a>(
        &'a self,
        profile: &'a store::Profile,
    ) -> BoxFuture<'a, Result<OpenRouterClient, Error>> {
        Box::pin(async move { self.service()?.client_for(profile).await })
    }

    fn base_url<'a>(&'a self, profile: &'a store::Profile) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move {
            if profile.is_sandbox {
                Ok(self.service()?.sandbox_endpoint().await?.0)
            } else {
                Ok(profile.base_url.clone())
            }
        })
    }

    fn with_key(&self, base_url: &str, key: SecretString) -> Result<OpenRouterClient, Error> {
        self.service()?.build_client(base_url, key)
    }
}

/// The store and the vault, cloned into keychain calls on tokio's blocking pool.
#[derive(Clone)]
struct Shared {
    store: Arc<Mutex<Store>>,
    vault: Vault,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // SQLite transactions keep the store whole across a panic while it was held.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The rotation runner: what it needs of the service, and its in-process state (nothing here is
/// needed to resume after a restart).
pub(crate) struct Rotations {
    shared: Shared,
    clock: Clock,
    events: Arc<dyn EventSink>,
    clients: Arc<dyn ProfileClients>,
    config: RotationConfig,
    clipboard: Mutex<Option<Arc<dyn ClipboardSink>>>,
    approver: Mutex<Option<Arc<dyn CommandApprover>>>,
    /// Held while the approver is asked: one prompt at a time.
    approval_lock: tokio::sync::Mutex<()>,
    /// One lock per rotation: runs and actions of one rotation never overlap.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Held while checking that a key has no active rotation and recording a new one.
    start_lock: tokio::sync::Mutex<()>,
    /// New secrets the keychain refused, by rotation id, until the store-secret step saves them.
    unsaved: Mutex<HashMap<String, SecretString>>,
    ticker: Mutex<Option<tokio::task::AbortHandle>>,
    /// This service's name as a lease owner (see `lease`): unique per running service.
    instance: String,
    /// Where env-file deploys keep their backups: `deploy-backups` in the data directory (`None`
    /// for a store in memory, where env-file deploys of existing files are refused).
    backup_dir: Option<PathBuf>,
    /// Set while the app installs an update (`service/updates.rs`): no rotation starts or runs on.
    pub(crate) installing_update: std::sync::atomic::AtomicBool,
}

impl Drop for Rotations {
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

impl Rotations {
    pub(crate) fn new(
        store: Arc<Mutex<Store>>,
        vault: Vault,
        clock: Clock,
        events: Arc<dyn EventSink>,
        clients: Arc<dyn ProfileClients>,
        config: RotationConfig,
    ) -> Self {
        let backup_dir = store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .path()
            .and_then(std::path::Path::parent)
            .map(deploy::backup_dir_in);
        Rotations {
            backup_dir,
            shared: Shared { store, vault },
            clock,
            events,
            clients,
            clipboard: Mutex::new(config.clipboard.clone()),
            approver: Mutex::new(config.approver.clone()),
            approval_lock: tokio::sync::Mutex::new(()),
            config,
            locks: Mutex::new(HashMap::new()),
            start_lock: tokio::sync::Mutex::new(()),
            unsaved: Mutex::new(HashMap::new()),
            ticker: Mutex::new(None),
            instance: lease::new_owner(),
            installing_update: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Refuses to start or run a rotation on while an update is being installed.
    pub(crate) fn refuse_while_updating(&self) -> Result<(), Error> {
        if self
            .installing_update
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(Error::UpdateBlocked {
                message: "Keyward is installing an update and will restart: start the rotation \
                          again once it is back"
                    .to_owned(),
            });
        }
        Ok(())
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.shared.store()
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn unsaved(&self) -> MutexGuard<'_, HashMap<String, SecretString>> {
        self.unsaved.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_of(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(id.to_owned()).or_default())
    }

    /// Runs `call` (which may block on the keychain) on tokio's blocking pool.
    async fn blocking<T, F>(&self, call: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, Error> + Send + 'static,
    {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || call(&shared))
            .await
            .map_err(|join| Error::Internal {
                message: format!("a keychain or database task did not finish ({join})"),
                source: Some(join.into()),
            })?
    }

    fn keys_changed(&self, profile_id: &str) {
        self.events.keys_changed(KeysChangedEvent {
            profile_id: profile_id.to_owned(),
        });
    }

    /// Puts a new key's secret in the keychain as pending with its index row, the moment OpenRouter
    /// returns it (as `key_create` does).
    async fn hold_created_secret(
        &self,
        profile_id: &str,
        created: &NewKey,
    ) -> Result<SecretIndexEntry, Error> {
        let entry = NewSecretIndexEntry::for_key(profile_id, &created.key);
        let secret = created.secret.clone();
        self.blocking(move |shared| {
            let store = shared.store();
            ProfileManager::new(&store, &shared.vault).hold_created_secret(&entry, &secret)
        })
        .await
    }

    /// Records that Keyward itself disabled the key (the watcher tells it apart from a key
    /// disabled elsewhere).
    fn note_disabled_by_keyward(&self, profile_id: &str, key_hash: &str, disabled: bool) {
        let now = self.now();
        if let Err(error) = self
            .store()
            .set_disabled_by_keyward(profile_id, key_hash, disabled, now)
        {
            tracing::warn!(profile = %profile_id, key = %key_hash, error = %error, "could not record a key disabled by Keyward");
        }
    }

    fn load_rotation(&self, id: &str) -> Result<Rotation, Error> {
        self.shared
            .store()
            .rotation(id)?
            .ok_or_else(|| no_rotation(id))
    }

    /// Saves the state with its journal rows (one transaction) and announces the change.
    fn save_rotation(
        &self,
        rotation: &mut Rotation,
        entries: Vec<JournalEntry>,
    ) -> Result<(), Error> {
        {
            let store = self.store();
            let previous = if rotation.version == 0 {
                None
            } else {
                store.rotation(&rotation.id).ok().flatten()
            };
            let written = store.save_rotation(rotation, &entries)?;
            // Audit after the save committed; a failed append is logged, never returned (the
            // step's effect already happened).
            let now = self.now();
            for entry in crate::audit::rotation_entries(rotation, previous.as_ref(), &written) {
                if let Err(error) = store.append_audit(&entry, now) {
                    tracing::error!(rotation = %rotation.id, kind = %error.kind(), error = %error, "could not append to the audit log");
                }
            }
        }
        self.events.rotation_changed(rotation.view());
        Ok(())
    }

    async fn hook(&self, rotation_id: &str, point: HookPoint) {
        if let Some(hooks) = &self.config.hooks {
            hooks.at(rotation_id, point).await;
        }
    }

    async fn profile_client(&self, profile_id: &str) -> Result<OpenRouterClient, Error> {
        let profile = self.store().require_profile(profile_id)?;
        self.clients.client(&profile).await
    }

    /// The new key's secret: from the keychain, or from memory if the keychain refused it.
    async fn new_secret(&self, rotation: &Rotation) -> Result<SecretString, Error> {
        if let Some(secret) = self.unsaved().get(&rotation.id) {
            return Ok(secret.clone());
        }
        let new_key = rotation.new_key.clone().ok_or_else(|| Error::Internal {
            message: "the rotation has no new key yet".to_owned(),
            source: None,
        })?;
        let profile_id = rotation.profile_id.clone();
        self.blocking(move |shared| {
            let store = shared.store();
            ProfileManager::new(&store, &shared.vault).held_secret(&profile_id, &new_key.hash)
        })
        .await
    }

    /// Removes a key's held secret (keychain and index), if any.
    async fn forget_secret(&self, profile_id: &str, key_hash: &str) -> Result<(), Error> {
        let (profile_id, key_hash) = (profile_id.to_owned(), key_hash.to_owned());
        self.blocking(move |shared| {
            let store = shared.store();
            ProfileManager::new(&store, &shared.vault).release_secret(&profile_id, &key_hash)
        })
        .await
    }

    fn cache_rotated_key(&self, profile_id: &str, key: &ApiKey) {
        let now = self.now();
        match self
            .store()
            .upsert_cached_key(profile_id, &key.hash, key, now)
        {
            Ok(()) => self.keys_changed(profile_id),
            Err(error) => tracing::warn!(error = %error, "could not cache a rotated key"),
        }
    }

    fn forget_cached_key(&self, profile_id: &str, key_hash: &str) {
        match self.store().remove_cached_key(profile_id, key_hash) {
            Ok(_) => self.keys_changed(profile_id),
            Err(error) => tracing::warn!(error = %error, "could not drop a key from the cache"),
        }
    }

    fn deploy_context(&self) -> DeployContext {
        let clipboard = self
            .clipboard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // Read at every deploy: a command target runs only if it is approved right now.
        let approved_commands = self.store().approved_commands().unwrap_or_else(|error| {
            tracing::warn!(error = %error, "could not read the approved commands; none will run");
            Default::default()
        });
        DeployContext {
            clipboard,
            command_timeout: self.config.command_timeout,
            vault: self.shared.vault.clone(),
            backup_suffix: None,
            approved_commands,
            backup_dir: self.backup_dir.clone(),
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

/// The service's rotation surface: each method hands over to [`Rotations`].
impl Keyward {
    /// A key's rotation policy (the defaults if it has none).
    pub fn rotation_policy(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<RotationPolicy, Error> {
        self.inner.rotations.policy(profile_id, key_hash)
    }

    /// Validates and stores a policy (`InvalidInput` names the field, e.g. `targets[0].path`). Its
    /// command targets must be approved already (`targets[i].program`: approval needed); use
    /// [`set_rotation_policy_approving`](Self::set_rotation_policy_approving) to ask the person.
    pub fn set_rotation_policy(&self, policy: RotationPolicy) -> Result<RotationPolicy, Error> {
        self.inner.rotations.set_policy(policy)
    }

    /// Validates a policy, asks the person (through the front end's `CommandApprover`, never the
    /// web view) to approve each command target not approved yet, and stores it. A refusal is
    /// `InvalidInput` on `targets[i].program` and stores nothing.
    pub async fn set_rotation_policy_approving(
        &self,
        policy: RotationPolicy,
    ) -> Result<RotationPolicy, Error> {
        self.inner
            .rotations
            .set_policy_approving(policy, approval::Ask::Person)
            .await
    }

    /// The front end's approval prompt for command targets (`None`: they are refused unless
    /// approved before).
    pub fn set_command_approver(&self, approver: Option<Arc<dyn CommandApprover>>) {
        self.inner.rotations.set_approver(approver);
    }

    /// When a key is next due for rotation under its policy, from the cached key list.
    pub fn rotation_due(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        self.inner.rotations.due(profile_id, key_hash)
    }

    /// The clipboard the shell provides for clipboard targets (`None`: such targets fail clearly).
    pub fn set_clipboard_sink(&self, sink: Option<Arc<dyn ClipboardSink>>) {
        self.inner.rotations.set_clipboard_sink(sink);
    }

    pub fn rotation(&self, id: &str) -> Result<RotationView, Error> {
        self.inner.rotations.view(id)
    }

    /// Rotations, newest first, of one profile or all; `active_only`: running, waiting or failed.
    pub fn rotations(
        &self,
        profile_id: Option<&str>,
        active_only: bool,
    ) -> Result<Vec<RotationView>, Error> {
        self.inner.rotations.list(profile_id, active_only)
    }

    /// Every rotation a key took part in (as the old or the new key), newest first.
    pub fn rotation_history(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Vec<RotationView>, Error> {
        self.inner.rotations.history(profile_id, key_hash)
    }

    /// A rotation's journal, oldest first (intent and result rows, actions, notes).
    pub fn rotation_journal(&self, id: &str) -> Result<Vec<JournalEntry>, Error> {
        self.inner.rotations.journal(id)
    }

    /// What is inconsistent between a rotation's journal and its state (empty = consistent).
    pub fn rotation_journal_problems(&self, id: &str) -> Result<Vec<String>, Error> {
        self.inner.rotations.journal_problems(id)
    }

    /// Starts rotating a key with its policy and runs it until it waits (drain, grace period), fails
    /// or completes; progress is announced through `EventSink::rotation_changed`. Refused (conflict)
    /// while the key already has an unfinished rotation.
    pub async fn rotation_start(&self, args: RotationStartArgs) -> Result<RotationView, Error> {
        let refused = self.refused_start(&args);
        let result = self.inner.rotations.start(args).await;
        self.record_refused(refused, &result);
        result
    }

    /// Like [`rotation_start`](Self::rotation_start), but answers as soon as the rotation is
    /// recorded and runs it on a tokio task: for a window that follows each step live through
    /// `EventSink::rotation_changed` instead of waiting for the whole rotation.
    pub async fn rotation_start_detached(
        &self,
        args: RotationStartArgs,
    ) -> Result<RotationView, Error> {
        let refused = self.refused_start(&args);
        let result = self.inner.rotations.start_detached(args).await;
        self.record_refused(refused, &result);
        result
    }

    /// Starts rotating every active key of a profile whose name matches `name_pattern` (`prod-*`),
    /// a few at a time. One view per matching key, in the list's order: the rotation it started, the
    /// unfinished one it already had, or (id `""`, status `failed`, `error` set) why it could not
    /// start.
    pub async fn rotation_start_batch(
        &self,
        args: RotationBatchArgs,
    ) -> Result<Vec<RotationView>, Error> {
        let views = self.inner.rotations.start_batch(args).await?;
        self.record_refused_batch(&views);
        Ok(views)
    }

    /// Runs a rotation on from where it is until it waits, fails or finishes. Safe to call at any
    /// time and repeatedly (after a crash, from the ticker, concurrently: runs are serialised).
    pub async fn rotation_advance(&self, id: &str) -> Result<RotationView, Error> {
        self.inner.rotations.advance(id).await
    }

    /// Applies the person's action and runs the rotation on if it asks for it.
    pub async fn rotation_action(
        &self,
        id: &str,
        action: RotationAction,
    ) -> Result<RotationView, Error> {
        let result = self.inner.rotations.action(id, action).await;
        // A refused action is recorded here; an applied one by the runner's journal.
        if let Err(error) = &result {
            self.record_refused_action(id, action, error);
        }
        result
    }

    /// At start-up: finds every unfinished rotation, records where it stopped, and runs on those that
    /// were interrupted (resumed, or their rollback finished) or are due. Failed ones stay failed
    /// for the person to decide.
    pub async fn resume_rotations(&self) -> Result<Vec<RotationView>, Error> {
        self.inner.rotations.resume().await
    }

    /// Runs every waiting rotation that is due (drain check, end of the grace period) and starts
    /// the automatic rotations that are due. Returns the rotations it ran or started.
    pub async fn rotation_tick(&self) -> Result<Vec<RotationView>, Error> {
        self.inner.rotations.tick().await
    }

    /// Starts (or restarts) the task that calls `rotation_tick` every `tick_interval`; it ends with
    /// the service.
    pub fn start_rotation_ticker(&self) {
        self.inner.rotations.start_ticker();
    }
}
