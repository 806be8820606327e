//! Env-file deploy targets on a real file system: one variable replaced atomically with a backup
//! (of that variable's line only, in Keyward's backup directory, never beside the file), every other
//! byte kept, permissions kept unless other users could read the file, refusals that change nothing,
//! symlinks, concurrent writers, undo and discarding the backups.

#![cfg(unix)]
// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use keyward_core::Error;
use keyward_core::deploy::{
    self, DeployContext, DeployOutcome, DeployTarget, DeployUndo, validate_target,
};

mod env_file_support;
use env_file_support::*;

// Its key is OLD_SECRET, a made-up fixture (never a real key).
const RICH_ENV: &str = "# Production settings\r\n\
\r\n\
export DATABASE_URL=\"postgres://db/app\"\r\n\
OPENROUTER_API_KEY=\"sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000\" # rotated by Keyward\r\n\
  # OPENROUTER_API_KEY=an-old-commented-one\r\n\
OTHER='single # quoted'\r\n\
EMPTY=\r\n\
LAST=1";

#[tokio::test]
async fn replaces_one_variable_keeps_every_other_byte_and_backs_up() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, RICH_ENV).unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o640)).unwrap();

    let outcome = deploy_to(&env, "OPENROUTER_API_KEY", NEW_SECRET).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_no_secret(&outcome);

    let expected = RICH_ENV.replace(
        &format!("OPENROUTER_API_KEY=\"{OLD_SECRET}\""),
        &format!("OPENROUTER_API_KEY=\"{NEW_SECRET}\""),
    );
    assert_ne!(expected, RICH_ENV);
    assert_eq!(fs::read_to_string(&env).unwrap(), expected);
    assert_eq!(mode(&env), 0o640, "the file keeps its permissions");

    let backup = PathBuf::from(outcome.backup_path.clone().unwrap());
    // In Keyward's backup directory (0700), not beside the file (where a `.gitignore` line `.env`
    // would not match it), holding the variable's line and none of the file's other values.
    let backup_dir = backup_dir_of(&env);
    assert_eq!(backup.parent().unwrap().parent().unwrap(), backup_dir);
    assert!(backups_beside(dir.path()).is_empty());
    assert_eq!(
        fs::read_to_string(&backup).unwrap(),
        format!("OPENROUTER_API_KEY=\"{OLD_SECRET}\" # rotated by Keyward\n")
    );
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(mode(&backup_dir), 0o700);
    assert_eq!(mode(backup.parent().unwrap()), 0o700);
    // The backup travels in `backup_path` (the window shows it beside the message), not twice.
    assert!(
        !outcome.message.contains("keyward-backup"),
        "{}",
        outcome.message
    );
    assert!(outcome.message.contains("replaced"), "{}", outcome.message);
    assert_eq!(
        outcome.undo,
        Some(DeployUndo::RestoreEnvVariable {
            path: env.display().to_string(),
            variable: "OPENROUTER_API_KEY".into(),
            backup_path: outcome.backup_path.clone(),
        })
    );
    // Nothing else was left behind (no temporary files, no backup).
    assert_eq!(listing(dir.path()), [".env"]);
}

#[tokio::test]
async fn a_missing_file_is_created_private() {
    let dir = Scratch::new();
    let env = dir.path().join("app.env");
    let outcome = deploy_to(&env, "API_KEY", NEW_SECRET).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        format!("API_KEY={NEW_SECRET}\n")
    );
    assert_eq!(mode(&env), 0o600);
    assert_eq!(outcome.backup_path, None);
    assert!(outcome.message.contains("created the file"));
    assert!(matches!(
        outcome.undo,
        Some(DeployUndo::RestoreEnvVariable {
            backup_path: None,
            ..
        })
    ));
    assert_eq!(listing(dir.path()), vec!["app.env".to_owned()]);
}

#[tokio::test]
async fn an_absent_variable_is_appended() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, "A=1\r\nB=2").unwrap();
    let outcome = deploy_to(&env, "API_KEY", NEW_SECRET).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert!(outcome.message.contains("added a line"));
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        format!("A=1\r\nB=2\r\nAPI_KEY={NEW_SECRET}")
    );
}

#[tokio::test]
async fn values_with_special_characters_are_quoted_and_read_back() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, "K=old\n").unwrap();
    for (value, line) in [
        ("a=b=c", "K=a=b=c\n"),
        ("has # hash", "K='has # hash'\n"),
        ("with spaces  ", "K='with spaces  '\n"),
        ("it's \"both\"", "K=\"it's \\\"both\\\"\"\n"),
    ] {
        let outcome = deploy_to(&env, "K", value).await;
        assert!(outcome.ok, "{}", outcome.message);
        assert_eq!(fs::read_to_string(&env).unwrap(), line);
        // A POSIX shell reads the value back unchanged (dotenv files are commonly `source`d).
        let out = Command::new("sh")
            .arg("-c")
            .arg(". \"$1\"; printf %s \"$K\"")
            .arg("sh")
            .arg(&env)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value, "{line}");
    }
}

