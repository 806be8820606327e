//! Two processes at once (issue 14, finding 2): real `keyward-cli` processes on one data directory
//! and keychain race for the same rotation. Two `rotate`s of one key started together: exactly one
//! proceeds, the other is refused with a clear error (the store allows one unfinished rotation per
//! key, whichever process asks). While the winner drives its rotation (paused at a step boundary
//! with `--crash-test-pause-at`, alive and holding the rotation's lease) a `rotation-action …
//! roll_back` from another process is refused, and a `resume` leaves the rotation alone. Once the
//! winner is killed, a `resume` takes the rotation over (its lease's process is gone) and finishes
//! it: one rotation, completed; the old key gone; the `.env` file holding the new key's working
//! secret; the new key under its final name; no other key.
//!
//! Uses the real keychain (a Secret Service); run inside a keychain session:
//! `tests/session.sh -- cargo test -p keyward-cli --test rotation_race -- --ignored --nocapture`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::{PAUSED_MARKER, RotationPolicy, RotationStatus};
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use keyward_core::{Keyward, ServiceConfig};
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");
const VARIABLE: &str = "OPENROUTER_API_KEY";
const WAIT: Duration = Duration::from_secs(30);

struct Race {
    emulator: Emulator,
    http: reqwest::Client,
    _scratch: tempfile::TempDir,
    data_dir: PathBuf,
    keychain_service: String,
    vault: Vault,
    store: Store,
    profile_id: String,
    env_path: PathBuf,
    key_hash: String,
}

/// How a run that may pause ended up.
enum Outcome {
    /// Reached a pause point and waits there, alive: the child, and the rotation id it printed.
    Paused(Child, String),
    Exited {
        success: bool,
        stdout: String,
        stderr: String,
    },
}

