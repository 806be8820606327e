//! When to try a request again and how long to wait first — pure functions of the policy, the kind of
//! failure, the attempt count, the elapsed time, the server's hint and a random number, so every rule
//! is unit-tested without a clock or a network.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::backoff::Backoff;

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// The wait before each retry (a server's Retry-After may be longer than its cap).
    pub backoff: Backoff,
    /// No retry is started once waiting for it would pass this much time since the first attempt.
    /// A 429 asking for longer fails at once as `RateLimited` carrying the wait.
    pub max_elapsed: Duration,
    /// Retry 429 answers (honouring their Retry-After). When false a 429 is returned at once.
    pub retry_rate_limited: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            // Jitter 0.5: spread out, yet never sooner than half the step.
            backoff: Backoff::new(Duration::from_millis(300), Duration::from_secs(8))
                .with_jitter(0.5),
            max_elapsed: Duration::from_secs(30),
            retry_rate_limited: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, never a retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// Whether a request may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// GET, PATCH with absolute values, DELETE: a second copy changes nothing more than the first.
    Idempotent,
    /// POST /keys: a second copy that reaches the server creates a second key (with a secret nobody
    /// ever sees). Retried only when the first copy certainly did nothing: a 429 (rejected before any
    /// work) or a connection that was never established.
    CreatesSomething,
}

/// Why an attempt did not succeed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, with the server's wait if it sent one.
    RateLimited { hint: Option<Duration> },
    /// 5xx, with the server's wait if it sent one.
    Server { hint: Option<Duration> },
    /// The connection could not be opened: the request never left.
    ConnectFailed,
    /// Timed out or the connection dropped after the request may have been sent.
    NoAnswer,
}

impl Failure {
    fn may_have_reached_server(self) -> bool {
        matches!(self, Failure::Server { .. } | Failure::NoAnswer)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    RetryAfter(Duration),
    /// Stop. `wait` is what the next retry would have waited (for `RateLimited.retry_after`).
    GiveUp {
        wait: Option<Duration>,
    },
}

/// Decides the next step after failed attempt number `attempts_made` (1 = the first attempt).
pub fn plan(
    policy: &RetryPolicy,
    replay: Replay,
    failure: Failure,
    attempts_made: u32,
    elapsed: Duration,
    unit_random: f64,
) -> Plan {
    let backoff = policy
        .backoff
        .delay(attempts_made.saturating_sub(1), unit_random);
    let wait = match failure {
        Failure::RateLimited { hint } | Failure::Server { hint } => hint.unwrap_or(backoff),
        Failure::ConnectFailed | Failure::NoAnswer => backoff,
    };
    let allowed = match failure {
        Failure::RateLimited { .. } => policy.retry_rate_limited,
        _ => replay == Replay::Idempotent || !failure.may_have_reached_server(),
    };
    if !allowed || attempts_made >= policy.max_attempts {
        return Plan::GiveUp { wait: Some(wait) };
    }
    if elapsed.saturating_add(wait) >= policy.max_elapsed {
        return Plan::GiveUp { wait: Some(wait) };
    }
    Plan::RetryAfter(wait)
}

/// The server's requested wait: `retry-after-ms` first (milliseconds), then `Retry-After` (seconds,
/// fractions accepted, or an HTTP-date relative to `now`). Unreadable or negative values are ignored.
pub fn server_hint(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    // Capped at a day, a date too: a garbled header must neither overflow a Duration nor put the
    // watcher to sleep for years; the total time bound turns any long wait into an immediate
    // `RateLimited` anyway.
    const ONE_DAY: f64 = 86_400.0;
    if let Some(ms) = text("retry-after-ms").and_then(parse_non_negative) {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(ONE_DAY)));
    }
    let retry_after = text(RETRY_AFTER.as_str())?;
    if let Some(seconds) = parse_non_negative(retry_after) {
        return Some(Duration::from_secs_f64(seconds.min(ONE_DAY)));
    }
    let at = httpdate::parse_http_date(retry_after).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs_f64(ONE_DAY)),
    )
}

