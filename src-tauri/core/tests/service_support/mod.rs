//! Shared set-up of the `service_*` integration tests: a `Keyward` over a temporary on-disk store, a
//! vault over an in-memory keychain (faults injectable) under a unique service name, a movable clock, an event recorder, fast retries, and
//! helpers for the emulator's `/_emulator` control API.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use keyward_core::Keyward;
use keyward_core::api::{ClientConfig, RetryPolicy};
use keyward_core::backoff::Backoff;
use keyward_core::ipc::{ConnectivityEvent, KeysChangedEvent, KeysListArgs};
use keyward_core::service::{EventSink, SandboxConfig, ServiceConfig};
use keyward_core::store::Store;
use keyward_core::vault::{MemoryKeychain, Vault};
use serde_json::Value;

/// Listing every key of `profile_id` (disabled and expired too), from OpenRouter when `refresh`.
pub fn list(profile_id: &str, refresh: bool) -> KeysListArgs {
    KeysListArgs {
        profile_id: profile_id.to_owned(),
        include_disabled: true,
        include_expired: true,
        refresh,
    }
}

/// A keychain service name no other test (nor the person's real entries) uses.
pub fn unique_service(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "keyward-test-service-{test}-{}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    KeysChanged(KeysChangedEvent),
    Connectivity(ConnectivityEvent),
}

/// A check run inside the service's `keys_changed` call.
pub type KeysChangedCheck = Box<dyn Fn(&KeysChangedEvent) + Send>;

/// Records events; `on_keys_changed` runs a check at the moment the event fires.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<Event>>,
    /// Every event since the last `take`, with the moment it arrived.
    pub history: Mutex<Vec<(DateTime<Utc>, Event)>>,
    pub on_keys_changed: Mutex<Option<KeysChangedCheck>>,
}

impl Recorder {
    pub fn take(&self) -> Vec<Event> {
        self.history.lock().unwrap().clear();
        std::mem::take(&mut *self.events.lock().unwrap())
    }

    fn record(&self, event: Event) {
        self.history
            .lock()
            .unwrap()
            .push((Utc::now(), event.clone()));
        self.events.lock().unwrap().push(event);
    }

    /// The recorded history once `done` holds for it; panics after `within`.
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[(DateTime<Utc>, Event)]) -> bool,
    ) -> Vec<(DateTime<Utc>, Event)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let history = self.history.lock().unwrap().clone();
            if done(&history) {
                return history;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {within:?}; events so far: {history:#?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The service's side of a shared [`Recorder`].
struct Sink(Arc<Recorder>);

impl EventSink for Sink {
    fn keys_changed(&self, event: KeysChangedEvent) {
        if let Some(check) = self.0.on_keys_changed.lock().unwrap().as_ref() {
            check(&event);
        }
        self.0.record(Event::KeysChanged(event));
    }

    fn connectivity(&self, event: ConnectivityEvent) {
        self.0.record(Event::Connectivity(event));
    }
}

pub struct TestService {
    pub service: Keyward,
    pub vault: Vault,
    /// The vault's in-memory keychain: inject faults, look at the entries.
    pub keychain: MemoryKeychain,
    pub events: Arc<Recorder>,
    /// Seconds added to the real time: the service's "now".
    pub clock_offset: Arc<AtomicI64>,
    pub dir: tempfile::TempDir,
    pub control: reqwest::Client,
}

/// Retries in milliseconds, 429s returned at once (so a rate limit is visible), 3 s timeouts.
pub fn fast_client(config: &mut ClientConfig) {
    config.retry = RetryPolicy {
        max_attempts: 2,
        backoff: Backoff::new(Duration::from_millis(5), Duration::from_millis(20)),
        max_elapsed: Duration::from_secs(2),
        retry_rate_limited: false,
    };
    config.request_timeout = Duration::from_secs(3);
    config.connect_timeout = Duration::from_secs(1);
}

pub fn start(test: &str) -> TestService {
    start_with(test, |_, _| {})
}

/// `start`, with `adjust` changing the configuration (given the data directory) first.
pub fn start_with(
    test: &str,
    adjust: impl FnOnce(&mut ServiceConfig, &std::path::Path),
) -> TestService {
    let dir = tempfile::tempdir().unwrap();
    let keychain = MemoryKeychain::new();
    let vault = Vault::with_backend(unique_service(test), keychain.clone());
    let events = Arc::new(Recorder::default());
    let clock_offset = Arc::new(AtomicI64::new(0));
    let offset = Arc::clone(&clock_offset);
    let mut config = ServiceConfig::new(vault.clone());
    config.clock =
        Arc::new(move || Utc::now() + chrono::Duration::seconds(offset.load(Ordering::Relaxed)));
    config.events = Arc::new(Sink(Arc::clone(&events)));
    config.client_tuning = Arc::new(fast_client);
    config.sandbox = SandboxConfig {
        demo_keys: 30,
        seed: Some(7),
        state_file: None,
        traffic: false,
    };
    adjust(&mut config, dir.path());
    let store = Store::open_in_dir(dir.path()).unwrap();
    TestService {
        service: Keyward::new(store, config),
        vault,
        keychain,
        events,
        clock_offset,
        dir,
        control: reqwest::Client::new(),
    }
}

impl TestService {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.clock_offset.load(Ordering::Relaxed))
    }

    pub fn advance_clock(&self, seconds: i64) {
        self.clock_offset.fetch_add(seconds, Ordering::Relaxed);
    }

    /// A second connection to the service's database (SQLite in WAL mode allows it).
    pub fn open_store(&self) -> Store {
        Store::open_in_dir(self.dir.path()).unwrap()
    }

    pub async fn sandbox_control(&self) -> String {
        self.service
            .sandbox_control_url()
            .await
            .expect("the sandbox is running")
    }

    pub async fn post(&self, control_url: &str, path: &str, body: Value) -> Value {
        let answer = self
            .control
            .post(format!("{control_url}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    pub async fn get(&self, control_url: &str, path: &str) -> Value {
        self.control
            .get(format!("{control_url}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// How many API requests the emulator at `control_url` has logged.
    pub async fn request_count(&self, control_url: &str) -> usize {
        self.get(control_url, "/requests").await["requests"]
            .as_array()
            .unwrap()
            .len()
    }

    pub async fn clear_faults(&self, control_url: &str) {
        self.control
            .delete(format!("{control_url}/faults"))
            .send()
            .await
            .unwrap();
    }
}
