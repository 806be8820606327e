//! The rotation crash test's harness: an emulator, a keychain profile and `.env` slots, and the
//! driving of `keyward-cli` runs (killed at a pause point or after a delay, resumed until settled).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::{HookPoint, PAUSED_MARKER, Rotation, RotationPolicy, RotationStatus};
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use keyward_core::{Keyward, ServiceConfig};
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::attachments::{Attached, management};
use super::checks::note;
use super::keychain::failed_on_keychain;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

pub(crate) const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");
pub(crate) const VARIABLE: &str = "OPENROUTER_API_KEY";
/// Kills the whole run must reach by default (CI); `KEYWARD_CRASH_KILLS=N` asks for more (the
/// documented run uses 1,000).
pub(crate) const MIN_KILLS: usize = 200;
/// A session bus address nothing listens on: a `keyward-cli` run given it finds no keychain at all
/// (every keychain call fails with `keychain_unavailable`), as when the Secret Service is gone.
pub(crate) const NO_KEYCHAIN_BUS: &str = "unix:path=/nonexistent/keyward-crash-test-bus";

/// The kills a run must reach: `KEYWARD_CRASH_KILLS`, at least [`MIN_KILLS`].
pub(crate) fn target_kills() -> usize {
    std::env::var("KEYWARD_CRASH_KILLS")
        .ok()
        .and_then(|kills| kills.parse().ok())
        .unwrap_or(MIN_KILLS)
        .max(MIN_KILLS)
}
/// How long a paused process may take to reach its pause point.
pub(crate) const PAUSE_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the harness tries to read a secret before saying it cannot tell where it is.
pub(crate) const KEYCHAIN_READ_ATTEMPTS: u32 = 10;
pub(crate) const KEYCHAIN_RETRY_DELAY: Duration = Duration::from_millis(500);
/// The signal `Child::start_kill` sends on Unix.
pub(crate) const SIGKILL: i32 = 9;

/// How one `keyward-cli` run ended.
#[derive(Debug)]
pub(crate) enum Ended {
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
    pub(crate) fn killed(&self) -> bool {
        !matches!(self, Ended::Exited { .. })
    }
}

/// When to kill a run.
#[derive(Debug, Clone)]
pub(crate) enum Kill {
    Never,
    /// At the first of these points it reaches (comma-separated `--crash-test-pause-at`).
    AtPoints(String),
    /// After this long, if it is still running.
    After(Duration),
}

/// A key being rotated over and over, deployed to its own `.env` file.
pub(crate) struct Slot {
    pub(crate) name: String,
    /// The key the `.env` file should hold: the newest completed rotation's new key.
    pub(crate) current_hash: String,
    pub(crate) env_path: PathBuf,
}

