//! `Keyward`: the operations the desktop app (and any other front end) performs, each one call —
//! profiles with their management keys, the key list with its offline cache, creating keys without
//! ever losing a secret, held secrets, and the sandbox. The shell only parses arguments, calls one of
//! these and maps the result, so everything here is tested without a window.
//!
//! The store is `Send` but not `Sync`: it lives behind a mutex that is never held across an await.
//! Keychain calls block, so they run on tokio's blocking pool.

mod account;
mod audit;
mod batch;
mod batch_audit;
mod csv_files;
mod guardrails;
mod idle;
mod keys;
mod locate;
mod metadata;
mod profiles;
mod recovery;
mod rotation;
mod rotation_rules;
mod run_secret;
mod sandbox;
mod saved_filters;
mod updates;
mod usage_history;
mod watch;
mod workspace_details;
mod workspaces;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use secrecy::SecretString;

use crate::Error;
use crate::api::{ClientConfig, Clock, OpenRouterClient};
use crate::backoff::Backoff;
use crate::ipc::{
    AppState, Connectivity, ConnectivityEvent, KeysChangedEvent, PendingAction, PendingResolveArgs,
};
use crate::store::{self, ProfileManager, Store};
use crate::vault::Vault;

pub use account::{AccountPart, KeyAccount, KeyAccountArgs, KeyByok, KeyDestination, KeyGuardrail};
pub use csv_files::KeysCsvRunOptions;
pub use guardrails::{
    AssignmentCounts, GuardrailArgs, GuardrailAssignArgs, GuardrailCreateArgs, GuardrailEntry,
    GuardrailRef, GuardrailUpdateArgs, GuardrailsListArgs, KeyGuardrails,
};
pub use locate::{LocateFolderArgs, LocateKeyArgs, LocateScanArgs, ScanProgressSink};
pub use recovery::DEFAULT_RECOVERY;
pub use rotation::{AccountLinks, ApiAccountLinks, MemoryAccountLinks, RotationConfig};
pub use run_secret::{RunSecret, base_key_name};
pub use sandbox::{SANDBOX_PROFILE_NAME, SandboxConfig};
pub use updates::UpdateInstallGuard;

/// Where the service reports changes a front end shows without asking (the desktop shell turns them
/// into window events). Called synchronously, outside every lock; keep it quick.
pub trait EventSink: Send + Sync + 'static {
    /// The cached key list of a profile changed (refresh, create, update, delete).
    fn keys_changed(&self, event: KeysChangedEvent);
    /// A refresh (explicit or a background retry) finished: online, offline or rate limited.
    fn connectivity(&self, event: ConnectivityEvent);
    /// A rotation changed (a step started or ended, an action, a resume); the whole view.
    fn rotation_changed(&self, _rotation: crate::rotation::RotationView) {}
    /// A key of a batch run finished (done, failed or not run), with the run's counts so far.
    fn batch_progress(&self, _event: crate::batch::BatchProgressEvent) {}
}

/// An `EventSink` that drops everything (the CLI, most tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn keys_changed(&self, _: KeysChangedEvent) {}
    fn connectivity(&self, _: ConnectivityEvent) {}
}

/// Adjusts every API client the service builds (timeouts, retries); tests make retries fast.
pub type ClientTuning = Arc<dyn Fn(&mut ClientConfig) + Send + Sync>;

/// How to run a [`Keyward`]. `ServiceConfig::new(vault)` gives the real app's defaults.
pub struct ServiceConfig {
    pub vault: Vault,
    /// "Now" for key status, expiry validation and timestamps.
    pub clock: Clock,
    pub events: Arc<dyn EventSink>,
    pub client_tuning: ClientTuning,
    pub sandbox: SandboxConfig,
    /// How a profile left offline or rate limited by a refresh is retried in the background;
    /// `None`: only explicit refreshes (nothing runs in the background).
    pub recovery: Option<Backoff>,
    /// How the background watcher paces itself (its interval comes from the watch settings).
    pub watcher: crate::watch::WatcherConfig,
    /// Rotation: deploy context (clipboard), drain polling, test hooks.
    pub rotation: RotationConfig,
    /// Which front end runs this service: recorded in every audit entry.
    pub front_end: crate::audit::FrontEnd,
}

impl ServiceConfig {
    pub fn new(vault: Vault) -> Self {
        ServiceConfig {
            vault,
            clock: Arc::new(chrono::Utc::now),
            events: Arc::new(NoEvents),
            client_tuning: Arc::new(|_| {}),
            sandbox: SandboxConfig::default(),
            recovery: Some(DEFAULT_RECOVERY),
            watcher: crate::watch::WatcherConfig::default(),
            rotation: RotationConfig::default(),
            front_end: crate::audit::FrontEnd::App,
        }
    }
}

