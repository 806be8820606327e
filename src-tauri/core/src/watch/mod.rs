//! The background watcher: one tokio task that runs [`Keyward::watch_cycle`] on the interval of the
//! watch settings (re-read every time it goes to sleep, so a change applies at once), backs off
//! exponentially while OpenRouter can't be reached, waits out rate limits, and hands notifications
//! and the alert list to an [`AlertNotifier`]. Between cycles it sleeps on a timer: idle costs nothing.
//! On battery with the window closed it checks less often (see [`paced_interval`]).

mod power;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::AppError;
use crate::backoff::Backoff;
use crate::ipc::Connectivity;
use crate::service::Keyward;

pub use crate::alerts::{
    AlertKind, AlertSeverity, AlertView, AlertsSnapshot, Notification, NotifyKinds, QuietHours,
    WatchSettings,
};
pub use crate::usage::{DailySpend, KeySpend, SpendForecast, UsageHistory, UsageOverview};
pub use power::{PowerSource, SystemPower, on_battery_in};

/// On battery with the window closed, the interval is this many times the settings' one...
pub const BATTERY_INTERVAL_FACTOR: u32 = 3;
/// ... but not stretched past this (a longer interval in the settings stays as it is).
pub const BATTERY_INTERVAL_CAP: Duration = Duration::from_secs(30 * 60);

/// The interval the watcher keeps between healthy cycles: the settings' one, or when the settings
/// allow it ([`WatchSettings::slower_on_battery`]) and nobody is looking (no window) on battery,
/// [`BATTERY_INTERVAL_FACTOR`] times it, up to [`BATTERY_INTERVAL_CAP`].
pub fn paced_interval(
    interval: Duration,
    slower_on_battery: bool,
    on_battery: bool,
    window_open: bool,
) -> Duration {
    if slower_on_battery && on_battery && !window_open {
        (interval * BATTERY_INTERVAL_FACTOR).min(BATTERY_INTERVAL_CAP.max(interval))
    } else {
        interval
    }
}

/// How the watcher paces itself, beyond the interval of the watch settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WatcherConfig {
    /// The shortest interval honoured, whatever the settings say (tests go far below the UI's 10 s).
    pub min_interval: Duration,
    /// The waits after cycles that found OpenRouter unreachable (the first after the first such
    /// cycle). Its jitter shortens every wait, the healthy interval too, so many running apps don't
    /// hit OpenRouter in lockstep.
    pub backoff: Backoff,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            min_interval: Duration::from_secs(10),
            // 90–100 % of each wait.
            backoff: Backoff::new(Duration::from_secs(15), Duration::from_secs(15 * 60))
                .with_jitter(0.1),
        }
    }
}

/// Where the watcher's results go (the desktop shell: desktop notifications, the tray, a window
/// event). Called from the watcher's task, outside every lock; keep it quick.
pub trait AlertNotifier: Send + Sync + 'static {
    /// Alerts newly due, already grouped; never empty.
    fn notify(&self, notifications: &[Notification]);
    /// The open alerts after a cycle, a snooze or a pause.
    fn alerts_changed(&self, snapshot: AlertsSnapshot);
}

/// What one [`Keyward::watch_cycle`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchReport {
    /// Alerts that became due for a notification in this cycle, grouped; empty when paused, in
    /// quiet hours or when nothing new happened.
    pub notifications: Vec<Notification>,
    /// Every open alert after this cycle.
    pub snapshot: AlertsSnapshot,
    /// One entry per profile checked, in order.
    pub profiles: Vec<ProfileCheck>,
    pub checked_at: DateTime<Utc>,
    /// Notifications are held (pause, quiet hours) or a key's alerts snoozed until then: the
    /// watcher runs a cycle at that time even if the interval is longer.
    pub wake_at: Option<DateTime<Utc>>,
}

