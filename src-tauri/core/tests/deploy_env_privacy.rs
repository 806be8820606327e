//! Env-file deploys and the person's privacy: a rewritten file is never left readable by other
//! users, and a rotation's backups (the variable's previous line, in Keyward's backup directory)
//! are removed together; without a backup directory an existing file is not overwritten.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;

use keyward_core::deploy::{self, DeployContext};

mod env_file_support;
use env_file_support::*;

/// A rewritten file is never left readable by other users: a world-readable one (0644, the usual
/// umask default) becomes 0600, and the message says so; one that granted its group access but not
/// other users keeps the group's bits (a deliberate share); a private one stays private.
#[tokio::test]
async fn a_rewritten_file_is_never_readable_by_other_users() {
    let dir = Scratch::new();
    for (before, after) in [
        (0o644, 0o600),
        (0o666, 0o600),
        (0o604, 0o600),
        (0o640, 0o640),
        (0o660, 0o660),
        (0o600, 0o600),
    ] {
        let env = dir.path().join(format!("mode-{before:o}.env"));
        fs::write(&env, format!("KEY={OLD_SECRET}\n")).unwrap();
        fs::set_permissions(&env, fs::Permissions::from_mode(before)).unwrap();
        let outcome = deploy_to(&env, "KEY", NEW_SECRET).await;
        assert!(outcome.ok, "{}", outcome.message);
        assert_eq!(mode(&env), after, "{before:o}");
        assert_eq!(
            outcome.message.contains("its mode is now"),
            before != after,
            "{before:o}: {}",
            outcome.message
        );
        // Undo writes the file again: still not readable by others.
        deploy::undo(&outcome, &ctx_for(&env)).await.unwrap();
        assert_eq!(mode(&env), after, "{before:o} after undo");
        assert_eq!(
            fs::read_to_string(&env).unwrap(),
            format!("KEY={OLD_SECRET}\n")
        );
    }
}

/// A rotation's backups all live in one group of the backup directory, removed at once when the
/// rotation ends; a context without a backup directory refuses to overwrite an existing file (its
/// previous value would be nowhere) but may still create a new one.
#[tokio::test]
async fn a_rotations_backups_are_removed_together_and_none_is_kept_without_a_backup_dir() {
    let dir = Scratch::new();
    let first = dir.path().join(".env");
    let sub = dir.path().join("api");
    fs::create_dir(&sub).unwrap();
    let second = sub.join(".env");
    for env in [&first, &second] {
        fs::write(env, format!("OTHER=kept\nKEY={OLD_SECRET}\n")).unwrap();
    }
    let ctx = ctx_for(&first).with_backup_suffix("rotation-r7");
    let mut outcomes = Vec::new();
    for env in [&first, &second] {
        let outcome = deploy::deploy(&target(env, "KEY"), &secret(NEW_SECRET), &ctx).await;
        assert!(outcome.ok, "{}", outcome.message);
        outcomes.push(outcome);
    }
    // Two files named `.env`: two backups, in the rotation's group.
    let backups = backups_of(&first);
    assert_eq!(backups.len(), 2, "{backups:?}");
    assert!(backups.iter().all(|b| b.starts_with("rotation-r7/")));
    assert_eq!(
        deploy::backup_groups(&backup_dir_of(&first)),
        ["rotation-r7"]
    );
    let problems = deploy::discard_backups_of("rotation-r7", &outcomes, &ctx).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert!(backups_of(&first).is_empty());
    assert!(!backup_dir_of(&first).join("rotation-r7").exists());

    let nowhere = DeployContext::new();
    let before = fs::read_to_string(&first).unwrap();
    let refused = deploy::deploy(&target(&first, "KEY"), &secret(OLD_SECRET), &nowhere).await;
    assert!(!refused.ok);
    assert!(
        refused.message.contains("no data directory"),
        "{}",
        refused.message
    );
    assert_eq!(fs::read_to_string(&first).unwrap(), before);
    let created = dir.path().join("new.env");
    let outcome = deploy::deploy(&target(&created, "KEY"), &secret(NEW_SECRET), &nowhere).await;
    assert!(outcome.ok, "{}", outcome.message);
}
