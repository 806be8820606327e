//! The traffic simulator: a task that, every tick, records random spend on a few active keys, so
//! usage grows while the sandbox or a demo runs.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::app::{App, lock};
use crate::models::CATALOG;
use crate::state::ModelUsage;

const DEFAULT_INTERVAL_MS: u64 = 1000;
const DEFAULT_KEYS_PER_TICK: u32 = 3;
const DEFAULT_MAX_SPEND: f64 = 0.02;
/// A tick spends at most this share of what is left under a key's limit, so limits are
/// approached gradually instead of all blowing at once.
const LIMIT_SHARE_PER_TICK: f64 = 0.25;

/// The body of `POST /_emulator/traffic`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    pub enabled: bool,
    #[serde(default)]
    pub interval_ms: Option<u64>,
    #[serde(default)]
    pub keys_per_tick: Option<u32>,
    #[serde(default)]
    pub max_spend_per_request: Option<f64>,
}

impl TrafficConfig {
    pub fn enabled_with_defaults() -> Self {
        Self {
            enabled: true,
            interval_ms: None,
            keys_per_tick: None,
            max_spend_per_request: None,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self
            .interval_ms
            .is_some_and(|ms| !(10..=3_600_000).contains(&ms))
        {
            return Err("\"interval_ms\" must be between 10 and 3600000".to_owned());
        }
        if self
            .keys_per_tick
            .is_some_and(|keys| !(1..=10_000).contains(&keys))
        {
            return Err("\"keys_per_tick\" must be between 1 and 10000".to_owned());
        }
        if self
            .max_spend_per_request
            .is_some_and(|spend| !(spend.is_finite() && spend > 0.0 && spend <= 1000.0))
        {
            return Err(
                "\"max_spend_per_request\" must be a number above 0 and at most 1000".to_owned(),
            );
        }
        Ok(())
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.unwrap_or(DEFAULT_INTERVAL_MS))
    }
}

/// The running simulator; dropping it stops the task.
#[derive(Debug)]
pub struct TrafficRun {
    config: TrafficConfig,
    task: JoinHandle<()>,
}

impl Drop for TrafficRun {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts (or restarts with a new configuration) or stops the simulator.
pub fn configure(app: &Arc<App>, config: TrafficConfig) {
    let mut running = lock(&app.traffic);
    *running = None;
    if !config.enabled {
        return;
    }
    let worker = Arc::clone(app);
    let tick_config = config.clone();
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(tick_config.interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            tick(&worker, &tick_config);
        }
    });
    *running = Some(TrafficRun { config, task });
}

pub fn stop(app: &App) {
    lock(&app.traffic).take();
}

pub fn describe(app: &App) -> Value {
    match lock(&app.traffic).as_ref() {
        Some(run) => json!({
            "enabled": true,
            "interval_ms": run.config.interval_ms.unwrap_or(DEFAULT_INTERVAL_MS),
            "keys_per_tick": run.config.keys_per_tick.unwrap_or(DEFAULT_KEYS_PER_TICK),
            "max_spend_per_request": run.config.max_spend_per_request.unwrap_or(DEFAULT_MAX_SPEND),
        }),
        None => json!({"enabled": false}),
    }
}

/// One tick: spend on up to `keys_per_tick` random active keys.
pub fn tick(app: &App, config: &TrafficConfig) {
    let keys_per_tick = config.keys_per_tick.unwrap_or(DEFAULT_KEYS_PER_TICK) as usize;
    let max_spend = config.max_spend_per_request.unwrap_or(DEFAULT_MAX_SPEND);
    let mut rng = lock(&app.rng);
    let mut state = app.state();
    let now = state.now();
    let active: Vec<String> = state
        .all_newest_first()
        .filter(|key| !key.disabled && !key.is_expired(now))
        .map(|key| key.hash.clone())
        .collect();
    let chosen: Vec<&String> = active.choose_multiple(&mut *rng, keys_per_tick).collect();
    let mut changed = false;
    for hash in chosen {
        let Some(key) = state.get_mut(hash) else {
            continue;
        };
        let requests: u64 = rng.random_range(1..=5);
        let mut spend: f64 = (0..requests)
            .map(|_| rng.random_range(0.0001..=max_spend))
            .sum();
        if let Some(remaining) = key.limit_remaining(now) {
            spend = spend.min(remaining * LIMIT_SHARE_PER_TICK);
        }
        if spend < 1e-7 {
            continue;
        }
        let byok = key.total_byok_usage > 0.0 && rng.random_bool(0.7);
        let (usage, byok_usage) = if byok {
            (spend * 0.05, spend)
        } else {
            (spend, 0.0)
        };
        let model = CATALOG
            .choose(&mut *rng)
            .map_or("openai/gpt-4.1", |entry| entry.0);
        key.record(
            now,
            &ModelUsage::synthetic(model, usage, byok_usage, requests),
        );
        changed = true;
    }
    drop(state);
    drop(rng);
    if changed {
        app.changed();
    }
}
