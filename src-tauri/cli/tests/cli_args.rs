//! `keyward-cli`'s argument handling, without a keychain or a network: usage errors are clear and
//! fail, the hidden crash-test option exists only in `crash-test` builds, and an empty data directory
//! answers with empty lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

fn run(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(CLI)
        .arg("--data-dir")
        .arg(data_dir)
        // A service name nothing uses: these commands must not need the keychain anyway.
        .args(["--keychain-service", "keyward-test-cli-args"])
        .args(args)
        .env_remove("KEYWARD_MANAGEMENT_KEY")
        .env_remove("KEYWARD_ROTATION_PAUSE_AT")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_the_commands_but_not_the_crash_test_option() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    for command in [
        "profile-add",
        "keys",
        "list",
        "get",
        "create",
        "update",
        "disable",
        "enable",
        "delete",
        "check",
        "credits",
        "run",
        "completions",
        "rotate",
        "rotations",
        "resume",
        "rotation-action",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    assert!(!help.contains("crash-test"), "{help}");
}

#[test]
fn the_crash_test_option_exists_only_in_crash_test_builds() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["rotations", "--crash-test-pause-at", "create:posted"],
    );
    let stderr = text(&output.stderr);
    if cfg!(feature = "crash-test") {
        assert!(output.status.success(), "{stderr}");
    } else {
        // A default (and so every release) build does not know the option at all.
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("unexpected argument '--crash-test-pause-at'"),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_rotation_action_is_refused_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["rotation-action", "some-id", "explode"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("'explode'"), "{stderr}");
    assert!(stderr.contains("roll_back"), "{stderr}");

    let output = run(dir.path(), &["rotation-action", "--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    assert!(
        help.contains(
            "[possible values: resume, retry, confirm_drained, delete_now, roll_back, abandon]"
        ),
        "{help}"
    );
}

#[test]
fn missing_arguments_are_refused_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["rotate"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let output = run(dir.path(), &["profile-add"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--name"));
}

#[test]
fn a_fresh_data_directory_has_no_rotations_and_no_active_profile() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["--json", "rotations", "--all"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rotations: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rotations, serde_json::json!([]));

    // No profile is a usage error (exit 2, docs/cli.md).
    let output = run(dir.path(), &["rotate", "somehash"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no active profile"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn rotate_offers_a_dry_run_and_refuses_an_unreadable_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["rotate", "--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    assert!(help.contains("--dry-run"), "{help}");
    assert!(help.contains("--expires"), "{help}");

    let output = run(
        dir.path(),
        &["rotate", "somehash", "--expires", "next week"],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("number of days"), "{stderr}");
}