pub(crate) struct Harness {
    pub(crate) emulator: Emulator,
    pub(crate) http: reqwest::Client,
    /// The scratch directory (data directory, .env files), removed when the harness drops.
    pub(crate) _scratch: tempfile::TempDir,
    pub(crate) data_dir: PathBuf,
    pub(crate) keychain_service: String,
    pub(crate) vault: Vault,
    pub(crate) service: Keyward,
    pub(crate) store: Store,
    pub(crate) profile_id: String,
    /// Keys that existed before any rotation (the slots' first keys and demo keys).
    pub(crate) seeded: HashSet<String>,
    /// The slots' first keys.
    pub(crate) first_hashes: Vec<String>,
    /// What names the slots' keys (guardrail, BYOK allowlist, log destination).
    pub(crate) attached: Attached,
    pub(crate) slots: Vec<Slot>,
    /// Every key hash ever seen, for cleaning the keychain up.
    pub(crate) seen_hashes: BTreeSet<String>,
    pub(crate) kills: usize,
    pub(crate) kills_by_point: BTreeMap<String, usize>,
    pub(crate) random_kills: usize,
    pub(crate) runs: usize,
    /// Findings by what went wrong (each kept once, with where it was first seen).
    pub(crate) lost: BTreeMap<String, String>,
    pub(crate) orphans: BTreeMap<String, String>,
    pub(crate) problems: BTreeMap<String, String>,
    /// Runs whose keychain was unreachable (`NO_KEYCHAIN_BUS`).
    pub(crate) keychain_fault_runs: usize,
    /// Rotations such a run left failed, retried with the keychain back.
    pub(crate) keychain_retries: usize,
    /// Hashes missing where they must be, or left where they must not (see `attachments`).
    pub(crate) attachments_lost: BTreeMap<String, String>,
    /// Keychain reads that failed (and were retried) instead of answering "there" or "not there".
    pub(crate) keychain_read_errors: usize,
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

pub(crate) fn env_value(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{VARIABLE}=")))
        .map(|value| value.trim().trim_matches('"').to_owned())
}

/// Every key hash a journal entry names as a rotation's new key (or one its reconciliation found).
pub(crate) fn journal_hashes(value: &Value, into: &mut BTreeSet<String>) {
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
    pub(crate) async fn start() -> Harness {
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

        // The rotated keys live in a second workspace (and one more key that only shares their
        // BYOK allowlist).
        let workspace = management(
            &http,
            reqwest::Method::POST,
            format!("{}/workspaces", emulator.base_url()),
            emulator.management_key(),
            Some(json!({"name": "Crash", "slug": "crash"})),
        )
        .await;
        let workspace_id = workspace["data"]["id"].as_str().unwrap().to_owned();
        let mut slots = Vec::new();
        let mut bystander = String::new();
        for name in ["crash-a", "crash-b", "crash-bystander"] {
            let created = management(
                &http,
                reqwest::Method::POST,
                format!("{}/keys", emulator.base_url()),
                emulator.management_key(),
                Some(
                    json!({ "name": name, "limit": 5.0, "limit_reset": "monthly",
                             "workspace_id": workspace_id }),
                ),
            )
            .await;
            let hash = created["data"]["hash"].as_str().unwrap().to_owned();
            seeded.insert(hash.clone());
            if name == "crash-bystander" {
                bystander = hash;
                continue;
            }
            let secret = created["key"].as_str().unwrap();
            let env_path = dir.path().join(format!("{name}.env"));
            std::fs::write(&env_path, format!("OTHER=1\n{VARIABLE}={secret}\n# kept\n")).unwrap();
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
            first_hashes: slots.iter().map(|slot| slot.current_hash.clone()).collect(),
            attached: Attached::default(),
            slots,
            kills: 0,
            kills_by_point: BTreeMap::new(),
            random_kills: 0,
            runs: 0,
            lost: BTreeMap::new(),
            orphans: BTreeMap::new(),
            problems: BTreeMap::new(),
            keychain_fault_runs: 0,
            keychain_retries: 0,
            attachments_lost: BTreeMap::new(),
            keychain_read_errors: 0,
        };
        harness.attach_slots(&workspace_id, bystander).await;
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
    pub(crate) fn set_policy(&self, slot: usize, quiet_secs: u32) {
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

    pub(crate) async fn cli(&mut self, args: &[&str], kill: Kill) -> Ended {
        self.cli_with_env(args, &[], kill).await
    }

    /// Runs `keyward-cli --json <args>` on the harness's data directory and keychain service.
    pub(crate) async fn cli_with_env(
        &mut self,
        args: &[&str],
        env: &[(&str, &str)],
        kill: Kill,
    ) -> Ended {
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
}

impl Harness {
    /// The unfinished rotation of a slot's key, if any.
    pub(crate) fn active_rotation(&self, slot: usize) -> Option<Rotation> {
        self.store
            .active_rotation_of_key(&self.profile_id, &self.slots[slot].current_hash)
            .unwrap()
    }

    /// Moves every slot on to the new key of each completed rotation of its key (several, when
    /// one run finished more than one).
    pub(crate) fn settle_slots(&mut self) {
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
    pub(crate) async fn resume_until_settled(&mut self, context: &str) {
        for _ in 0..5 {
            self.retry_keychain_failures(context).await;
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
                .filter(|rotation| {
                    rotation.status == RotationStatus::Running || failed_on_keychain(rotation)
                })
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
    pub(crate) async fn kill_and_check(
        &mut self,
        args: &[&str],
        kill: Kill,
        context: &str,
    ) -> Ended {
        self.kill_and_check_with(args, kill, false, context).await
    }

    /// [`kill_and_check`](Self::kill_and_check); with `no_keychain` the run finds no keychain.
    pub(crate) async fn kill_and_check_with(
        &mut self,
        args: &[&str],
        kill: Kill,
        no_keychain: bool,
        context: &str,
    ) -> Ended {
        let ended = if no_keychain {
            self.keychain_fault_runs += 1;
            let env = [("DBUS_SESSION_BUS_ADDRESS", NO_KEYCHAIN_BUS)];
            self.cli_with_env(args, &env, kill).await
        } else {
            self.cli(args, kill).await
        };
        let settles = args.first() == Some(&"resume") && !no_keychain;
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
    pub(crate) async fn rotate_unkilled(&mut self, slot: usize, what: &str) -> Value {
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
    pub(crate) async fn rotate_killed_at(
        &mut self,
        slot: usize,
        point: &str,
        context: &str,
    ) -> String {
        let args = self.rotate_args(slot);
        let kill = Kill::AtPoints(point.to_owned());
        let ended = self.kill_and_check(&strs(&args), kill, context).await;
        let Ended::KilledAtPoint { rotation_id, .. } = ended else {
            panic!("{point} not reached: {ended:?}");
        };
        rotation_id
    }

    /// Rolls back rotation `id`, killed at `point`.
    pub(crate) async fn roll_back_killed(&mut self, id: &str, point: &str, context: &str) -> Ended {
        let args = ["rotation-action", id, "roll_back"];
        let kill = Kill::AtPoints(point.to_owned());
        self.kill_and_check(&args, kill, context).await
    }

    pub(crate) fn rotate_args(&self, slot: usize) -> Vec<String> {
        vec![
            "rotate".to_owned(),
            self.slots[slot].current_hash.clone(),
            "--delete-at-once".to_owned(),
        ]
    }
}

pub(crate) fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The step boundaries (rollback ones apart).
pub(crate) fn step_points() -> Vec<String> {
    HookPoint::all()
        .into_iter()
        .filter(|point| point.step.is_some())
        .map(|point| point.name())
        .collect()
}
