//! Batch operations and the emergency revoke against the emulator over real HTTP: every operation
//! ends each key in the requested state or reports it failed, through 429 storms and 5xx in the
//! middle of a run; no key is touched twice (counted from the emulator's request log: a request
//! that reached the handler, i.e. was not answered by an injected fault); cancel leaves the rest
//! untouched; "retry the failed" finishes the job; a revoke's re-enable restores exactly the keys it
//! disabled.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use std::collections::HashMap;

use keyward_core::ErrorKind;
use keyward_core::batch::{
    BatchArgs, BatchCancelArgs, BatchOperation, BatchReport, KeyOutcome, RevokeArgs,
    RevokeFollowUpArgs, RevokePreviewArgs, RevokeSelection,
};
use keyward_core::ipc::ProfileScopedArgs;
use serde_json::{Value, json};
use service_support::{Event, list};
use watch_support::{Watched, watched};

/// Creates `count` keys named `{prefix}-{i}` on the emulator; returns their hashes.
async fn make_keys(w: &Watched, prefix: &str, count: usize) -> Vec<String> {
    let mut hashes = Vec::new();
    for i in 0..count {
        hashes.push(w.create_key(json!({"name": format!("{prefix}-{i}")})).await);
    }
    hashes
}

/// Every key on the emulator, by hash.
async fn emulator_keys(w: &Watched) -> HashMap<String, Value> {
    w.t.get(w.emulator.control_url(), "/keys").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| (key["hash"].as_str().unwrap().to_owned(), key.clone()))
        .collect()
}

/// How many `method` requests to each key reached the emulator's handler (no injected fault).
async fn applied(w: &Watched, method: &str) -> HashMap<String, usize> {
    let log = w.t.get(w.emulator.control_url(), "/requests").await;
    let mut counts = HashMap::new();
    for entry in log["requests"].as_array().unwrap() {
        let path = entry["path"].as_str().unwrap();
        if entry["method"] == method
            && entry["fault"].is_null()
            && let Some(hash) = path.strip_prefix("/api/v1/keys/")
        {
            *counts.entry(hash.to_owned()).or_default() += 1;
        }
    }
    counts
}

async fn clear_log(w: &Watched) {
    w.t.control
        .delete(format!("{}/requests", w.emulator.control_url()))
        .send()
        .await
        .unwrap();
}

async fn set_faults(w: &Watched, faults: Value) {
    w.control("/faults", faults).await;
}

async fn refresh(w: &Watched) {
    w.t.service
        .keys_list(list(&w.profile_id, true))
        .await
        .unwrap();
}

fn args(w: &Watched, run: &str, hashes: &[String], operation: BatchOperation) -> BatchArgs {
    BatchArgs {
        profile_id: w.profile_id.clone(),
        run_id: run.to_owned(),
        hashes: hashes.to_vec(),
        operation,
        concurrency: Some(8),
    }
}

fn keys_changed_events(w: &Watched) -> usize {
    w.t.events
        .take()
        .iter()
        .filter(|event| matches!(event, Event::KeysChanged(_)))
        .count()
}

/// Every key is done and disabled on the emulator, or failed and untouched there.
fn check_disable_outcome(report: &BatchReport, keys: &HashMap<String, Value>) {
    for result in &report.results {
        let disabled = keys[&result.hash]["disabled"].as_bool().unwrap();
        match result.outcome {
            KeyOutcome::Done => assert!(disabled, "{result:?}"),
            KeyOutcome::Failed => {
                assert!(!disabled, "{result:?}");
                assert!(result.error.is_some());
            }
            KeyOutcome::NotRun => panic!("nothing was cancelled: {result:?}"),
        }
    }
}

