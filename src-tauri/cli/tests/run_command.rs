//! `keyward-cli run --key NAME -- COMMAND`, checked from the child: its environment holds the key's
//! secret (its SHA-256 is the key's hash, so the child never has to write the secret anywhere), its
//! argv and /proc/<pid>/cmdline (and the CLI's) do not, it does not get the management key, and no
//! file in the data directory or the working directory holds the secret afterwards. Exit statuses
//! and signals pass through. After a rotation with the "keyward run" deploy target, the next `run`
//! gets the new key.
//!
//! Needs a Secret Service (the profile's management key and the held secrets live in the keychain):
//! `tests/session.sh -- cargo test -p keyward-cli --test run_command -- --include-ignored`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::RotationPolicy;
use keyward_core::store::{SecretState, Store};
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{CLI, OutputText};

struct Profiled {
    emulator: Emulator,
    dir: tempfile::TempDir,
    service: String,
    profile_id: String,
}

impl Profiled {
    async fn start(tag: &str) -> Profiled {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let service = format!("keyward-test-cli-run-{tag}-{}", std::process::id());
        let mut bench = Profiled {
            emulator,
            dir,
            service,
            profile_id: String::new(),
        };
        let added = bench
            .command(&[
                "--json",
                "profile-add",
                "--name",
                "main",
                "--base-url",
                bench.emulator.base_url(),
            ])
            .env("KEYWARD_MANAGEMENT_KEY", bench.emulator.management_key())
            .output()
            .unwrap();
        assert!(added.status.success(), "{}", added.stderr_text());
        let profile: Value = serde_json::from_slice(&added.stdout).unwrap();
        bench.profile_id = profile["id"].as_str().unwrap().to_owned();
        bench
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn out(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join("out").join(name)
    }

    /// The CLI on the stored profile (no management key in its environment), working directory
    /// `work/`, standard input closed.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command
            .arg("--data-dir")
            .arg(self.data())
            .args(["--keychain-service", &self.service])
            .args(args)
            .current_dir(self.dir.path().join("work"))
            .env_remove("KEYWARD_MANAGEMENT_KEY")
            .env_remove("KEYWARD_BASE_URL")
            .env_remove("OPENROUTER_API_KEY")
            .stdin(Stdio::null());
        command
    }

    /// Creates a key through the CLI (its secret held in the keychain); the secret.
    fn create(&self, name: &str) -> String {
        let out = self.command(&["create", "--name", name]).output().unwrap();
        assert!(out.status.success(), "{}", out.stderr_text());
        out.stdout_text().trim().to_owned()
    }

