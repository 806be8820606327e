//! Automatic recovery: after a refresh ends offline or rate limited, the service retries in the
//! background (growing delays offline, at `retry_at` rate limited) until the profile is back
//! online, announcing each step as events. Against emulators over HTTP, with millisecond delays; no
//! keychain needed (the sandbox profile, or its client redirected to an emulator of the test's own).

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keyward_core::ErrorKind;
use keyward_core::backoff::Backoff;
use keyward_core::ipc::{Connectivity, ProfileIdArgs};
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::SecretString;
use serde_json::json;
use service_support::{Event, TestService, fast_client, list, start_with};

/// Long enough for a loaded 2-core machine, far shorter than a real backoff.
const WITHIN: Duration = Duration::from_secs(10);

fn policy(initial_ms: u64, multiplier: f64, max_ms: u64) -> Backoff {
    Backoff::new(
        Duration::from_millis(initial_ms),
        Duration::from_millis(max_ms),
    )
    .with_multiplier(multiplier)
}

fn start_recovering(test: &str, recovery: Backoff) -> TestService {
    start_with(test, |config, _| config.recovery = Some(recovery))
}

/// A service whose sandbox profile's client goes to `port` with `key` (an emulator of the test's
/// own, which it can stop and start), retrying with `recovery`.
fn start_redirected(test: &str, recovery: Backoff, port: u16, key: &str) -> TestService {
    let base_url = format!("http://127.0.0.1:{port}/api/v1");
    let key = key.to_owned();
    start_with(test, move |config, _| {
        config.recovery = Some(recovery);
        config.client_tuning = Arc::new(move |client| {
            fast_client(client);
            client.base_url = base_url.clone();
            client.api_key = SecretString::from(key.clone());
        });
    })
}

/// Opens the sandbox profile with every connection to its emulator dropped.
async fn sandbox_unreachable(t: &TestService) -> keyward_core::store::Profile {
    let profile = t.service.sandbox_open().await.unwrap();
    let control = t.sandbox_control().await;
    t.post(&control, "/faults", json!({"drop": {"next": 1000}}))
        .await;
    profile
}

/// Nothing more is announced for 300 ms.
async fn assert_no_more_events(t: &TestService) {
    let settled = t.events.history.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.events.history.lock().unwrap().len(), settled);
}

/// Waits until an online event was announced; the whole history.
async fn back_online(t: &TestService) -> Vec<(DateTime<Utc>, Event)> {
    t.events
        .wait_for(WITHIN, |history| {
            history.iter().any(|(_, event)| is_online(event))
        })
        .await
}

fn is_online(event: &Event) -> bool {
    matches!(event, Event::Connectivity(e) if e.connectivity == Connectivity::Online)
}

