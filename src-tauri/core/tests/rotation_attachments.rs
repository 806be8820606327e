//! Rotation carries what names a key by its hash: its guardrail, a BYOK allowlist and a log
//! destination (in-memory [`MemoryAccountLinks`], keys on the emulator over HTTP). The new key gets
//! all of them before its secret is deployed and the old hash leaves them only once the old key is
//! deleted; a rollback takes the new hash off; a failure while attaching loses nothing; the plan
//! shows what the new key gets; "extend expiry" is a rotation with a new expiry, checked before
//! anything is sent; a resumed rotation carries the list it snapshotted when it started. Crashes at
//! every attach/detach boundary are in `rotation_crash.rs`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};
use keyward_core::api::{
    ClientConfig, CreateKeyRequest, CreateWorkspaceRequest, LimitReset, OpenRouterClient,
};
use keyward_core::rotation::{
    Attachment, Boundary, HookPoint, JournalPhase, JournalStep, NewExpiry, RotationAction,
    RotationPlanArgs, RotationStartArgs, RotationStatus, RotationStepName, RotationStepStatus,
    RotationView,
};
use keyward_core::service::{MemoryAccountLinks, ServiceConfig};
use keyward_core::store::Store;
use keyward_core::{Error, ErrorKind, Keyward};
use rotation_support::{
    CrashAt, OTHER_HASH, Rig, RotationEvents, VARIABLE, attachments, configure, named_by,
    rig_with_links,
};
use secrecy::{ExposeSecret, SecretString};

const ALL: [&str; 3] = ["guardrail", "byok", "destination"];

fn status_of(view: &RotationView, step: RotationStepName) -> RotationStepStatus {
    view.steps.iter().find(|s| s.step == step).unwrap().status
}

/// Replaces the rig's old key with one in a new workspace (limit $5 weekly, BYOK not counted,
/// expiring in 30 days), named by the links, its secret in the `.env` file. Answers the workspace.
async fn key_in_workspace(rig: &mut Rig, links: &MemoryAccountLinks) -> String {
    let client = OpenRouterClient::new(ClientConfig::new(
        rig.emulator.base_url(),
        SecretString::from(rig.emulator.management_key().to_owned()),
    ))
    .unwrap();
    // The emulator refuses a `workspace_id` naming no workspace, as OpenRouter does.
    let workspace = client
        .create_workspace(&CreateWorkspaceRequest {
            name: "EU".into(),
            slug: "eu".into(),
            ..CreateWorkspaceRequest::default()
        })
        .await
        .unwrap()
        .id;
    let expires = (Utc::now() + Duration::days(30))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let created = client
        .create_key(&CreateKeyRequest {
            name: "eu-api".into(),
            limit: Some(5.0),
            limit_reset: Some(LimitReset::Weekly),
            include_byok_in_limit: Some(false),
            expires_at: Some(expires),
            workspace_id: Some(workspace.clone()),
            creator_user_id: None,
        })
        .await
        .unwrap();
    rig.old_hash = created.key.hash.clone();
    rig.old_secret = created.secret.expose_secret().to_owned();
    std::fs::write(&rig.env_path, format!("{VARIABLE}={}\n", rig.old_secret)).unwrap();
    rig.set_policy(|_| {});
    rotation_support::links_naming(links, &rig.old_hash);
    workspace
}

/// The position in the journal of `step`'s first row of `phase`.
fn journal_seq(rig: &Rig, id: &str, step: JournalStep, phase: JournalPhase) -> i64 {
    rig.t
        .service
        .rotation_journal(id)
        .unwrap()
        .iter()
        .find(|entry| entry.step == step && entry.phase == phase)
        .unwrap_or_else(|| panic!("no {phase:?} row of {step}"))
        .seq
}

