//! Command deploy targets with real processes: the secret reaches the program only through its
//! environment variable, failures and timeouts are reported with redacted output.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::time::{Duration, Instant};

use keyward_core::deploy::{self, DeployContext, DeployTarget};
use secrecy::SecretString;

/// A made-up key-shaped fixture (never a real key).
const SECRET: &str = "sk-or-v1-2222222222222222222222222222222222222222222222222222222222222222";

fn sh(script: &str, args: &[&str]) -> DeployTarget {
    let mut all = vec!["-c".to_owned(), script.to_owned(), "sh".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    DeployTarget::Command {
        program: "sh".into(),
        args: all,
        env_var: "KW_SECRET".into(),
        working_dir: None,
    }
}

async fn run(target: &DeployTarget, ctx: &DeployContext) -> deploy::DeployOutcome {
    let outcome = deploy::deploy(target, &SecretString::from(SECRET.to_owned()), ctx).await;
    let json = serde_json::to_string(&outcome).unwrap();
    assert!(!json.contains(SECRET), "{json}");
    outcome
}

#[tokio::test]
async fn the_secret_arrives_in_the_env_var_and_never_in_argv() {
    let dir = tempfile::tempdir().unwrap();
    let (got, argv, environ) = (
        dir.path().join("got"),
        dir.path().join("argv"),
        dir.path().join("environ"),
    );
    let target = sh(
        "printf %s \"$KW_SECRET\" > \"$1\"; cat /proc/$$/cmdline > \"$2\"; cat /proc/$$/environ > \"$3\"",
        &[
            got.to_str().unwrap(),
            argv.to_str().unwrap(),
            environ.to_str().unwrap(),
        ],
    );
    let outcome = run(&target, &DeployContext::new()).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(fs::read_to_string(&got).unwrap(), SECRET);
    assert!(!String::from_utf8_lossy(&fs::read(&argv).unwrap()).contains(SECRET));
    assert!(
        String::from_utf8_lossy(&fs::read(&environ).unwrap())
            .contains(&format!("KW_SECRET={SECRET}"))
    );
}

#[tokio::test]
async fn a_non_zero_exit_reports_the_code_and_redacted_stderr() {
    let target = sh(
        "echo \"stdout $KW_SECRET\"; echo \"bad thing: $KW_SECRET\" >&2; exit 3",
        &[],
    );
    let outcome = run(&target, &DeployContext::new()).await;
    assert!(!outcome.ok);
    assert!(
        outcome.message.contains("exit code 3"),
        "{}",
        outcome.message
    );
    assert!(
        outcome.message.contains("bad thing: [REDACTED]"),
        "{}",
        outcome.message
    );
}

#[tokio::test]
async fn large_output_is_bounded() {
    let target = sh("yes line | head -c 1000000; exit 2", &[]);
    let outcome = run(&target, &DeployContext::new()).await;
    assert!(!outcome.ok);
    assert!(outcome.message.len() < 5000, "{}", outcome.message.len());
}

#[tokio::test]
async fn a_timeout_kills_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let target = sh(
        "echo $$ > \"$1\"; exec sleep 30",
        &[pidfile.to_str().unwrap()],
    );
    let ctx = DeployContext::new().with_command_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let outcome = run(&target, &ctx).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!outcome.ok);
    assert!(
        outcome.message.contains("did not finish within 0.5 s"),
        "{}",
        outcome.message
    );
    let pid = fs::read_to_string(&pidfile).unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{}", pid.trim())).exists());
}

#[tokio::test]
async fn missing_programs_and_directories_are_clear() {
    let missing = DeployTarget::Command {
        program: "/nonexistent/keyward-deploy".into(),
        args: vec![],
        env_var: "KEY".into(),
        working_dir: None,
    };
    let outcome = run(&missing, &DeployContext::new()).await;
    assert!(
        !outcome.ok && outcome.message.contains("no such program"),
        "{}",
        outcome.message
    );

    let bad_dir = DeployTarget::Command {
        program: "true".into(),
        args: vec![],
        env_var: "KEY".into(),
        working_dir: Some("/nonexistent/dir".into()),
    };
    let outcome = run(&bad_dir, &DeployContext::new()).await;
    assert!(
        !outcome.ok && outcome.message.contains("working directory"),
        "{}",
        outcome.message
    );

    let bad_var = DeployTarget::Command {
        program: "true".into(),
        args: vec![],
        env_var: "BAD-NAME".into(),
        working_dir: None,
    };
    assert!(!run(&bad_var, &DeployContext::new()).await.ok);
}

#[tokio::test]
async fn the_clipboard_needs_a_sink() {
    struct Recorder(std::sync::Mutex<Vec<String>>);
    impl deploy::ClipboardSink for Recorder {
        fn copy_secret(&self, secret: &SecretString) -> Result<(), String> {
            use secrecy::ExposeSecret;
            self.0
                .lock()
                .unwrap()
                .push(secret.expose_secret().to_owned());
            Ok(())
        }
    }
    let outcome = run(&DeployTarget::Clipboard, &DeployContext::new()).await;
    assert!(!outcome.ok && outcome.message.contains("clipboard is not available"));
    let sink = std::sync::Arc::new(Recorder(Default::default()));
    let ctx = DeployContext::new().with_clipboard(sink.clone());
    let outcome = run(&DeployTarget::Clipboard, &ctx).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(*sink.0.lock().unwrap(), vec![SECRET.to_owned()]);
}
