//! The background watcher against an emulator over HTTP, with second-long intervals and
//! millisecond backoffs: spend past 80 % reaches the notifier within one cycle and never twice;
//! "refresh now" and a settings change take effect at once; offline it backs off exponentially and
//! recovers by itself; a rate limit is waited out; cycles never overlap; dropping the handle stops it;
//! on battery with the window closed it plans its checks three times further apart.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keyward_core::watch::{AlertsSnapshot, PowerSource, WatchSettings, WatcherHandle};
use serde_json::json;
use tokio::time::Instant;
use watch_support::{Notifier, Recorded, Watched, watched, watched_with};

/// Long enough for a loaded 2-core machine.
const WITHIN: Duration = Duration::from_secs(10);

fn every(w: &Watched, secs: u32) {
    w.t.service
        .set_watch_settings(WatchSettings {
            interval_secs: secs,
            ..WatchSettings::default()
        })
        .unwrap();
}

/// Starts the watcher with a fresh record of what it notifies and announces.
fn start(w: &Watched) -> (Arc<Recorded>, WatcherHandle) {
    let recorded = Arc::new(Recorded::default());
    let handle = watch(w, &recorded);
    (recorded, handle)
}

fn watch(w: &Watched, recorded: &Arc<Recorded>) -> WatcherHandle {
    w.t.service
        .start_watcher(Arc::new(Notifier(Arc::clone(recorded))))
}

/// Waits until at least `count` cycles announced a change.
async fn cycles(recorded: &Recorded, count: usize) {
    recorded
        .wait_for(WITHIN, |r| r.change_times().len() >= count)
        .await;
}

/// Waits until exactly `count` notifications went out.
async fn notified(recorded: &Recorded, count: usize) {
    recorded
        .wait_for(WITHIN, |r| r.notification_count() == count)
        .await;
}