/// Every refusal leaves the file (and the directory) exactly as it was.
async fn assert_refused(env: &Path, variable: &str, expect: &str) {
    let dir = env.parent().unwrap();
    let before = listing(dir);
    let content = fs::read(env).ok();
    let outcome = deploy_to(env, variable, NEW_SECRET).await;
    assert!(!outcome.ok, "{variable}: {}", outcome.message);
    assert!(
        outcome.message.contains(expect),
        "expected {expect:?} in {:?}",
        outcome.message
    );
    assert_eq!(outcome.backup_path, None);
    assert_eq!(outcome.undo, None);
    assert_no_secret(&outcome);
    assert_eq!(fs::read(env).ok(), content);
    assert_eq!(listing(dir), before);
}

#[tokio::test]
async fn refusals_change_nothing() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, "KEY=a\nOTHER=1\nexport KEY=b\n").unwrap();
    assert_refused(&env, "KEY", "set 2 times (lines 1, 3)").await;
    assert_refused(&env, "1KEY", "not a valid variable name").await;
    assert_refused(&env, "MY-KEY", "not a valid variable name").await;
    assert_refused(&env, "", "not a valid variable name").await;

    fs::write(&env, "A=\"open\nKEY=1\n").unwrap();
    assert_refused(&env, "KEY", "never closes").await;

    let subdir = dir.path().join("config");
    fs::create_dir(&subdir).unwrap();
    assert_refused(&subdir, "KEY", "is a directory").await;

    let nowhere = dir.path().join("missing-dir").join(".env");
    assert_refused(&nowhere, "KEY", "does not exist").await;
    assert!(!nowhere.parent().unwrap().exists());

    let relative = DeployTarget::EnvFile {
        path: ".env".into(),
        variable: "KEY".into(),
    };
    let err = validate_target(&relative).unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "path"));
    let outcome = deploy::deploy(&relative, &secret(NEW_SECRET), &DeployContext::new()).await;
    assert!(!outcome.ok && outcome.message.contains("relative"));
}

#[test]
fn validate_target_names_the_field() {
    let field = |target: DeployTarget| match validate_target(&target).unwrap_err() {
        Error::InvalidInput { field, .. } => field.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(target(Path::new("/tmp/.env"), "BAD NAME")),
        "variable"
    );
    assert_eq!(
        field(target(Path::new("/tmp/.env"), "sk-or-v1-abc")),
        "variable"
    );
    assert_eq!(field(target(Path::new("relative/.env"), "KEY")), "path");
    assert!(validate_target(&target(Path::new("/tmp/.env"), "_KEY_2")).is_ok());
}

/// Makes `dir` unwritable even for root (the immutable attribute), undone on drop.
struct Unwritable<'a>(&'a Path);

impl<'a> Unwritable<'a> {
    fn new(dir: &'a Path) -> Self {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o500)).unwrap();
        let guard = Unwritable(dir);
        if can_create_in(dir) {
            // Root ignores permission bits; the immutable attribute binds root too.
            let status = Command::new("chattr").arg("+i").arg(dir).status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "can't make {} unwritable (not root-proof without chattr)",
                dir.display()
            );
        }
        assert!(!can_create_in(dir), "{} is still writable", dir.display());
        guard
    }
}

impl Drop for Unwritable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
        let _ = fs::set_permissions(self.0, fs::Permissions::from_mode(0o700));
    }
}

fn can_create_in(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    let created = fs::write(&probe, b"x").is_ok();
    let _ = fs::remove_file(&probe);
    created
}

#[tokio::test]
async fn an_unwritable_directory_is_a_clear_error_and_the_file_is_untouched() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, format!("KEY={OLD_SECRET}\n")).unwrap();
    let before = listing(dir.path());
    {
        let _unwritable = Unwritable::new(dir.path());
        let outcome = deploy_to(&env, "KEY", NEW_SECRET).await;
        assert!(!outcome.ok);
        assert!(
            outcome
                .message
                .starts_with(&format!("Did not change {}", env.display())),
            "{}",
            outcome.message
        );
        assert!(
            outcome.message.contains("can't write"),
            "{}",
            outcome.message
        );
        assert_no_secret(&outcome);
    }
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        format!("KEY={OLD_SECRET}\n")
    );
    assert_eq!(listing(dir.path()), before);
}

