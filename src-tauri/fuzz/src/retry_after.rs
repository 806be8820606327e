//! Retry-After. Input: `retry-after-ms`, `0xFF`, `Retry-After`, `0xFF`, 8 bytes of "now" (seconds
//! since 1970, below year 10000), then a byte of attempts and one of elapsed seconds. Properties:
//! the wait is at most a day whatever the header says, and a retry plan never waits past its
//! policy's total time.

use std::time::{Duration, UNIX_EPOCH};

use keyward_core::api::retry::{Failure, Plan, Replay, RetryPolicy, plan, server_hint};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use crate::split;

const ONE_DAY: Duration = Duration::from_secs(86_400);

pub fn retry_after(input: &[u8]) {
    let (ms, rest) = split(input);
    let (seconds, rest) = split(rest);
    let mut headers = HeaderMap::new();
    if !ms.is_empty()
        && let Ok(value) = HeaderValue::from_bytes(ms)
    {
        headers.insert("retry-after-ms", value);
    }
    if !seconds.is_empty()
        && let Ok(value) = HeaderValue::from_bytes(seconds)
    {
        headers.insert(RETRY_AFTER, value);
    }
    let mut now_bytes = [0u8; 8];
    let (now_part, rest) = rest.split_at(rest.len().min(8));
    now_bytes[..now_part.len()].copy_from_slice(now_part);
    // Up to the year 9999, where HTTP dates end.
    let now = UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(now_bytes) % 253_402_300_800);

    let hint = server_hint(&headers, now);
    if let Some(wait) = hint {
        assert!(wait <= ONE_DAY, "{wait:?} from {headers:?}");
    }

    let attempts = u32::from(rest.first().copied().unwrap_or(1)).max(1);
    let elapsed = Duration::from_secs(u64::from(rest.get(1).copied().unwrap_or(0)));
    let unit_random = f64::from(rest.get(2).copied().unwrap_or(0)) / 256.0;
    let policy = RetryPolicy::default();
    for failure in [
        Failure::RateLimited { hint },
        Failure::Server { hint },
        Failure::NoAnswer,
        Failure::ConnectFailed,
    ] {
        for replay in [Replay::Idempotent, Replay::CreatesSomething] {
            match plan(&policy, replay, failure, attempts, elapsed, unit_random) {
                Plan::RetryAfter(wait) => {
                    assert!(attempts < policy.max_attempts);
                    assert!(
                        elapsed + wait < policy.max_elapsed,
                        "{wait:?} after {elapsed:?}"
                    );
                    if replay == Replay::CreatesSomething {
                        // A create is repeated only when the first copy certainly did nothing.
                        assert!(
                            matches!(
                                failure,
                                Failure::RateLimited { .. } | Failure::ConnectFailed
                            ),
                            "{failure:?}"
                        );
                    }
                }
                Plan::GiveUp { .. } => {}
            }
        }
    }
}