/// Waits until the last alert state announced satisfies `done`.
async fn latest(recorded: &Recorded, done: impl Fn(&AlertsSnapshot) -> bool) {
    recorded
        .wait_for(WITHIN, |r| {
            r.changes
                .lock()
                .unwrap()
                .last()
                .is_some_and(|(_, s)| done(s))
        })
        .await;
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

#[tokio::test]
async fn spend_past_80_percent_reaches_the_notifier_within_a_cycle_and_only_once() {
    let w = watched("watcher-notify").await;
    every(&w, 1);
    let hash = w
        .create_key(json!({"name": "prod-backend", "limit": 10.0}))
        .await;
    let (recorded, handle) = start(&w);
    cycles(&recorded, 1).await;
    assert_eq!(recorded.notification_count(), 0);

    w.spend(&hash, 8.5).await;
    let pushed = Instant::now();
    notified(&recorded, 1).await;
    let (arrived, batch) = recorded.notifications.lock().unwrap()[0].clone();
    assert!(
        arrived - pushed < Duration::from_millis(2500),
        "{:?}",
        arrived - pushed
    );
    assert_eq!(batch.len(), 1);
    assert!(batch[0].title.contains("prod-backend"), "{batch:?}");
    // The alert list the tray shows has it.
    let (_, latest) = recorded.changes.lock().unwrap().last().cloned().unwrap();
    assert_eq!(latest.alerts.len(), 1);
    assert!(latest.next_check_at.is_some());

    // Two more cycles: no duplicate.
    let seen = recorded.change_times().len();
    cycles(&recorded, seen + 2).await;
    assert_eq!(recorded.notification_count(), 1);

    // Past 95 %: a new one.
    w.spend(&hash, 1.2).await;
    notified(&recorded, 2).await;
    assert!(
        recorded.all_notifications()[1]
            .title
            .contains("prod-backend"),
        "{:?}",
        recorded.all_notifications()
    );
    assert!(handle.is_running());
}

#[tokio::test]
async fn refresh_now_and_a_new_interval_take_effect_at_once() {
    let w = watched("watcher-wake").await;
    every(&w, 3600);
    let (recorded, handle) = start(&w);
    recorded
        .wait_for(WITHIN, |r| r.change_times().len() == 1)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(recorded.change_times().len(), 1, "an hour's interval");

    let asked = Instant::now();
    handle.refresh_now();
    recorded
        .wait_for(WITHIN, |r| r.change_times().len() == 2)
        .await;
    assert!(recorded.change_times()[1] - asked < Duration::from_secs(2));

    // From an hour to a second: the running sleep is cut short.
    every(&w, 1);
    recorded
        .wait_for(Duration::from_secs(4), |r| r.change_times().len() >= 3)
        .await;
    recorded
        .wait_for(Duration::from_secs(4), |r| r.change_times().len() >= 4)
        .await;
    let times = recorded.change_times();
    let last = gaps(&times)[2];
    assert!(
        last >= Duration::from_millis(900) && last < Duration::from_millis(2500),
        "{last:?}"
    );
}

#[tokio::test]
async fn offline_it_backs_off_exponentially_and_recovers_by_itself() {
    let w = watched_with("watcher-offline", |config| {
        config.backoff.initial = Duration::from_millis(150);
        config.backoff.max = Duration::from_millis(1200);
    })
    .await;
    every(&w, 1);
    let hash = w.create_key(json!({"name": "edge", "limit": 10.0})).await;
    w.control("/faults", json!({"server_error": {"probability": 1.0}}))
        .await;
    let (recorded, _handle) = start(&w);
    cycles(&recorded, 5).await;
    let waits = gaps(&recorded.change_times());
    // 150, 300, 600, 1200 ms (give or take the cycle itself): growing, and the first ones well
    // under the 1 s interval.
    assert!(waits[0] < Duration::from_millis(700), "{waits:?}");
    for pair in waits.windows(2).take(3) {
        assert!(pair[1] > pair[0] + Duration::from_millis(50), "{waits:?}");
    }
    assert!(waits[3] >= Duration::from_millis(1100), "{waits:?}");

    // Spend while it can't see it; once OpenRouter answers again the alert comes by itself.
    w.spend(&hash, 9.0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(recorded.notification_count(), 0);
    w.t.clear_faults(w.emulator.control_url()).await;
    notified(&recorded, 1).await;
    assert!(recorded.all_notifications()[0].title.contains("edge"));
    // Back to the interval.
    let seen = recorded.change_times().len();
    cycles(&recorded, seen + 2).await;
    let waits = gaps(&recorded.change_times());
    let last = *waits.last().unwrap();
    assert!(last >= Duration::from_millis(900), "{waits:?}");
}

#[tokio::test]
async fn a_rate_limit_is_waited_out() {
    let w = watched("watcher-429").await;
    every(&w, 1);
    w.control(
        "/faults",
        json!({"rate_limit": {"next": 1, "retry_after_seconds": 2}}),
    )
    .await;
    let (recorded, _handle) = start(&w);
    cycles(&recorded, 3).await;
    let waits = gaps(&recorded.change_times());
    // After the 429: at least the 2 s asked for (not the 100 ms backoff, not the 1 s interval).
    assert!(waits[0] >= Duration::from_millis(1950), "{waits:?}");
    // Then the interval again.
    assert!(waits[1] < Duration::from_millis(1900), "{waits:?}");
}

#[tokio::test]
async fn cycles_never_overlap() {
    let w = watched("watcher-overlap").await;
    w.create_key(json!({"name": "slow"})).await;
    w.control("/faults", json!({"latency_ms": 300})).await;
    let started = Instant::now();
    let (a, b) = tokio::join!(w.t.service.watch_cycle(), w.t.service.watch_cycle());
    a.unwrap();
    b.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}

/// A power supply the test switches between battery and mains.
struct SwitchedPower(AtomicBool);

impl PowerSource for SwitchedPower {
    fn on_battery(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Waits until the watcher plans its next check `expected` from now (within 15 s), and says so.
async fn next_check_in(w: &Watched, expected: Duration) {
    let deadline = Instant::now() + WITHIN;
    let mut planned = None;
    while Instant::now() < deadline {
        planned =
            w.t.service
                .alerts(None)
                .unwrap()
                .next_check_at
                .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
        if let Some(left) = planned
            && left <= expected
            && left + Duration::from_secs(15) > expected
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("next check planned in {planned:?}, expected about {expected:?}");
}

#[tokio::test]
async fn on_battery_with_the_window_closed_it_checks_three_times_less_often() {
    let w = watched("watcher-battery").await;
    every(&w, 300);
    let power = Arc::new(SwitchedPower(AtomicBool::new(true)));
    w.t.service
        .set_power_source(Arc::clone(&power) as Arc<dyn PowerSource>);
    let (recorded, _handle) = start(&w);
    cycles(&recorded, 1).await;
    // No window (as at a start in the tray), on battery: 3 × 5 min.
    next_check_in(&w, Duration::from_secs(900)).await;
    // The window opens: someone is looking, the settings' interval again, planned at once.
    w.t.service.set_window_open(true);
    next_check_in(&w, Duration::from_secs(300)).await;
    w.t.service.set_window_open(false);
    next_check_in(&w, Duration::from_secs(900)).await;
    // Plugged in.
    power.0.store(false, Ordering::SeqCst);
    w.t.service.set_window_open(true);
    w.t.service.set_window_open(false);
    next_check_in(&w, Duration::from_secs(300)).await;
    // On battery again, but the setting is off.
    power.0.store(true, Ordering::SeqCst);
    w.t.service
        .set_watch_settings(WatchSettings {
            interval_secs: 300,
            slower_on_battery: false,
            ..WatchSettings::default()
        })
        .unwrap();
    next_check_in(&w, Duration::from_secs(300)).await;
    // A 20-minute interval stretches only to the 30-minute cap.
    every(&w, 1200);
    next_check_in(&w, Duration::from_secs(1800)).await;
    assert_eq!(recorded.change_times().len(), 1, "no extra cycle ran");
}

#[tokio::test]
async fn dropping_or_stopping_the_handle_stops_the_watcher() {
    let w = watched("watcher-stop").await;
    every(&w, 1);
    let (recorded, handle) = start(&w);
    cycles(&recorded, 1).await;
    drop(handle);
    let seen = recorded.change_times().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(recorded.change_times().len(), seen);
    assert!(w.t.service.alerts(None).unwrap().next_check_at.is_none());

    let again = watch(&w, &recorded);
    recorded
        .wait_for(WITHIN, |r| r.change_times().len() > seen)
        .await;
    again.stop().await;
    let seen = recorded.change_times().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(recorded.change_times().len(), seen);
}

#[tokio::test]
async fn snoozing_through_the_service_updates_the_tray() {
    let w = watched("watcher-tray").await;
    every(&w, 3600);
    let hash = w.create_key(json!({"name": "tray", "limit": 1.0})).await;
    w.spend(&hash, 1.0).await;
    let (recorded, _handle) = start(&w);
    notified(&recorded, 1).await;
    let until = w.t.now() + chrono::Duration::hours(1);
    w.t.service
        .snooze_alerts(&w.profile_id, &hash, Some(until))
        .unwrap();
    latest(&recorded, |s| {
        s.alerts.iter().all(|a| a.snoozed_until.is_some())
    })
    .await;
    w.t.service.pause_alerts(Some(until)).unwrap();
    latest(&recorded, |s| s.paused_until.is_some()).await;
}

#[tokio::test]
async fn notifications_held_by_a_pause_arrive_when_it_ends_not_an_interval_later() {
    let w = watched("watcher-held").await;
    every(&w, 3600);
    let hash = w.create_key(json!({"name": "held", "limit": 10.0})).await;
    w.spend(&hash, 9.0).await;
    w.t.service
        .pause_alerts(Some(w.t.now() + chrono::Duration::milliseconds(1500)))
        .unwrap();
    let started = Instant::now();
    let (recorded, _handle) = start(&w);
    cycles(&recorded, 1).await;
    assert_eq!(recorded.notification_count(), 0);
    notified(&recorded, 1).await;
    let (arrived, batch) = recorded.notifications.lock().unwrap()[0].clone();
    assert!(
        arrived - started >= Duration::from_millis(900),
        "{:?}",
        arrived - started
    );
    assert!(batch[0].title.contains("held"), "{batch:?}");
}