#[tokio::test]
async fn a_symlink_is_followed_and_kept() {
    let dir = Scratch::new();
    let real_dir = dir.path().join("shared");
    fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("prod.env");
    fs::write(&real, "KEY=old\n").unwrap();
    let link_dir = dir.path().join("app");
    fs::create_dir(&link_dir).unwrap();
    let link = link_dir.join(".env");
    std::os::unix::fs::symlink("../shared/prod.env", &link).unwrap();

    let outcome = deploy_to(&link, "KEY", NEW_SECRET).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        Path::new("../shared/prod.env")
    );
    assert_eq!(
        fs::read_to_string(&real).unwrap(),
        format!("KEY={NEW_SECRET}\n")
    );
    assert!(
        outcome
            .message
            .contains(&format!("in {}, which", real.display()))
            && outcome.message.contains("links to"),
        "{}",
        outcome.message
    );
    // One backup, in the backup directory, beside neither the link nor the file.
    assert_eq!(backups_of(&link).len(), 1);
    assert!(backups_beside(&real_dir).is_empty() && backups_beside(&link_dir).is_empty());

    let dangling = link_dir.join("broken.env");
    std::os::unix::fs::symlink("../shared/nowhere.env", &dangling).unwrap();
    assert_refused(&dangling, "KEY", "symbolic link").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deploys_to_one_file_lose_nothing() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, "# shared\nKEEP=1\n").unwrap();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let own = env.clone();
        tasks.push(tokio::spawn(async move {
            deploy_to(&own, &format!("VAR_{n}"), &format!("value-{n}")).await
        }));
        let shared = env.clone();
        tasks.push(tokio::spawn(async move {
            deploy_to(&shared, "SAME", &format!("same-{n}")).await
        }));
    }
    for task in tasks {
        let outcome = task.await.unwrap();
        assert!(outcome.ok, "{}", outcome.message);
    }
    let content = fs::read_to_string(&env).unwrap();
    assert!(content.starts_with("# shared\nKEEP=1\n"), "{content}");
    for n in 0..16 {
        assert_eq!(
            content.matches(&format!("VAR_{n}=value-{n}\n")).count(),
            1,
            "{content}"
        );
    }
    assert_eq!(content.matches("SAME=same-").count(), 1, "{content}");
    assert_eq!(content.lines().count(), 2 + 16 + 1);
    // One backup per deploy (all to an existing file), no temporary file left.
    assert_eq!(backups_of(&env).len(), 32);
    assert_eq!(listing(dir.path()).len(), 1);
}

#[tokio::test]
async fn undo_restores_the_variable_and_discard_removes_the_backup() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, RICH_ENV).unwrap();
    let ctx = ctx_for(&env);

    let outcome = deploy_to(&env, "OPENROUTER_API_KEY", NEW_SECRET).await;
    assert!(outcome.ok);
    let message = deploy::undo(&outcome, &ctx).await.unwrap();
    assert!(message.contains("as it was before"), "{message}");
    assert_eq!(fs::read_to_string(&env).unwrap(), RICH_ENV);

    let backup = PathBuf::from(outcome.backup_path.clone().unwrap());
    assert!(backup.exists());
    deploy::discard_backup(&outcome, &ctx).await.unwrap();
    assert!(!backup.exists());
    // Already gone: still fine.
    deploy::discard_backup(&outcome, &ctx).await.unwrap();

    // Undo keeps what was edited in the file since the deploy.
    fs::write(&env, "A=1\nKEY=old\n").unwrap();
    let outcome = deploy_to(&env, "KEY", NEW_SECRET).await;
    let edited = fs::read_to_string(&env).unwrap() + "ADDED_LATER=yes\n";
    fs::write(&env, edited).unwrap();
    deploy::undo(&outcome, &ctx).await.unwrap();
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        "A=1\nKEY=old\nADDED_LATER=yes\n"
    );

    // A file the deploy created is removed again.
    let created = dir.path().join("new.env");
    let outcome = deploy_to(&created, "KEY", NEW_SECRET).await;
    assert!(created.exists());
    let message = deploy::undo(&outcome, &ctx).await.unwrap();
    assert!(message.contains("Removed"), "{message}");
    assert!(!created.exists());

    // A failed deploy has nothing to undo.
    let failed = deploy_to(&dir.path().join("nope").join(".env"), "KEY", NEW_SECRET).await;
    let err = deploy::undo(&failed, &ctx).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "undo"));
}

