//! The fleet operations together, against the emulator over real HTTP: keys tagged `leaked` are
//! revoked by the filter `tag:leaked` (and only they), the audit log records the revoke, each key's
//! disable (before → after), the re-enable, a batch run and a label change, and the chain verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use keyward_core::audit::{AuditAction, AuditEntry, AuditFilter, AuditOutcome};
use keyward_core::batch::{
    BatchArgs, BatchOperation, RevokeArgs, RevokeFollowUpArgs, RevokeSelection,
};
use keyward_core::ipc::KeyMetadataSetArgs;
use keyward_core::metadata::KeyMetadata;
use serde_json::json;
use service_support::list;
use watch_support::watched;

fn entries(w: &watch_support::Watched, action: AuditAction) -> Vec<AuditEntry> {
    w.t.service
        .audit_list(AuditFilter {
            action: Some(action),
            limit: Some(1000),
            ..AuditFilter::default()
        })
        .unwrap()
        .entries
}

#[tokio::test]
async fn revoke_by_tag_and_the_audit_trail_of_each_step() {
    let w = watched("fleet-audit").await;
    let mut hashes = Vec::new();
    for i in 0..6 {
        hashes.push(w.create_key(json!({"name": format!("svc-{i}")})).await);
    }
    w.t.service
        .keys_list(list(&w.profile_id, true))
        .await
        .unwrap();
    // Three keys leaked; one of them carries a second tag.
    for (i, hash) in hashes[..3].iter().enumerate() {
        let tags = if i == 0 {
            vec!["Leaked", "prod"]
        } else {
            vec!["leaked"]
        };
        w.t.service
            .key_metadata_set(KeyMetadataSetArgs {
                profile_id: w.profile_id.clone(),
                hash: hash.clone(),
                metadata: KeyMetadata {
                    tags: tags.into_iter().map(str::to_owned).collect(),
                    ..KeyMetadata::default()
                },
            })
            .await
            .unwrap();
    }
    let labels = entries(&w, AuditAction::MetadataSet);
    assert_eq!(labels.len(), 3);
    assert!(labels.iter().all(|e| e.outcome == AuditOutcome::Ok));
    assert!(
        labels.iter().any(|e| e.change.contains("leaked")),
        "{labels:#?}"
    );

    let revoked =
        w.t.service
            .revoke_start(RevokeArgs {
                profile_id: w.profile_id.clone(),
                run_id: "leak".into(),
                selection: RevokeSelection::Filter {
                    expression: "tag:leaked".into(),
                },
            })
            .await
            .unwrap();
    let mut matched = revoked.revoke.matched.clone();
    matched.sort();
    let mut leaked = hashes[..3].to_vec();
    leaked.sort();
    assert_eq!(
        matched, leaked,
        "tag:leaked must match exactly the tagged keys"
    );
    assert_eq!(revoked.report.done, 3);

    let summary = entries(&w, AuditAction::EmergencyRevoke);
    assert_eq!(summary.len(), 1, "{summary:#?}");
    assert!(
        summary[0].change.contains("tag:leaked"),
        "{}",
        summary[0].change
    );
    let disables = entries(&w, AuditAction::KeyDisable);
    let mut disabled: Vec<String> = disables.iter().filter_map(|e| e.key_hash.clone()).collect();
    disabled.sort();
    assert_eq!(disabled, leaked);
    assert!(
        disables
            .iter()
            .all(|e| e.change.contains("disabled: false → true")),
        "{disables:#?}"
    );

    w.t.service
        .revoke_reenable(RevokeFollowUpArgs {
            profile_id: w.profile_id.clone(),
            run_id: "undo".into(),
            revoke_id: revoked.revoke.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(entries(&w, AuditAction::EmergencyReenable).len(), 1);
    assert_eq!(entries(&w, AuditAction::KeyEnable).len(), 3);

    // A batch over a key that does not exist: recorded as failed, the rest ok.
    let mut targets = hashes[3..].to_vec();
    targets.push("f".repeat(64));
    let report =
        w.t.service
            .batch_run(BatchArgs {
                profile_id: w.profile_id.clone(),
                run_id: "limits".into(),
                operation: BatchOperation::SetLimit {
                    limit: 7.5,
                    limit_reset: None,
                },
                hashes: targets,
                concurrency: None,
            })
            .await
            .unwrap();
    assert_eq!((report.done, report.failed), (3, 1), "{report:#?}");
    let updates = entries(&w, AuditAction::KeyUpdate);
    assert_eq!(updates.len(), 4);
    assert_eq!(
        updates
            .iter()
            .filter(|e| e.outcome == AuditOutcome::Failed)
            .count(),
        1
    );
    assert!(
        updates
            .iter()
            .filter(|e| e.outcome == AuditOutcome::Ok)
            .all(|e| e.change.contains("limit: none → 7.5")),
        "{updates:#?}"
    );
    assert_eq!(entries(&w, AuditAction::BatchRun).len(), 1);

    let verification = w.t.service.audit_verify().unwrap();
    assert!(verification.ok, "{verification:#?}");
}
