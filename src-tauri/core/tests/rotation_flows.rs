//! Rotation against the emulator over HTTP, with the new secret held in the keychain: the happy path
//! with an `.env` target (the file ends up with the new secret; the old key is disabled, then
//! deleted after the grace period), draining on real usage, faults injected at every step (429, 5xx,
//! timeout, a dropped connection, a deploy target failing, verification failing), rollbacks, a batch
//! by name pattern and automatic rotation when due.
//!
//! The vault is in memory (`service_support`): no Secret Service needed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::ErrorKind;
use keyward_core::deploy::DeployTarget;
use keyward_core::ipc::KeysListArgs;
use keyward_core::rotation::{
    Boundary, HookPoint, RotationAction, RotationStartArgs, RotationStatus, RotationStepName,
    RotationStepStatus, RotationStepView, RotationView,
};
use rotation_support::{FaultAt, Rig, VARIABLE, create_key, rig, start_args};
use serde_json::json;

/// An `.env` deploy target writing [`VARIABLE`] into `path`.
fn env_file(path: impl std::fmt::Display) -> DeployTarget {
    DeployTarget::EnvFile {
        path: path.to_string(),
        variable: VARIABLE.into(),
    }
}

/// `view` stands at `step` (else the whole view is shown).
fn assert_at(view: &RotationView, step: RotationStepName) {
    assert_eq!(view.current_step, Some(step), "{view:#?}");
}

fn step_of(view: &RotationView, name: RotationStepName) -> &RotationStepView {
    view.steps.iter().find(|s| s.step == name).unwrap()
}

async fn held(rig: &Rig, hash: &str) -> Option<String> {
    use secrecy::ExposeSecret;
    rig.t
        .service
        .held_secret(&rig.profile_id, hash)
        .await
        .ok()
        .map(|secret| secret.expose_secret().to_owned())
}

#[tokio::test]
async fn happy_path_with_an_env_target() {
    let rig = rig("rot-happy", None).await;
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting, "{view:#?}");
    assert_at(&view, RotationStepName::DeleteOld);
    assert!(
        view.waiting_for
            .as_deref()
            .unwrap()
            .contains("grace period")
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    assert!(view.new_key_name.starts_with("prod-api · rotated "));
    // The old value is backed up in the data directory's backup directory, not beside the file.
    let backups = backup_files(&rig);
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].starts_with(&format!("rotation-{}/", view.id)));

    // The file holds the new secret (the rest of it kept); it works; the keychain holds it too.
    let deployed = rig.env_secret();
    assert_ne!(deployed, rig.old_secret);
    let text = std::fs::read_to_string(&rig.env_path).unwrap();
    assert!(
        text.starts_with("OTHER=1\n") && text.contains("# end"),
        "{text}"
    );
    assert_eq!(
        held(&rig, &new_hash).await.as_deref(),
        Some(deployed.as_str())
    );
    assert_eq!(
        rig.check_secret(&deployed).await.unwrap(),
        view.new_key_label.clone().unwrap()
    );
    // The new key copied the old one's settings; the old key is disabled.
    let new_key = rig.emulator_key(&new_hash).await.unwrap();
    assert_eq!(new_key["limit"], 10.0);
    assert_eq!(new_key["limit_reset"], "monthly");
    assert_eq!(new_key["include_byok_in_limit"], true);
    assert_eq!(
        rig.emulator_key(&rig.old_hash).await.unwrap()["disabled"],
        true
    );
    assert_eq!(
        rig.check_secret(&rig.old_secret).await.unwrap_err(),
        "unauthorized"
    );

    // Nothing happens before the grace period ends; after it the old key is deleted.
    assert!(rig.tick().await.is_empty());
    rig.t.advance_clock(3601);
    let ticked = rig.tick().await;
    assert_eq!(ticked.len(), 1);
    let done = &ticked[0];
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    // Nothing names the key (no account links configured): attach and detach are skipped.
    for step in &done.steps {
        let expected = match step.step {
            RotationStepName::Attach | RotationStepName::Detach => RotationStepStatus::Skipped,
            _ => RotationStepStatus::Done,
        };
        assert_eq!(step.status, expected, "{step:?}");
    }
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    assert_eq!(
        rig.check_secret(&deployed).await.unwrap(),
        done.new_key_label.clone().unwrap()
    );
    // A durable target holds the secret, so it left the keychain; the policy moved to the new key.
    assert_eq!(held(&rig, &new_hash).await, None);
    // The backup, holding the old secret, left with the rotation's end.
    assert_eq!(backup_files(&rig), Vec::<String>::new());
    let moved = rig
        .t
        .service
        .rotation_policy(&rig.profile_id, &new_hash)
        .unwrap();
    assert_eq!(moved.targets, vec![rig.env_target()]);
    // History from either key; journal consistent; events announced every change.
    assert_eq!(
        rig.t
            .service
            .rotation_history(&rig.profile_id, &new_hash)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        rig.t
            .service
            .rotation_history(&rig.profile_id, &rig.old_hash)
            .unwrap()
            .len(),
        1
    );
    assert!(rig.journal_problems(&done.id).is_empty());
    let journal = rig.t.service.rotation_journal(&done.id).unwrap();
    let intents = journal
        .iter()
        .filter(|e| e.phase == keyward_core::rotation::JournalPhase::Intent)
        .count();
    let results = journal
        .iter()
        .filter(|e| e.phase == keyward_core::rotation::JournalPhase::Result)
        .count();
    let steps = RotationStepName::ALL.len();
    assert_eq!((intents, results), (steps, steps), "{journal:#?}");
    let events = rig.events.0.lock().unwrap();
    assert!(events.len() >= 15, "{}", events.len());
    assert_eq!(events.last().unwrap().status, RotationStatus::Completed);
    // Nothing secret in the database.
    let db = std::fs::read(rig.t.dir.path().join("keyward.sqlite3")).unwrap();
    assert!(!db.windows(deployed.len()).any(|w| w == deployed.as_bytes()));
    assert!(
        rig.t
            .service
            .rotations(Some(&rig.profile_id), true)
            .unwrap()
            .is_empty()
    );
}

