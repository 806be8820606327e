//! Automatic recovery: when a refresh of a profile ends offline or rate limited, one background task
//! per profile tries again — with a growing, jittered delay while offline, at `retry_at` when rate
//! limited — until the profile is back online, is removed, or an explicit refresh supersedes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::{Inner, Keyward};
use crate::backoff::Backoff;
use crate::ipc::Connectivity;

/// The pacing of the background retries of an unreachable profile: 2 s, doubling up to a minute,
/// each wait 80–100 % of its step so many running apps don't all come back in lockstep after an
/// outage.
pub const DEFAULT_RECOVERY: Backoff = Backoff {
    initial: Duration::from_secs(2),
    max: Duration::from_secs(60),
    multiplier: 2.0,
    jitter: 0.2,
};

/// The pending retry tasks, at most one per profile. Dropping it (with the service) aborts them.
#[derive(Default)]
pub(super) struct Recoveries {
    tasks: Mutex<HashMap<String, RecoveryTask>>,
    next_generation: AtomicU64,
}

struct RecoveryTask {
    /// Tells a task that was replaced (but not yet stopped) that its results no longer count.
    generation: u64,
    handle: tokio::task::AbortHandle,
}

impl Recoveries {
    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, RecoveryTask>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_current(&self, profile_id: &str, generation: u64) -> bool {
        self.tasks()
            .get(profile_id)
            .is_some_and(|task| task.generation == generation)
    }

    /// Forgets a finished task, unless another has replaced it meanwhile.
    fn finish(&self, profile_id: &str, generation: u64) {
        let mut tasks = self.tasks();
        if tasks
            .get(profile_id)
            .is_some_and(|task| task.generation == generation)
        {
            tasks.remove(profile_id);
        }
    }
}

impl Drop for Recoveries {
    fn drop(&mut self) {
        for (_, task) in self.tasks().drain() {
            task.handle.abort();
        }
    }
}

/// What the next background retry of a profile will be.
pub(super) struct PlannedRetry {
    /// Failed retries so far (the backoff exponent of the next wait).
    pub attempt: u32,
    pub wait: Duration,
}

impl Keyward {
    /// Whether a background retry of `profile_id` is pending or running.
    pub fn recovery_pending(&self, profile_id: &str) -> bool {
        self.inner.recoveries.tasks().contains_key(profile_id)
    }

    /// Stops the background retries of a profile (an explicit refresh, removal, the sandbox stopping).
    pub(super) fn cancel_recovery(&self, profile_id: &str) {
        if let Some(task) = self.inner.recoveries.tasks().remove(profile_id) {
            task.handle.abort();
            tracing::debug!(profile = %profile_id, "background retry cancelled");
        }
    }

    /// When to retry after `failure`, or `None` when the service doesn't recover by itself.
    /// Rate limited: at `retry_at`. Offline (or a 429 that asks for no wait, so it never spins):
    /// the policy's backoff for `attempt`.
    pub(super) fn plan_retry(
        &self,
        connectivity: &Connectivity,
        attempt: u32,
    ) -> Option<PlannedRetry> {
        let policy = self.inner.recovery.as_ref()?;
        let backoff = policy.delay(attempt, rand::random::<f64>());
        let wait = match connectivity {
            Connectivity::Online => return None,
            Connectivity::RateLimited { retry_at, .. } => (*retry_at - self.now())
                .to_std()
                .ok()
                .filter(|wait| !wait.is_zero())
                .unwrap_or(backoff),
            Connectivity::Offline { .. } => backoff,
        };
        Some(PlannedRetry { attempt, wait })
    }

    /// Starts (or restarts) the one background retry loop of `profile_id`.
    pub(super) fn schedule_recovery(&self, profile_id: &str, first: PlannedRetry) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(profile = %profile_id, "no async runtime; no background retry");
            return;
        };
        let recoveries = &self.inner.recoveries;
        let generation = recoveries.next_generation.fetch_add(1, Ordering::Relaxed);
        // Spawned and registered under the lock, so the task never finds itself missing.
        let mut tasks = recoveries.tasks();
        let task = runtime.spawn(recovery_loop(
            Arc::downgrade(&self.inner),
            profile_id.to_owned(),
            generation,
            first,
        ));
        let replaced = tasks.insert(
            profile_id.to_owned(),
            RecoveryTask {
                generation,
                handle: task.abort_handle(),
            },
        );
        if let Some(replaced) = replaced {
            replaced.handle.abort();
        }
        tracing::debug!(profile = %profile_id, "background retry scheduled");
    }
}

/// Retries until the profile is back online (or the retry is cancelled, superseded, or its profile
/// gone). Holds the service only weakly between attempts, so a dropped service ends it.
async fn recovery_loop(
    service: Weak<Inner>,
    profile_id: String,
    generation: u64,
    mut next: PlannedRetry,
) {
    loop {
        tokio::time::sleep(next.wait).await;
        let Some(inner) = service.upgrade() else {
            return;
        };
        let service = Keyward { inner };
        let recoveries = &service.inner.recoveries;
        if !recoveries.is_current(&profile_id, generation) {
            return;
        }
        let profile = match service.require_profile(&profile_id) {
            Ok(profile) => profile,
            Err(error) => {
                tracing::debug!(profile = %profile_id, error = %error, "profile gone; retry ends");
                recoveries.finish(&profile_id, generation);
                return;
            }
        };
        tracing::debug!(profile = %profile_id, attempt = next.attempt, "retrying the key list");
        let outcome = service.fetch_into_cache(&profile).await;
        if !recoveries.is_current(&profile_id, generation) {
            return;
        }
        let failure = match outcome {
            Ok(None) => {
                recoveries.finish(&profile_id, generation);
                service.refresh_succeeded(&profile_id);
                tracing::info!(profile = %profile_id, "OpenRouter is reachable again");
                return;
            }
            Ok(Some(failure)) => failure,
            Err(error) => {
                // Not an outage (e.g. the key was revoked): retrying won't help; the next explicit
                // refresh shows the error.
                tracing::warn!(profile = %profile_id, kind = %error.kind(), "background retry stopped");
                recoveries.finish(&profile_id, generation);
                service.no_retry_pending(&profile_id);
                return;
            }
        };
        match service.refresh_failed_with_retry(&profile_id, &failure, next.attempt + 1) {
            Some(planned) => next = planned,
            None => {
                recoveries.finish(&profile_id, generation);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grows_to_a_minute_and_jitter_only_shortens() {
        let exact = DEFAULT_RECOVERY.with_jitter(0.0);
        let steps: Vec<u64> = (0..8).map(|n| exact.delay(n, 0.7).as_secs()).collect();
        assert_eq!(steps, vec![2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(exact.delay(u32::MAX, 0.5), Duration::from_secs(60));
        for attempt in 0..10 {
            let step = exact.delay(attempt, 0.0);
            let low = DEFAULT_RECOVERY.delay(attempt, 0.999_999);
            let high = DEFAULT_RECOVERY.delay(attempt, 0.0);
            assert_eq!(high, step);
            assert!(
                low >= step.mul_f64(0.79) && low <= step,
                "{low:?} vs {step:?}"
            );
        }
    }
}