/// The offline connectivity events in `history`, with the moment each arrived.
fn offline_events(history: &[(DateTime<Utc>, Event)]) -> Vec<(DateTime<Utc>, Connectivity)> {
    history
        .iter()
        .filter_map(|(at, event)| match event {
            Event::Connectivity(e) if matches!(e.connectivity, Connectivity::Offline { .. }) => {
                Some((*at, e.connectivity.clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn offline_refresh_recovers_by_itself() {
    let t = start_recovering("recover-offline", policy(20, 2.0, 200));
    let profile = t.service.sandbox_open().await.unwrap();
    let online = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert_eq!(online.keys.len(), 30);
    let control = t.sandbox_control().await;
    // Changes on OpenRouter while Keyward can't reach it.
    t.post(&control, "/seed", json!({"count": 3, "seed": 11}))
        .await;
    // Each refresh makes up to two requests (fast_client retries once): the explicit refresh and
    // the first background retry both fail.
    t.post(&control, "/faults", json!({"drop": {"next": 4}}))
        .await;
    t.events.take();

    let offline = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(offline.from_cache);
    assert_eq!(offline.keys, online.keys);
    let since = match &offline.connectivity {
        Connectivity::Offline {
            error,
            since,
            next_retry_at,
        } => {
            assert_eq!(error.kind, ErrorKind::Network, "{error:?}");
            let next = next_retry_at.expect("a retry is scheduled");
            let wait = (next - *since).num_milliseconds();
            assert!((0..=1_000).contains(&wait), "{wait} ms");
            *since
        }
        other => panic!("{other:?}"),
    };
    assert!(t.service.recovery_pending(&profile.id));

    let history = back_online(&t).await;
    let events: Vec<&Event> = history.iter().map(|(_, event)| event).collect();
    let online_at = events.iter().position(|e| is_online(e)).unwrap();
    assert!(
        matches!(events[online_at - 1], Event::KeysChanged(e) if e.profile_id == profile.id),
        "keys_changed comes first: {events:#?}"
    );
    // Every offline event before it (the refresh's, then the failed background retry's) keeps the
    // first failure's time.
    let offline = offline_events(&history);
    assert!(offline.len() >= 2, "{offline:#?}");
    for (_, connectivity) in &offline {
        let Connectivity::Offline {
            since: again,
            next_retry_at,
            ..
        } = connectivity
        else {
            unreachable!()
        };
        assert_eq!(*again, since);
        assert!(next_retry_at.is_some());
    }

    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert_eq!(cached.connectivity, Connectivity::Online);
    assert_eq!(cached.keys.len(), 33);
    assert!(cached.fetched_at > online.fetched_at);
    assert!(!t.service.recovery_pending(&profile.id));
}

#[tokio::test]
async fn rate_limited_refresh_retries_at_retry_at() {
    // The backoff alone would retry after 10 ms: the test fails if it is used instead of retry_at.
    let t = start_recovering("recover-429", policy(10, 2.0, 100));
    let profile = t.service.sandbox_open().await.unwrap();
    t.service.keys_list(list(&profile.id, true)).await.unwrap();
    let control = t.sandbox_control().await;
    t.post(
        &control,
        "/faults",
        json!({"rate_limit": {"next": 1, "retry_after_ms": 400}}),
    )
    .await;
    t.control
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    t.events.take();

    let limited = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    let Connectivity::RateLimited { retry_at, error } = limited.connectivity else {
        panic!("{:?}", limited.connectivity);
    };
    assert_eq!(error.retry_after_ms, Some(400));
    assert!(t.service.recovery_pending(&profile.id));

    let history = back_online(&t).await;
    let (online_at, _) = history.iter().find(|(_, event)| is_online(event)).unwrap();
    assert!(
        *online_at >= retry_at,
        "retried at {online_at}, before {retry_at}"
    );
    // One 429, then one successful list (the workspaces, then in each of the demo account's two
    // workspaces one page of keys and the empty or short page that proves it was the last): no
    // retries in between.
    assert_eq!(t.request_count(&control).await, 6);
    assert!(!t.service.recovery_pending(&profile.id));
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn emulator_on(port: u16, key: &str, keys: usize) -> Emulator {
    let config = EmulatorConfig::default()
        .port(port)
        .management_key(key)
        .seed_demo(keys)
        .seed(5);
    // The port was just closed; give the OS a moment if it still holds it.
    for _ in 0..50 {
        if let Ok(emulator) = Emulator::start(config.clone()).await {
            return emulator;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("port {port} did not come free");
}

#[tokio::test]
async fn stopped_server_is_retried_with_growing_delays_until_it_is_back() {
    let port = free_port();
    let key = format!("sk-or-v1-{}", "7".repeat(64));
    // The sandbox profile's client goes to this test's own emulator, which it can stop and start.
    let t = start_redirected("recover-restart", policy(30, 2.0, 400), port, &key);
    let emulator = emulator_on(port, &key, 5).await;
    let profile = t.service.sandbox_open().await.unwrap();
    let online = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert_eq!(online.keys.len(), 5);

    emulator.shutdown().await;
    t.events.take();
    let offline = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    let Connectivity::Offline { error, since, .. } = &offline.connectivity else {
        panic!("{:?}", offline.connectivity);
    };
    assert!(
        matches!(error.kind, ErrorKind::Network | ErrorKind::Timeout),
        "{error:?}"
    );
    let since = *since;

    // The refresh's event and four from background retries, each announcing a longer wait.
    let history = t
        .events
        .wait_for(WITHIN, |history| offline_events(history).len() >= 5)
        .await;
    let waits: Vec<i64> = offline_events(&history)
        .iter()
        .map(|(at, connectivity)| match connectivity {
            Connectivity::Offline {
                since: again,
                next_retry_at: Some(next),
                ..
            } => {
                assert_eq!(*again, since);
                (*next - *at).num_milliseconds()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    // 30, 60, 120, 240, 400 (capped) ms, give or take the moment the event was recorded.
    for pair in waits.windows(2) {
        assert!(pair[1] >= pair[0], "{waits:?}");
    }
    assert!(waits[0] <= 40 && waits[3] >= 200, "{waits:?}");
    assert!(!history.iter().any(|(_, event)| is_online(event)));

    // Back on the same port, with more keys: recovered without a refresh.
    let _emulator = emulator_on(port, &key, 8).await;
    back_online(&t).await;
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert_eq!(cached.connectivity, Connectivity::Online);
    assert_eq!(cached.keys.len(), 8);
    assert!(!t.service.recovery_pending(&profile.id));
}

#[tokio::test]
async fn nothing_retries_after_success_and_failures_share_one_loop() {
    let t = start_recovering("recover-one-loop", policy(100, 4.0, 10_000));
    let profile = t.service.sandbox_open().await.unwrap();
    let control = t.sandbox_control().await;

    // Online: nothing is scheduled, nothing runs.
    t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(!t.service.recovery_pending(&profile.id));
    t.control
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.request_count(&control).await, 0);

    // Three failing refreshes in a row: one loop (retries at +100 ms, +500 ms, +2.1 s).
    t.post(&control, "/faults", json!({"drop": {"next": 1000}}))
        .await;
    for _ in 0..3 {
        let offline = t.service.keys_list(list(&profile.id, true)).await.unwrap();
        assert!(matches!(offline.connectivity, Connectivity::Offline { .. }));
    }
    assert!(t.service.recovery_pending(&profile.id));
    t.events.take();
    let from = t.events.history.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let background = offline_events(&t.events.history.lock().unwrap()[from..]).len();
    // Three loops would have made six attempts by now.
    assert!(
        (1..=2).contains(&background),
        "{background} background retries"
    );

    // Back: the loop ends with the profile online and stays ended.
    t.clear_faults(&control).await;
    t.events
        .wait_for(WITHIN, |history| {
            history[from..].iter().any(|(_, event)| is_online(event))
        })
        .await;
    assert!(!t.service.recovery_pending(&profile.id));
    t.control
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    assert_no_more_events(&t).await;
    assert_eq!(t.request_count(&control).await, 0);
}

#[tokio::test]
async fn removing_the_profile_ends_its_retries() {
    let t = start_recovering("recover-removed", policy(50, 2.0, 200));
    let profile = sandbox_unreachable(&t).await;
    t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(t.service.recovery_pending(&profile.id));

    t.service
        .profile_remove(ProfileIdArgs {
            id: profile.id.clone(),
        })
        .await
        .unwrap();
    assert!(!t.service.recovery_pending(&profile.id));
    assert_no_more_events(&t).await;
}

#[tokio::test]
async fn without_a_policy_nothing_is_scheduled() {
    let t = start_with("recover-none", |config, _| config.recovery = None);
    let profile = sandbox_unreachable(&t).await;
    let offline = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(matches!(
        offline.connectivity,
        Connectivity::Offline {
            next_retry_at: None,
            ..
        }
    ));
    assert!(!t.service.recovery_pending(&profile.id));
}

#[tokio::test]
async fn stopping_the_sandbox_ends_its_retries_and_says_so() {
    let t = start_recovering("recover-sandbox-stop", policy(50, 2.0, 200));
    let profile = sandbox_unreachable(&t).await;
    t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(t.service.recovery_pending(&profile.id));
    t.events.take();

    t.service.sandbox_stop().await;
    assert!(!t.service.recovery_pending(&profile.id));
    // No countdown to a retry that won't come.
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert!(matches!(
        cached.connectivity,
        Connectivity::Offline {
            next_retry_at: None,
            ..
        }
    ));
    let events = t.events.take();
    assert!(
        matches!(events.as_slice(), [Event::Connectivity(e)] if e.connectivity == cached.connectivity),
        "{events:#?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.events.take().is_empty());
    assert!(
        t.service.sandbox_control_url().await.is_none(),
        "no retry restarted it"
    );
}

#[tokio::test]
async fn a_dropped_service_leaves_no_retry_running() {
    let port = free_port();
    let key = format!("sk-or-v1-{}", "8".repeat(64));
    let t = start_redirected("recover-dropped", policy(30, 1.0, 30), port, &key);
    let emulator = emulator_on(port, &key, 2).await;
    let control = emulator.control_url().to_owned();
    let profile = t.service.sandbox_open().await.unwrap();
    t.post(
        &control,
        "/faults",
        json!({"server_error": {"next": 100000}}),
    )
    .await;
    t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(t.service.recovery_pending(&profile.id));
    // Retrying every 30 ms while the service lives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(t.request_count(&control).await > 2);

    let control_client = t.control.clone();
    drop(t);
    // An attempt already under way may finish (it holds the service until then); nothing after it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    control_client
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log: serde_json::Value = control_client
        .get(format!("{control}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["requests"].as_array().unwrap().len(), 0, "{log:#}");
}
