//! Shared by the CLI's suites: an emulator on 127.0.0.1, a scratch data directory, and the real
//! `keyward-cli` binary run in the ad-hoc mode against it (management key in the environment,
//! standard input given or closed, never a terminal).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

pub const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

pub trait OutputText {
    fn stdout_text(&self) -> String;
    fn stderr_text(&self) -> String;
}

impl OutputText for Output {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

pub struct Bench {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Bench {
    pub async fn start() -> Bench {
        Bench {
            emulator: Emulator::start(EmulatorConfig::default()).await.unwrap(),
            dir: tempfile::tempdir().unwrap(),
            http: reqwest::Client::new(),
        }
    }

    /// The CLI in the ad-hoc mode against the emulator (a data directory and keychain service of
    /// its own, which the ad-hoc mode must not need anyway).
    pub fn command(&self, args: &[&str], _stdin: Option<&str>) -> Command {
        let mut command = Command::new(CLI);
        command
            .args(args)
            .env("KEYWARD_DATA_DIR", self.dir.path().join("data"))
            .env("KEYWARD_KEYCHAIN_SERVICE", "keyward-test-cli-ad-hoc")
            .env("KEYWARD_MANAGEMENT_KEY", self.emulator.management_key())
            .env("KEYWARD_BASE_URL", self.emulator.base_url())
            .env_remove("KEYWARD_ROTATION_PAUSE_AT")
            .stdin(Stdio::null());
        command
    }

    /// Runs the CLI; `stdin` (if any) is written to its standard input, then closed.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command(args, stdin);
        run_with_stdin(&mut command, stdin)
    }

    pub async fn emulator_keys(&self) -> Vec<Value> {
        let answer: Value = self
            .http
            .get(format!(
                "{}/keys?include_disabled=true",
                self.emulator.base_url()
            ))
            .bearer_auth(self.emulator.management_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].as_array().unwrap().clone()
    }

    pub async fn emulator_key(&self, hash: &str) -> Value {
        let answer: Value = self
            .http
            .get(format!("{}/keys/{hash}", self.emulator.base_url()))
            .bearer_auth(self.emulator.management_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"].clone()
    }

    /// Creates a key straight on the emulator; its hash.
    pub async fn create_key(&self, body: Value) -> String {
        let answer: Value = self
            .http
            .post(format!("{}/keys", self.emulator.base_url()))
            .bearer_auth(self.emulator.management_key())
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"]["hash"].as_str().unwrap().to_owned()
    }

    pub async fn patch_key(&self, hash: &str, body: Value) {
        let status = self
            .http
            .patch(format!("{}/keys/{hash}", self.emulator.base_url()))
            .bearer_auth(self.emulator.management_key())
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.emulator.control_url()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn record_usage(&self, hash: &str, usage: f64) {
        self.control(
            &format!("/keys/{hash}/usage"),
            serde_json::json!({ "usage": usage }),
        )
        .await;
    }

    pub async fn clear_requests(&self) {
        self.http
            .delete(format!("{}/requests", self.emulator.control_url()))
            .send()
            .await
            .unwrap();
    }

    /// The API requests the emulator answered since the last clear.
    pub async fn requests(&self) -> Vec<Value> {
        let log: Value = self
            .http
            .get(format!("{}/requests", self.emulator.control_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log["requests"].as_array().cloned().unwrap_or_default()
    }
}

/// The CLI on a stored profile: `--data-dir` and `--keychain-service` of the test's own, standard
/// input closed; `key` (if any) in `KEYWARD_MANAGEMENT_KEY` (e.g. for `profile-add`).
pub fn profile_cli(
    dir: &std::path::Path,
    service: &str,
    args: &[&str],
    key: Option<&str>,
) -> Output {
    let mut command = Command::new(CLI);
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["--keychain-service", service])
        .args(args)
        .env_remove("KEYWARD_MANAGEMENT_KEY")
        .env_remove("KEYWARD_BASE_URL")
        .stdin(Stdio::null());
    if let Some(key) = key {
        command.env("KEYWARD_MANAGEMENT_KEY", key);
    }
    command.output().unwrap()
}

/// Standard output of a run that must have succeeded (else the panic shows both streams).
pub fn ok_text(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        output.stdout_text(),
        output.stderr_text()
    );
    output.stdout_text()
}

/// Standard output parsed as JSON (the run need not have succeeded: `--json` errors print a report).
pub fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", output.stdout_text(), output.stderr_text()))
}

/// `ok_text` parsed as JSON.
pub fn ok_json(output: &Output) -> Value {
    ok_text(output);
    stdout_json(output)
}

pub fn run_with_stdin(command: &mut Command, stdin: Option<&str>) -> Output {
    if let Some(input) = stdin {
        command.stdin(Stdio::piped());
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    } else {
        command.output().unwrap()
    }
}