    /// `run --key KEY [extra] -- /bin/sh -c SCRIPT sh OUT_DIR`.
    fn run_sh(&self, key: &str, extra: &[&str], script: &str) -> Output {
        let out_dir = self.dir.path().join("out");
        let mut args = vec!["run", "--key", key];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--",
            "/bin/sh",
            "-c",
            script,
            "sh",
            out_dir.to_str().unwrap(),
        ]);
        self.command(&args).output().unwrap()
    }

    fn cleanup(&self) {
        let vault = keyward_core::vault::Vault::with_service(self.service.clone());
        let _ = vault.delete_management_key(&self.profile_id);
        if let Ok(store) = Store::open_in_dir(&self.data()) {
            for entry in store.secret_index(None, None).unwrap_or_default() {
                let _ = vault.delete_pending_secret(&entry.profile_id, &entry.key_hash);
                let _ = vault.delete_kept_secret(&entry.profile_id, &entry.key_hash);
            }
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Every regular file under `root` whose bytes contain `needle`.
fn files_holding(root: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|window| window == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

/// What the child records about itself, never the secret: the SHA-256 of its variable, its own
/// and its parent's (the CLI's) command lines, whether it got the management key.
const INSPECT: &str = r#"
printf %s "$OPENROUTER_API_KEY" | sha256sum | cut -d' ' -f1 > "$1/env.sha"
cat /proc/$$/cmdline > "$1/cmdline"
cat /proc/$PPID/cmdline > "$1/parent-cmdline"
printf %s "$*" > "$1/argv"
if [ -n "${KEYWARD_MANAGEMENT_KEY+x}" ]; then echo yes; else echo no; fi > "$1/mgmt"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn the_secret_is_only_in_the_childs_environment() {
    let bench = Profiled::start("env").await;
    let secret = bench.create("prod-api");
    let hash = sha256_hex(secret.as_bytes());

    let out = bench.run_sh("prod-api", &[], INSPECT);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let env_sha = std::fs::read_to_string(bench.out("env.sha")).unwrap();
    assert_eq!(
        env_sha.trim(),
        hash,
        "the child's variable is not the key's secret"
    );
    assert_eq!(
        std::fs::read_to_string(bench.out("mgmt")).unwrap().trim(),
        "no"
    );
    for file in ["cmdline", "parent-cmdline", "argv"] {
        let bytes = std::fs::read(bench.out(file)).unwrap();
        assert!(!bytes.is_empty(), "{file} is empty");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{file} holds the secret"
        );
    }
    assert!(
        !out.stdout_text().contains(&secret) && !out.stderr_text().contains(&secret),
        "the CLI printed the secret"
    );
    // Nothing on disk holds it: not the data directory, not the working directory, not what the
    // child wrote.
    assert_eq!(
        files_holding(bench.dir.path(), secret.as_bytes()),
        Vec::<std::path::PathBuf>::new()
    );

    // --env picks the variable; by hash works too.
    let out = bench.run_sh(
        &hash,
        &["--env", "MY_KEY"],
        r#"printf %s "$MY_KEY" | sha256sum | cut -d' ' -f1 > "$1/my.sha"; [ -z "$OPENROUTER_API_KEY" ]"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(
        std::fs::read_to_string(bench.out("my.sha")).unwrap().trim(),
        hash
    );

    // A key Keyward holds no secret of: not found (3), and the command never starts.
    let out = bench.run_sh("no-such-key", &[], r#"touch "$1/started""#);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());
    assert!(!bench.out("started").exists());
    bench.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn exit_statuses_and_signals_pass_through() {
    let bench = Profiled::start("status").await;
    bench.create("svc");
    assert_eq!(bench.run_sh("svc", &[], "exit 7").status.code(), Some(7));
    assert_eq!(
        bench.run_sh("svc", &[], "kill -TERM $$").status.code(),
        Some(128 + 15)
    );
    let out = bench
        .command(&["run", "--key", "svc", "--", "/nonexistent/program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", out.stderr_text());
    let out = bench
        .command(&[
            "run",
            "--key",
            "svc",
            "--env",
            "KEYWARD_MANAGEMENT_KEY",
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());

    // SIGTERM (and, without a terminal, SIGINT) to the CLI reaches the child, whose own exit
    // status then ends the CLI.
    for (signal, name) in [
        (nix::sys::signal::Signal::SIGTERM, "TERM"),
        (nix::sys::signal::Signal::SIGINT, "INT"),
    ] {
        let _ = std::fs::remove_file(bench.out("ready"));
        let out_dir = bench.dir.path().join("out");
        let script = format!(
            r#"trap 'echo {name} > "$1/got"; exit 0' {name}; touch "$1/ready"; while :; do sleep 0.05; done"#
        );
        let mut child = bench
            .command(&[
                "run",
                "--key",
                "svc",
                "--",
                "/bin/sh",
                "-c",
                &script,
                "sh",
                out_dir.to_str().unwrap(),
            ])
            .spawn()
            .unwrap();
        // Wait for the child to have set its trap (a condition, not a timing assumption).
        while !bench.out("ready").exists() {
            assert!(child.try_wait().unwrap().is_none(), "run ended early");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{name}");
        assert_eq!(
            std::fs::read_to_string(bench.out("got")).unwrap().trim(),
            name
        );
    }
    bench.cleanup();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn after_a_rotation_run_gets_the_new_key() {
    let bench = Profiled::start("rotate").await;
    let old_secret = bench.create("prod-api");
    let old_hash = sha256_hex(old_secret.as_bytes());

    let mut policy = RotationPolicy::default_for(&bench.profile_id, &old_hash);
    policy.targets = vec![DeployTarget::KeywardRun];
    policy.quiet_period_secs = 0;
    policy.grace_period_secs = 0;
    policy.validate().unwrap();
    Store::open_in_dir(&bench.data())
        .unwrap()
        .set_rotation_policy(&policy)
        .unwrap();

    let out = bench
        .command(&["--json", "rotate", "prod-api", "--delete-at-once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", out.stderr_text());
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_hash = view["new_key_hash"].as_str().unwrap().to_owned();
    assert_ne!(new_hash, old_hash);
    let deploy = view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["step"] == "deploy")
        .unwrap();
    assert_eq!(deploy["status"], "done", "{view:#}");

    let out = bench.run_sh("prod-api", &[], INSPECT);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(
        std::fs::read_to_string(bench.out("env.sha"))
            .unwrap()
            .trim(),
        new_hash,
        "run did not get the rotated key"
    );

    // Run to the end, the new secret is kept (not pending, not released) for the next `run`.
    let out = bench.command(&["--json", "resume"]).output().unwrap();
    assert!(out.status.success(), "{}", out.stderr_text());
    let rotations = bench
        .command(&["--json", "rotations", "--all"])
        .output()
        .unwrap();
    let rotations: Value = serde_json::from_slice(&rotations.stdout).unwrap();
    assert_eq!(rotations[0]["status"], "completed", "{rotations:#}");
    let store = Store::open_in_dir(&bench.data()).unwrap();
    let entry = store
        .secret_index_entry(&bench.profile_id, &new_hash)
        .unwrap()
        .expect("the new secret left the keychain");
    assert_eq!(entry.state, SecretState::Kept);
    let out = bench.run_sh("prod-api", &[], INSPECT);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(
        std::fs::read_to_string(bench.out("env.sha"))
            .unwrap()
            .trim(),
        new_hash
    );
    bench.cleanup();
}
