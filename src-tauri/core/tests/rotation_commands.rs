//! Rotations with a command deploy target, against the emulator: the command runs only once the
//! person approved exactly it (program, arguments, working directory, variable) through the front
//! end's approver — checked when the policy is saved and again before any key is created, by hand,
//! in a batch or automatically — and a command that exits 0 does not take the new secret out of the
//! keychain.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyward_core::deploy::{CommandApprover, DeployTarget, MemoryApprover};
use keyward_core::ipc::KeysListArgs;
use keyward_core::rotation::{RotationPolicy, RotationStatus, RotationView};
use keyward_core::store::Store;
use keyward_core::{Error, ErrorKind};
use rotation_support::{Rig, rig, rig_with, start_args};
use secrecy::ExposeSecret;

/// `/bin/sh` writing the secret it receives into `out`.
fn command(out: &Path, working_dir: Option<&str>) -> DeployTarget {
    DeployTarget::Command {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            "printf %s \"$KW_SECRET\" > \"$1\"".into(),
            "sh".into(),
            out.display().to_string(),
        ],
        env_var: "KW_SECRET".into(),
        working_dir: working_dir.map(str::to_owned),
    }
}

fn policy_with(rig: &Rig, target: DeployTarget) -> RotationPolicy {
    let mut policy = RotationPolicy::default_for(&rig.profile_id, &rig.old_hash);
    policy.targets = vec![target];
    policy.quiet_period_secs = 0;
    policy.grace_period_secs = 0;
    policy
}

/// Writes a policy straight into the database, past every check (an old database, or anything
/// that could write it without the person).
fn store_behind_the_back(rig: &Rig, policy: &RotationPolicy) {
    Store::open_in_dir(rig.t.dir.path())
        .unwrap()
        .set_rotation_policy(policy)
        .unwrap();
}

async fn rig_approving(test: &str, approver: &Arc<MemoryApprover>) -> Rig {
    let approver: Arc<dyn CommandApprover> = approver.clone();
    rig_with(test, None, move |config| {
        config.rotation.approver = Some(approver)
    })
    .await
}

fn out_file(rig: &Rig) -> PathBuf {
    rig.t.dir.path().join("deployed-by-command")
}

/// `InvalidInput` on the command's program, with `words` in its message.
fn assert_refused(error: &Error, words: &str) {
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    let Error::InvalidInput { field, message } = error else {
        unreachable!()
    };
    assert_eq!(field.as_deref(), Some("targets[0].program"), "{error}");
    assert!(message.contains(words), "{message}");
}

/// Runs the rotation on until it is no longer running or waiting (quiet and grace periods are 0).
async fn finish(rig: &Rig, mut view: RotationView) -> RotationView {
    for _ in 0..5 {
        if !matches!(
            view.status,
            RotationStatus::Running | RotationStatus::Waiting
        ) {
            break;
        }
        rig.t.advance_clock(2);
        view = rig.t.service.rotation_advance(&view.id).await.unwrap();
    }
    view
}

#[tokio::test]
async fn an_unapproved_target_is_refused_before_any_key_is_created() {
    let rig = rig("cmd-unapproved", None).await;
    let out = out_file(&rig);
    let policy = policy_with(&rig, command(&out, None));

    // No approver (nobody to ask): saving is refused, asking or not.
    let error = rig
        .t
        .service
        .set_rotation_policy(policy.clone())
        .unwrap_err();
    assert_refused(&error, "needs your approval");
    let error = rig
        .t
        .service
        .set_rotation_policy_approving(policy.clone())
        .await
        .unwrap_err();
    assert_refused(&error, "needs your approval");

    // A policy that reached the database anyway: rotating refuses it before creating a key.
    store_behind_the_back(&rig, &policy);
    let error = rig
        .t
        .service
        .rotation_start(start_args(&rig))
        .await
        .unwrap_err();
    assert_refused(&error, "needs your approval");
    assert_eq!(rig.emulator_keys().await.len(), 1, "a key was created");
    assert!(rig.t.service.rotations(None, false).unwrap().is_empty());

    // The person refuses in the prompt: still nothing.
    let approver = Arc::new(MemoryApprover::refusing());
    rig.t.service.set_command_approver(Some(approver.clone()));
    let error = rig
        .t
        .service
        .rotation_start(start_args(&rig))
        .await
        .unwrap_err();
    assert_refused(&error, "was not approved");
    assert_eq!(approver.asked().len(), 1);
    assert_eq!(rig.emulator_keys().await.len(), 1, "a key was created");
    let batch = rig.batch("prod-*").await;
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].status, RotationStatus::Failed);
    assert!(
        batch[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("not approved"),
        "{:?}",
        batch[0].error
    );
    assert_eq!(rig.emulator_keys().await.len(), 1, "a key was created");
    assert!(!out.exists(), "the command ran");

    // Approved when asked (rotating by hand): it runs.
    approver.set_answer(true);
    let view = rig
        .t
        .service
        .rotation_start(start_args(&rig))
        .await
        .unwrap();
    assert!(view.error.is_none(), "{view:#?}");
    assert_eq!(approver.asked().len(), 3);
    assert!(out.exists(), "the approved command did not run");
}