#[tokio::test]
async fn a_key_in_another_workspace_keeps_its_guardrail_byok_and_logs() {
    let links = MemoryAccountLinks::new();
    let mut rig = rig_with_links("rot-attach-workspace", None, &links).await;
    let workspace = key_in_workspace(&mut rig, &links).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);

    let plan = rig
        .t
        .service
        .rotation_plan(&RotationPlanArgs {
            profile_id: rig.profile_id.clone(),
            key_hash: rig.old_hash.clone(),
            new_expiry: None,
        })
        .await
        .unwrap();
    assert_eq!(plan.workspace_id.as_deref(), Some(workspace.as_str()));
    assert_eq!(plan.limit, Some(5.0));
    assert_eq!(plan.limit_reset, Some(LimitReset::Weekly));
    assert!(!plan.include_byok_in_limit);
    assert_eq!(plan.attachments, attachments());
    assert_eq!(plan.targets, vec![rig.env_target()]);
    assert!(plan.expires_at.unwrap() > plan.old_expires_at.unwrap());

    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    assert_eq!(
        status_of(&view, RotationStepName::Attach),
        RotationStepStatus::Done
    );
    assert_eq!(
        status_of(&view, RotationStepName::Detach),
        RotationStepStatus::Done
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    let new_key = rig.emulator_key(&new_hash).await.unwrap();
    assert_eq!(new_key["workspace_id"], workspace.as_str());
    assert_eq!(new_key["limit"], 5.0);
    assert_eq!(new_key["limit_reset"], "weekly");
    assert_eq!(new_key["include_byok_in_limit"], false);
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    assert_eq!(named_by(&links, &new_hash), ALL);
    assert!(named_by(&links, &rig.old_hash).is_empty());
    assert!(
        links
            .hashes_of(attachments()[1].id())
            .contains(&OTHER_HASH.to_owned())
    );
    // Attached before the secret went anywhere; detached only after the old key was deleted.
    assert!(
        journal_seq(&rig, &view.id, JournalStep::Attach, JournalPhase::Result)
            < journal_seq(&rig, &view.id, JournalStep::Deploy, JournalPhase::Intent)
    );
    assert!(
        journal_seq(&rig, &view.id, JournalStep::DeleteOld, JournalPhase::Result)
            < journal_seq(&rig, &view.id, JournalStep::Detach, JournalPhase::Intent)
    );
    let started = rig.t.service.rotation_journal(&view.id).unwrap()[0].clone();
    assert_eq!(started.detail["attachments"][0]["kind"], "guardrail");
    assert_eq!(started.detail["workspace_id"], workspace.as_str());
    assert!(rig.journal_problems(&view.id).is_empty());
}

#[tokio::test]
async fn the_old_hash_stays_until_the_old_key_is_deleted() {
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-attach-grace", None, &links).await;
    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::DeleteOld),
        "{view:#?}"
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    // Both keys work during the grace period: both are named everywhere.
    assert_eq!(named_by(&links, &new_hash), ALL);
    assert_eq!(named_by(&links, &rig.old_hash), ALL);
    let done = rig.act(&view.id, RotationAction::DeleteNow).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    assert!(named_by(&links, &rig.old_hash).is_empty());
    assert_eq!(named_by(&links, &new_hash), ALL);
}

#[tokio::test]
async fn a_rollback_takes_the_new_hash_off() {
    // Not deployed (no targets: waits at deploy): the new key is deleted, its hash is nowhere.
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-attach-rollback-undeployed", None, &links).await;
    rig.set_policy(|policy| policy.targets.clear());
    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::Deploy),
        "{view:#?}"
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    assert_eq!(named_by(&links, &new_hash), ALL);
    let back = rig.act(&view.id, RotationAction::RollBack).await;
    assert_eq!(back.status, RotationStatus::RolledBack, "{back:#?}");
    assert!(rig.emulator_key(&new_hash).await.is_none());
    assert!(named_by(&links, &new_hash).is_empty());
    assert_eq!(named_by(&links, &rig.old_hash), ALL);
    assert!(back.detail.unwrap().contains("took the new key off"));

    // Deployed (waiting at drain): both keys stay; the kept new key keeps only its guardrail.
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-attach-rollback-deployed", None, &links).await;
    rig.set_policy(|policy| policy.quiet_period_secs = 3600);
    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::Drain),
        "{view:#?}"
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    let back = rig.act(&view.id, RotationAction::RollBack).await;
    assert_eq!(back.status, RotationStatus::RolledBack, "{back:#?}");
    assert!(rig.emulator_key(&new_hash).await.is_some());
    assert_eq!(named_by(&links, &new_hash), ["guardrail"]);
    assert_eq!(named_by(&links, &rig.old_hash), ALL);
    assert_eq!(rig.env_secret(), rig.old_secret);
    assert!(rig.journal_problems(&back.id).is_empty());
}

#[tokio::test]
async fn a_failure_while_attaching_stops_before_deploy_and_retry_carries_everything() {
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-attach-fail-retry", None, &links).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    // The start's read and the guardrail's assignment pass; the BYOK list's update fails.
    links.fail_after(2, 1);
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Failed, "{view:#?}");
    assert_eq!(view.current_step, Some(RotationStepName::Attach));
    assert_eq!(view.error.as_ref().unwrap().kind, ErrorKind::Server);
    assert!(view.actions.contains(&RotationAction::RollBack));
    let new_hash = view.new_key_hash.clone().unwrap();
    assert_eq!(named_by(&links, &new_hash), ["guardrail"]);
    // Nothing deployed yet: the file still holds the old key, which is untouched.
    assert_eq!(rig.env_secret(), rig.old_secret);
    assert!(!view.secret_deployed);
    let done = rig.act(&view.id, RotationAction::Retry).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    assert_eq!(named_by(&links, &new_hash), ALL);
    assert!(named_by(&links, &rig.old_hash).is_empty());
    assert!(rig.journal_problems(&done.id).is_empty());
}

