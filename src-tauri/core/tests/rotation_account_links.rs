//! Rotation with the real account links (`ApiAccountLinks`, the service's default) on the emulator:
//! a key in a non-default workspace with a guardrail, a BYOK allowlist and a log destination. The
//! plan lists them; the new key is in all of them before its secret is deployed; during the grace
//! period both keys are; once the old key is deleted its hash is in none; a rollback takes the new
//! hash off; a batch finds keys of every workspace. Crashes at each boundary with these links are
//! in `rotation_crash.rs`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::rotation::{
    JournalPhase, JournalStep, RotationAction, RotationPlanArgs, RotationStatus, RotationStepName,
};
use keyward_core::service::GuardrailsListArgs;
use rotation_support::Rig;
use rotation_support::account::{
    byok_keeps_the_other_key, key_with_attachments, named_on_emulator,
};

const ALL: [&str; 3] = ["guardrail", "byok", "destination"];

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
async fn a_key_in_another_workspace_carries_its_guardrail_byok_and_destination() {
    let mut rig = rotation_support::rig("rot-links-api-workspace", None).await;
    let account = key_with_attachments(&mut rig).await;

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
    assert_eq!(
        plan.workspace_id.as_deref(),
        Some(account.workspace_id.as_str())
    );
    assert_eq!(plan.attachments, account.attachments());
    // The key list's key → guardrail map, read (and kept) before the rotation.
    let map_args = GuardrailsListArgs {
        profile_id: rig.profile_id.clone(),
        refresh: false,
    };
    let before = rig
        .t
        .service
        .key_guardrails(map_args.clone())
        .await
        .unwrap();
    assert!(before.by_key.contains_key(&rig.old_hash));

    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::DeleteOld),
        "{view:#?}"
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    // The grace period: both keys work, so both are named everywhere.
    assert_eq!(named_on_emulator(&rig, &account, &new_hash).await, ALL);
    assert_eq!(named_on_emulator(&rig, &account, &rig.old_hash).await, ALL);
    let new_key = rig.emulator_key(&new_hash).await.unwrap();
    assert_eq!(new_key["workspace_id"], account.workspace_id.as_str());
    // The list shows the new key's guardrail without a refresh: the rotation dropped the kept map.
    let during = rig.t.service.key_guardrails(map_args).await.unwrap();
    assert_eq!(
        during.by_key.get(&new_hash),
        before.by_key.get(&rig.old_hash)
    );
    assert!(
        journal_seq(&rig, &view.id, JournalStep::Attach, JournalPhase::Result)
            < journal_seq(&rig, &view.id, JournalStep::Deploy, JournalPhase::Intent)
    );

    let done = rig.act(&view.id, RotationAction::DeleteNow).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    assert_eq!(named_on_emulator(&rig, &account, &new_hash).await, ALL);
    assert!(
        named_on_emulator(&rig, &account, &rig.old_hash)
            .await
            .is_empty()
    );
    assert!(byok_keeps_the_other_key(&rig, &account).await);
    assert!(rig.journal_problems(&done.id).is_empty());
}

#[tokio::test]
async fn a_rollback_takes_the_new_hash_off_the_real_lists() {
    // Not deployed (no targets: waits at deploy): the new key is deleted and named nowhere.
    let mut rig = rotation_support::rig("rot-links-api-rollback", None).await;
    let account = key_with_attachments(&mut rig).await;
    rig.set_policy(|policy| policy.targets.clear());
    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::Deploy),
        "{view:#?}"
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    assert_eq!(named_on_emulator(&rig, &account, &new_hash).await, ALL);
    let back = rig.act(&view.id, RotationAction::RollBack).await;
    assert_eq!(back.status, RotationStatus::RolledBack, "{back:#?}");
    assert!(rig.emulator_key(&new_hash).await.is_none());
    assert!(
        named_on_emulator(&rig, &account, &new_hash)
            .await
            .is_empty()
    );
    assert_eq!(named_on_emulator(&rig, &account, &rig.old_hash).await, ALL);
    assert!(byok_keeps_the_other_key(&rig, &account).await);

    // Deployed (waiting at drain): the kept new key keeps only its guardrail.
    let mut rig = rotation_support::rig("rot-links-api-rollback-kept", None).await;
    let account = key_with_attachments(&mut rig).await;
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
    assert_eq!(
        named_on_emulator(&rig, &account, &new_hash).await,
        ["guardrail"]
    );
    assert_eq!(named_on_emulator(&rig, &account, &rig.old_hash).await, ALL);
    assert!(rig.journal_problems(&back.id).is_empty());
}

