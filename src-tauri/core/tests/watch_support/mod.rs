//! Shared set-up of the `watch_*` integration tests: a service whose sandbox profile's client goes to
//! the test's own emulator (so the test knows its management key and no keychain is needed), with a
//! fast watcher; helpers to create, change and spend on keys outside Keyward; and a notifier that
//! records what the watcher hands it.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_core::backoff::Backoff;
use keyward_core::service::SandboxConfig;
use keyward_core::watch::{
    AlertNotifier, AlertsSnapshot, Notification, WatchReport, WatcherConfig,
};
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::service_support::{TestService, fast_client, start_with};

/// A test's service with its sandbox profile on the test's own emulator.
pub struct Watched {
    pub t: TestService,
    pub emulator: Emulator,
    pub profile_id: String,
    pub http: reqwest::Client,
}

pub async fn watched(test: &str) -> Watched {
    watched_with(test, |_| {}).await
}

/// `watched`, with `adjust` changing the watcher's pacing first.
pub async fn watched_with(test: &str, adjust: impl FnOnce(&mut WatcherConfig)) -> Watched {
    let key = format!("sk-or-v1-{}", "5".repeat(64));
    let emulator = Emulator::start(EmulatorConfig::default().management_key(&key))
        .await
        .unwrap();
    let base_url = emulator.base_url().to_owned();
    let t = start_with(test, move |config, _| {
        config.recovery = None;
        config.sandbox = SandboxConfig {
            demo_keys: 0,
            seed: Some(1),
            state_file: None,
            traffic: false,
        };
        config.watcher = WatcherConfig {
            min_interval: Duration::from_millis(100),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_millis(400)),
        };
        adjust(&mut config.watcher);
        config.client_tuning = Arc::new(move |client| {
            fast_client(client);
            client.base_url = base_url.clone();
            client.api_key = SecretString::from(key.clone());
        });
    });
    let profile_id = t.service.sandbox_open().await.unwrap().id;
    let w = Watched {
        t,
        emulator,
        profile_id,
        http: reqwest::Client::new(),
    };
    w.pin_clocks(PINNED_AT).await;
    // Credits enough that the account's credits never forecast to run out unless a test says so
    // (the emulator starts at $100, which a few days of test spend would threaten).
    w.control("/credits", json!({"total_credits": 1_000_000.0}))
        .await;
    w
}

/// Both clocks start here in every watch test, so rules that depend on the time of day (a burn
/// rate needs 6 hours of the day behind it) or the month give the same answer whenever the tests
/// run: 01:00 UTC on a Tuesday in the middle of a month.
pub const PINNED_AT: &str = "2030-01-15T01:00:00Z";

impl Watched {
    /// Moves the service's and the emulator's clocks to `at` (RFC 3339).
    pub async fn pin_clocks(&self, at: &str) {
        let target = chrono::DateTime::parse_from_rfc3339(at)
            .unwrap()
            .with_timezone(&chrono::Utc);
        self.control("/clock", json!({ "now": at })).await;
        let offset = (target - chrono::Utc::now()).num_seconds();
        self.t
            .clock_offset
            .store(offset, std::sync::atomic::Ordering::Relaxed);
    }

    /// Advances both clocks by `seconds`.
    pub async fn advance_clocks(&self, seconds: i64) {
        self.control("/clock", json!({ "advance_seconds": seconds as f64 }))
            .await;
        self.t.advance_clock(seconds);
    }
}

impl Watched {
    /// Creates a key on the emulator (outside Keyward); returns its hash.
    pub async fn create_key(&self, body: Value) -> String {
        let answer = self
            .http
            .post(format!("{}/keys", self.emulator.base_url()))
            .bearer_auth(self.emulator.management_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let created: Value = answer.json().await.unwrap();
        created["data"]["hash"].as_str().unwrap().to_owned()
    }

    pub async fn patch_key(&self, hash: &str, body: Value) {
        let answer = self
            .http
            .patch(format!("{}/keys/{hash}", self.emulator.base_url()))
            .bearer_auth(self.emulator.management_key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }

    pub async fn spend(&self, hash: &str, usd: f64) {
        self.t
            .post(
                self.emulator.control_url(),
                &format!("/keys/{hash}/usage"),
                json!({"usage": usd}),
            )
            .await;
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        self.t.post(self.emulator.control_url(), path, body).await
    }

    pub async fn cycle(&self) -> WatchReport {
        self.t.service.watch_cycle().await.unwrap()
    }

    /// API requests the emulator logged under `path_prefix`.
    pub async fn requests_to(&self, path_prefix: &str) -> usize {
        self.t.get(self.emulator.control_url(), "/requests").await["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"].as_str().unwrap().starts_with(path_prefix))
            .count()
    }
}

/// What the watcher handed over, with the moment it arrived.
#[derive(Default)]
pub struct Recorded {
    pub notifications: Mutex<Vec<(Instant, Vec<Notification>)>>,
    pub changes: Mutex<Vec<(Instant, AlertsSnapshot)>>,
}

impl Recorded {
    pub fn notification_count(&self) -> usize {
        self.notifications.lock().unwrap().len()
    }

    pub fn change_times(&self) -> Vec<Instant> {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .map(|(at, _)| *at)
            .collect()
    }

    pub fn all_notifications(&self) -> Vec<Notification> {
        self.notifications
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, batch)| batch.clone())
            .collect()
    }

    /// Waits until `done` holds; panics after `within`.
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&Recorded) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out after {within:?}; notifications: {:#?}; {} alert changes",
                self.all_notifications(),
                self.change_times().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub struct Notifier(pub Arc<Recorded>);

impl AlertNotifier for Notifier {
    fn notify(&self, notifications: &[Notification]) {
        assert!(!notifications.is_empty());
        self.0
            .notifications
            .lock()
            .unwrap()
            .push((Instant::now(), notifications.to_vec()));
    }

    fn alerts_changed(&self, snapshot: AlertsSnapshot) {
        self.0
            .changes
            .lock()
            .unwrap()
            .push((Instant::now(), snapshot));
    }
}
