//! The fault soak's rig: a service (in-memory keychain, on-disk store) with one profile on an
//! emulator over real HTTP, faults injected into about a tenth of its API requests, the seeded RNG
//! that picks every operation, the model of what the server should hold, the tally, and the checks
//! of the end (server = model = Keyward's cache; every key's secret in the vault; nothing unfinished
//! left unreported).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod model;
pub mod ops;
pub mod report;
pub mod rotate;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use keyward_core::api::{ClientConfig, RetryPolicy};
use keyward_core::backoff::Backoff;
use keyward_core::ipc::{KeyDeleteArgs, KeysSnapshot, ProfileAddArgs};
use openrouter_emulator::{Emulator, EmulatorConfig};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::service_support::{self, TestService, list};
use model::Model;
use ops::{GROUPS, Op, Ran};
use report::{Outcome, Tally};

/// Keys the soak keeps at least (it creates while it has fewer).
const MIN_POOL: usize = 24;
/// Operations between two fault configurations (the 5xx status changes each time).
const PHASE_OPS: u64 = 100;
/// Operations a batch runs at once.
const BATCH_CONCURRENCY: usize = 4;
const STATUSES: [u16; 4] = [500, 502, 503, 504];

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The client every profile gets: the default policy's shape (6 attempts, capped exponential
/// backoff with jitter, 429s honoured) with waits in milliseconds, and a request timeout the
/// emulator's held requests outlast.
pub fn soak_client(config: &mut ClientConfig) {
    config.retry = RetryPolicy {
        max_attempts: 6,
        backoff: Backoff::new(Duration::from_millis(10), Duration::from_millis(200))
            .with_jitter(0.5),
        max_elapsed: Duration::from_secs(20),
        retry_rate_limited: true,
    };
    config.request_timeout = Duration::from_millis(750);
    config.connect_timeout = Duration::from_millis(750);
}

pub struct Settings {
    pub ops: u64,
    pub seed: u64,
    pub fault_rate: f64,
}

impl Settings {
    /// `KEYWARD_SOAK_OPS` (default 800), `KEYWARD_SOAK_SEED` (default fixed),
    /// `KEYWARD_SOAK_FAULT_RATE` (default 0.10).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Settings {
            ops: var("KEYWARD_SOAK_OPS").map_or(800, |ops| ops.parse().expect("KEYWARD_SOAK_OPS")),
            seed: var("KEYWARD_SOAK_SEED").map_or(0x50a6_2026, |seed| {
                seed.parse().expect("KEYWARD_SOAK_SEED is a number")
            }),
            fault_rate: var("KEYWARD_SOAK_FAULT_RATE")
                .map_or(0.10, |rate| rate.parse().expect("KEYWARD_SOAK_FAULT_RATE")),
        }
    }
}

pub struct Soak {
    pub t: TestService,
    pub emulator: Emulator,
    pub profile_id: String,
    pub settings: Settings,
    pub rng: StdRng,
    pub model: Model,
    pub tally: Tally,
    pub violations: Vec<String>,
    /// Rotations left failed (reported) for the end.
    pub unfinished: Vec<String>,
    pub next_lineage: u64,
    /// Doubtful creates the person has looked into already.
    doubts_seen: usize,
}

impl Soak {
    pub async fn start(settings: Settings) -> Soak {
        let t = service_support::start_with("soak", |config, _| {
            config.client_tuning = std::sync::Arc::new(soak_client);
            config.recovery = None;
            config.rotation.drain_check_interval = Duration::from_millis(1);
        });
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let profile_id = t
            .service
            .profile_add(ProfileAddArgs {
                name: "Soak".into(),
                base_url: Some(emulator.base_url().to_owned()),
                workspace_id: None,
                management_key: SecretString::from(emulator.management_key().to_owned()),
            })
            .await
            .unwrap()
            .id;
        Soak {
            t,
            emulator,
            profile_id,
            rng: StdRng::seed_from_u64(settings.seed),
            settings,
            model: Model::default(),
            tally: Tally::default(),
            violations: Vec::new(),
            unfinished: Vec::new(),
            next_lineage: 0,
            doubts_seen: 0,
        }
    }

    pub fn violation(&mut self, op_index: u64, what: String) {
        eprintln!("soak violation at operation {op_index}: {what}");
        self.violations.push(format!("op {op_index}: {what}"));
    }

    fn control(&self) -> String {
        self.emulator.control_url().to_owned()
    }