#[tokio::test]
async fn a_failure_while_attaching_rolled_back_leaves_the_old_key_as_it_was() {
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-attach-fail-rollback", None, &links).await;
    links.fail_after(2, 1);
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Failed, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    let back = rig.act(&view.id, RotationAction::RollBack).await;
    assert_eq!(back.status, RotationStatus::RolledBack, "{back:#?}");
    assert!(rig.emulator_key(&new_hash).await.is_none());
    assert!(named_by(&links, &new_hash).is_empty());
    assert_eq!(named_by(&links, &rig.old_hash), ALL);
    assert_eq!(rig.emulator_keys().await.len(), 1);
    assert_eq!(rig.env_secret(), rig.old_secret);
}

#[tokio::test]
async fn a_failure_while_detaching_is_retried_until_the_old_hash_is_gone() {
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-detach-fail", None, &links).await;
    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::DeleteOld),
        "{view:#?}"
    );
    links.fail_next(1);
    let failed = rig.act(&view.id, RotationAction::DeleteNow).await;
    assert_eq!(failed.status, RotationStatus::Failed, "{failed:#?}");
    assert_eq!(failed.current_step, Some(RotationStepName::Detach));
    // The old key is gone: no rollback any more, only retry.
    assert!(!failed.actions.contains(&RotationAction::RollBack));
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    let done = rig.act(&view.id, RotationAction::Retry).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    assert!(named_by(&links, &rig.old_hash).is_empty());
}

#[tokio::test]
async fn extend_expiry_is_a_rotation_with_a_new_expiry() {
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-extend-expiry", None, &links).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    let args = |expiry| RotationStartArgs {
        new_expiry: Some(expiry),
        ..rotation_support::start_args(&rig)
    };
    // Refused before anything is sent: in the past, too far, zero days.
    for expiry in [
        NewExpiry::At(Utc::now() - Duration::hours(1)),
        NewExpiry::At(Utc::now() + Duration::days(4000)),
        NewExpiry::Days(0),
    ] {
        let error = rig
            .t
            .service
            .rotation_start(args(expiry))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput { field: Some(field), .. } if field == "new_expiry"),
            "{error:?}"
        );
        let plan_error = rig
            .t
            .service
            .rotation_plan(&RotationPlanArgs {
                profile_id: rig.profile_id.clone(),
                key_hash: rig.old_hash.clone(),
                new_expiry: Some(expiry),
            })
            .await
            .unwrap_err();
        assert_eq!(plan_error.kind(), ErrorKind::InvalidInput);
    }
    assert!(rig.t.service.rotations(None, false).unwrap().is_empty());
    assert_eq!(rig.emulator_keys().await.len(), 1);

    let until = (Utc::now() + Duration::days(90))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let plan = rig
        .t
        .service
        .rotation_plan(&RotationPlanArgs {
            profile_id: rig.profile_id.clone(),
            key_hash: rig.old_hash.clone(),
            new_expiry: Some(NewExpiry::At(until)),
        })
        .await
        .unwrap();
    assert_eq!(plan.expires_at, Some(until));
    assert_eq!(plan.old_expires_at, None);
    let view = rig
        .t
        .service
        .rotation_start(args(NewExpiry::At(until)))
        .await
        .unwrap();
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    let new_key = rig
        .emulator_key(view.new_key_hash.as_deref().unwrap())
        .await
        .unwrap();
    let expires: chrono::DateTime<Utc> = new_key["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, until);
    // The rest is carried as in any rotation.
    assert_eq!(named_by(&links, view.new_key_hash.as_deref().unwrap()), ALL);
}

#[tokio::test]
async fn a_resumed_rotation_carries_the_list_snapshotted_at_its_start() {
    let crash = Arc::new(CrashAt {
        point: HookPoint::new(RotationStepName::Attach, Boundary::Before),
        reached: Arc::new(tokio::sync::Notify::new()),
    });
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links("rot-attach-snapshot", Some(crash.clone()), &links).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    let service = rig.t.service.clone();
    let args = rotation_support::start_args(&rig);
    let task = tokio::spawn(async move {
        let _ = service.rotation_start(args).await;
    });
    tokio::time::timeout(std::time::Duration::from_secs(15), crash.reached.notified())
        .await
        .expect("attach:before was never reached");
    task.abort();
    let _ = task.await;
    // Meanwhile another destination starts naming the old key: the rotation's list is fixed.
    let late = Attachment::Destination {
        id: "7d9f1f3c-0000-4000-8000-000000000009".into(),
        name: "late".into(),
        destination_type: "webhook".into(),
    };
    links.add(late.clone(), &[rig.old_hash.as_str()]);

    let events = Arc::new(RotationEvents::default());
    let mut config = ServiceConfig::new(rig.t.vault.clone());
    configure(&mut config, &events);
    config.rotation.links = Arc::new(links.clone());
    let restarted = Keyward::new(Store::open_in_dir(rig.t.dir.path()).unwrap(), config);
    let views = restarted.resume_rotations().await.unwrap();
    assert_eq!(views.len(), 1);
    let view = &views[0];
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    assert_eq!(named_by(&links, &new_hash), ALL);
    assert_eq!(links.hashes_of(late.id()), vec![rig.old_hash.clone()]);
    assert!(
        restarted
            .rotation_journal_problems(&view.id)
            .unwrap()
            .is_empty()
    );
}