/// How checking one profile went.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileCheck {
    pub profile_id: String,
    /// Online: fresh numbers. Offline / rate limited: alerts came from the cached list.
    pub connectivity: Connectivity,
    /// A failure refreshing can't fix by waiting (e.g. the management key was revoked); the cached
    /// list was still evaluated.
    pub error: Option<AppError>,
    pub keys: usize,
    pub snapshots_written: usize,
}

/// What a cycle's outcome means for the wait before the next one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CycleHealth {
    /// Every profile answered (or at least one did): the normal interval.
    Healthy,
    /// Nothing could be reached (or the cycle failed): back off.
    Unreachable,
    /// OpenRouter asked to wait this long.
    RateLimited(Duration),
}

impl WatchReport {
    pub(crate) fn health(&self) -> CycleHealth {
        let rate_limited = self
            .profiles
            .iter()
            .filter_map(|check| match &check.connectivity {
                Connectivity::RateLimited { retry_at, .. } => {
                    Some((*retry_at - self.checked_at).to_std().unwrap_or_default())
                }
                _ => None,
            })
            .max();
        if let Some(wait) = rate_limited {
            return CycleHealth::RateLimited(wait);
        }
        let reached = self
            .profiles
            .iter()
            .any(|check| check.connectivity == Connectivity::Online && check.error.is_none());
        if self.profiles.is_empty() || reached {
            CycleHealth::Healthy
        } else {
            CycleHealth::Unreachable
        }
    }
}

/// The wait before the next cycle. `failures` counts the unhealthy cycles in a row (this one
/// included); `unit_random` is in `[0, 1)`.
pub(crate) fn next_wait(
    config: &WatcherConfig,
    interval: Duration,
    health: CycleHealth,
    failures: u32,
    unit_random: f64,
) -> Duration {
    let interval = interval.max(config.min_interval);
    let backoff = || config.backoff.step(failures.saturating_sub(1));
    let step = match health {
        CycleHealth::Healthy => interval,
        CycleHealth::Unreachable => backoff(),
        // At least what OpenRouter asked for, and never a tight loop of 429s.
        CycleHealth::RateLimited(wait) => wait.max(backoff()),
    };
    let jittered = config.backoff.jittered(step, unit_random);
    match health {
        // Jitter never brings a retry before the server's Retry-After.
        CycleHealth::RateLimited(wait) => jittered.max(wait),
        _ => jittered,
    }
}

/// State the service shares with its watcher: cycles never overlap, settings changes wake it, the
/// times of the last and next check, and the notifier once a watcher runs.
pub(crate) struct WatchShared {
    pub(crate) config: WatcherConfig,
    pub(crate) cycle: tokio::sync::Mutex<()>,
    pub(crate) settings_changed: Notify,
    checks: Mutex<Checks>,
    notifier: Mutex<Option<Arc<dyn AlertNotifier>>>,
    power: Mutex<Arc<dyn PowerSource>>,
    /// Whether a window shows Keyward's state (set by the desktop shell; never, in the CLI).
    window_open: AtomicBool,
}

#[derive(Default, Clone, Copy)]
struct Checks {
    last: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
}

impl WatchShared {
    pub(crate) fn new(config: WatcherConfig) -> Self {
        WatchShared {
            config,
            cycle: tokio::sync::Mutex::new(()),
            settings_changed: Notify::new(),
            checks: Mutex::new(Checks::default()),
            notifier: Mutex::new(None),
            power: Mutex::new(Arc::new(SystemPower::default())),
            window_open: AtomicBool::new(false),
        }
    }

    pub(crate) fn last_check(&self) -> Option<DateTime<Utc>> {
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last
    }

    pub(crate) fn next_check(&self) -> Option<DateTime<Utc>> {
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next
    }

    pub(crate) fn set_last_check(&self, at: DateTime<Utc>) {
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last = Some(at);
    }

    fn set_next_check(&self, at: Option<DateTime<Utc>>) {
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next = at;
    }