/// The service. Cheap to clone (shared state); every method is safe to call concurrently.
#[derive(Clone)]
pub struct Keyward {
    inner: Arc<Inner>,
}

struct Inner {
    /// Shared with the rotation runner.
    store: Arc<Mutex<Store>>,
    vault: Vault,
    clock: Clock,
    events: Arc<dyn EventSink>,
    client_tuning: ClientTuning,
    /// One client per profile, built on first use from its base URL and management key.
    clients: Mutex<HashMap<String, OpenRouterClient>>,
    /// The outcome of each profile's latest refresh (online until one fails).
    connectivity: Mutex<HashMap<String, Connectivity>>,
    sandbox: tokio::sync::Mutex<Option<sandbox::RunningSandbox>>,
    sandbox_config: SandboxConfig,
    recovery: Option<Backoff>,
    /// The background retries; dropped (and so aborted) with the service.
    recoveries: recovery::Recoveries,
    /// What the service shares with its background watcher.
    watch: crate::watch::WatchShared,
    /// The rotation runner, with its own handles on the store, vault, clock and events.
    rotations: Arc<rotation::Rotations>,
    /// The workspaces each profile's latest refresh found.
    workspaces: workspaces::ProfileWorkspaces,
    /// Key hash → guardrail per profile, dropped whenever the key list changes.
    key_guardrails: Arc<guardrails::KeyGuardrailCache>,
    /// The running scan for keys in files (one at a time), so it can be cancelled.
    locate: locate::LocateState,
    /// The batch runs under way (for cancel), by run id.
    batches: crate::batch::RunningBatches,
}

impl Inner {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock can't leave the database half-written (SQLite transactions),
        // so the store stays usable.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Keyward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyward")
            .field("vault", &self.inner.vault)
            .finish_non_exhaustive()
    }
}

