//! The rotation crash test (issue 5): `keyward-cli` processes rotating keys on an in-process emulator
//! are SIGKILLed at every step boundary of the runner (`--crash-test-pause-at`, which prints
//! `KEYWARD_ROTATION_PAUSED <point> <id>` and waits for ever) and at random moments, then resumed by
//! more `keyward-cli resume` processes (killed again sometimes). After every kill and every resume it
//! checks that (1) every new key a rotation created is recoverable: its secret is in the keychain
//! (pending or kept) or deployed in a `.env` file that works (GET /key answers 200); (2) every
//! journal is consistent and the statuses make sense; (3) the emulator holds no key that is neither
//! seeded nor recorded by some rotation. At the end every rotation is completed or rolled back, each
//! `.env` holds its key's newest secret and the replaced keys are gone. Prints
//! `kills: N, secrets lost: 0, orphan keys: 0`.
//!
//! The phases: every step boundary in a fresh rotation; one rotation killed at every boundary in
//! turn (each resume killed at the next); rollbacks killed at their boundaries, from before and
//! after the deploy; two effects that landed without being recorded (the old key disabled, the
//! `.env` written, then the process killed) followed by a rollback; then random kills of rotations,
//! resumes and rollbacks after a random delay (seeded; the seed is printed) until 220 kills.
//! A secret found only in a deploy's backup file is not counted as lost (it can be restored by
//! hand) but is listed. Only a keychain that answers "no such entry" makes a secret "not in the
//! keychain": failed reads are retried, and a keychain that stops answering (gnome-keyring aborts
//! now and then when a SIGKILLed client dies mid-`OpenSession`, and the one D-Bus then starts has the
//! login keyring locked) stops the run with what it found so far instead of counting losses.
//!
//! Uses the real keychain (a Secret Service); run inside a keychain session:
//! `tests/session.sh -- cargo test -p keyward-cli --test rotation_crash -- --ignored --nocapture`.
//! `KEYWARD_CRASH_SEED=N` repeats a run's random choices; the random delays scale with how long one
//! rotation takes on this machine now, so on a machine more or less loaded they land elsewhere.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::{
    HookPoint, PAUSED_MARKER, Rotation, RotationPolicy, RotationStatus, RotationStepName,
    RotationStepStatus,
};
use keyward_core::store::Store;
use keyward_core::vault::{Fault, KeychainFailure, KeychainOp, MemoryKeychain, Vault};
use keyward_core::{Error as KeywardError, Keyward, ServiceConfig};
use openrouter_emulator::{Emulator, EmulatorConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");
const VARIABLE: &str = "OPENROUTER_API_KEY";
/// Kills the whole run must reach.
const MIN_KILLS: usize = 200;
/// How long a paused process may take to reach its pause point.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the harness tries to read a secret before saying it cannot tell where it is.
const KEYCHAIN_READ_ATTEMPTS: u32 = 10;
const KEYCHAIN_RETRY_DELAY: Duration = Duration::from_millis(500);
/// The signal `Child::start_kill` sends on Unix.
const SIGKILL: i32 = 9;

/// How one `keyward-cli` run ended.
#[derive(Debug)]
enum Ended {
    /// It exited by itself.
    Exited {
        success: bool,
        stdout: String,
        stderr: String,
    },
    /// It reached a pause point and was killed there.
    KilledAtPoint { point: String, rotation_id: String },
    /// It was killed after a delay while still running.
    KilledAfter(Duration),
}

impl Ended {
    fn killed(&self) -> bool {
        !matches!(self, Ended::Exited { .. })
    }
}

/// When to kill a run.
#[derive(Debug, Clone)]
enum Kill {
    Never,
    /// At the first of these points it reaches (comma-separated `--crash-test-pause-at`).
    AtPoints(String),
    /// After this long, if it is still running.
    After(Duration),
}

/// A key being rotated over and over, deployed to its own `.env` file.
struct Slot {
    name: String,
    /// The key the `.env` file should hold: the newest completed rotation's new key.
    current_hash: String,
    env_path: PathBuf,
}

struct Harness {
    emulator: Emulator,
    http: reqwest::Client,
    /// The scratch directory (data directory, .env files), removed when the harness drops.
    _scratch: tempfile::TempDir,
    data_dir: PathBuf,
    keychain_service: String,
    vault: Vault,
    service: Keyward,
    store: Store,
    profile_id: String,
    /// Keys that existed before any rotation (the slots' first keys and demo keys).
    seeded: HashSet<String>,
    slots: Vec<Slot>,
    /// Every key hash ever seen, for cleaning the keychain up.
    seen_hashes: BTreeSet<String>,
    kills: usize,
    kills_by_point: BTreeMap<String, usize>,
    random_kills: usize,
    runs: usize,
    /// Findings by what went wrong (each kept once, with where it was first seen).
    lost: BTreeMap<String, String>,
    orphans: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
    /// Secrets found only in a deploy's backup file (recoverable by hand, nowhere Keyward knows).
    only_in_backup: BTreeMap<String, String>,
    /// Keychain reads that failed (and were retried) instead of answering "there" or "not there".
    keychain_read_errors: usize,
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn env_value(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{VARIABLE}=")))
        .map(|value| value.trim().trim_matches('"').to_owned())
}

/// Every key hash a journal entry names as a rotation's new key (or one its reconciliation found).
fn journal_hashes(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (field, inner) in map {
                match (field.as_str(), inner) {
                    ("new_key_hash" | "adopted", Value::String(hash)) => {
                        into.insert(hash.clone());
                    }
                    ("found" | "deleted", Value::Array(hashes)) => {
                        into.extend(hashes.iter().filter_map(|h| h.as_str().map(str::to_owned)));
                    }
                    _ => journal_hashes(inner, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| journal_hashes(item, into)),
        _ => {}
    }
}

impl Harness {
    async fn start() -> Harness {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let http = reqwest::Client::new();
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let keychain_service = format!(
            "keyward-test-cli-crash-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros()
        );
        let vault = Vault::with_service(keychain_service.clone());

        // Background keys nobody rotates (some disabled or expired).
        let seeded_demo: Value = http
            .post(format!("{}/seed", emulator.control_url()))
            .json(&json!({ "count": 4, "seed": 11 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut seeded: HashSet<String> = seeded_demo["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hash| hash.as_str().unwrap().to_owned())
            .collect();

        let mut slots = Vec::new();
        for name in ["crash-a", "crash-b"] {
            let created: Value = http
                .post(format!("{}/keys", emulator.base_url()))
                .bearer_auth(emulator.management_key())
                .json(&json!({ "name": name, "limit": 5.0, "limit_reset": "monthly" }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let hash = created["data"]["hash"].as_str().unwrap().to_owned();
            let secret = created["key"].as_str().unwrap();
            let env_path = dir.path().join(format!("{name}.env"));
            std::fs::write(&env_path, format!("OTHER=1\n{VARIABLE}={secret}\n# kept\n")).unwrap();
            seeded.insert(hash.clone());
            slots.push(Slot {
                name: name.to_owned(),
                current_hash: hash,
                env_path,
            });
        }

        let mut config = ServiceConfig::new(vault.clone());
        config.recovery = None;
        let service = Keyward::new(Store::open_in_dir(&data_dir).unwrap(), config);
        let store = Store::open_in_dir(&data_dir).unwrap();
        let mut harness = Harness {
            emulator,
            http,
            _scratch: dir,
            data_dir,
            keychain_service,
            vault,
            service,
            store,
            profile_id: String::new(),
            seen_hashes: seeded.iter().cloned().collect(),
            seeded,
            slots,
            kills: 0,
            kills_by_point: BTreeMap::new(),
            random_kills: 0,
            runs: 0,
            lost: BTreeMap::new(),
            orphans: BTreeMap::new(),
            problems: BTreeMap::new(),
            only_in_backup: BTreeMap::new(),
            keychain_read_errors: 0,
        };
        let base_url = harness.emulator.base_url().to_owned();
        let management_key = harness.emulator.management_key().to_owned();
        let added = harness
            .cli_with_env(
                &["profile-add", "--name", "crash", "--base-url", &base_url],
                &[("KEYWARD_MANAGEMENT_KEY", management_key.as_str())],
                Kill::Never,
            )
            .await;
        let Ended::Exited {
            success: true,
            stdout,
            ..
        } = added
        else {
            panic!("profile-add failed: {added:?}");
        };
        let profile: Value = serde_json::from_str(&stdout).unwrap();
        harness.profile_id = profile["id"].as_str().unwrap().to_owned();
        for index in 0..harness.slots.len() {
            harness.set_policy(index, 0);
        }
        harness
    }

    /// The slot's current key rotates into its `.env` file, quiet period `quiet_secs`, no grace.
    fn set_policy(&self, slot: usize, quiet_secs: u32) {
        let slot = &self.slots[slot];
        let mut policy = RotationPolicy::default_for(&self.profile_id, &slot.current_hash);
        policy.targets = vec![DeployTarget::EnvFile {
            path: slot.env_path.display().to_string(),
            variable: VARIABLE.to_owned(),
        }];
        policy.quiet_period_secs = quiet_secs;
        policy.grace_period_secs = 0;
        self.service.set_rotation_policy(policy).unwrap();
    }

    async fn cli(&mut self, args: &[&str], kill: Kill) -> Ended {
        self.cli_with_env(args, &[], kill).await
    }

    /// Runs `keyward-cli --json <args>` on the harness's data directory and keychain service.
    async fn cli_with_env(&mut self, args: &[&str], env: &[(&str, &str)], kill: Kill) -> Ended {
        self.runs += 1;
        let mut command = Command::new(CLI);
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--keychain-service")
            .arg(&self.keychain_service)
            .arg("--json")
            .args(args)
            .env_remove("KEYWARD_ROTATION_PAUSE_AT")
            .env_remove("KEYWARD_DATA_DIR")
            .env_remove("KEYWARD_KEYCHAIN_SERVICE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        if let Kill::AtPoints(points) = &kill {
            command.arg("--crash-test-pause-at").arg(points);
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("keyward-cli starts");
        let mut stdout = child.stdout.take().unwrap();
        let stdout_task = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text).await;
            text
        });
        let (marker_tx, mut marker_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr_task = tokio::spawn(async move {
            let mut text = String::new();
            while let Ok(Some(line)) = stderr.next_line().await {
                if line.starts_with(PAUSED_MARKER) {
                    let _ = marker_tx.send(line.clone());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });

        let killed = match &kill {
            Kill::Never => None,
            Kill::AtPoints(points) => {
                tokio::select! {
                    marker = tokio::time::timeout(PAUSE_TIMEOUT, marker_rx.recv()) => match marker {
                        Ok(Some(line)) => Some(line),
                        Ok(None) => None, // stderr closed: the process is ending by itself
                        Err(_) => panic!("keyward-cli {args:?} did not reach {points} within {PAUSE_TIMEOUT:?}"),
                    },
                    _ = child.wait() => None,
                }
            }
            Kill::After(delay) => {
                tokio::select! {
                    () = tokio::time::sleep(*delay) => Some(String::new()),
                    _ = child.wait() => None,
                }
            }
        };
        let killed = match killed {
            // Only a process still running at that moment counts as killed.
            Some(line) if child.try_wait().unwrap().is_none() => Some(line),
            _ => None,
        };
        if let Some(line) = killed {
            child.start_kill().unwrap();
            let status = child.wait().await.unwrap();
            if status.signal() != Some(SIGKILL) {
                // It exited by itself between the last look and the kill.
                return Ended::Exited {
                    success: status.success(),
                    stdout: stdout_task.await.unwrap(),
                    stderr: stderr_task.await.unwrap(),
                };
            }
            stdout_task.abort();
            stderr_task.abort();
            self.kills += 1;
            if line.is_empty() {
                self.random_kills += 1;
                self.kills_by_point
                    .entry("(random)".to_owned())
                    .and_modify(|n| *n += 1)
                    .or_insert(1);
                return Ended::KilledAfter(started.elapsed());
            }
            let mut parts = line.split_whitespace().skip(1);
            let point = parts.next().unwrap_or_default().to_owned();
            let rotation_id = parts.next().unwrap_or_default().to_owned();
            *self.kills_by_point.entry(point.clone()).or_default() += 1;
            return Ended::KilledAtPoint { point, rotation_id };
        }
        let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
            .await
            .unwrap_or_else(|_| panic!("keyward-cli {args:?} hangs"))
            .unwrap();
        Ended::Exited {
            success: status.success(),
            stdout: stdout_task.await.unwrap(),
            stderr: stderr_task.await.unwrap(),
        }
    }

    // --- Checks ----------------------------------------------------------------------------------

    async fn emulator_keys(&self) -> Vec<Value> {
        let answer: Value = self
            .http
            .get(format!("{}/keys", self.emulator.control_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].as_array().unwrap().clone()
    }

    /// GET /key with `secret`: its HTTP status.
    async fn key_status(&self, secret: &str) -> u16 {
        self.http
            .get(format!("{}/key", self.emulator.base_url()))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Whether a `.env` backup a deploy left next to its file holds the key's secret.
    fn in_backup(&self, hash: &str) -> bool {
        let Ok(entries) = std::fs::read_dir(self._scratch.path()) else {
            return false;
        };
        entries.flatten().any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .contains(".keyward-backup-")
                && env_value(&entry.path()).is_some_and(|secret| sha256_hex(&secret) == hash)
        })
    }

    async fn keychain_holds(&mut self, hash: &str) -> Result<bool, String> {
        keychain_holds(
            &self.vault,
            &self.profile_id,
            hash,
            &mut self.keychain_read_errors,
        )
        .await
    }

    fn rotations(&self) -> Vec<Rotation> {
        self.store.rotations(None, false).unwrap()
    }

    /// Checks the three invariants; `settled`: no process is mid-rotation (after a resume that
    /// finished), so a key only an interrupted create knows about is an orphan too.
    async fn check(&mut self, context: &str, settled: bool) {
        let rotations = self.rotations();
        let keys = self.emulator_keys().await;
        let on_server: HashMap<String, &Value> = keys
            .iter()
            .map(|key| (key["hash"].as_str().unwrap().to_owned(), key))
            .collect();
        self.seen_hashes.extend(on_server.keys().cloned());

        // The .env files: each holds a working key.
        let mut deployed: HashMap<String, String> = HashMap::new();
        for slot in &self.slots {
            match env_value(&slot.env_path) {
                Some(secret) => {
                    let status = self.key_status(&secret).await;
                    if status != 200 {
                        note(
                            &mut self.lost,
                            context,
                            format!(
                                "{} holds a key GET /key refuses ({status}; hash {})",
                                slot.env_path.display(),
                                sha256_hex(&secret)
                            ),
                        );
                    }
                    deployed.insert(sha256_hex(&secret), slot.name.clone());
                }
                None => note(
                    &mut self.lost,
                    context,
                    format!("{} has no {VARIABLE} line", slot.env_path.display()),
                ),
            }
        }

        let mut known: BTreeSet<String> = BTreeSet::new();
        let mut active_per_old_key: HashMap<&str, usize> = HashMap::new();
        for rotation in &rotations {
            let id = &rotation.id;
            let problems = self.service.rotation_journal_problems(id).unwrap();
            for problem in problems {
                note(
                    &mut self.problems,
                    context,
                    format!("rotation {id}: journal: {problem}"),
                );
            }
            let mut hashes = BTreeSet::new();
            for entry in self.store.rotation_journal(id).unwrap() {
                journal_hashes(&entry.detail, &mut hashes);
            }
            if let Some(new_key) = &rotation.new_key {
                if !hashes.contains(&new_key.hash) {
                    note(
                        &mut self.problems,
                        context,
                        format!(
                            "rotation {id}: its new key {} is in no journal entry",
                            new_key.hash
                        ),
                    );
                }
                hashes.insert(new_key.hash.clone());
            }
            known.extend(hashes.iter().cloned());
            match rotation.status {
                RotationStatus::Failed | RotationStatus::Abandoned => note(
                    &mut self.problems,
                    context,
                    format!(
                        "rotation {id} is {} without any fault injected: {:?} {:?}",
                        rotation.status.as_str(),
                        rotation.detail,
                        rotation.error
                    ),
                ),
                RotationStatus::Running | RotationStatus::Waiting => {
                    *active_per_old_key.entry(&rotation.old.hash).or_default() += 1;
                }
                RotationStatus::Completed => {
                    if on_server.contains_key(&rotation.old.hash) {
                        note(
                            &mut self.problems,
                            context,
                            format!(
                                "rotation {id} completed but its old key {} still exists",
                                rotation.old.hash
                            ),
                        );
                    }
                    if rotation.new_key.is_none() {
                        note(
                            &mut self.problems,
                            context,
                            format!("rotation {id} completed without a new key"),
                        );
                    }
                }
                RotationStatus::RolledBack => {
                    // Unless a later rotation took the old key on (and disabled or deleted it).
                    let taken_on = rotations.iter().any(|later| {
                        later.id != rotation.id
                            && later.old.hash == rotation.old.hash
                            && later.status != RotationStatus::RolledBack
                    });
                    match on_server.get(&rotation.old.hash) {
                        _ if taken_on => {}
                        Some(old) if old["disabled"] == true => note(
                            &mut self.problems,
                            context,
                            format!("rotation {id} rolled back but left the old key disabled"),
                        ),
                        Some(_) => {}
                        None => note(
                            &mut self.problems,
                            context,
                            format!("rotation {id} rolled back but the old key is gone"),
                        ),
                    }
                    if let Some(new_key) = &rotation.new_key
                        && !rotation.deployed()
                        && on_server.contains_key(&new_key.hash)
                    {
                        note(
                            &mut self.problems,
                            context,
                            format!(
                                "rotation {id} rolled back before deploying but kept its new key {}",
                                new_key.hash
                            ),
                        );
                    }
                }
            }
            // (1) Every new key still on the server can be used by somebody, unless a later
            // rotation has already replaced it in its .env file.
            for hash in &hashes {
                let replaced = rotations.iter().any(|later| {
                    later.old.hash == *hash
                        && later.status != RotationStatus::RolledBack
                        && later.deployed()
                });
                if replaced {
                    continue;
                }
                if !on_server.contains_key(hash) || deployed.contains_key(hash) {
                    continue;
                }
                let held = match self.keychain_holds(hash).await {
                    Ok(held) => held,
                    // Neither a loss nor "fine": nothing can be checked any more (every later
                    // read would fail too), so the run stops here and says why.
                    Err(error) => panic!(
                        "{context}: rotation {id}: the keychain stopped answering while the key \
                         {hash} was looked up ({error}); did the Secret Service die? (tests/session.sh \
                         reports a gnome-keyring-daemon that exited). Findings so far: lost {:#?}, \
                         problems {:#?}",
                        listed(&self.lost),
                        listed(&self.problems)
                    ),
                };
                if !held {
                    let later: Vec<String> = rotations
                        .iter()
                        .filter(|later| later.old.hash == *hash)
                        .map(|later| {
                            format!(
                                "{} {} (deployed {}, deploy outcomes {})",
                                later.id,
                                later.status.as_str(),
                                later.deployed(),
                                later.step(RotationStepName::Deploy).deploy.len()
                            )
                        })
                        .collect();
                    let finding = format!(
                        "rotation {id} ({}, at {:?}): key {hash} exists but its secret is neither \
                         in the keychain nor in a .env file; rotations of it: {later:?}",
                        rotation.status.as_str(),
                        rotation.current_step()
                    );
                    if self.in_backup(hash) {
                        note(&mut self.only_in_backup, context, finding);
                    } else {
                        note(&mut self.lost, context, finding);
                    }
                }
            }
        }
        for (old, count) in active_per_old_key {
            if count > 1 {
                note(
                    &mut self.problems,
                    context,
                    format!("{count} unfinished rotations of key {old}"),
                );
            }
        }

        // (3) No key unaccounted for. Right after a kill, a key whose create was interrupted is
        // known only to the server until the next run reconciles it.
        for key in &keys {
            let hash = key["hash"].as_str().unwrap();
            if self.seeded.contains(hash) || known.contains(hash) {
                continue;
            }
            let name = key["name"].as_str().unwrap_or_default();
            let in_doubt = rotations.iter().any(|rotation| {
                !rotation.status.is_terminal()
                    && rotation.create_in_doubt
                    && rotation.new_key_name == name
            });
            if in_doubt && !settled {
                continue;
            }
            self.orphans.entry(hash.to_owned()).or_insert_with(|| {
                format!(
                    "{context}: key {hash} \"{name}\" (created {}) is neither seeded nor in any \
                     rotation's journal{}",
                    key["created_at"],
                    if in_doubt {
                        " (an interrupted create is still unreconciled after a full resume)"
                    } else {
                        ""
                    }
                )
            });
        }
    }

    /// The unfinished rotation of a slot's key, if any.
    fn active_rotation(&self, slot: usize) -> Option<Rotation> {
        self.store
            .active_rotation_of_key(&self.profile_id, &self.slots[slot].current_hash)
            .unwrap()
    }

    /// Moves every slot on to the new key of each completed rotation of its key (several, when
    /// one run finished more than one).
    fn settle_slots(&mut self) {
        let rotations = self.rotations();
        for slot in &mut self.slots {
            while let Some(new_key) = rotations
                .iter()
                .find(|rotation| {
                    rotation.old.hash == slot.current_hash
                        && rotation.status == RotationStatus::Completed
                })
                .and_then(|rotation| rotation.new_key.clone())
            {
                slot.current_hash = new_key.hash;
            }
        }
    }

    /// Runs `resume` until no rotation runs any more (each run checked as settled); panics if
    /// rotations keep running.
    async fn resume_until_settled(&mut self, context: &str) {
        for _ in 0..5 {
            let ended = self.cli(&["resume"], Kill::Never).await;
            if let Ended::Exited {
                success: false,
                stderr,
                ..
            } = &ended
            {
                note(
                    &mut self.problems,
                    context,
                    format!("resume failed: {stderr}"),
                );
            }
            self.check(&format!("{context}, resumed"), true).await;
            let running = self
                .rotations()
                .into_iter()
                .filter(|rotation| rotation.status == RotationStatus::Running)
                .count();
            if running == 0 {
                self.settle_slots();
                return;
            }
        }
        panic!("{context}: rotations still running after 5 resumes");
    }

    /// One run (killed as `kill` says), then the checks; a `resume` that finished by itself must
    /// have settled every rotation. Moves the slots on.
    async fn kill_and_check(&mut self, args: &[&str], kill: Kill, context: &str) -> Ended {
        let ended = self.cli(args, kill).await;
        let settles = args.first() == Some(&"resume");
        match &ended {
            Ended::KilledAtPoint { point, .. } => {
                self.check(&format!("{context}: killed at {point}"), false)
                    .await;
            }
            Ended::KilledAfter(after) => {
                self.check(&format!("{context}: killed after {after:?}"), false)
                    .await;
            }
            Ended::Exited { .. } => {
                self.check(&format!("{context}: {} exited", args[0]), settles)
                    .await;
            }
        }
        self.settle_slots();
        ended
    }

    /// Rotates `slot` without a kill; the CLI must succeed (else `what` failed). Returns its view.
    async fn rotate_unkilled(&mut self, slot: usize, what: &str) -> Value {
        let args = self.rotate_args(slot);
        let ended = self.cli(&strs(&args), Kill::Never).await;
        let Ended::Exited {
            success: true,
            stdout,
            ..
        } = &ended
        else {
            panic!("{what} failed: {ended:?}");
        };
        serde_json::from_str(stdout).unwrap()
    }

    /// Rotates `slot`, killed at `point`; returns the rotation's id.
    async fn rotate_killed_at(&mut self, slot: usize, point: &str, context: &str) -> String {
        let args = self.rotate_args(slot);
        let kill = Kill::AtPoints(point.to_owned());
        let ended = self.kill_and_check(&strs(&args), kill, context).await;
        let Ended::KilledAtPoint { rotation_id, .. } = ended else {
            panic!("{point} not reached: {ended:?}");
        };
        rotation_id
    }

    /// Rolls back rotation `id`, killed at `point`.
    async fn roll_back_killed(&mut self, id: &str, point: &str, context: &str) -> Ended {
        let args = ["rotation-action", id, "roll_back"];
        let kill = Kill::AtPoints(point.to_owned());
        self.kill_and_check(&args, kill, context).await
    }

    fn rotate_args(&self, slot: usize) -> Vec<String> {
        vec![
            "rotate".to_owned(),
            self.slots[slot].current_hash.clone(),
            "--delete-at-once".to_owned(),
        ]
    }

    /// Cleans up the keychain entries the run made (management key, held secrets).
    fn clean_keychain(&self) {
        let _ = self.vault.delete_management_key(&self.profile_id);
        let mut hashes = self.seen_hashes.clone();
        for rotation in self.rotations() {
            hashes.insert(rotation.old.hash.clone());
            for entry in self
                .store
                .rotation_journal(&rotation.id)
                .unwrap_or_default()
            {
                journal_hashes(&entry.detail, &mut hashes);
            }
        }
        for hash in hashes {
            let _ = self.vault.delete_pending_secret(&self.profile_id, &hash);
            let _ = self.vault.delete_kept_secret(&self.profile_id, &hash);
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !self.profile_id.is_empty() {
            self.clean_keychain();
        }
    }
}

/// Records a finding once (the first context it was seen in).
/// Whether the keychain holds the key's secret (pending or kept), or why it could not tell. Only
/// "no such entry" for both places means "not there": any other error (a Secret Service call past
/// its 2 s D-Bus timeout on a loaded machine, say) proves nothing either way, so the read is retried
/// (each failed read counted in `failed_reads`); a keychain that never answers is an error, never
/// "not there" (a loss) nor "there".
async fn keychain_holds(
    vault: &Vault,
    profile_id: &str,
    hash: &str,
    failed_reads: &mut usize,
) -> Result<bool, String> {
    let read = |found: Result<SecretString, KeywardError>| match found {
        Ok(_) => Ok(true),
        Err(KeywardError::SecretNotFound { .. }) => Ok(false),
        Err(error) => Err(error.to_string()),
    };
    let mut last_error = String::new();
    for attempt in 0..KEYCHAIN_READ_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(KEYCHAIN_RETRY_DELAY).await;
        }
        let held = read(vault.pending_secret(profile_id, hash)).and_then(|pending| {
            if pending {
                Ok(true)
            } else {
                read(vault.kept_secret(profile_id, hash))
            }
        });
        match held {
            Ok(held) => {
                if attempt > 0 {
                    println!(
                        "keychain read of {hash} answered {held} after {attempt} failed read(s) \
                         ({last_error})"
                    );
                }
                return Ok(held);
            }
            Err(error) => {
                *failed_reads += 1;
                last_error = error;
            }
        }
    }
    Err(format!(
        "{KEYCHAIN_READ_ATTEMPTS} reads failed, the last with: {last_error}"
    ))
}

fn note(findings: &mut BTreeMap<String, String>, context: &str, finding: String) {
    findings
        .entry(finding)
        .or_insert_with(|| context.to_owned());
}

/// Findings as "where first seen: what".
fn listed(findings: &BTreeMap<String, String>) -> Vec<String> {
    findings
        .iter()
        .map(|(finding, context)| format!("{context}: {finding}"))
        .collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The step boundaries (rollback ones apart).
fn step_points() -> Vec<String> {
    HookPoint::all()
        .into_iter()
        .filter(|point| point.step.is_some())
        .map(|point| point.name())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn killing_rotations_anywhere_loses_no_secret_and_leaves_no_orphan_key() {
    let started = Instant::now();
    let seed: u64 = std::env::var("KEYWARD_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    println!("rotation crash test: seed {seed} (KEYWARD_CRASH_SEED={seed} repeats it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut h = Harness::start().await;
    let points = step_points();
    assert_eq!(points.len(), 16);

    // A whole rotation without a kill: it works, and it tells how long one takes.
    let before = Instant::now();
    let view = h.rotate_unkilled(0, "a plain rotation").await;
    let full_run = before.elapsed();
    assert_eq!(view["status"], "completed", "{view:#}");
    h.check("plain rotation", true).await;
    h.settle_slots();
    println!("one uninterrupted rotation takes {full_run:?}");

    // 1. Each step boundary, in a fresh rotation, then a plain resume.
    for (index, point) in points.iter().enumerate() {
        let slot = index % h.slots.len();
        let args = h.rotate_args(slot);
        let ended = h
            .kill_and_check(&strs(&args), Kill::AtPoints(point.clone()), "boundary")
            .await;
        assert!(
            matches!(&ended, Ended::KilledAtPoint { point: reached, .. } if reached == point),
            "{point} was not reached: {ended:?}"
        );
        h.resume_until_settled(&format!("boundary {point}")).await;
        assert!(h.active_rotation(slot).is_none());
    }

    // 2. One rotation killed at every boundary in turn: each resume is killed at the next one.
    for slot in 0..h.slots.len() {
        let args = h.rotate_args(slot);
        h.kill_and_check(&strs(&args), Kill::AtPoints(points[0].clone()), "chain")
            .await;
        for point in &points[1..] {
            h.kill_and_check(&["resume"], Kill::AtPoints(point.clone()), "chain")
                .await;
        }
        h.resume_until_settled("chain").await;
    }

    // 3. Rollbacks killed at their boundaries: from the drain step (secret deployed: both keys
    // stay), and from before the deploy (the new key is deleted).
    for (stop_at, roll_back_point) in [
        (None, "roll_back:before"),
        (None, "roll_back:after"),
        (Some("create:posted"), "roll_back:before"),
        (Some("create:held"), "roll_back:after"),
        (Some("store_secret:after"), "roll_back:before"),
        (Some("deploy:before"), "roll_back:after"),
        (Some("verify:after"), "roll_back:before"),
    ] {
        let slot = rng.random_range(0..h.slots.len());
        let id = match stop_at {
            None => {
                h.set_policy(slot, 3600);
                let view = h.rotate_unkilled(slot, "rotation to the drain step").await;
                h.set_policy(slot, 0);
                assert_eq!(view["status"], "waiting", "{view:#}");
                assert_eq!(view["current_step"], "drain", "{view:#}");
                h.check("waiting at drain", true).await;
                view["id"].as_str().unwrap().to_owned()
            }
            Some(point) => h.rotate_killed_at(slot, point, "rollback").await,
        };
        let context = format!("rollback from {}", stop_at.unwrap_or("drain"));
        let ended = h.roll_back_killed(&id, roll_back_point, &context).await;
        assert!(
            matches!(&ended, Ended::KilledAtPoint { point, .. } if point == roll_back_point),
            "{context}: {roll_back_point} not reached: {ended:?}"
        );
        h.resume_until_settled(&context).await;
        let rotation = h.store.rotation(&id).unwrap().unwrap();
        assert_eq!(
            rotation.status,
            RotationStatus::RolledBack,
            "{context}: {rotation:#?}"
        );
        h.settle_slots();
    }

    // 3b. Killed while disabling the old key, after the server had already disabled it (the PATCH
    // landed, its result was never written; random kills hit this window now and then), then
    // rolled back: the old key, back in the .env file, must be enabled again.
    let slot = 0;
    let old_hash = h.slots[slot].current_hash.clone();
    let rotation_id = h
        .rotate_killed_at(slot, "disable_old:before", "disabled behind its back")
        .await;
    let patched = h
        .http
        .patch(format!("{}/keys/{old_hash}", h.emulator.base_url()))
        .bearer_auth(h.emulator.management_key())
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success());
    h.roll_back_killed(
        &rotation_id,
        "roll_back:before",
        "disabled behind its back, rolling back",
    )
    .await;
    h.resume_until_settled("disabled behind its back").await;

    // 3c. Killed in the middle of the deploy: the .env file already holds the new secret (and a
    // backup of the old one), the step's result was never written. Then rolled back: the old key
    // stays in use, so the file must hold it again.
    let slot = 1;
    let old_hash = h.slots[slot].current_hash.clone();
    let rotation_id = h
        .rotate_killed_at(slot, "deploy:before", "killed mid-deploy")
        .await;
    let new_hash = h
        .store
        .rotation(&rotation_id)
        .unwrap()
        .unwrap()
        .new_key
        .unwrap()
        .hash;
    let secret = h.vault.pending_secret(&h.profile_id, &new_hash).unwrap();
    let target = DeployTarget::EnvFile {
        path: h.slots[slot].env_path.display().to_string(),
        variable: VARIABLE.to_owned(),
    };
    let outcomes = keyward_core::deploy::deploy_all(
        &[target],
        &secret,
        &keyward_core::deploy::DeployContext::default(),
    )
    .await;
    assert!(outcomes.iter().all(|outcome| outcome.ok), "{outcomes:?}");
    h.roll_back_killed(
        &rotation_id,
        "roll_back:before",
        "killed mid-deploy, rolling back",
    )
    .await;
    h.resume_until_settled("killed mid-deploy").await;
    let held = env_value(&h.slots[slot].env_path).map(|secret| sha256_hex(&secret));
    if held.as_deref() != Some(old_hash.as_str()) {
        let rotation = h.store.rotation(&rotation_id).unwrap().unwrap();
        note(
            &mut h.problems,
            "killed mid-deploy, rolled back",
            format!(
                "rotation {rotation_id} ({}) left the .env file holding {held:?}, not the old key \
                 {old_hash} it says stays in use: {:?}",
                rotation.status.as_str(),
                rotation.detail
            ),
        );
    }

    // 4. Random moments: runs killed after a random delay (or at a random point), of rotations,
    // resumes and rollbacks, until enough kills.
    let max_delay_ms = u64::try_from(full_run.as_millis())
        .unwrap_or(500)
        .clamp(20, 2000);
    println!("random kills within {max_delay_ms} ms of a start");
    let all_points: Vec<String> = HookPoint::all().iter().map(HookPoint::name).collect();
    let mut iterations = 0;
    while h.kills < MIN_KILLS + 20 || h.random_kills < 100 {
        iterations += 1;
        assert!(iterations < 3000, "too few runs get killed");
        let slot = rng.random_range(0..h.slots.len());
        let kill = if rng.random_bool(0.8) {
            Kill::After(Duration::from_millis(rng.random_range(0..max_delay_ms)))
        } else {
            let first = rng.random_range(0..all_points.len());
            let second = rng.random_range(0..all_points.len());
            Kill::AtPoints(format!("{},{}", all_points[first], all_points[second]))
        };
        let args: Vec<String> = match h.active_rotation(slot) {
            None => h.rotate_args(slot),
            Some(rotation) if rng.random_bool(0.15) && !rotation.rolling_back => vec![
                "rotation-action".to_owned(),
                rotation.id.clone(),
                "roll_back".to_owned(),
            ],
            Some(_) => vec!["resume".to_owned()],
        };
        let ended = h.kill_and_check(&strs(&args), kill, "random").await;
        if !ended.killed()
            && h.active_rotation(slot)
                .is_some_and(|r| r.status == RotationStatus::Failed)
        {
            break;
        }
    }
    h.resume_until_settled("the end").await;

    // The end: everything finished, each .env holds its key's newest secret, replaced keys gone.
    let mut end_problems = Vec::new();
    let rotations = h.rotations();
    for rotation in &rotations {
        if !matches!(
            rotation.status,
            RotationStatus::Completed | RotationStatus::RolledBack
        ) {
            end_problems.push(format!(
                "rotation {} ended {}: {rotation:#?}",
                rotation.id,
                rotation.status.as_str()
            ));
        }
        let unfinished = rotation.steps.iter().any(|step| {
            !matches!(
                step.status,
                RotationStepStatus::Done | RotationStepStatus::Skipped
            )
        });
        if rotation.status == RotationStatus::Completed && unfinished {
            end_problems.push(format!("completed with steps left: {rotation:#?}"));
        }
    }
    let keys = h.emulator_keys().await;
    for slot in &h.slots {
        let secret = env_value(&slot.env_path).unwrap_or_default();
        let status = h.key_status(&secret).await;
        let held = sha256_hex(&secret);
        let text = std::fs::read_to_string(&slot.env_path).unwrap_or_default();
        if held != slot.current_hash || status != 200 || !text.starts_with("OTHER=1\n") {
            let key = keys.iter().find(|key| key["hash"] == held.as_str());
            end_problems.push(format!(
                "{} holds key {held} (GET /key: {status}; on the emulator: {key:?}), the newest \
                 key of {} is {}; rotations of it: {:#?}",
                slot.env_path.display(),
                slot.name,
                slot.current_hash,
                rotations
                    .iter()
                    .filter(|r| r.old.hash == held
                        || r.new_key.as_ref().is_some_and(|k| k.hash == held))
                    .collect::<Vec<_>>()
            ));
        }
    }
    for rotation in rotations
        .iter()
        .filter(|rotation| rotation.status == RotationStatus::Completed)
    {
        if keys
            .iter()
            .any(|key| key["hash"] == rotation.old.hash.as_str())
        {
            end_problems.push(format!(
                "the old key of completed rotation {} is still there",
                rotation.id
            ));
        }
    }
    let completed = rotations
        .iter()
        .filter(|rotation| rotation.status == RotationStatus::Completed)
        .count();
    println!(
        "{} rotations ({completed} completed, {} rolled back), {} keyward-cli runs, kills by point: {:?}",
        rotations.len(),
        rotations.len() - completed,
        h.runs,
        h.kills_by_point
    );
    if !h.only_in_backup.is_empty() {
        println!(
            "secrets recoverable only from a deploy backup file: {:#?}",
            listed(&h.only_in_backup)
        );
    }
    println!(
        "run time {:?}, keychain reads that failed and were retried: {}",
        started.elapsed(),
        h.keychain_read_errors
    );
    println!(
        "kills: {}, secrets lost: {}, orphan keys: {}",
        h.kills,
        h.lost.len(),
        h.orphans.len()
    );
    let orphans: Vec<&String> = h.orphans.values().collect();
    assert!(
        h.lost.is_empty()
            && h.orphans.is_empty()
            && h.problems.is_empty()
            && end_problems.is_empty(),
        "secrets lost: {:#?}\norphan keys: {orphans:#?}\nother problems: {:#?}\nat the end: {end_problems:#?}",
        listed(&h.lost),
        listed(&h.problems)
    );
    assert!(h.kills >= MIN_KILLS, "only {} kills", h.kills);
    drop(h);
}

/// The harness's own accounting: a keychain read that fails is retried and never taken for "the
/// secret is not there" (which once made a loaded run report secrets lost that were in the keychain
/// all along), while a secret that really is nowhere still reads as absent.
#[tokio::test]
async fn a_failing_keychain_read_is_neither_a_loss_nor_a_pass() {
    let keychain = MemoryKeychain::new();
    let vault = Vault::with_backend("keyward-test-crash-accounting", keychain.clone());
    let secret = SecretString::from("sk-or-v1-accounting".to_owned());
    vault.set_pending_secret("p1", "held", &secret).unwrap();
    vault.set_kept_secret("p1", "kept", &secret).unwrap();

    // Reads time out twice (as a Secret Service call does under load), then answer.
    keychain.inject(
        Fault::new(KeychainFailure::Unavailable)
            .on(KeychainOp::Get)
            .times(2),
    );
    let mut failed = 0;
    assert_eq!(
        keychain_holds(&vault, "p1", "held", &mut failed).await,
        Ok(true)
    );
    assert_eq!(failed, 2);
    assert_eq!(
        keychain_holds(&vault, "p1", "kept", &mut failed).await,
        Ok(true)
    );
    assert_eq!(
        keychain_holds(&vault, "p1", "gone", &mut failed).await,
        Ok(false)
    );
    assert_eq!(failed, 2);

    // A keychain that never answers is reported, not counted as holding the secret.
    keychain.inject(Fault::new(KeychainFailure::Failed).on(KeychainOp::Get));
    let unknown = keychain_holds(&vault, "p1", "held", &mut failed).await;
    assert!(unknown.is_err(), "{unknown:?}");
    assert_eq!(failed, 2 + KEYCHAIN_READ_ATTEMPTS as usize);
}