/// Every backup file the rig's data directory holds (`group/name`), and any left beside the `.env`
/// file (an earlier version's place), sorted.
fn backup_files(rig: &Rig) -> Vec<String> {
    let dir = keyward_core::deploy::backup_dir_in(rig.t.dir.path());
    let mut found = Vec::new();
    for group in keyward_core::deploy::backup_groups(&dir) {
        for entry in std::fs::read_dir(dir.join(&group)).unwrap() {
            found.push(format!(
                "{group}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    for entry in std::fs::read_dir(rig.env_path.parent().unwrap()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.contains("keyward-backup") {
            found.push(name);
        }
    }
    found.sort();
    found
}

/// An abandoned rotation's backups go at once; the backups of a rotation that ended while the
/// process stopped before removing them, or that no rotation knows, go at the next start-up.
#[tokio::test]
async fn backups_leave_when_a_rotation_is_abandoned_or_at_the_next_start() {
    let rig = rig("rot-backups-abandoned", None).await;
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting, "{view:#?}");
    assert_eq!(backup_files(&rig).len(), 1);
    let abandoned = rig
        .t
        .service
        .rotation_action(&view.id, RotationAction::Abandon)
        .await
        .unwrap();
    assert_eq!(abandoned.status, RotationStatus::Abandoned);
    assert_eq!(backup_files(&rig), Vec::<String>::new());

    // As a process stopped between the end and the removal leaves them (and one of a rotation
    // this store never heard of): a resume at start-up removes them.
    let dir = keyward_core::deploy::backup_dir_in(rig.t.dir.path());
    for group in [
        format!("rotation-{}", view.id),
        "rotation-unknown".to_owned(),
    ] {
        std::fs::create_dir_all(dir.join(&group)).unwrap();
        std::fs::write(
            dir.join(&group)
                .join("app.env.0011223344556677.keyward-backup"),
            format!("{VARIABLE}={}\n", rig.old_secret),
        )
        .unwrap();
    }
    assert_eq!(backup_files(&rig).len(), 2);
    rig.t.service.resume_rotations().await.unwrap();
    assert_eq!(backup_files(&rig), Vec::<String>::new());
}

#[tokio::test]
async fn drain_waits_until_the_old_key_is_still() {
    let rig = rig("rot-drain", None).await;
    rig.set_policy(|policy| policy.quiet_period_secs = 600);
    let view = rig.start().await;
    assert_at(&view, RotationStepName::Drain);
    assert_eq!(view.status, RotationStatus::Waiting);
    assert!(
        view.waiting_for.as_deref().unwrap().contains("10 min"),
        "{view:#?}"
    );
    assert!(view.actions.contains(&RotationAction::ConfirmDrained));
    let first_quiet = view.drain.as_ref().unwrap().quiet_since.unwrap();

    // The old key is still used: the quiet clock restarts.
    rig.t.advance_clock(400);
    rig.record_usage(&rig.old_hash, 0.5).await;
    let views = rig.tick().await;
    let drain = views[0].drain.clone().unwrap();
    assert!(drain.usage >= 0.5);
    assert!(drain.quiet_since.unwrap() > first_quiet);
    assert_at(&views[0], RotationStepName::Drain);

    // 10 minutes after the last use it moves on to disable, then waits for the grace period.
    rig.t.advance_clock(601);
    let views = rig.tick().await;
    assert_at(&views[0], RotationStepName::DeleteOld);
    assert_eq!(
        rig.emulator_key(&rig.old_hash).await.unwrap()["disabled"],
        true
    );

    // Delete now: no waiting for the grace period.
    let done = rig.act(&views[0].id, RotationAction::DeleteNow).await;
    assert_eq!(done.status, RotationStatus::Completed);
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    assert!(rig.journal_problems(&done.id).is_empty());
}

#[tokio::test]
async fn confirm_drained_and_delete_at_once() {
    let rig = rig("rot-confirm", None).await;
    rig.set_policy(|policy| policy.quiet_period_secs = 3600);
    let mut args = start_args(&rig);
    args.delete_at_once = true;
    let view = rig.t.service.rotation_start(args).await.unwrap();
    assert_at(&view, RotationStepName::Drain);
    let done = rig.act(&view.id, RotationAction::ConfirmDrained).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    // Not a possible action any more.
    let err = rig
        .t
        .service
        .rotation_action(&view.id, RotationAction::Retry)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_input");
}

#[tokio::test]
async fn a_detached_start_answers_at_once_and_runs_on_by_itself() {
    let rig = rig("rot-detached", None).await;
    let mut args = start_args(&rig);
    args.delete_at_once = true;
    rig.set_policy(|policy| policy.quiet_period_secs = 0);
    let started = rig.t.service.rotation_start_detached(args).await.unwrap();
    assert_eq!(started.status, RotationStatus::Running, "{started:#?}");
    assert_eq!(started.new_key_hash, None, "nothing ran before the answer");
    let mut polls = 0;
    let view = loop {
        let view = rig.t.service.rotation(&started.id).unwrap();
        polls += 1;
        if view.status.is_terminal() || polls == 200 {
            break view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
}

/// Runs a rotation whose `step` meets `faults` (injected when the step's intent is written), checks
/// it stops failed at that step with `kind`, then clears the faults, retries, and completes.
async fn fault_at(test: &str, step: RotationStepName, faults: serde_json::Value, kind: ErrorKind) {
    let hook = FaultAt::new(HookPoint::new(step, Boundary::Before), faults.clone());
    let rig = rig(test, Some(hook.clone())).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    hook.arm(&rig.control());
    let view = rig.start().await;
    assert_eq!(
        view.status,
        RotationStatus::Failed,
        "{step:?} {faults}: {view:#?}"
    );
    assert_at(&view, step);
    assert_eq!(step_of(&view, step).status, RotationStepStatus::Failed);
    assert_eq!(
        view.error.as_ref().unwrap().kind,
        kind,
        "{step:?} {faults}: {view:#?}"
    );
    assert!(view.actions.contains(&RotationAction::Retry));
    assert!(rig.journal_problems(&view.id).is_empty());
    rig.clear_faults().await;
    let done = rig.act(&view.id, RotationAction::Retry).await;
    assert_eq!(
        done.status,
        RotationStatus::Completed,
        "{step:?} {faults}: {done:#?}"
    );
    assert!(rig.journal_problems(&done.id).is_empty());
    // Exactly one new key exists: a failed or uncertain create left no orphan.
    let keys = rig.emulator_keys().await;
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert_eq!(keys[0]["hash"], done.new_key_hash.clone().unwrap());
    assert_eq!(
        rig.check_secret(&rig.env_secret()).await.unwrap(),
        done.new_key_label.unwrap()
    );
}

/// [`fault_at`] for each `(test, faults, kind)` case at `step`.
async fn faults_at(step: RotationStepName, cases: Vec<(&str, serde_json::Value, ErrorKind)>) {
    for (test, faults, kind) in cases {
        fault_at(test, step, faults, kind).await;
    }
}

#[tokio::test]
async fn faults_at_create() {
    #[rustfmt::skip]
    let cases = vec![
        ("rot-create-429", json!({"rate_limit": {"next": 1, "retry_after_seconds": 1}}), ErrorKind::RateLimited),
        ("rot-create-500", json!({"server_error": {"next": 1}}), ErrorKind::Server),
        ("rot-create-timeout", json!({"timeout": {"next": 1, "hold_seconds": 5}}), ErrorKind::Timeout),
        ("rot-create-drop", json!({"drop": {"next": 1}}), ErrorKind::Network),
    ];
    faults_at(RotationStepName::Create, cases).await;
}

#[tokio::test]
async fn faults_at_verify() {
    // GET /key is retried once: two faults make it fail.
    #[rustfmt::skip]
    let cases = vec![
        ("rot-verify-429", json!({"rate_limit": {"next": 1}, "path_prefix": "/api/v1/key"}), ErrorKind::RateLimited),
        ("rot-verify-500", json!({"server_error": {"next": 2}}), ErrorKind::Server),
        ("rot-verify-timeout", json!({"timeout": {"next": 2, "hold_seconds": 5}}), ErrorKind::Timeout),
    ];
    faults_at(RotationStepName::Verify, cases).await;
}

#[tokio::test]
async fn faults_at_disable_and_delete() {
    #[rustfmt::skip]
    let disable = vec![
        ("rot-disable-429", json!({"rate_limit": {"next": 1}}), ErrorKind::RateLimited),
        ("rot-disable-500", json!({"server_error": {"next": 2}}), ErrorKind::Server),
    ];
    faults_at(RotationStepName::DisableOld, disable).await;
    #[rustfmt::skip]
    let delete = vec![
        ("rot-delete-500", json!({"server_error": {"next": 2}}), ErrorKind::Server),
        ("rot-delete-drop", json!({"drop": {"next": 2}}), ErrorKind::Network),
    ];
    faults_at(RotationStepName::DeleteOld, delete).await;
}

#[tokio::test]
async fn a_failing_drain_check_keeps_waiting() {
    let hook = FaultAt::new(
        HookPoint::new(RotationStepName::Drain, Boundary::Before),
        json!({"server_error": {"next": 2}}),
    );
    let rig = rig("rot-drain-500", Some(hook.clone())).await;
    hook.arm(&rig.control());
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting, "{view:#?}");
    assert_at(&view, RotationStepName::Drain);
    let detail = step_of(&view, RotationStepName::Drain)
        .detail
        .clone()
        .unwrap();
    assert!(detail.contains("could not check"), "{detail}");
    // The next tick checks again and moves on.
    let views = rig.tick().await;
    assert_at(&views[0], RotationStepName::DeleteOld);
}

#[tokio::test]
async fn a_failing_deploy_target_stops_and_retry_delivers() {
    let rig = rig("rot-deploy-fail", None).await;
    let missing_dir = rig.t.dir.path().join("not-yet");
    let target_path = missing_dir.join("app.env");
    rig.set_policy(|policy| {
        policy.targets = vec![env_file(target_path.display())];
    });
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Failed, "{view:#?}");
    assert_at(&view, RotationStepName::Deploy);
    let deploy = &step_of(&view, RotationStepName::Deploy).deploy;
    assert_eq!(deploy.len(), 1);
    assert!(!deploy[0].ok);
    assert_eq!(
        view.error.as_ref().unwrap().field.as_deref(),
        Some("targets")
    );
    assert!(!view.secret_deployed, "nothing received it");
    assert!(view.actions.contains(&RotationAction::RollBack));
    // The old key is untouched.
    assert_eq!(
        rig.emulator_key(&rig.old_hash).await.unwrap()["disabled"],
        false
    );

    std::fs::create_dir_all(&missing_dir).unwrap();
    let done = rig.act(&view.id, RotationAction::Retry).await;
    assert_at(&done, RotationStepName::DeleteOld);
    let secret = rotation_support::env_value(&target_path);
    assert_eq!(
        rig.check_secret(&secret).await.unwrap(),
        done.new_key_label.unwrap()
    );
}

#[tokio::test]
async fn a_failed_deploy_rolled_back_deletes_the_new_key() {
    let rig = rig("rot-deploy-rollback", None).await;
    rig.set_policy(|policy| {
        policy.targets = vec![env_file("/nonexistent-keyward-dir/app.env")];
    });
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Failed);
    let new_hash = view.new_key_hash.clone().unwrap();
    assert!(held(&rig, &new_hash).await.is_some());
    let back = rig.act(&view.id, RotationAction::RollBack).await;
    assert_eq!(back.status, RotationStatus::RolledBack, "{back:#?}");
    assert!(
        back.detail.as_deref().unwrap().contains("never deployed"),
        "{back:#?}"
    );
    assert!(rig.emulator_key(&new_hash).await.is_none());
    assert_eq!(held(&rig, &new_hash).await, None);
    assert_eq!(rig.emulator_keys().await.len(), 1);
    assert!(rig.journal_problems(&back.id).is_empty());
}