    pub(crate) fn notifier(&self) -> Option<Arc<dyn AlertNotifier>> {
        self.notifier
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_notifier(&self, notifier: Option<Arc<dyn AlertNotifier>>) {
        *self.notifier.lock().unwrap_or_else(PoisonError::into_inner) = notifier;
    }

    fn on_battery(&self) -> bool {
        let power = Arc::clone(&self.power.lock().unwrap_or_else(PoisonError::into_inner));
        power.on_battery()
    }
}

/// The running watcher. Dropping it (or [`WatcherHandle::stop`]) stops the task.
pub struct WatcherHandle {
    wake: Arc<Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
    service: Keyward,
}

impl WatcherHandle {
    /// Runs a cycle now (after the current one, if one is running); the interval restarts from it.
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }

    /// Whether the task is still running (it only ends when stopped).
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Stops the watcher and waits until its task has ended.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // A cancelled task's result is only its cancellation.
            let _ = task.await;
        }
        tracing::info!("watcher stopped");
    }
}

impl Drop for WatcherHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let shared = self.service.watch_shared();
        shared.set_next_check(None);
        shared.set_notifier(None);
    }
}

impl std::fmt::Debug for WatcherHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatcherHandle")
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl Keyward {
    /// The desktop shell says whether its window is open; a sleeping watcher re-plans its next
    /// check at once (sooner when the window opens on battery).
    pub fn set_window_open(&self, open: bool) {
        let shared = self.watch_shared();
        if shared.window_open.swap(open, Ordering::SeqCst) != open {
            shared.settings_changed.notify_waiters();
        }
    }

    /// Where the watcher learns whether the computer runs on battery (the machine's own power
    /// supplies unless replaced, e.g. by a test).
    pub fn set_power_source(&self, power: Arc<dyn PowerSource>) {
        let shared = self.watch_shared();
        *shared.power.lock().unwrap_or_else(PoisonError::into_inner) = power;
        shared.settings_changed.notify_waiters();
    }

    /// Starts the background watcher (see the module docs): the first cycle runs at once. Keep the
    /// handle; dropping it stops the watcher. Must be called inside a tokio runtime.
    pub fn start_watcher(&self, notifier: Arc<dyn AlertNotifier>) -> WatcherHandle {
        let wake = Arc::new(Notify::new());
        self.watch_shared()
            .set_notifier(Some(Arc::clone(&notifier)));
        let task = tokio::spawn(watch_loop(self.clone(), notifier, Arc::clone(&wake)));
        tracing::info!("watcher started");
        WatcherHandle {
            wake,
            task: Some(task),
            service: self.clone(),
        }
    }
}