fn parse_non_negative(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(1)),
            max_elapsed: Duration::from_secs(10),
            retry_rate_limited: true,
        }
    }

    #[test]
    fn the_default_waits_half_to_all_of_a_doubling_step() {
        let p = RetryPolicy::default();
        let retry = |n, random| {
            plan(
                &p,
                Replay::Idempotent,
                Failure::ConnectFailed,
                n,
                Duration::ZERO,
                random,
            )
        };
        assert_eq!(retry(1, 0.0), Plan::RetryAfter(Duration::from_millis(300)));
        assert_eq!(retry(3, 0.0), Plan::RetryAfter(Duration::from_millis(1200)));
        let Plan::RetryAfter(shortest) = retry(3, 0.999_999) else {
            panic!("no retry");
        };
        assert!(shortest >= Duration::from_millis(600), "{shortest:?}");
        assert_eq!(retry(5, 0.0), Plan::RetryAfter(Duration::from_millis(4800)));
        assert!(matches!(retry(6, 0.0), Plan::GiveUp { .. }));
    }

    #[test]
    fn hint_wins_over_backoff() {
        let p = policy();
        let hint = Some(Duration::from_millis(1500));
        assert_eq!(
            plan(
                &p,
                Replay::Idempotent,
                Failure::RateLimited { hint },
                1,
                Duration::ZERO,
                0.5
            ),
            Plan::RetryAfter(Duration::from_millis(1500))
        );
        assert_eq!(
            plan(
                &p,
                Replay::Idempotent,
                Failure::Server { hint: None },
                2,
                Duration::ZERO,
                0.5
            ),
            Plan::RetryAfter(Duration::from_millis(200))
        );
    }

    #[test]
    fn budget_and_attempts_bound_retries() {
        let p = policy();
        let long = Some(Duration::from_secs(60));
        assert_eq!(
            plan(
                &p,
                Replay::Idempotent,
                Failure::RateLimited { hint: long },
                1,
                Duration::ZERO,
                0.5
            ),
            Plan::GiveUp { wait: long }
        );
        assert_eq!(
            plan(
                &p,
                Replay::Idempotent,
                Failure::Server { hint: None },
                1,
                Duration::from_millis(9950),
                0.5
            ),
            Plan::GiveUp {
                wait: Some(Duration::from_millis(100))
            }
        );
        assert!(matches!(
            plan(
                &p,
                Replay::Idempotent,
                Failure::NoAnswer,
                5,
                Duration::ZERO,
                0.5
            ),
            Plan::GiveUp { .. }
        ));
        let no_429 = RetryPolicy {
            retry_rate_limited: false,
            ..policy()
        };
        assert!(matches!(
            plan(
                &no_429,
                Replay::Idempotent,
                Failure::RateLimited { hint: None },
                1,
                Duration::ZERO,
                0.5
            ),
            Plan::GiveUp { .. }
        ));
    }

    #[test]
    fn create_is_retried_only_when_nothing_happened() {
        let p = policy();
        let create = |failure| {
            plan(
                &p,
                Replay::CreatesSomething,
                failure,
                1,
                Duration::ZERO,
                0.5,
            )
        };
        assert!(matches!(
            create(Failure::RateLimited { hint: None }),
            Plan::RetryAfter(_)
        ));
        assert!(matches!(
            create(Failure::ConnectFailed),
            Plan::RetryAfter(_)
        ));
        assert!(matches!(
            create(Failure::Server { hint: None }),
            Plan::GiveUp { .. }
        ));
        assert!(matches!(create(Failure::NoAnswer), Plan::GiveUp { .. }));
    }

    #[test]
    fn none_policy_never_retries() {
        let p = RetryPolicy::none();
        assert!(matches!(
            plan(
                &p,
                Replay::Idempotent,
                Failure::ConnectFailed,
                1,
                Duration::ZERO,
                0.5
            ),
            Plan::GiveUp { .. }
        ));
    }

    #[test]
    fn header_hints() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut headers = HeaderMap::new();
        assert_eq!(server_hint(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(server_hint(&headers, now), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(server_hint(&headers, now), Some(Duration::from_millis(500)));
        headers.insert("retry-after-ms", HeaderValue::from_static("200"));
        assert_eq!(server_hint(&headers, now), Some(Duration::from_millis(200)));
        headers.insert("retry-after-ms", HeaderValue::from_static("-5"));
        assert_eq!(server_hint(&headers, now), Some(Duration::from_millis(500)));

        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        let mut dated = HeaderMap::new();
        dated.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        assert_eq!(server_hint(&dated, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        dated.insert(RETRY_AFTER, HeaderValue::from_str(&past).unwrap());
        assert_eq!(server_hint(&dated, now), Some(Duration::ZERO));
        dated.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(server_hint(&dated, now), None);
        // Found by fuzzing: a far date was not capped like the numbers, and the watcher slept
        // until it (decades) after one such 429.
        for far in [
            "Wed, 21 Oct 2099 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            dated.insert(RETRY_AFTER, HeaderValue::from_static(far));
            assert_eq!(server_hint(&dated, now), Some(Duration::from_secs(86_400)));
        }
    }
}