#[tokio::test]
async fn a_resource_deleted_during_the_grace_period_does_not_stop_the_detach() {
    let mut rig = rotation_support::rig("rot-links-api-deleted", None).await;
    let account = key_with_attachments(&mut rig).await;
    let view = rig.start().await;
    assert_eq!(
        view.current_step,
        Some(RotationStepName::DeleteOld),
        "{view:#?}"
    );
    let client = rotation_support::account::management(&rig);
    client
        .delete_guardrail(&account.guardrail_id)
        .await
        .unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/observability/destinations/{}",
            rig.emulator.base_url(),
            account.destination_id
        ))
        .bearer_auth(rig.emulator.management_key())
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let done = rig.act(&view.id, RotationAction::DeleteNow).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    let byok = client.get_byok_key(&account.byok_id).await.unwrap();
    assert!(!byok.names_key(&rig.old_hash));
    assert!(byok.names_key(view.new_key_hash.as_deref().unwrap()));
}

#[tokio::test]
async fn a_batch_rotates_keys_of_every_workspace() {
    let mut rig = rotation_support::rig("rot-links-api-batch", None).await;
    let account = key_with_attachments(&mut rig).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    let views = rig.batch("eu-api").await;
    assert_eq!(views.len(), 1, "{views:#?}");
    assert_eq!(views[0].status, RotationStatus::Completed, "{views:#?}");
    let new_hash = views[0].new_key_hash.clone().unwrap();
    assert_eq!(named_on_emulator(&rig, &account, &new_hash).await, ALL);
    assert!(
        named_on_emulator(&rig, &account, &rig.old_hash)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_api_links_read_each_kind_once_and_change_idempotently() {
    use keyward_core::api::CreateKeyRequest;
    use keyward_core::rotation::Attachment;
    use keyward_core::service::{AccountLinks, ApiAccountLinks};

    let mut rig = rotation_support::rig("rot-links-api-direct", None).await;
    let account = key_with_attachments(&mut rig).await;
    let client = rotation_support::account::management(&rig);
    let links = ApiAccountLinks;
    let workspace = Some(account.workspace_id.as_str());

    // One listing per kind (guardrail assignments, BYOK, destinations) and the guardrail's name.
    let before = rig.t.request_count(&rig.control()).await;
    let found = links
        .attachments(&client, &rig.old_hash, workspace)
        .await
        .unwrap();
    assert_eq!(found, account.attachments());
    assert_eq!(rig.t.request_count(&rig.control()).await - before, 4);
    // Lists are per workspace: the default one holds none of these.
    assert!(
        links
            .attachments(&client, &rig.old_hash, None)
            .await
            .unwrap()
            .iter()
            .all(Attachment::is_guardrail)
    );

    let new_hash = client
        .create_key(&CreateKeyRequest {
            workspace_id: Some(account.workspace_id.clone()),
            ..CreateKeyRequest::new("eu-api 2")
        })
        .await
        .unwrap()
        .key
        .hash;
    assert!(
        links
            .attachments(&client, &new_hash, workspace)
            .await
            .unwrap()
            .is_empty()
    );
    for _ in 0..2 {
        for attachment in &found {
            links.attach(&client, attachment, &new_hash).await.unwrap();
        }
    }
    assert_eq!(named_on_emulator(&rig, &account, &new_hash).await, ALL);
    let byok = client.get_byok_key(&account.byok_id).await.unwrap();
    assert_eq!(byok.allowed_api_key_hashes.unwrap().len(), 3);
    for _ in 0..2 {
        for attachment in &found {
            links
                .detach(&client, attachment, &rig.old_hash)
                .await
                .unwrap();
        }
    }
    assert!(
        named_on_emulator(&rig, &account, &rig.old_hash)
            .await
            .is_empty()
    );
    assert_eq!(named_on_emulator(&rig, &account, &new_hash).await, ALL);
    assert!(byok_keeps_the_other_key(&rig, &account).await);

    // A resource deleted meanwhile: detaching from it is done, attaching to it is not.
    client
        .delete_guardrail(&account.guardrail_id)
        .await
        .unwrap();
    links.detach(&client, &found[0], &new_hash).await.unwrap();
    let error = links
        .attach(&client, &found[0], &new_hash)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), keyward_core::ErrorKind::NotFound);
}

#[tokio::test]
async fn a_list_that_cannot_be_read_stops_the_rotation_before_anything_is_made() {
    let mut rig = rotation_support::rig("rot-links-api-unreadable", None).await;
    key_with_attachments(&mut rig).await;
    let keys_before = rig.emulator_keys().await.len();
    rig.faults(serde_json::json!({
        "server_error": {"next": 100},
        "path_prefix": "/api/v1/byok"
    }))
    .await;
    let plan = rig
        .t
        .service
        .rotation_plan(&RotationPlanArgs {
            profile_id: rig.profile_id.clone(),
            key_hash: rig.old_hash.clone(),
            new_expiry: None,
        })
        .await
        .unwrap_err();
    assert_eq!(plan.kind(), keyward_core::ErrorKind::Server, "{plan:?}");
    // Not started without knowing what it must carry: no rotation, no new key.
    let start = rig
        .t
        .service
        .rotation_start(rotation_support::start_args(&rig))
        .await
        .unwrap_err();
    assert_eq!(start.kind(), keyward_core::ErrorKind::Server, "{start:?}");
    assert!(rig.t.service.rotations(None, false).unwrap().is_empty());
    assert_eq!(rig.emulator_keys().await.len(), keys_before);
}