#[tokio::test]
async fn disable_through_a_429_storm_and_5xx_touches_each_key_once_and_retry_finishes() {
    let w = watched("batch-storm").await;
    let hashes = make_keys(&w, "svc", 40).await;
    refresh(&w).await;
    w.t.events.take();
    clear_log(&w).await;
    // A storm longer than the client's own 429 budget (the test client gives a 429 back at once),
    // then scattered 429s and 503s for the rest of the run. The test client tries twice, so a key
    // fails when both its attempts meet a 503: at 0.5 that is 1 in 4, and "no key failed" among 40
    // has a chance of 0.75^40 ≈ 1e-5 (at 0.2 it was 0.96^40 ≈ 0.2: a fifth of the runs, since the
    // order of concurrent requests decides which draw each one gets, whatever the seed).
    set_faults(
        &w,
        json!({
            "rate_limit": {"for_seconds": 0.5, "probability": 0.15, "retry_after_ms": 40, "retry_after_seconds": 0},
            "server_error": {"probability": 0.5, "status": 503},
            "seed": 11
        }),
    )
    .await;
    // Duplicates in the input are dropped.
    let mut asked = hashes.clone();
    asked.extend_from_slice(&hashes[..5]);
    let report =
        w.t.service
            .batch_run(args(&w, "storm", &asked, BatchOperation::Disable))
            .await
            .unwrap();
    assert_eq!(report.total, 40);
    assert_eq!(report.results.len(), 40);
    assert_eq!(report.done + report.failed, 40);
    assert!(
        report.failed > 0,
        "the 503s should fail a few keys: {report:#?}"
    );
    assert!(report.done > 0);
    assert!(
        report.results.iter().map(|r| r.rate_limited).sum::<u32>() > 0,
        "the storm was waited out"
    );
    check_disable_outcome(&report, &emulator_keys(&w).await);
    let touched = applied(&w, "PATCH").await;
    assert!(touched.values().all(|n| *n == 1), "{touched:?}");
    assert_eq!(touched.len(), report.done as usize);
    assert_eq!(keys_changed_events(&w), 1, "one keys-changed event per run");

    // "Retry the failed": only those are sent again, and they end disabled.
    set_faults(&w, json!({"rate_limit": {"probability": 0.2, "retry_after_ms": 20, "retry_after_seconds": 0}, "seed": 5})).await;
    let retry =
        w.t.service
            .batch_run(args(
                &w,
                "storm-retry",
                &report.failed_hashes(),
                BatchOperation::Disable,
            ))
            .await
            .unwrap();
    assert_eq!(retry.total, report.failed);
    assert_eq!(retry.done, retry.total, "{retry:#?}");
    let keys = emulator_keys(&w).await;
    assert!(hashes.iter().all(|h| keys[h]["disabled"] == true));
    let touched = applied(&w, "PATCH").await;
    assert_eq!(touched.len(), 40);
    assert!(touched.values().all(|n| *n == 1), "{touched:?}");
    // The cache shows the run without a refresh.
    let cached =
        w.t.service
            .keys_list(list(&w.profile_id, false))
            .await
            .unwrap();
    assert!(cached.keys.iter().all(|row| row.key.disabled));
}

