//! Command deploy targets with real processes: the secret reaches the program only through its
//! environment variable (in an otherwise cleared environment), failures and timeouts are reported
//! with every key-shaped value redacted, a timeout kills the whole process group, and nothing runs
//! without the person's approval of exactly that target.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, Instant};

use keyward_core::deploy::{self, DeployContext, DeployTarget};
use secrecy::SecretString;

/// A made-up key-shaped fixture (never a real key).
const SECRET: &str = "sk-or-v1-2222222222222222222222222222222222222222222222222222222222222222";
/// Another key-shaped value a command might print (e.g. the old key, a management key).
const OTHER_KEY: &str = "sk-or-v1-3333333333333333333333333333333333333333333333333333333333333333";

fn sh(script: &str, args: &[&str]) -> DeployTarget {
    let mut all = vec!["-c".to_owned(), script.to_owned(), "sh".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    DeployTarget::Command {
        program: "/bin/sh".into(),
        args: all,
        env_var: "KW_SECRET".into(),
        working_dir: None,
    }
}

/// Deploys with `target` approved (as the person would have in the prompt).
async fn run(target: &DeployTarget, ctx: &DeployContext) -> deploy::DeployOutcome {
    run_as_is(target, &ctx.clone().approving(target)).await
}

async fn run_as_is(target: &DeployTarget, ctx: &DeployContext) -> deploy::DeployOutcome {
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
        program: "/bin/true".into(),
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
        program: "/bin/true".into(),
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

#[tokio::test]
async fn an_unapproved_or_changed_target_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let target = sh("touch \"$1\"", &[marker.to_str().unwrap()]);
    let outcome = run_as_is(&target, &DeployContext::new()).await;
    assert!(!outcome.ok);
    assert!(
        outcome.message.contains("needs your approval"),
        "{}",
        outcome.message
    );
    assert!(!marker.exists(), "an unapproved command ran");

    // Approved for other arguments (or another working directory) is not approved for these.
    let approved = sh("touch \"$1\"", &["/tmp/elsewhere"]);
    let ctx = DeployContext::new().approving(&approved);
    assert!(!run_as_is(&target, &ctx).await.ok);
    let moved = DeployTarget::Command {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            "touch \"$1\"".into(),
            "sh".into(),
            marker.to_str().unwrap().into(),
        ],
        env_var: "KW_SECRET".into(),
        working_dir: Some("/".into()),
    };
    let ctx = DeployContext::new().approving(&moved);
    assert!(!run_as_is(&target, &ctx).await.ok);
    assert!(!marker.exists());

    let outcome = run_as_is(&target, &DeployContext::new().approving(&target)).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert!(marker.exists());
}

#[tokio::test]
async fn a_relative_program_is_refused_without_a_path_lookup() {
    for program in ["sh", "./deploy.sh", "bin/true"] {
        let target = DeployTarget::Command {
            program: program.into(),
            args: vec![],
            env_var: "KEY".into(),
            working_dir: None,
        };
        let err = deploy::validate_target(&target).unwrap_err();
        assert!(err.to_string().contains("absolute path"), "{err}");
        let outcome = run(&target, &DeployContext::new()).await;
        assert!(
            !outcome.ok && outcome.message.contains("absolute path"),
            "{}",
            outcome.message
        );
    }
}

#[tokio::test]
async fn the_child_inherits_nothing_but_its_secret_path_home_and_lang() {
    let dir = tempfile::tempdir().unwrap();
    let environ = dir.path().join("environ");
    let target = sh(
        "cat /proc/$$/environ > \"$1\"",
        &[environ.to_str().unwrap()],
    );
    let outcome = run(&target, &DeployContext::new()).await;
    assert!(outcome.ok, "{}", outcome.message);
    let raw = fs::read(&environ).unwrap();
    let vars: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let names: BTreeSet<&str> = vars
        .iter()
        .map(|v| v.split_once('=').map_or(v.as_str(), |(name, _)| name))
        .collect();
    // `PWD` and `SHLVL` are set by sh itself, not inherited.
    let allowed: BTreeSet<&str> = ["KW_SECRET", "PATH", "HOME", "LANG", "PWD", "SHLVL", "_"].into();
    assert!(names.is_subset(&allowed), "{names:?}");
    assert!(
        vars.contains(&format!("PATH={}", deploy::COMMAND_PATH)),
        "{vars:?}"
    );
    assert!(vars.contains(&"LANG=C.UTF-8".to_owned()), "{vars:?}");
    // This process has variables of its own (cargo's at least); none reached the child.
    let ours: Vec<String> = std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| !allowed.contains(name.as_str()))
        .collect();
    assert!(!ours.is_empty());
    for name in &ours {
        assert!(!names.contains(name.as_str()), "{name} was inherited");
    }
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet: dead all the same).
fn is_dead(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild");
    // The program starts a grandchild and waits for it; both are in its process group.
    let target = sh(
        "sleep 300 & echo $! > \"$1\"; wait",
        &[pidfile.to_str().unwrap()],
    );
    let ctx = DeployContext::new().with_command_timeout(Duration::from_millis(500));
    let outcome = run(&target, &ctx).await;
    assert!(!outcome.ok);
    assert!(
        outcome.message.contains("did not finish"),
        "{}",
        outcome.message
    );
    let pid = fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    // SIGKILL was sent before the outcome came back; the kernel may take a moment to finish it.
    let mut dead = is_dead(&pid);
    for _ in 0..200 {
        if dead {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        dead = is_dead(&pid);
    }
    assert!(dead, "the grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn every_key_shaped_value_in_the_output_is_redacted() {
    // Split in the script (a target's arguments may not hold a key); the shell joins it again.
    let (head, tail) = OTHER_KEY.split_at(5);
    let target = sh(
        &format!("echo \"old key {head}\"\"{tail} new $KW_SECRET\" >&2; exit 4"),
        &[],
    );
    let outcome = run(&target, &DeployContext::new()).await;
    assert!(!outcome.ok);
    assert!(!outcome.message.contains(OTHER_KEY), "{}", outcome.message);
    assert!(!outcome.message.contains("3333"), "{}", outcome.message);
    assert!(
        outcome
            .message
            .contains("old key [REDACTED] new [REDACTED]"),
        "{}",
        outcome.message
    );
}
