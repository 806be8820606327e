//! Zero downtime, measured: `tests/sample-app` sends chat completions to the emulator without pause —
//! a model its guardrail allows, through its workspace's BYOK provider — reading its key from the
//! `.env` file a rotation deploys to. The key (in a non-default workspace, with a guardrail, in a BYOK
//! allowlist and a log destination) is rotated through the service: plan, create, attach, deploy,
//! verify, drain, disable, delete. The app must see no failure (`requests: N, failed: 0`). The
//! service's own account links (`ApiAccountLinks`, over the emulator's API) carry the attachments.
//!
//! The same run with the attachments step skipped (links that report nothing) must fail: the new key
//! lacks the BYOK access the app's requests need, so the test proves what it claims.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;
mod zero_downtime_support;

use std::sync::Arc;
use std::time::Duration;

use keyward_core::rotation::{Attachment, RotationPlanArgs, RotationStatus};
use keyward_core::service::{AccountLinks, MemoryAccountLinks};
use rotation_support::{Rig, VARIABLE, rig_with};
use serde_json::json;
use zero_downtime_support::{Outcome, SampleApp, Setup, wait_until};

const MODEL: &str = "openai/gpt-5-mini";
const PROVIDER: &str = "openai";

/// Sets up the account, starts the app, rotates its key (with `links` in place of the service's
/// own, [`keyward_core::service::ApiAccountLinks`], when given) and stops the app. Answers the rig
/// too: its emulator must outlive the checks.
async fn rotate_under_load(
    test: &str,
    links: Option<Arc<dyn AccountLinks>>,
) -> (Outcome, Setup, Rig) {
    let mut rig = rig_with(test, None, move |config| {
        if let Some(links) = links {
            config.rotation.links = links;
        }
        config.rotation.drain_check_interval = Duration::from_millis(250);
    })
    .await;
    let setup = Setup::create(&mut rig, MODEL, PROVIDER).await;
    // A short drain: the old key must have been quiet for 3 s (the app re-reads the file before
    // every request, so a request with the old key later than that would be a real stall).
    rig.set_policy(|policy| {
        policy.quiet_period_secs = 3;
        policy.grace_period_secs = 0;
    });

    let app = SampleApp::start(&rig, MODEL, PROVIDER);
    let old_hash = rig.old_hash.clone();
    wait_until("the app uses the old key", || async {
        setup.requests_of(&rig, &old_hash).await > 0
    })
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
        .unwrap();
    assert_eq!(
        plan.workspace_id.as_deref(),
        Some(setup.workspace_id.as_str())
    );
    assert_eq!(plan.targets, vec![rig.env_target()]);

    let mut view = rig.start().await;
    wait_until("the rotation finishes", || {
        let id = view.id.clone();
        let service = &rig.t.service;
        async move {
            let now = service.rotation_advance(&id).await.unwrap();
            now.status != RotationStatus::Waiting && now.status != RotationStatus::Running
        }
    })
    .await;
    view = rig.t.service.rotation_advance(&view.id).await.unwrap();
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    assert!(
        rig.emulator_key(&rig.old_hash).await.is_none(),
        "the old key is deleted"
    );

    // The app goes on with the new key: wait until it has sent it requests (succeeded or not).
    wait_until("the app uses the new key", || async {
        setup.requests_of(&rig, &new_hash).await > 0 || setup.refused_since_start(&rig).await > 0
    })
    .await;
    let outcome = app.stop().await;
    let setup = Setup {
        plan_attachments: plan.attachments,
        new_hash: Some(new_hash),
        ..setup
    };
    (outcome, setup, rig)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_a_key_in_use_loses_no_request() {
    let (outcome, setup, rig) = rotate_under_load("zero-downtime", None).await;
    println!("requests: {}, failed: {}", outcome.requests, outcome.failed);
    assert_eq!(outcome.failed, 0, "{outcome:#?}");
    assert!(outcome.requests > 0);
    assert!(outcome.exit_ok, "{outcome:#?}");
    // What made it work: the plan listed the three attachments and the new key holds them.
    let kinds: Vec<&str> = setup
        .plan_attachments
        .iter()
        .map(|attachment| match attachment {
            Attachment::Guardrail { .. } => "guardrail",
            Attachment::Byok { .. } => "byok",
            Attachment::Destination { .. } => "destination",
        })
        .collect();
    assert_eq!(kinds, ["guardrail", "byok", "destination"]);
    let new_hash = setup.new_hash.clone().unwrap();
    assert_eq!(
        setup.names_of(&new_hash).await,
        ["guardrail", "byok", "destination"]
    );
    assert_eq!(json!(setup.names_of(&setup.old_hash).await), json!([]));
    // The new key reaches what the old one could, and no more: the allowed model through its BYOK
    // provider answers, a model its guardrail does not allow is refused.
    let env = std::fs::read_to_string(&rig.env_path).unwrap();
    let secret = env
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{VARIABLE}=")))
        .expect("the deployed key in the .env file");
    assert_eq!(setup.chat_status(secret, MODEL, PROVIDER).await, 200);
    assert_eq!(
        setup
            .chat_status(secret, "anthropic/claude-sonnet-4", "anthropic")
            .await,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_the_attachments_step_makes_the_app_fail() {
    let links: Arc<dyn AccountLinks> = Arc::new(MemoryAccountLinks::new());
    let (outcome, setup, _rig) = rotate_under_load("zero-downtime-skip", Some(links)).await;
    println!(
        "without attachments: requests: {}, failed: {}",
        outcome.requests, outcome.failed
    );
    assert!(setup.plan_attachments.is_empty());
    assert!(outcome.failed > 0, "{outcome:#?}");
    assert!(!outcome.exit_ok);
    assert!(
        outcome.stderr.contains("HTTP 403"),
        "the new key lost its BYOK access: {}",
        outcome.stderr
    );
}