#[tokio::test]
async fn a_refusal_in_the_prompt_stores_nothing_and_names_the_exact_command() {
    let approver = Arc::new(MemoryApprover::refusing());
    let rig = rig_approving("cmd-refused", &approver).await;
    let out = out_file(&rig);
    let target = command(&out, Some("/tmp"));
    let error = rig
        .t
        .service
        .set_rotation_policy_approving(policy_with(&rig, target.clone()))
        .await
        .unwrap_err();
    assert_refused(&error, "was not approved");
    // The policy the rig stored (the `.env` target) is still the key's.
    let stored = rig
        .t
        .service
        .rotation_policy(&rig.profile_id, &rig.old_hash)
        .unwrap();
    assert_eq!(stored.targets, vec![rig.env_target()]);
    let asked = approver.asked();
    assert_eq!(asked.len(), 1);
    let DeployTarget::Command { args, .. } = &target else {
        unreachable!()
    };
    assert_eq!(asked[0].program, "/bin/sh");
    assert_eq!(&asked[0].args, args);
    assert_eq!(asked[0].working_dir.as_deref(), Some("/tmp"));
    let text = asked[0].prompt_text();
    assert!(
        text.contains("\"/bin/sh\"") && text.contains("\"/tmp\""),
        "{text}"
    );
}

#[tokio::test]
async fn an_approved_target_runs_and_a_changed_one_needs_approval_again() {
    let approver = Arc::new(MemoryApprover::approving());
    let rig = rig_approving("cmd-approved", &approver).await;
    let out = out_file(&rig);
    let target = command(&out, None);
    rig.t
        .service
        .set_rotation_policy_approving(policy_with(&rig, target.clone()))
        .await
        .unwrap();
    assert_eq!(approver.asked().len(), 1);
    // Saved again unchanged: not asked again.
    rig.t
        .service
        .set_rotation_policy_approving(policy_with(&rig, target.clone()))
        .await
        .unwrap();
    rig.t
        .service
        .set_rotation_policy(policy_with(&rig, target.clone()))
        .unwrap();
    assert_eq!(approver.asked().len(), 1);

    let view = finish(&rig, rig.start().await).await;
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    let deployed = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        rig.check_secret(&deployed).await.unwrap(),
        view.new_key_label.clone().unwrap()
    );
    // The command exited 0, which proves nothing about where the secret went: it stays pending.
    let held = rig
        .t
        .service
        .held_secret(&rig.profile_id, &new_hash)
        .await
        .expect("the new secret left the keychain after a command target");
    assert_eq!(held.expose_secret(), deployed);
    let state = rig.t.service.app_state().unwrap();
    assert!(
        state
            .pending_secrets
            .iter()
            .any(|entry| entry.key_hash == new_hash),
        "{:?}",
        state.pending_secrets
    );
    assert_eq!(approver.asked().len(), 1);

    // Any change — arguments, working directory, program, variable — is a new target to approve.
    approver.set_answer(false);
    let DeployTarget::Command {
        program,
        args,
        env_var,
        working_dir,
    } = target
    else {
        unreachable!()
    };
    let mut more_args = args.clone();
    more_args.push("extra".into());
    let changed = [
        DeployTarget::Command {
            program: program.clone(),
            args: more_args,
            env_var: env_var.clone(),
            working_dir: working_dir.clone(),
        },
        DeployTarget::Command {
            program: program.clone(),
            args: args.clone(),
            env_var: env_var.clone(),
            working_dir: Some("/".into()),
        },
        DeployTarget::Command {
            program: "/usr/bin/sh".into(),
            args: args.clone(),
            env_var: env_var.clone(),
            working_dir: working_dir.clone(),
        },
        DeployTarget::Command {
            program,
            args,
            env_var: "OTHER".into(),
            working_dir,
        },
    ];
    let mut policy = policy_with(&rig, changed[0].clone());
    policy.key_hash = new_hash;
    for (index, target) in changed.into_iter().enumerate() {
        policy.targets = vec![target];
        let error = rig
            .t
            .service
            .set_rotation_policy_approving(policy.clone())
            .await
            .unwrap_err();
        assert_refused(&error, "was not approved");
        assert_eq!(approver.asked().len(), index + 2);
    }
}

#[tokio::test]
async fn automatic_rotation_never_runs_an_unapproved_or_changed_target() {
    let approver = Arc::new(MemoryApprover::approving());
    let rig = rig_approving("cmd-auto", &approver).await;
    let out = out_file(&rig);
    let mut policy = policy_with(&rig, command(&out, None));
    policy.every_days = Some(30);
    policy.auto_rotate = true;
    rig.t
        .service
        .set_rotation_policy_approving(policy.clone())
        .await
        .unwrap();
    assert_eq!(approver.asked().len(), 1);
    // Changed behind the person's back after the approval (another working directory).
    policy.targets = vec![command(&out, Some("/"))];
    store_behind_the_back(&rig, &policy);
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
    rig.t.advance_clock(31 * 86_400);
    let started = rig.tick().await;
    assert!(started.is_empty(), "{started:#?}");
    // Nobody was asked (no one is there to answer), no key was created, nothing ran.
    assert_eq!(approver.asked().len(), 1);
    assert_eq!(rig.emulator_keys().await.len(), 1, "a key was created");
    assert!(rig.t.service.rotations(None, false).unwrap().is_empty());
    assert!(!out.exists(), "the command ran");
}