impl Race {
    async fn start() -> Race {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let http = reqwest::Client::new();
        let scratch = tempfile::tempdir().unwrap();
        let data_dir = scratch.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let keychain_service = format!("keyward-test-cli-race-{}", std::process::id());
        let vault = Vault::with_service(keychain_service.clone());
        let created: Value = http
            .post(format!("{}/keys", emulator.base_url()))
            .bearer_auth(emulator.management_key())
            .json(&json!({ "name": "race", "limit": 5.0 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key_hash = created["data"]["hash"].as_str().unwrap().to_owned();
        let env_path = scratch.path().join("race.env");
        let secret = created["key"].as_str().unwrap();
        std::fs::write(&env_path, format!("OTHER=1\n{VARIABLE}={secret}\n")).unwrap();
        let store = Store::open_in_dir(&data_dir).unwrap();
        let mut race = Race {
            emulator,
            http,
            _scratch: scratch,
            data_dir,
            keychain_service,
            vault,
            store,
            profile_id: String::new(),
            env_path,
            key_hash,
        };
        let base_url = race.emulator.base_url().to_owned();
        let management_key = race.emulator.management_key().to_owned();
        let mut add = race.command(&["profile-add", "--name", "race", "--base-url", &base_url]);
        add.env("KEYWARD_MANAGEMENT_KEY", &management_key);
        let Outcome::Exited {
            success: true,
            stdout,
            ..
        } = outcome(add.spawn().unwrap()).await
        else {
            panic!("profile-add failed");
        };
        let profile: Value = serde_json::from_str(&stdout).unwrap();
        race.profile_id = profile["id"].as_str().unwrap().to_owned();
        race.set_policy();
        race
    }

    /// The current key rotates into the `.env` file, no quiet or grace period.
    fn set_policy(&self) {
        let service = Keyward::new(
            Store::open_in_dir(&self.data_dir).unwrap(),
            ServiceConfig::new(self.vault.clone()),
        );
        let mut policy = RotationPolicy::default_for(&self.profile_id, &self.key_hash);
        policy.targets = vec![DeployTarget::EnvFile {
            path: self.env_path.display().to_string(),
            variable: VARIABLE.to_owned(),
        }];
        policy.quiet_period_secs = 0;
        policy.grace_period_secs = 0;
        service.set_rotation_policy(policy).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--keychain-service")
            .arg(&self.keychain_service)
            .arg("--json")
            .args(args)
            .env_remove("KEYWARD_DATA_DIR")
            .env_remove("KEYWARD_KEYCHAIN_SERVICE")
            .env_remove("KEYWARD_MANAGEMENT_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// `rotate` of the current key, pausing at `pause`.
    fn rotate(&self, pause: &str) -> Child {
        let mut command = self.command(&["rotate", &self.key_hash, "--delete-at-once"]);
        command.arg("--crash-test-pause-at").arg(pause);
        command.spawn().unwrap()
    }

    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        match outcome(self.command(args).spawn().unwrap()).await {
            Outcome::Exited {
                success,
                stdout,
                stderr,
            } => (success, stdout, stderr),
            Outcome::Paused(..) => unreachable!("no pause point was given"),
        }
    }

    async fn emulator_keys(&self) -> Vec<Value> {
        let listed: Value = self
            .http
            .get(format!("{}/keys", self.emulator.control_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed["data"].as_array().unwrap().clone()
    }

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
}

impl Drop for Race {
    fn drop(&mut self) {
        let _ = self.vault.delete_management_key(&self.profile_id);
        for rotation in self.store.rotations(None, false).unwrap_or_default() {
            if let Some(new_key) = rotation.new_key {
                let _ = self
                    .vault
                    .delete_pending_secret(&self.profile_id, &new_key.hash);
                let _ = self
                    .vault
                    .delete_kept_secret(&self.profile_id, &new_key.hash);
            }
        }
    }
}

/// Follows a child until it pauses (then it is left running) or exits.
async fn outcome(mut child: Child) -> Outcome {
    let mut stdout = child.stdout.take().unwrap();
    let stdout_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    let paused = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with(PAUSED_MARKER) {
                return Some(line);
            }
            stderr.push_str(&line);
            stderr.push('\n');
        }
        None
    })
    .await
    .expect("keyward-cli neither paused nor ended in time");
    if let Some(line) = paused {
        let id = line
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_owned();
        // Keep draining its stderr so it never blocks writing.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        return Outcome::Paused(child, id);
    }
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("keyward-cli ends")
        .unwrap();
    Outcome::Exited {
        success: status.success(),
        stdout: stdout_task.await.unwrap(),
        stderr,
    }
}

fn env_value(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{VARIABLE}=")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Two `rotate`s of the key at once, both pausing at `pause`: one pauses (it proceeds), the other
/// is refused. Returns the paused winner and its rotation id.
async fn race_two_rotates(race: &Race, pause: &str) -> (Child, String) {
    let (first, second) = tokio::join!(outcome(race.rotate(pause)), outcome(race.rotate(pause)));
    match (first, second) {
        (
            Outcome::Paused(child, id),
            Outcome::Exited {
                success, stderr, ..
            },
        )
        | (
            Outcome::Exited {
                success, stderr, ..
            },
            Outcome::Paused(child, id),
        ) => {
            assert!(!success, "the second rotate must fail");
            // Refused by the store's one-unfinished-rotation-per-key rule, by the start's own
            // check, or (when it came late) because the winner had already disabled the old key.
            assert!(
                [
                    "unfinished rotation",
                    "already part of rotation",
                    "is disabled"
                ]
                .iter()
                .any(|why| stderr.contains(why)),
                "the loser's error says why: {stderr}"
            );
            (child, id)
        }
        (Outcome::Paused(..), Outcome::Paused(..)) => {
            panic!("two rotations of one key proceed at once")
        }
        (Outcome::Exited { stderr: a, .. }, Outcome::Exited { stderr: b, .. }) => {
            panic!("neither rotate proceeded: {a}\n---\n{b}")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn two_processes_racing_for_one_rotation_leave_it_consistent() {
    let mut race = Race::start().await;
    // Paused before the create (the race to start), then about to delete the old key (where a
    // rollback from another process would put that dying key back in the .env file).
    for (round, pause) in ["create:before", "delete_old:before"]
        .into_iter()
        .enumerate()
    {
        let old_hash = race.key_hash.clone();
        let (mut winner, id) = race_two_rotates(&race, pause).await;
        let journal = race.store.rotation_journal(&id).unwrap().len();
        let version = race.store.rotation(&id).unwrap().unwrap().version;

        let (ok, _, stderr) = race.run(&["rotation-action", &id, "roll_back"]).await;
        assert!(
            !ok,
            "round {round}: a rollback of a driven rotation must be refused"
        );
        assert!(
            stderr.contains("another Keyward process"),
            "round {round}: {stderr}"
        );
        let (ok, stdout, stderr) = race.run(&["resume"]).await;
        assert!(ok, "round {round}: resume: {stderr}");
        let views: Vec<Value> = serde_json::from_str(&stdout).unwrap();
        assert_eq!(views.len(), 1, "round {round}: {views:#?}");
        assert_eq!(views[0]["status"], "running", "round {round}");
        // Nothing was written to it by the other processes.
        assert_eq!(race.store.rotation_journal(&id).unwrap().len(), journal);
        assert_eq!(race.store.rotation(&id).unwrap().unwrap().version, version);

        // The winner dies where it paused; the next resume takes over and finishes.
        winner.start_kill().unwrap();
        winner.wait().await.unwrap();
        let (ok, _, stderr) = race.run(&["resume"]).await;
        assert!(ok, "round {round}: resume after the kill: {stderr}");
        let rotations = race.store.rotations(None, false).unwrap();
        assert_eq!(
            rotations.len(),
            round + 1,
            "round {round}: one rotation per round"
        );
        let rotation = race.store.rotation(&id).unwrap().unwrap();
        assert_eq!(
            rotation.status,
            RotationStatus::Completed,
            "round {round}: {rotation:#?}"
        );
        let problems = keyward_core::rotation::check_journal(
            &rotation,
            &race.store.rotation_journal(&id).unwrap(),
        );
        assert!(problems.is_empty(), "round {round}: {problems:?}");
        let final_name = rotation.new_key_name.clone();
        assert!(final_name.starts_with("race · rotated "), "{final_name}");
        let new_hash = rotation.new_key.unwrap().hash;
        let keys = race.emulator_keys().await;
        assert_eq!(keys.len(), 1, "round {round}: {keys:#?}");
        assert_eq!(keys[0]["hash"], new_hash.as_str());
        assert_ne!(new_hash, old_hash);
        assert_eq!(keys[0]["name"], final_name.as_str(), "round {round}");
        let secret = env_value(&race.env_path);
        assert_eq!(race.key_status(&secret).await, 200, "round {round}");
        race.key_hash = new_hash;
        race.set_policy();
    }
}