#[tokio::test]
async fn every_operation_reaches_its_state() {
    let w = watched("batch-ops").await;
    let hashes = make_keys(&w, "ops", 6).await;
    refresh(&w).await;
    let service = &w.t.service;
    let run = |id: &str, op| service.batch_run(args(&w, id, &hashes, op));

    assert_eq!(run("d", BatchOperation::Disable).await.unwrap().done, 6);
    assert_eq!(run("e", BatchOperation::Enable).await.unwrap().done, 6);
    let keys = emulator_keys(&w).await;
    assert!(hashes.iter().all(|h| keys[h]["disabled"] == false));

    let set = BatchOperation::SetLimit {
        limit: 25.0,
        limit_reset: Some("weekly".parse().unwrap()),
    };
    assert_eq!(run("l", set).await.unwrap().done, 6);
    let keys = emulator_keys(&w).await;
    for h in &hashes {
        assert_eq!(keys[h]["limit"], 25.0);
        assert_eq!(keys[h]["limit_reset"], "weekly");
    }
    assert_eq!(run("c", BatchOperation::ClearLimit).await.unwrap().done, 6);
    let keys = emulator_keys(&w).await;
    assert!(hashes.iter().all(|h| keys[h]["limit"].is_null()));

    let guardrail = w
        .http
        .post(format!("{}/guardrails", w.emulator.base_url()))
        .bearer_auth(w.emulator.management_key())
        .json(&json!({"name": "batch rail"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assign = BatchOperation::AssignGuardrail {
        guardrail_id: guardrail.clone(),
    };
    assert_eq!(run("g", assign).await.unwrap().done, 6);
    let assigned: Value = w
        .http
        .get(format!(
            "{}/guardrails/{guardrail}/assignments/keys",
            w.emulator.base_url()
        ))
        .bearer_auth(w.emulator.management_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(assigned["data"].as_array().unwrap().len(), 6, "{assigned}");

    // A delete of a key already gone is done ("already deleted"): its state is what was asked.
    w.http
        .delete(format!("{}/keys/{}", w.emulator.base_url(), hashes[0]))
        .bearer_auth(w.emulator.management_key())
        .send()
        .await
        .unwrap();
    clear_log(&w).await;
    let deleted = run("x", BatchOperation::Delete).await.unwrap();
    assert_eq!(deleted.done, 6);
    assert_eq!(deleted.results[0].note.as_deref(), Some("already deleted"));
    let keys = emulator_keys(&w).await;
    assert!(hashes.iter().all(|h| !keys.contains_key(h)));
    assert!(applied(&w, "DELETE").await.values().all(|n| *n == 1));
    let cached = service.keys_list(list(&w.profile_id, false)).await.unwrap();
    assert!(cached.keys.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let w = watched("batch-bad").await;
    let hashes = make_keys(&w, "bad", 2).await;
    refresh(&w).await;
    clear_log(&w).await;
    let service = &w.t.service;
    let refused = [
        args(
            &w,
            "a",
            &hashes,
            BatchOperation::SetLimit {
                limit: -5.0,
                limit_reset: None,
            },
        ),
        args(&w, "b", &["not-a-hash".to_owned()], BatchOperation::Disable),
        args(&w, "c", &[], BatchOperation::Disable),
        BatchArgs {
            concurrency: Some(0),
            ..args(&w, "d", &hashes, BatchOperation::Disable)
        },
        args(&w, " ", &hashes, BatchOperation::Disable),
    ];
    for bad in refused {
        let error = service.batch_run(bad).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    }
    let error = service
        .revoke_preview(RevokePreviewArgs {
            profile_id: w.profile_id.clone(),
            selection: RevokeSelection::Filter {
                expression: "colour:red".into(),
            },
            refresh: true,
        })
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unknown field"), "{error}");
    assert_eq!(w.requests_to("/api/v1").await, 0);
}

#[tokio::test]
async fn cancel_leaves_the_keys_not_yet_sent_untouched() {
    let w = watched("batch-cancel").await;
    let hashes = make_keys(&w, "slow", 30).await;
    refresh(&w).await;
    clear_log(&w).await;
    set_faults(&w, json!({"latency_ms": 40})).await;
    let service = w.t.service.clone();
    let run = tokio::spawn({
        let a = BatchArgs {
            concurrency: Some(1),
            ..args(&w, "cancel-me", &hashes, BatchOperation::Disable)
        };
        async move { service.batch_run(a).await }
    });
    // Cancel once a few keys went through (whenever that is).
    while applied(&w, "PATCH").await.len() < 3 {
        tokio::task::yield_now().await;
    }
    assert!(w.t.service.batch_cancel(BatchCancelArgs {
        run_id: "cancel-me".into()
    }));
    let report = run.await.unwrap().unwrap();
    assert!(report.cancelled);
    assert!(report.not_run > 0 && report.done >= 3, "{report:#?}");
    assert_eq!(report.done + report.not_run + report.failed, 30);
    let keys = emulator_keys(&w).await;
    for result in &report.results {
        let disabled = keys[&result.hash]["disabled"] == true;
        assert_eq!(disabled, result.outcome == KeyOutcome::Done, "{result:?}");
    }
    // The run is over: nothing left to cancel.
    assert!(!w.t.service.batch_cancel(BatchCancelArgs {
        run_id: "cancel-me".into()
    }));
}

#[tokio::test]
async fn emergency_revoke_disables_then_reenable_restores_exactly_those() {
    let w = watched("batch-revoke").await;
    let prod = make_keys(&w, "prod", 10).await;
    let staging = make_keys(&w, "staging", 4).await;
    // Two prod keys were disabled before the leak: a re-enable must leave them off.
    for hash in &prod[..2] {
        w.patch_key(hash, json!({"disabled": true})).await;
    }
    let filter = RevokeSelection::Filter {
        expression: "name:PROD-*".into(),
    };
    let preview =
        w.t.service
            .revoke_preview(RevokePreviewArgs {
                profile_id: w.profile_id.clone(),
                selection: filter.clone(),
                refresh: true,
            })
            .await
            .unwrap();
    assert_eq!(preview.matched.len(), 10);
    assert_eq!(preview.matched.iter().filter(|m| m.disabled).count(), 2);

    set_faults(&w, json!({"rate_limit": {"probability": 0.3, "retry_after_ms": 10, "retry_after_seconds": 0}, "seed": 2})).await;
    let revoked =
        w.t.service
            .revoke_start(RevokeArgs {
                profile_id: w.profile_id.clone(),
                run_id: "leak".into(),
                selection: filter,
            })
            .await
            .unwrap();
    assert_eq!(revoked.report.done, 8, "{revoked:#?}");
    assert_eq!(revoked.already_disabled.len(), 2);
    let mut disabled = revoked.revoke.disabled.clone();
    disabled.sort();
    let mut expected = prod[2..].to_vec();
    expected.sort();
    assert_eq!(disabled, expected);
    let keys = emulator_keys(&w).await;
    assert!(prod.iter().all(|h| keys[h]["disabled"] == true));
    assert!(staging.iter().all(|h| keys[h]["disabled"] == false));

    let stored =
        w.t.service
            .revokes_list(ProfileScopedArgs {
                profile_id: w.profile_id.clone(),
            })
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, revoked.revoke.id);

    let follow_up = |run: &str| RevokeFollowUpArgs {
        profile_id: w.profile_id.clone(),
        run_id: run.to_owned(),
        revoke_id: revoked.revoke.id.clone(),
    };
    let back =
        w.t.service
            .revoke_reenable(follow_up("undo"))
            .await
            .unwrap();
    assert_eq!(back.done, 8);
    let keys = emulator_keys(&w).await;
    for (i, hash) in prod.iter().enumerate() {
        assert_eq!(keys[hash]["disabled"] == true, i < 2, "prod-{i}");
    }
    assert!(staging.iter().all(|h| keys[h]["disabled"] == false));
    let stored =
        w.t.service
            .revokes_list(ProfileScopedArgs {
                profile_id: w.profile_id.clone(),
            })
            .unwrap();
    assert!(stored[0].reenabled_at.is_some());

    // Then the deletion: every matched key goes, and a re-enable is refused afterwards.
    set_faults(&w, json!({})).await;
    let deleted =
        w.t.service
            .revoke_delete(follow_up("delete"))
            .await
            .unwrap();
    assert_eq!(deleted.done, 10);
    let keys = emulator_keys(&w).await;
    assert!(prod.iter().all(|h| !keys.contains_key(h)));
    assert_eq!(keys.len(), 4);
    let refused =
        w.t.service
            .revoke_reenable(follow_up("again"))
            .await
            .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn reenable_by_filter_turns_on_only_what_a_revoke_disabled() {
    let w = watched("batch-reenable-filter").await;
    let prod = make_keys(&w, "prod", 4).await;
    let other = make_keys(&w, "prod-manual", 1).await;
    refresh(&w).await;
    // Disabled by hand, not by a revoke.
    w.t.service
        .batch_run(args(&w, "manual", &other, BatchOperation::Disable))
        .await
        .unwrap();
    let revoked =
        w.t.service
            .revoke_start(RevokeArgs {
                profile_id: w.profile_id.clone(),
                run_id: "r".into(),
                selection: RevokeSelection::Hashes {
                    hashes: prod.clone(),
                },
            })
            .await
            .unwrap();
    assert_eq!(revoked.report.done, 4);
    let back =
        w.t.service
            .revoke_reenable_matching(&w.profile_id, "rf", "name:prod*")
            .await
            .unwrap();
    assert_eq!(back.done, 4);
    let keys = emulator_keys(&w).await;
    assert!(prod.iter().all(|h| keys[h]["disabled"] == false));
    assert_eq!(keys[&other[0]]["disabled"], true);
}