#[tokio::test]
async fn failing_verification_rolled_back_keeps_both_keys() {
    // The new key is disabled behind Keyward's back right before it is verified.
    struct DisableNew {
        base_url: String,
        management_key: String,
    }
    impl keyward_core::rotation::RotationHooks for DisableNew {
        fn at(&self, _: &str, point: HookPoint) -> futures::future::BoxFuture<'static, ()> {
            if point != HookPoint::new(RotationStepName::Verify, Boundary::Before) {
                return Box::pin(std::future::ready(()));
            }
            let (base, key) = (self.base_url.clone(), self.management_key.clone());
            Box::pin(async move {
                let http = reqwest::Client::new();
                let keys: serde_json::Value = http
                    .get(format!("{base}/keys"))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for k in keys["data"].as_array().unwrap() {
                    if k["name"].as_str().unwrap().contains("rotated") {
                        http.patch(format!("{base}/keys/{}", k["hash"].as_str().unwrap()))
                            .bearer_auth(&key)
                            .json(&json!({"disabled": true}))
                            .send()
                            .await
                            .unwrap();
                    }
                }
            })
        }
    }
    let events = std::sync::Arc::new(rotation_support::RotationEvents::default());
    let emulator =
        openrouter_emulator::Emulator::start(openrouter_emulator::EmulatorConfig::default())
            .await
            .unwrap();
    let hook = std::sync::Arc::new(DisableNew {
        base_url: emulator.base_url().to_owned(),
        management_key: emulator.management_key().to_owned(),
    });
    let sink = events.clone();
    let t = service_support::start_with("rot-verify-fail", move |config, _| {
        rotation_support::configure(config, &sink);
        config.rotation.hooks = Some(hook);
    });
    let profile_id = t
        .service
        .profile_add(keyward_core::ipc::ProfileAddArgs {
            name: "Work".into(),
            base_url: Some(emulator.base_url().to_owned()),
            workspace_id: None,
            management_key: secrecy::SecretString::from(emulator.management_key().to_owned()),
        })
        .await
        .unwrap()
        .id;
    let (old_hash, old_secret) = create_key(&t, &profile_id, "prod-api").await;
    let env_path = t.dir.path().join("app.env");
    std::fs::write(&env_path, format!("{VARIABLE}={old_secret}\n")).unwrap();
    let mut policy = keyward_core::rotation::RotationPolicy::default_for(&profile_id, &old_hash);
    policy.targets = vec![env_file(env_path.display())];
    t.service.set_rotation_policy(policy).unwrap();

    let view = t
        .service
        .rotation_start(RotationStartArgs {
            profile_id: profile_id.clone(),
            key_hash: old_hash.clone(),
            delete_at_once: false,
            new_expiry: None,
        })
        .await
        .unwrap();
    assert_eq!(view.status, RotationStatus::Failed, "{view:#?}");
    assert_at(&view, RotationStepName::Verify);
    assert_eq!(view.error.as_ref().unwrap().kind, ErrorKind::Unauthorized);
    assert!(view.secret_deployed);
    let new_hash = view.new_key_hash.clone().unwrap();

    let back = t
        .service
        .rotation_action(&view.id, RotationAction::RollBack)
        .await
        .unwrap();
    assert_eq!(back.status, RotationStatus::RolledBack, "{back:#?}");
    assert!(
        back.detail.as_deref().unwrap().contains("kept both keys"),
        "{back:#?}"
    );
    // Both keys exist; the .env has the old secret back; the new secret is still in the keychain.
    let control = emulator.control_url().to_owned();
    let keys = t.get(&control, "/keys").await["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(rotation_support::env_value(&env_path), old_secret);
    assert!(t.service.held_secret(&profile_id, &new_hash).await.is_ok());
    assert!(
        t.service
            .rotation_journal_problems(&back.id)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn without_targets_the_rotation_waits_for_the_person() {
    let rig = rig("rot-no-targets", None).await;
    rig.set_policy(|policy| policy.targets.clear());
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting);
    assert_at(&view, RotationStepName::Deploy);
    assert!(view.waiting_for.as_deref().unwrap().contains("Resume"));
    let new_hash = view.new_key_hash.clone().unwrap();
    let secret = held(&rig, &new_hash).await.unwrap();
    assert!(rig.check_secret(&secret).await.is_ok());
    // Confirmed by the person: on to the grace period; the secret stays pending (no durable target).
    let next = rig.act(&view.id, RotationAction::Resume).await;
    assert_at(&next, RotationStepName::DeleteOld);
    let done = rig.act(&view.id, RotationAction::DeleteNow).await;
    assert_eq!(done.status, RotationStatus::Completed);
    assert_eq!(
        held(&rig, &new_hash).await.as_deref(),
        Some(secret.as_str())
    );
}

#[tokio::test]
async fn a_second_rotation_of_the_same_key_is_refused() {
    let rig = rig("rot-conflict", None).await;
    rig.set_policy(|policy| policy.targets.clear());
    let view = rig.start().await;
    let err = rig
        .t
        .service
        .rotation_start(start_args(&rig))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "conflict");
    let abandoned = rig.act(&view.id, RotationAction::Abandon).await;
    assert_eq!(abandoned.status, RotationStatus::Abandoned);
    // Abandoned keeps everything; a new rotation may start.
    assert_eq!(rig.emulator_keys().await.len(), 2);
    assert!(rig.t.service.rotation_start(start_args(&rig)).await.is_ok());
}