#[tokio::test]
async fn discard_backup_removes_only_keyward_backups() {
    let dir = Scratch::new();
    let precious = dir.path().join(".env");
    fs::write(&precious, "KEY=1\n").unwrap();
    let forged = DeployOutcome {
        target: target(&precious, "KEY"),
        ok: true,
        message: String::new(),
        backup_path: Some(precious.display().to_string()),
        undo: Some(DeployUndo::RestoreEnvVariable {
            path: precious.display().to_string(),
            variable: "KEY".into(),
            backup_path: Some(precious.display().to_string()),
        }),
    };
    let err = deploy::discard_backup(&forged, &ctx_for(&precious))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a backup Keyward made"),
        "{err}"
    );
    assert!(precious.exists());
}

#[tokio::test]
async fn a_repeated_deploy_with_a_planned_backup_keeps_the_first_backup() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    fs::write(&env, format!("A=1\nKEY={OLD_SECRET}\n")).unwrap();
    let ctx = ctx_for(&env).with_backup_suffix("rotation-r1");

    let first = deploy::deploy(&target(&env, "KEY"), &secret(NEW_SECRET), &ctx).await;
    assert!(first.ok, "{first:?}");
    let planned = PathBuf::from(first.backup_path.clone().unwrap());
    assert_eq!(
        planned.parent().unwrap(),
        backup_dir_of(&env).join("rotation-r1")
    );
    // Run again (a resumed deploy whose first run's outcome was lost): the file already holds the
    // new secret, the backup with the old one is kept, and no second backup is taken.
    let again = deploy::deploy(&target(&env, "KEY"), &secret(NEW_SECRET), &ctx).await;
    assert!(again.ok, "{again:?}");
    assert_eq!(again.undo, first.undo);
    assert_eq!(backups_of(&env).len(), 1);
    assert!(fs::read_to_string(&planned).unwrap().contains(OLD_SECRET));
    deploy::undo(&again, &ctx).await.unwrap();
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        format!("A=1\nKEY={OLD_SECRET}\n")
    );

    // A variable a first run added (no backup, it had no value before) is not backed up with the
    // new secret by a second run: undo removes it again.
    let created = dir.path().join("app.env");
    fs::write(&created, "A=1\n").unwrap();
    let ctx = ctx_for(&created).with_backup_suffix("rotation-r2");
    fs::write(&created, format!("A=1\nKEY={NEW_SECRET}\n")).unwrap();
    let again = deploy::deploy(&target(&created, "KEY"), &secret(NEW_SECRET), &ctx).await;
    assert!(again.ok, "{again:?}");
    assert_eq!(again.backup_path, None);
    deploy::undo(&again, &ctx).await.unwrap();
    assert_eq!(fs::read_to_string(&created).unwrap(), "A=1\n");
}

#[tokio::test]
async fn undo_interrupted_restores_only_what_the_lost_deploy_wrote() {
    let dir = Scratch::new();
    let env = dir.path().join(".env");
    let before = format!("A=1\nKEY={OLD_SECRET}\n");
    let since = std::time::SystemTime::now();
    let ctx = ctx_for(&env).with_backup_suffix("rotation-r1");
    let key = target(&env, "KEY");

    // The write never happened: nothing to do, the file stays as it is.
    fs::write(&env, &before).unwrap();
    let done = deploy::undo_interrupted(&key, &secret(NEW_SECRET), since, &ctx).await;
    assert_eq!(done.unwrap(), None);
    assert_eq!(fs::read_to_string(&env).unwrap(), before);

    // Written with the planned backup, outcome lost: the old value comes back from it.
    assert!(deploy::deploy(&key, &secret(NEW_SECRET), &ctx).await.ok);
    let done = deploy::undo_interrupted(&key, &secret(NEW_SECRET), since, &ctx).await;
    assert!(done.unwrap().unwrap().contains("as it was before"));
    assert_eq!(fs::read_to_string(&env).unwrap(), before);

    // Written by a deploy without a planned name: its timestamped backup since the start is used.
    assert!(deploy_to(&env, "KEY", NEW_SECRET).await.ok);
    let unplanned = ctx_for(&env).with_backup_suffix("rotation-r9");
    let done = deploy::undo_interrupted(&key, &secret(NEW_SECRET), since, &unplanned).await;
    assert!(done.unwrap().is_some());
    assert_eq!(fs::read_to_string(&env).unwrap(), before);

    // The new secret is there but no backup was ever written: the variable was not there before.
    let created = dir.path().join("new.env");
    fs::write(&created, format!("KEY={NEW_SECRET}\n")).unwrap();
    let done =
        deploy::undo_interrupted(&target(&created, "KEY"), &secret(NEW_SECRET), since, &ctx).await;
    assert!(done.unwrap().unwrap().contains("Removed"));
    assert!(!created.exists());

    // Targets that cannot be taken back are left alone.
    let new_secret = secret(NEW_SECRET);
    let done = deploy::undo_interrupted(&DeployTarget::Clipboard, &new_secret, since, &ctx).await;
    assert_eq!(done.unwrap(), None);
}