async fn watch_loop(service: Keyward, notifier: Arc<dyn AlertNotifier>, wake: Arc<Notify>) {
    let shared = service.watch_shared();
    let mut failures: u32 = 0;
    loop {
        let started = tokio::time::Instant::now();
        let (health, wake_after) = match service.watch_cycle().await {
            Ok(report) => {
                if !report.notifications.is_empty() {
                    notifier.notify(&report.notifications);
                }
                notifier.alerts_changed(report.snapshot.clone());
                let wake_after = report
                    .wake_at
                    .and_then(|at| (at - report.checked_at).to_std().ok());
                (report.health(), wake_after)
            }
            Err(error) => {
                tracing::warn!(kind = %error.kind(), error = %error, "watch cycle failed");
                (CycleHealth::Unreachable, None)
            }
        };
        failures = match health {
            CycleHealth::Healthy => 0,
            _ => failures.saturating_add(1),
        };
        if failures > 0 {
            tracing::debug!(failures, ?health, "watcher backing off");
        }
        let unit_random = rand::random::<f64>();
        // Sleep until due; a settings change recomputes the deadline from the same start.
        loop {
            let settings_changed = shared.settings_changed.notified();
            tokio::pin!(settings_changed);
            settings_changed.as_mut().enable();
            let settings = service.watch_settings();
            let interval = paced_interval(
                Duration::from_secs(u64::from(settings.interval_secs)),
                settings.slower_on_battery,
                settings.slower_on_battery && shared.on_battery(),
                shared.window_open.load(Ordering::SeqCst),
            );
            let mut wait = next_wait(&shared.config, interval, health, failures, unit_random);
            if health == CycleHealth::Healthy
                && let Some(held) = wake_after
            {
                // Never a tight loop, even if the end of a pause is a moment away.
                wait = wait.min(held.max(shared.config.min_interval));
            }
            let due = started + wait;
            let remaining = due.saturating_duration_since(tokio::time::Instant::now());
            shared.set_next_check(
                chrono::Duration::from_std(remaining)
                    .ok()
                    .and_then(|left| Utc::now().checked_add_signed(left)),
            );
            tokio::select! {
                () = tokio::time::sleep_until(due) => break,
                () = wake.notified() => break,
                () = &mut settings_changed => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WatcherConfig {
        WatcherConfig {
            min_interval: Duration::from_secs(10),
            backoff: Backoff::new(Duration::from_secs(15), Duration::from_secs(900))
                .with_jitter(0.1),
        }
    }

    #[test]
    fn healthy_cycles_wait_the_interval_never_below_the_minimum() {
        let c = config();
        let five_min = Duration::from_secs(300);
        assert_eq!(
            next_wait(&c, five_min, CycleHealth::Healthy, 0, 0.0),
            five_min
        );
        let jittered = next_wait(&c, five_min, CycleHealth::Healthy, 0, 0.999);
        assert!(jittered >= Duration::from_secs(270) && jittered < five_min);
        assert_eq!(
            next_wait(&c, Duration::from_secs(1), CycleHealth::Healthy, 0, 0.0),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn on_battery_with_no_window_checks_three_times_less_often_up_to_half_an_hour() {
        let min = |m: u64| Duration::from_secs(m * 60);
        // (interval, slower_on_battery, on_battery, window_open) → paced
        let cases = [
            (min(5), true, true, false, min(15)),
            (min(5), true, true, true, min(5)),
            (min(5), true, false, false, min(5)),
            (min(5), false, true, false, min(5)),
            (
                Duration::from_secs(10),
                true,
                true,
                false,
                Duration::from_secs(30),
            ),
            (min(20), true, true, false, min(30)),
            // Already longer than the cap: left as the person set it, never shortened.
            (min(60), true, true, false, min(60)),
        ];
        for (interval, slower, battery, window, expected) in cases {
            assert_eq!(
                paced_interval(interval, slower, battery, window),
                expected,
                "{interval:?} slower={slower} battery={battery} window={window}"
            );
        }
    }

    #[test]
    fn unreachable_backs_off_exponentially_to_the_cap() {
        let c = config();
        let waits: Vec<u64> = (1..=8)
            .map(|n| {
                next_wait(
                    &c,
                    Duration::from_secs(300),
                    CycleHealth::Unreachable,
                    n,
                    0.0,
                )
                .as_secs()
            })
            .collect();
        assert_eq!(waits, vec![15, 30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(
            next_wait(
                &c,
                Duration::from_secs(300),
                CycleHealth::Unreachable,
                u32::MAX,
                0.5
            )
            .as_secs(),
            855
        );
    }

    #[test]
    fn rate_limits_wait_at_least_retry_after_even_with_jitter() {
        let c = config();
        let wait = Duration::from_secs(40);
        for random in [0.0, 0.5, 0.999] {
            let planned = next_wait(
                &c,
                Duration::from_secs(300),
                CycleHealth::RateLimited(wait),
                1,
                random,
            );
            assert!(planned >= wait, "{planned:?}");
        }
        // A 429 without a wait still backs off instead of spinning.
        let planned = next_wait(
            &c,
            Duration::from_secs(300),
            CycleHealth::RateLimited(Duration::ZERO),
            3,
            0.0,
        );
        assert_eq!(planned, Duration::from_secs(60));
    }
}