#[tokio::test]
async fn batch_rotates_the_keys_matching_a_pattern() {
    let rig = rig("rot-batch", None).await;
    let (b_hash, _) = create_key(&rig.t, &rig.profile_id, "prod-worker").await;
    let (s_hash, _) = create_key(&rig.t, &rig.profile_id, "staging-api").await;
    for (hash, file) in [
        (&rig.old_hash, "a.env"),
        (&b_hash, "b.env"),
        (&s_hash, "c.env"),
    ] {
        let mut policy = keyward_core::rotation::RotationPolicy::default_for(&rig.profile_id, hash);
        policy.targets = vec![env_file(rig.t.dir.path().join(file).display())];
        policy.quiet_period_secs = 0;
        policy.grace_period_secs = 0;
        rig.t.service.set_rotation_policy(policy).unwrap();
    }
    let views = rig.batch("prod-*").await;
    assert_eq!(views.len(), 2, "{views:#?}");
    assert!(
        views.iter().all(|v| v.status == RotationStatus::Completed),
        "{views:#?}"
    );
    let mut old: Vec<&str> = views.iter().map(|v| v.old_key_hash.as_str()).collect();
    old.sort_unstable();
    let mut expected = vec![rig.old_hash.as_str(), b_hash.as_str()];
    expected.sort_unstable();
    assert_eq!(old, expected);
    // staging untouched; the two prod keys replaced.
    assert!(rig.emulator_key(&s_hash).await.is_some());
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    assert!(rig.emulator_key(&b_hash).await.is_none());
    assert_eq!(rig.emulator_keys().await.len(), 3);
    let empty = rig.batch("nothing-*").await;
    assert!(empty.is_empty());
}

#[tokio::test]
async fn a_due_automatic_rotation_starts_by_itself() {
    let rig = rig("rot-auto", None).await;
    rig.set_policy(|policy| {
        policy.every_days = Some(30);
        policy.auto_rotate = true;
    });
    // The cache knows the key (as after any refresh).
    rig.t
        .service
        .keys_list(KeysListArgs {
            profile_id: rig.profile_id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: true,
        })
        .await
        .unwrap();
    let due = rig
        .t
        .service
        .rotation_due(&rig.profile_id, &rig.old_hash)
        .unwrap()
        .unwrap();
    assert!(due > rig.t.now() + chrono::Duration::days(29));
    assert!(rig.tick().await.is_empty());
    rig.t.advance_clock(31 * 86_400);
    let started = rig.tick().await;
    assert_eq!(started.len(), 1, "{started:#?}");
    assert_eq!(started[0].old_key_hash, rig.old_hash);
    assert_at(&started[0], RotationStepName::DeleteOld);
    // Not started twice.
    let again = rig.tick().await;
    assert!(again.iter().all(|v| v.id == started[0].id));
}
