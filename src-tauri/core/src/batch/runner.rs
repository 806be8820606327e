//! The batch runner, independent of what is done to a key: it runs `apply` once per key with at
//! most `concurrency` keys in flight, waits out rate limits (a 429 is retried after the server's
//! wait, however long the storm, up to `max_rate_limit_wait` per key; it never counts as a
//! failure), stops starting keys when cancelled (those are "not run"), and reports each finished
//! key as it ends. Every other error is the key's failure: the client has already retried 5xx and
//! network errors by its own policy.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;

use super::{BatchKeyResult, KeyOutcome};
use crate::Error;
use crate::error::AppError;

/// A run's cancel switch; cheap to clone, shared with whoever may cancel.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once the flag is set (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    pub concurrency: usize,
    /// The wait after a 429 that names none.
    pub default_rate_limit_wait: Duration,
    /// The most one key waits out rate limits in total before it is reported failed (a storm of
    /// hours is an outage, not a rate limit).
    pub max_rate_limit_wait: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            concurrency: super::DEFAULT_CONCURRENCY as usize,
            default_rate_limit_wait: Duration::from_secs(1),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// What `apply` reports for a key it brought to the requested state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub note: Option<String>,
}

/// One key to run: its hash and (for the result list) its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub hash: String,
    pub name: Option<String>,
}

/// Runs `apply` over `items` (already deduplicated); `on_result` sees each key as it finishes
/// (not-run keys included). Returns one result per item, in the order of `items`.
pub async fn run<F, Fut>(
    items: Vec<Item>,
    config: &RunnerConfig,
    cancel: &CancelFlag,
    apply: F,
    mut on_result: impl FnMut(&BatchKeyResult),
) -> Vec<BatchKeyResult>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Applied, Error>>,
{
    let count = items.len();
    let apply = &apply;
    let mut results: Vec<Option<BatchKeyResult>> = vec![None; count];
    let mut finished = futures::stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| async move { (index, run_one(item, config, cancel, apply).await) })
        .buffer_unordered(config.concurrency.max(1));
    while let Some((index, result)) = finished.next().await {
        on_result(&result);
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(result);
        }
    }
    results.into_iter().flatten().collect()
}

async fn run_one<F, Fut>(
    item: Item,
    config: &RunnerConfig,
    cancel: &CancelFlag,
    apply: &F,
) -> BatchKeyResult
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Applied, Error>>,
{
    let mut result = BatchKeyResult {
        hash: item.hash.clone(),
        name: item.name,
        outcome: KeyOutcome::NotRun,
        error: None,
        note: None,
        rate_limited: 0,
    };
    let mut waited = Duration::ZERO;
    loop {
        if cancel.is_cancelled() {
            return result;
        }
        match apply(item.hash.clone()).await {
            Ok(applied) => {
                result.outcome = KeyOutcome::Done;
                result.note = applied.note;
                return result;
            }
            // Rejected before any work: the key is untouched, so sending it again is safe.
            Err(Error::RateLimited {
                retry_after,
                message,
            }) => {
                let wait = retry_after.unwrap_or(config.default_rate_limit_wait);
                if waited + wait > config.max_rate_limit_wait {
                    let error = Error::RateLimited {
                        retry_after,
                        message,
                    };
                    result.outcome = KeyOutcome::Failed;
                    result.error = Some(AppError::from(&error));
                    result.note = Some(format!(
                        "still rate limited after waiting {} s",
                        waited.as_secs()
                    ));
                    return result;
                }
                waited += wait;
                result.rate_limited += 1;
                tracing::debug!(key = %item.hash, wait_ms = wait.as_millis() as u64, "rate limited; waiting");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = cancel.cancelled() => return result,
                }
            }
            Err(error) => {
                tracing::warn!(key = %item.hash, kind = %error.kind(), "batch operation failed for a key");
                result.outcome = KeyOutcome::Failed;
                result.error = Some(AppError::from(&error));
                return result;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                hash: format!("k{i}"),
                name: None,
            })
            .collect()
    }

    fn fast() -> RunnerConfig {
        RunnerConfig {
            concurrency: 4,
            default_rate_limit_wait: Duration::from_millis(1),
            max_rate_limit_wait: Duration::from_millis(50),
        }
    }

    fn limited(ms: u64) -> Error {
        Error::RateLimited {
            retry_after: Some(Duration::from_millis(ms)),
            message: "slow down".into(),
        }
    }

    #[tokio::test]
    async fn rate_limits_wait_and_retry_while_other_errors_fail() {
        let calls = Mutex::new(HashMap::<String, u32>::new());
        let apply = |hash: String| {
            let n = {
                let mut calls = calls.lock().unwrap();
                let n = calls.entry(hash.clone()).or_default();
                *n += 1;
                *n
            };
            async move {
                match (hash.as_str(), n) {
                    ("k1", 1..=3) => Err(limited(1)),
                    ("k2", _) => Err(Error::Server {
                        status: 502,
                        message: "bad gateway".into(),
                    }),
                    _ => Ok(Applied::default()),
                }
            }
        };
        let mut seen = 0;
        let results = run(items(4), &fast(), &CancelFlag::default(), apply, |_| {
            seen += 1
        })
        .await;
        assert_eq!(seen, 4);
        let outcomes: Vec<_> = results.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                KeyOutcome::Done,
                KeyOutcome::Done,
                KeyOutcome::Failed,
                KeyOutcome::Done
            ]
        );
        assert_eq!(results[1].rate_limited, 3);
        assert_eq!(calls.lock().unwrap()["k2"], 1, "a 5xx is not retried here");
    }

    #[tokio::test]
    async fn an_endless_storm_fails_the_key_after_the_cap() {
        let apply = |_: String| async { Err::<Applied, _>(limited(20)) };
        let results = run(items(1), &fast(), &CancelFlag::default(), apply, |_| {}).await;
        assert_eq!(results[0].outcome, KeyOutcome::Failed);
        assert_eq!(results[0].rate_limited, 2);
    }

    #[tokio::test]
    async fn cancel_leaves_unstarted_keys_not_run() {
        let cancel = CancelFlag::default();
        let config = RunnerConfig {
            concurrency: 1,
            ..fast()
        };
        let started = Mutex::new(0);
        let apply = |_: String| {
            let mut started = started.lock().unwrap();
            *started += 1;
            if *started == 3 {
                cancel.cancel();
            }
            async { Ok(Applied::default()) }
        };
        let results = run(items(10), &config, &cancel, apply, |_| {}).await;
        let done = results
            .iter()
            .filter(|r| r.outcome == KeyOutcome::Done)
            .count();
        assert_eq!(done, 3);
        assert_eq!(results.len(), 10);
        assert!(results[3..].iter().all(|r| r.outcome == KeyOutcome::NotRun));
    }

    #[tokio::test]
    async fn cancel_interrupts_a_rate_limit_wait() {
        let cancel = CancelFlag::default();
        let config = RunnerConfig {
            max_rate_limit_wait: Duration::from_secs(3600),
            ..fast()
        };
        let apply = |_: String| {
            cancel.cancel();
            async { Err::<Applied, _>(limited(3_600_000)) }
        };
        let results = run(items(1), &config, &cancel, apply, |_| {}).await;
        assert_eq!(results[0].outcome, KeyOutcome::NotRun);
    }
}
