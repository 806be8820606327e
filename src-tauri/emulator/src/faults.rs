//! Fault injection for `/api/v1` (latency, 429, 5xx, timeouts, dropped connections, slow and cut
//! bodies — those two in `body_faults`) with counts of what was injected, and the log of API
//! requests that tests read back.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::body_faults::{CutBodyFault, SlowBodyFault};
use crate::state::wire_time;

/// Longest `latency_ms` accepted (10 minutes): keeps arithmetic far from overflow.
const MAX_LATENCY_MS: u64 = 600_000;
/// Longest 429 storm accepted (one day).
const MAX_STORM_SECONDS: f64 = 86_400.0;
/// How long a `timeout` fault holds a request before closing the connection, unless configured.
pub const DEFAULT_TIMEOUT_HOLD_SECONDS: u64 = 300;
/// The request log keeps this many newest entries.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;
/// RNG seed for `probability` faults when the configuration gives none.
const DEFAULT_FAULT_SEED: u64 = 0x5eed;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFault {
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub probability: f64,
    #[serde(default)]
    pub for_seconds: f64,
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u64,
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

fn default_retry_after() -> u64 {
    1
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerErrorFault {
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub probability: f64,
    #[serde(default = "default_status")]
    pub status: u16,
}

fn default_status() -> u16 {
    500
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutFault {
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub probability: f64,
    /// How long the request is held before the connection is closed (default 300 s).
    #[serde(default)]
    pub hold_seconds: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DropFault {
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub probability: f64,
}

/// The body of `POST /_emulator/faults` (and of `GET`, with counters as they stand).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub rate_limit: Option<RateLimitFault>,
    #[serde(default)]
    pub server_error: Option<ServerErrorFault>,
    #[serde(default)]
    pub timeout: Option<TimeoutFault>,
    #[serde(default)]
    pub drop: Option<DropFault>,
    /// After the handler ran: the body trickles in chunks (`body_faults`).
    #[serde(default)]
    pub slow_body: Option<SlowBodyFault>,
    /// After the handler ran: half the body, then the connection closes (`body_faults`).
    #[serde(default)]
    pub cut_body: Option<CutBodyFault>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Seed of the RNG behind every `probability` (default fixed, so runs repeat).
    #[serde(default)]
    pub seed: Option<u64>,
}

fn check_probability(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "\"{name}.probability\" must be a number between 0 and 1"
        ))
    }
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.latency_ms.is_some_and(|ms| ms > MAX_LATENCY_MS) {
            return Err(format!("\"latency_ms\" must be at most {MAX_LATENCY_MS}"));
        }
        if let Some(rate) = &self.rate_limit {
            check_probability("rate_limit", rate.probability)?;
            if !(rate.for_seconds.is_finite()
                && (0.0..=MAX_STORM_SECONDS).contains(&rate.for_seconds))
            {
                return Err(format!(
                    "\"rate_limit.for_seconds\" must be a number between 0 and {MAX_STORM_SECONDS}"
                ));
            }
        }
        if let Some(server) = &self.server_error {
            check_probability("server_error", server.probability)?;
            if !(500..=599).contains(&server.status) {
                return Err("\"server_error.status\" must be between 500 and 599".to_owned());
            }
        }
        if let Some(timeout) = &self.timeout {
            check_probability("timeout", timeout.probability)?;
            if timeout.hold_seconds.is_some_and(|seconds| seconds > 3_600) {
                return Err("\"timeout.hold_seconds\" must be at most 3600".to_owned());
            }
        }
        if let Some(drop) = &self.drop {
            check_probability("drop", drop.probability)?;
        }
        if let Some(slow) = &self.slow_body {
            check_probability("slow_body", slow.probability)?;
            slow.validate()?;
        }
        if let Some(cut) = &self.cut_body {
            check_probability("cut_body", cut.probability)?;
        }
        Ok(())
    }
}

/// What happens to one API request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Drop,
    Timeout {
        hold: Duration,
    },
    RateLimit {
        retry_after_seconds: u64,
        retry_after_ms: Option<u64>,
    },
    ServerError {
        status: u16,
    },
    /// The handler runs; its body is sent in `chunks` pieces, `delay` apart.
    SlowBody {
        chunks: u32,
        delay: Duration,
    },
    /// The handler runs; half its body is sent, then the connection closes.
    CutBody,
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Drop => "drop",
            Self::Timeout { .. } => "timeout",
            Self::RateLimit { .. } => "rate_limit",
            Self::ServerError { .. } => "server_error",
            Self::SlowBody { .. } => "slow_body",
            Self::CutBody => "cut_body",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    pub latency: Option<Duration>,
    pub fault: Option<Fault>,
}