impl Keyward {
    pub fn new(store: Store, config: ServiceConfig) -> Self {
        store.set_audit_front_end(config.front_end);
        let store = Arc::new(Mutex::new(store));
        let key_guardrails = Arc::new(guardrails::KeyGuardrailCache::default());
        // A rotation changes which key holds which guardrail: its key-list events drop the map too.
        let rotation_events: Arc<dyn EventSink> = Arc::new(guardrails::ForgetOnKeysChanged {
            events: Arc::clone(&config.events),
            cache: Arc::clone(&key_guardrails),
        });
        let inner = Arc::new_cyclic(|service| Inner {
            rotations: Arc::new(rotation::Rotations::new(
                Arc::clone(&store),
                config.vault.clone(),
                Arc::clone(&config.clock),
                rotation_events,
                Arc::new(rotation::ServiceClients(service.clone())),
                config.rotation,
            )),
            store,
            vault: config.vault,
            clock: config.clock,
            events: config.events,
            client_tuning: config.client_tuning,
            clients: Mutex::new(HashMap::new()),
            connectivity: Mutex::new(HashMap::new()),
            sandbox: tokio::sync::Mutex::new(None),
            sandbox_config: config.sandbox,
            recovery: config.recovery,
            recoveries: recovery::Recoveries::default(),
            watch: crate::watch::WatchShared::new(config.watcher),
            workspaces: workspaces::ProfileWorkspaces::default(),
            key_guardrails,
            locate: locate::LocateState::default(),
            batches: crate::batch::RunningBatches::default(),
        });
        Keyward { inner }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.inner.clock)()
    }

    /// Runs `call` (which may block on the keychain) on tokio's blocking pool.
    async fn blocking<T, F>(&self, call: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, Error> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || call(&inner))
            .await
            .map_err(|join| Error::Internal {
                message: format!("a keychain or database task did not finish ({join})"),
                source: Some(join.into()),
            })?
    }

    /// An API client for `base_url` with `key`, tuned like every client of this service.
    fn build_client(&self, base_url: &str, key: SecretString) -> Result<OpenRouterClient, Error> {
        let mut config = ClientConfig::new(base_url, key);
        config.clock = Arc::clone(&self.inner.clock);
        (self.inner.client_tuning)(&mut config);
        OpenRouterClient::new(config)
    }

    fn forget_client(&self, profile_id: &str) {
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(profile_id);
    }

    /// The cached client of a profile, or a new one from its management key (the sandbox's from
    /// memory, every other from the keychain).
    async fn client_for(&self, profile: &store::Profile) -> Result<OpenRouterClient, Error> {
        let cached = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&profile.id)
            .cloned();
        if let Some(client) = cached {
            return Ok(client);
        }
        let client = if profile.is_sandbox {
            let (base_url, key) = self.sandbox_endpoint().await?;
            self.build_client(&base_url, key)?
        } else {
            let id = profile.id.clone();
            let key = self
                .blocking(move |inner| inner.vault.management_key(&id))
                .await?;
            self.build_client(&profile.base_url, key)?
        };
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(profile.id.clone(), client.clone());
        Ok(client)
    }

    fn require_profile(&self, id: &str) -> Result<store::Profile, Error> {
        self.inner.store().require_profile(id)
    }

    fn emit_keys_changed(&self, profile_id: &str) {
        self.inner.key_guardrails.forget(profile_id);
        self.inner.events.keys_changed(KeysChangedEvent {
            profile_id: profile_id.to_owned(),
        });
    }

    fn emit_connectivity(&self, profile_id: &str, connectivity: Connectivity) {
        self.inner.events.connectivity(ConnectivityEvent {
            profile_id: profile_id.to_owned(),
            connectivity,
        });
    }

    // --- App state and held secrets ----------------------------------------------------------------

    /// Profiles, the active one, and every secret held in the keychain.
    pub fn app_state(&self) -> Result<AppState, Error> {
        let store = self.inner.store();
        Ok(AppState {
            profiles: store.profiles()?,
            active_profile_id: store.active_profile_id()?,
            pending_secrets: store.secret_index(None, None)?,
        })
    }

    /// `forget`: the person stored the secret elsewhere, so it leaves the keychain and the list
    /// (refused, `Conflict`, while an unfinished rotation still needs it as its new key's secret).
    /// `keep`: it stays in the keychain, listed as kept.
    pub async fn pending_resolve(&self, args: PendingResolveArgs) -> Result<AppState, Error> {
        let name = self
            .inner
            .store()
            .secret_index_entry(&args.profile_id, &args.key_hash)
            .ok()
            .flatten()
            .map(|entry| entry.key_name);
        let entry = crate::audit::NewAuditEntry::new(
            &args.profile_id,
            crate::audit::AuditAction::SecretResolve,
        )
        .key(Some(&args.key_hash), name.as_deref())
        .after(crate::audit::AuditValue::Secret(
            crate::audit::SecretResolution {
                resolution: match args.action {
                    PendingAction::Forget => "forget",
                    PendingAction::Keep => "keep",
                }
                .to_owned(),
            },
        ));
        let result = self.resolve_pending(args).await;
        self.audited(entry, result)
    }

    async fn resolve_pending(&self, args: PendingResolveArgs) -> Result<AppState, Error> {
        self.blocking(move |inner| {
            let store = inner.store();
            let manager = ProfileManager::new(&store, &inner.vault);
            store.require_profile(&args.profile_id)?;
            if store
                .secret_index_entry(&args.profile_id, &args.key_hash)?
                .is_none()
            {
                return Err(Error::SecretNotFound {
                    what: format!("A held secret of key {}", args.key_hash),
                });
            }
            if args.action == PendingAction::Forget
                && let Some(rotation) =
                    store.unfinished_rotation_needing(&args.profile_id, &args.key_hash)?
            {
                // The rotation deploys, verifies or rolls back with this secret: forgetting it
                // now would leave a live key nobody can use and a rotation that cannot finish.
                return Err(Error::Conflict {
                    message: format!(
                        "the secret of key {} is still needed by rotation {} ({}): finish, roll \
                         back or abandon that rotation first",
                        args.key_hash,
                        rotation.id,
                        rotation.status.as_str()
                    ),
                });
            }
            match args.action {
                PendingAction::Forget => manager.release_secret(&args.profile_id, &args.key_hash),
                PendingAction::Keep => manager.keep_secret(&args.profile_id, &args.key_hash),
            }
        })
        .await?;
        self.app_state()
    }

    /// A held (pending or kept) secret, for a front end to copy; never to display or log.
    pub async fn held_secret(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<SecretString, Error> {
        let (profile_id, key_hash) = (profile_id.to_owned(), key_hash.to_owned());
        self.blocking(move |inner| {
            let store = inner.store();
            ProfileManager::new(&store, &inner.vault).held_secret(&profile_id, &key_hash)
        })
        .await
    }
}

/// Renames the `field` of a validation error (the store and client name fields in prose; the UI
/// needs the argument's name to put the message beside the right input).
pub(crate) fn rename_field(error: Error, renames: &[(&str, &str)]) -> Error {
    match error {
        Error::InvalidInput {
            field: Some(field),
            message,
        } => {
            let field = renames
                .iter()
                .find(|(from, _)| *from == field)
                .map_or(field.clone(), |(_, to)| (*to).to_owned());
            Error::InvalidInput {
                field: Some(field),
                message,
            }
        }
        other => other,
    }
}
