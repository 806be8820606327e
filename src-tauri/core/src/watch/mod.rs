//! The background watcher: one tokio task that runs [`Keyward::watch_cycle`] on the interval of the
//! watch settings (re-read every time it goes to sleep, so a change applies at once), backs off
//! exponentially while OpenRouter can't be reached, waits out rate limits, and hands notifications
//! and the alert list to an [`AlertNotifier`]. Between cycles it sleeps on a timer: idle costs nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::service::Keyward;
use crate::views::{AppError, Connectivity};

pub use crate::alerts::{
    AlertKind, AlertSeverity, AlertView, AlertsSnapshot, Notification, NotifyKinds, QuietHours,
    WatchSettings,
};
pub use crate::usage::{DailySpend, KeySpend, SpendForecast, UsageHistory, UsageOverview};

/// How the watcher paces itself, beyond the interval of the watch settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WatcherConfig {
    /// The shortest interval honoured, whatever the settings say (tests go far below the UI's 10 s).
    pub min_interval: Duration,
    /// The wait after the first cycle that found OpenRouter unreachable; doubles with each one after.
    pub backoff_initial: Duration,
    /// No backoff wait is longer than this.
    pub backoff_max: Duration,
    /// Each wait is shortened by up to this share at random (0.1 = 90–100 %), so many running apps
    /// don't hit OpenRouter in lockstep.
    pub jitter: f64,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            min_interval: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(15),
            backoff_max: Duration::from_secs(15 * 60),
            jitter: 0.1,
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
    let backoff = || {
        let exponent = i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let cap = config.backoff_max.as_secs_f64();
        let step = (config.backoff_initial.as_secs_f64() * 2f64.powi(exponent)).min(cap);
        Duration::from_secs_f64(if step.is_finite() { step.max(0.0) } else { cap })
    };
    let step = match health {
        CycleHealth::Healthy => interval,
        CycleHealth::Unreachable => backoff(),
        // At least what OpenRouter asked for, and never a tight loop of 429s.
        CycleHealth::RateLimited(wait) => wait.max(backoff()),
    };
    let cut = config.jitter.clamp(0.0, 0.5) * unit_random.clamp(0.0, 1.0);
    let jittered = step.mul_f64(1.0 - cut);
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
                tracing::warn!(kind = error.kind(), error = %error, "watch cycle failed");
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
            let interval = Duration::from_secs(u64::from(service.watch_settings().interval_secs));
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
            backoff_initial: Duration::from_secs(15),
            backoff_max: Duration::from_secs(900),
            jitter: 0.1,
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