/// The live fault configuration: counters count down, the storm has an end, the RNG advances.
#[derive(Debug)]
pub struct FaultState {
    config: FaultConfig,
    storm_until: Option<Instant>,
    rng: StdRng,
    /// `--latency-ms`: applies whenever the configuration sets no `latency_ms` of its own.
    baseline_latency: Option<Duration>,
    /// API requests decided, and faults injected by kind, since start or the last reset (a new
    /// configuration keeps counting: a run may change its faults midway).
    requests: u64,
    injected: BTreeMap<&'static str, u64>,
}

/// Rolls a `next`/`probability` pair: a pending `next` is consumed first.
fn roll(next: &mut u64, probability: f64, rng: &mut StdRng) -> bool {
    if *next > 0 {
        *next -= 1;
        return true;
    }
    probability > 0.0 && rng.random::<f64>() < probability
}

impl FaultState {
    pub fn new(baseline_latency: Option<Duration>) -> Self {
        Self {
            config: FaultConfig::default(),
            storm_until: None,
            rng: StdRng::seed_from_u64(DEFAULT_FAULT_SEED),
            baseline_latency,
            requests: 0,
            injected: BTreeMap::new(),
        }
    }

    /// Zeroes the counts of requests and injected faults.
    pub fn reset_counts(&mut self) {
        self.requests = 0;
        self.injected.clear();
    }

    /// Replaces the configuration (already validated).
    pub fn configure(&mut self, config: FaultConfig, now: Instant) {
        self.storm_until = config
            .rate_limit
            .as_ref()
            .filter(|rate| rate.for_seconds > 0.0)
            .and_then(|rate| Duration::try_from_secs_f64(rate.for_seconds).ok())
            .and_then(|storm| now.checked_add(storm));
        self.rng = StdRng::seed_from_u64(config.seed.unwrap_or(DEFAULT_FAULT_SEED));
        self.config = config;
    }

    pub fn clear(&mut self) {
        self.configure(FaultConfig::default(), Instant::now());
    }

    /// The configuration as it stands: `next` counters show what is left, `for_seconds` what is
    /// left of the storm.
    pub fn describe(&self, now: Instant) -> Value {
        let mut config = self.config.clone();
        if let Some(rate) = config.rate_limit.as_mut() {
            rate.for_seconds = self
                .storm_until
                .map(|until| until.saturating_duration_since(now).as_secs_f64())
                .unwrap_or(0.0);
        }
        let mut value = serde_json::to_value(&config).unwrap_or_else(|_| json!({}));
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "baseline_latency_ms".into(),
                json!(
                    self.baseline_latency
                        .map(|latency| latency.as_millis() as u64)
                ),
            );
            map.insert("requests".into(), json!(self.requests));
            map.insert("injected".into(), json!(self.injected));
        }
        value
    }

    /// Decides the fate of one API request to `path`.
    pub fn decide(&mut self, path: &str, now: Instant) -> Decision {
        let applies = self
            .config
            .path_prefix
            .as_deref()
            .is_none_or(|prefix| path.starts_with(prefix));
        let latency = match self.config.latency_ms {
            Some(ms) if applies => Some(Duration::from_millis(ms)),
            _ => self.baseline_latency,
        }
        .filter(|latency| !latency.is_zero());
        if !applies {
            return Decision {
                latency,
                fault: None,
            };
        }
        let rng = &mut self.rng;
        let fault = if let Some(drop) = self.config.drop.as_mut()
            && roll(&mut drop.next, drop.probability, rng)
        {
            Some(Fault::Drop)
        } else if let Some(timeout) = self.config.timeout.as_mut()
            && roll(&mut timeout.next, timeout.probability, rng)
        {
            Some(Fault::Timeout {
                hold: Duration::from_secs(
                    timeout.hold_seconds.unwrap_or(DEFAULT_TIMEOUT_HOLD_SECONDS),
                ),
            })
        } else if let Some(rate) = self.config.rate_limit.as_mut()
            && (self.storm_until.is_some_and(|until| now < until)
                || roll(&mut rate.next, rate.probability, rng))
        {
            Some(Fault::RateLimit {
                retry_after_seconds: rate.retry_after_seconds,
                retry_after_ms: rate.retry_after_ms,
            })
        } else if let Some(server) = self.config.server_error.as_mut()
            && roll(&mut server.next, server.probability, rng)
        {
            Some(Fault::ServerError {
                status: server.status,
            })
        } else if let Some(slow) = self.config.slow_body.as_mut()
            && roll(&mut slow.next, slow.probability, rng)
        {
            Some(Fault::SlowBody {
                chunks: slow.chunks,
                delay: Duration::from_millis(slow.chunk_delay_ms),
            })
        } else if let Some(cut) = self.config.cut_body.as_mut()
            && roll(&mut cut.next, cut.probability, rng)
        {
            Some(Fault::CutBody)
        } else {
            None
        };
        self.requests += 1;
        if let Some(fault) = &fault {
            *self.injected.entry(fault.kind()).or_default() += 1;
        }
        Decision { latency, fault }
    }
}