    /// Faults for the phase starting at `op_index`: about `fault_rate` of the API requests, split
    /// over every kind; the 5xx status changes from phase to phase.
    async fn configure_faults(&self, op_index: u64) {
        let phase = op_index / PHASE_OPS;
        let rate = self.settings.fault_rate;
        let faults = json!({
            "seed": self.settings.seed.wrapping_add(phase),
            "drop": {"probability": rate * 0.20},
            "timeout": {"probability": rate * 0.10, "hold_seconds": 1},
            "rate_limit": {"probability": rate * 0.25, "retry_after_seconds": 1, "retry_after_ms": 20},
            "server_error": {"probability": rate * 0.25, "status": STATUSES[(phase % 4) as usize]},
            "slow_body": {"probability": rate * 0.15, "chunks": 3, "chunk_delay_ms": 40},
            "cut_body": {"probability": rate * 0.05},
        });
        self.t.post(&self.control(), "/faults", faults).await;
    }

    /// Every key on the server (hash → KeyObject), read through the emulator's control API.
    pub async fn server_keys(&self) -> BTreeMap<String, Value> {
        self.t.get(&self.control(), "/keys").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| (key["hash"].as_str().unwrap().to_owned(), key.clone()))
            .collect()
    }

    /// Runs operations until `settings.ops` are counted.
    pub async fn run_all(&mut self) {
        let mut op_index = 0;
        while self.tally.total() < self.settings.ops {
            if op_index % PHASE_OPS == 0 {
                self.configure_faults(op_index).await;
            }
            op_index += 1;
            let available = self.model.available();
            let roll = self.rng.random_range(0..100);
            if available.len() < MIN_POOL || roll < 14 {
                let op = self.plan_create();
                let ran = self.run(&op).await;
                self.apply(&op, ran, op_index).await;
            } else if roll < 19 {
                let ran = self.run(&Op::Refresh).await;
                self.apply(&Op::Refresh, ran, op_index).await;
            } else if roll < 29 {
                self.batch(op_index).await;
            } else {
                let hash = available.choose(&mut self.rng).unwrap().clone();
                let op = self.plan_on(&hash, op_index);
                let ran = self.run(&op).await;
                self.apply(&op, ran, op_index).await;
            }
            self.look_into_doubts(op_index, 5).await;
        }
    }

    /// Several operations at once on distinct keys (bounded concurrency), or a rotation batch.
    async fn batch(&mut self, op_index: u64) {
        self.tally.note("batches", 1);
        let kind = self.rng.random_range(0..4);
        if kind == 0 {
            let clean: Vec<u32> = (0..GROUPS)
                .filter(|group| {
                    let prefix = format!("soak-g{group}-");
                    !self.model.doubtful_creates[self.doubts_seen..]
                        .iter()
                        .any(|doubt| doubt.name.starts_with(&prefix))
                })
                .collect();
            if let Some(group) = clean.choose(&mut self.rng).copied() {
                self.rotate_group(group, op_index).await;
            }
            return;
        }
        let mut available = self.model.available();
        let size = self.rng.random_range(3..=8).min(available.len());
        let mut ops = Vec::new();
        for _ in 0..size {
            let index = self.rng.random_range(0..available.len());
            let hash = available.swap_remove(index);
            let op = if kind == 1 {
                let disabled = !self.model.keys[&hash].disabled.0[0];
                Op::SetDisabled { hash, disabled }
            } else if self.rng.random_bool(0.2) {
                self.plan_create()
            } else if self.rng.random_bool(0.1) {
                // A refresh racing the batch's changes (the watcher does that in the app).
                Op::Refresh
            } else {
                self.plan_on(&hash, op_index)
            };
            ops.push(op);
        }
        self.tally
            .note("operations run inside batches", ops.len() as u64);
        let this = &*self;
        let ran: Vec<(Op, Ran)> = futures::stream::iter(ops)
            .map(|op| async move {
                let ran = this.run(&op).await;
                (op, ran)
            })
            .buffered(BATCH_CONCURRENCY)
            .collect()
            .await;
        let raced = ran.iter().any(|(op, _)| matches!(op, Op::Refresh));
        for (op, ran) in ran {
            match (&op, ran) {
                // Its list may show the batch's other changes or not: counted, not compared.
                (Op::Refresh, Ran::Refresh(result)) => match result {
                    Ok(snapshot) if !snapshot.from_cache => {
                        self.tally.count("refresh", Outcome::Converged);
                    }
                    Ok(_) => self.tally.count("refresh", Outcome::Reported),
                    Err(error) => self.tally.error(
                        "refresh",
                        Outcome::Reported,
                        error.kind().as_ref(),
                        &error.to_string(),
                    ),
                },
                (_, ran) => self.apply(&op, ran, op_index).await,
            }
        }
        if raced {
            self.check_cache_after_race(op_index).await;
        }
    }

    /// After a batch with a refresh among its changes: Keyward's cached list against the server,
    /// for the keys whose every field the soak is certain of (each changed by a call that
    /// converged, so Keyward had the answer). A row that differs is one a refresh overwrote with
    /// what it had listed before the change landed.
    async fn check_cache_after_race(&mut self, op_index: u64) {
        let server = self.server_keys().await;
        let cached = self
            .t
            .service
            .keys_list(list(&self.profile_id, false))
            .await
            .unwrap();
        let certain: std::collections::HashSet<&str> = self
            .model
            .keys
            .values()
            .filter(|key| {
                !key.busy
                    && key.exists.is_certain()
                    && key.name.is_certain()
                    && key.limit.is_certain()
                    && key.limit_reset.is_certain()
                    && key.include_byok.is_certain()
                    && key.disabled.is_certain()
            })
            .map(|key| key.hash.as_str())
            .collect();
        let stale: Vec<String> = cache_differences(&cached, &server)
            .into_iter()
            .filter(|what| certain.iter().any(|hash| what.starts_with(hash)))
            .collect();
        if !stale.is_empty() {
            self.tally.note(
                "cache rows a racing refresh left stale (keys known for certain)",
                stale.len() as u64,
            );
            eprintln!("op {op_index}: stale after a racing refresh: {}", stale[0]);
        }
    }

    /// The person's answer to "the key may have been created anyway: refresh the list": refresh,
    /// and delete a key of that name the soak does not know (nobody holds its secret). Up to
    /// `attempts` tries each; what stays in doubt is looked into again at the end.
    pub async fn look_into_doubts(&mut self, op_index: u64, attempts: u32) {
        while self.doubts_seen < self.model.doubtful_creates.len() {
            let doubt = self.model.doubtful_creates[self.doubts_seen].clone();
            let mut snapshot = None;
            for _ in 0..attempts {
                match self.t.service.keys_list(list(&self.profile_id, true)).await {
                    Ok(fresh) if !fresh.from_cache => {
                        snapshot = Some(fresh);
                        break;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
            let Some(snapshot) = snapshot else {
                self.tally.error(
                    "look into doubt",
                    Outcome::Reported,
                    "offline",
                    "no fresh list",
                );
                return;
            };
            self.check_listing(&snapshot, op_index);
            let landed: Vec<String> = snapshot
                .keys
                .iter()
                .filter(|row| {
                    row.key.name == doubt.name && !self.model.keys.contains_key(&row.key.hash)
                })
                .map(|row| row.key.hash.clone())
                .collect();
            for hash in landed {
                self.tally.note(
                    "doubtful creates that landed (secret never received; deleted)",
                    1,
                );
                let mut deleted = false;
                for _ in 0..attempts {
                    let result = self
                        .t
                        .service
                        .key_delete(KeyDeleteArgs {
                            profile_id: self.profile_id.clone(),
                            hash: hash.clone(),
                        })
                        .await;
                    if matches!(result, Ok(()) | Err(keyward_core::Error::NotFound { .. })) {
                        deleted = true;
                        break;
                    }
                }
                if !deleted {
                    self.tally.error(
                        "look into doubt",
                        Outcome::Reported,
                        "delete",
                        "could not delete",
                    );
                    return;
                }
            }
            self.tally.count("look into doubt", Outcome::Converged);
            self.doubts_seen += 1;
        }
    }

    /// A fresh list from Keyward against the model (keys the model knows; orphans are checked at
    /// the end, when no rotation may still hold a half-made key).
    pub fn check_listing(&mut self, snapshot: &KeysSnapshot, op_index: u64) {
        let listed: BTreeMap<String, Value> = snapshot
            .keys
            .iter()
            .map(|row| {
                (
                    row.key.hash.clone(),
                    serde_json::to_value(&row.key).unwrap(),
                )
            })
            .collect();
        let wrong: Vec<String> = self
            .model
            .keys
            .values()
            .flat_map(|key| key.mismatches(listed.get(&key.hash)))
            .collect();
        for what in wrong {
            self.violation(op_index, format!("fresh list: {what}"));
        }
    }

    /// Faults off; unfinished rotations and doubtful creates resolved; then every check of the end.
    /// Returns the emulator's fault counts.
    pub async fn finish(&mut self, op_index: u64) -> Value {
        let faults = self.t.get(&self.control(), "/faults").await;
        self.t.clear_faults(&self.control()).await;
        self.finish_rotations(op_index).await;
        self.look_into_doubts(op_index, 5).await;

        let server = self.server_keys().await;
        // What Keyward showed before the final refresh (its cache after every answer it got).
        let cached = self
            .t
            .service
            .keys_list(list(&self.profile_id, false))
            .await
            .unwrap();
        let stale = cache_differences(&cached, &server);
        self.tally.note(
            "cache rows differing from the server before the final refresh",
            stale.len() as u64,
        );
        for what in stale.iter().take(5) {
            eprintln!("stale before refresh: {what}");
        }
        let fresh = self
            .t
            .service
            .keys_list(list(&self.profile_id, true))
            .await
            .unwrap();
        if fresh.from_cache {
            self.violation(
                op_index,
                format!("the final refresh failed: {:?}", fresh.connectivity),
            );
        }
        for what in cache_differences(&fresh, &server) {
            self.violation(op_index, format!("Keyward's list after a refresh: {what}"));
        }
        for what in self.model.mismatches(&server) {
            self.violation(op_index, format!("final state: {what}"));
        }
        self.check_secrets(&server, op_index).await;
        self.check_rotations(op_index);
        self.tally
            .note("keys on the server at the end", server.len() as u64);
        faults
    }

    /// Every key on the server has its secret somewhere in the vault (pending, kept, or a deploy
    /// target's entry), hashing to the key's hash; every listed pending secret is there too.
    async fn check_secrets(&mut self, server: &BTreeMap<String, Value>, op_index: u64) {
        let keychain = &self.t.keychain;
        let held: std::collections::HashSet<String> = keychain
            .entries()
            .iter()
            .filter_map(|entry| keychain.secret(entry))
            .map(|secret| sha256_hex(secret.expose_secret()))
            .collect();
        let missing: Vec<String> = server
            .iter()
            .filter(|(hash, _)| !held.contains(*hash))
            .map(|(hash, key)| format!("no secret in the vault for {} ({hash})", key["name"]))
            .collect();
        for what in missing {
            self.violation(op_index, what);
        }
        let pending = self.t.service.app_state().unwrap().pending_secrets;
        for entry in pending {
            match self
                .t
                .service
                .held_secret(&self.profile_id, &entry.key_hash)
                .await
            {
                Ok(secret) if sha256_hex(secret.expose_secret()) == entry.key_hash => {}
                other => self.violation(
                    op_index,
                    format!(
                        "listed held secret of {} does not match ({})",
                        entry.key_hash,
                        other.map_or_else(|error| error.to_string(), |_| "another secret".into())
                    ),
                ),
            }
        }
    }

    /// No rotation unfinished; every journal consistent.
    fn check_rotations(&mut self, op_index: u64) {
        let all = self
            .t
            .service
            .rotations(Some(&self.profile_id), false)
            .unwrap();
        for rotation in &all {
            if !rotation.finished {
                self.violation(
                    op_index,
                    format!("rotation {} is still {}", rotation.id, rotation.status),
                );
            }
            let problems = self
                .t
                .service
                .rotation_journal_problems(&rotation.id)
                .unwrap();
            if !problems.is_empty() {
                self.violation(
                    op_index,
                    format!("rotation {} journal: {problems:?}", rotation.id),
                );
            }
        }
        self.tally
            .note("rotations in the journal", all.len() as u64);
    }
}

/// How Keyward's list differs from the server's keys: missing, extra, or a field apart.
fn cache_differences(snapshot: &KeysSnapshot, server: &BTreeMap<String, Value>) -> Vec<String> {
    let mut wrong = Vec::new();
    let listed: BTreeMap<&str, Value> = snapshot
        .keys
        .iter()
        .map(|row| {
            (
                row.key.hash.as_str(),
                serde_json::to_value(&row.key).unwrap(),
            )
        })
        .collect();
    for (hash, key) in server {
        match listed.get(hash.as_str()) {
            None => wrong.push(format!("{hash} ({}) is missing", key["name"])),
            Some(row) => {
                for field in [
                    "name",
                    "limit",
                    "limit_reset",
                    "include_byok_in_limit",
                    "disabled",
                ] {
                    let same = match (row[field].as_f64(), key[field].as_f64()) {
                        (Some(a), Some(b)) => a == b,
                        _ => row[field] == key[field],
                    };
                    if !same {
                        wrong.push(format!(
                            "{hash}: {field} {} but the server has {}",
                            row[field], key[field]
                        ));
                    }
                }
            }
        }
    }
    for hash in listed.keys() {
        if !server.contains_key(*hash) {
            wrong.push(format!("{hash} is listed but not on the server"));
        }
    }
    wrong
}
