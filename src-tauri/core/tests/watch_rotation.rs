//! The watcher and rotation together: the old key a rotation disables is not reported as
//! "disabled outside Keyward", while a key disabled on OpenRouter directly still is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::rotation::RotationStatus;
use keyward_core::watch::AlertKind;
use rotation_support::{create_key, rig};
use serde_json::json;

#[tokio::test]
async fn a_key_disabled_by_a_rotation_raises_no_disabled_alert() {
    let rig = rig("watch-rotation", None).await;
    let (bystander, _) = create_key(&rig.t, &rig.profile_id, "bystander").await;
    let first = rig.t.service.watch_cycle().await.unwrap();
    assert!(first.snapshot.alerts.is_empty(), "{:#?}", first.snapshot);

    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting, "{view:#?}");
    assert_eq!(
        rig.emulator_key(&rig.old_hash).await.unwrap()["disabled"],
        true
    );
    // Someone else disables the bystander on OpenRouter.
    let answer = reqwest::Client::new()
        .patch(format!("{}/keys/{bystander}", rig.emulator.base_url()))
        .bearer_auth(rig.emulator.management_key())
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let report = rig.t.service.watch_cycle().await.unwrap();
    let disabled: Vec<&str> = report
        .snapshot
        .alerts
        .iter()
        .filter(|alert| alert.kind == AlertKind::Disabled)
        .map(|alert| alert.key_hash.as_str())
        .collect();
    assert_eq!(disabled, [bystander.as_str()], "{:#?}", report.snapshot);
    assert!(
        report
            .notifications
            .iter()
            .all(|n| !n.title.contains("prod-api")),
        "{:?}",
        report.notifications
    );
}