/// One line of the request log. Header values are never recorded.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    pub at: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `null` when no response was sent (timeout, drop).
    pub status: Option<u16>,
    pub fault: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
}

impl RequestLog {
    pub fn push(&mut self, entry: LoggedRequest) {
        if self.entries.len() >= REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn to_json(&self) -> Value {
        json!({"requests": self.entries})
    }
}

/// Paths and queries longer than this are cut in the log (bounded memory).
const LOGGED_TEXT_LIMIT: usize = 2048;

fn clipped(text: &str) -> String {
    match text.char_indices().nth(LOGGED_TEXT_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

pub fn log_entry(
    at: DateTime<Utc>,
    method: &str,
    path: &str,
    query: Option<&str>,
    status: Option<u16>,
    fault: Option<&'static str>,
) -> LoggedRequest {
    LoggedRequest {
        at: wire_time(at),
        method: method.to_owned(),
        path: clipped(path),
        query: query.map(clipped),
        status,
        fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_counters_apply_in_precedence_order_without_consuming_lower_ones() {
        let mut state = FaultState::new(None);
        let config: FaultConfig = serde_json::from_value(json!({
            "rate_limit": {"next": 1},
            "server_error": {"next": 2, "status": 503},
            "drop": {"next": 1}
        }))
        .unwrap();
        state.configure(config, Instant::now());
        let kinds: Vec<_> = (0..5)
            .map(|_| {
                state
                    .decide("/api/v1/keys", Instant::now())
                    .fault
                    .map(|fault| fault.kind())
            })
            .collect();
        assert_eq!(
            kinds,
            [
                Some("drop"),
                Some("rate_limit"),
                Some("server_error"),
                Some("server_error"),
                None
            ]
        );
    }

    #[test]
    fn path_prefix_limits_faults() {
        let mut state = FaultState::new(None);
        let config: FaultConfig = serde_json::from_value(
            json!({"server_error": {"next": 1}, "path_prefix": "/api/v1/credits"}),
        )
        .unwrap();
        state.configure(config, Instant::now());
        assert_eq!(state.decide("/api/v1/keys", Instant::now()).fault, None);
        assert!(
            state
                .decide("/api/v1/credits", Instant::now())
                .fault
                .is_some()
        );
    }

    #[test]
    fn probability_is_repeatable_with_a_seed() {
        let config: FaultConfig =
            serde_json::from_value(json!({"server_error": {"probability": 0.5}, "seed": 7}))
                .unwrap();
        let run = || {
            let mut state = FaultState::new(None);
            state.configure(config.clone(), Instant::now());
            (0..200)
                .map(|_| state.decide("/api/v1/key", Instant::now()).fault.is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|hit| **hit).count();
        assert!((60..140).contains(&hits), "{hits} of 200");
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let bad: FaultConfig =
            serde_json::from_value(json!({"drop": {"probability": 1.5}})).unwrap();
        assert!(bad.validate().is_err());
        let bad: FaultConfig =
            serde_json::from_value(json!({"server_error": {"status": 404}})).unwrap();
        assert!(bad.validate().is_err());
        assert!(serde_json::from_value::<FaultConfig>(json!({"latncy_ms": 5})).is_err());
    }

    #[test]
    fn baseline_latency_applies_unless_overridden() {
        let mut state = FaultState::new(Some(Duration::from_millis(40)));
        assert_eq!(
            state.decide("/api/v1/keys", Instant::now()).latency,
            Some(Duration::from_millis(40))
        );
        state.configure(
            serde_json::from_value(json!({"latency_ms": 0})).unwrap(),
            Instant::now(),
        );
        assert_eq!(state.decide("/api/v1/keys", Instant::now()).latency, None);
    }
}
