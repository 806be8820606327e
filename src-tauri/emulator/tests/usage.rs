//! Usage over real HTTP: the daily / weekly / monthly windows and their UTC resets, `limit_remaining`
//! against the reset window and the BYOK setting, and `/activity` per completed day and model.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn windows(harness: &Harness, hash: &str) -> (f64, f64, f64, f64) {
    let key = harness.key(hash).await;
    (
        f(&key["usage_daily"]),
        f(&key["usage_weekly"]),
        f(&key["usage_monthly"]),
        f(&key["usage"]),
    )
}

#[tokio::test]
async fn usage_windows_reset_at_utc_midnight_monday_and_month_start() {
    let harness = Harness::start().await;
    // Sunday, the last day of January: every window resets at the next midnight.
    harness.set_clock("2027-01-31T23:30:00Z").await;
    let hash = harness.create(json!({"name": "w"})).await.1["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    harness
        .record_usage(&hash, json!({"usage": 2.0, "byok_usage": 0.5}))
        .await;
    assert_eq!(windows(&harness, &hash).await, (2.0, 2.0, 2.0, 2.0));
    let key = harness.key(&hash).await;
    assert_eq!(key["byok_usage_daily"], 0.5);
    let last_used = key["last_used_at"].as_str().unwrap();
    assert!(
        last_used.starts_with("2027-01-31T23:30:0") && last_used.ends_with('Z'),
        "{last_used}"
    );
    harness.advance(3600.0).await;
    assert_eq!(windows(&harness, &hash).await, (0.0, 0.0, 0.0, 2.0));
    assert_eq!(harness.key(&hash).await["byok_usage"], 0.5);

    // Tuesday → Wednesday: only the day resets.
    harness.set_clock("2027-06-01T23:30:00Z").await;
    harness.record_usage(&hash, json!({"usage": 1.0})).await;
    harness.advance(3600.0).await;
    assert_eq!(windows(&harness, &hash).await, (0.0, 1.0, 1.0, 3.0));

    // Sunday → Monday inside a month: the week resets, the month does not.
    harness.set_clock("2027-06-06T23:59:00Z").await;
    harness.record_usage(&hash, json!({"usage": 1.0})).await;
    assert_eq!(windows(&harness, &hash).await, (1.0, 2.0, 2.0, 4.0));
    harness.advance(120.0).await;
    assert_eq!(windows(&harness, &hash).await, (0.0, 0.0, 2.0, 4.0));

    // Wednesday 31 March → Thursday 1 April: the month resets, the week does not.
    harness.set_clock("2027-03-31T12:00:00Z").await;
    harness.record_usage(&hash, json!({"usage": 0.25})).await;
    harness.set_clock("2027-04-01T00:00:00Z").await;
    assert_eq!(windows(&harness, &hash).await, (0.0, 0.25, 0.0, 4.25));
}

#[tokio::test]
async fn limit_remaining_follows_the_reset_window_and_byok_setting() {
    let harness = Harness::start().await;
    harness.set_clock("2027-02-10T12:00:00Z").await;
    let daily = harness
        .create(json!({"name": "d", "limit": 10, "limit_reset": "daily"}))
        .await
        .1["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = harness
        .record_usage(&daily, json!({"usage": 4.0, "byok_usage": 3.0}))
        .await;
    assert_eq!(key["limit_remaining"], 6.0, "BYOK not counted");
    let key = harness
        .api(
            Method::PATCH,
            &format!("/keys/{daily}"),
            Some(&json!({"include_byok_in_limit": true})),
        )
        .await;
    assert_eq!(key.data()["limit_remaining"], 3.0, "BYOK counted");
    let key = harness.record_usage(&daily, json!({"usage": 50.0})).await;
    assert_eq!(key["limit_remaining"], 0.0, "never negative");
    harness.advance(86_400.0).await;
    assert_eq!(
        harness.key(&daily).await["limit_remaining"],
        10.0,
        "a new day"
    );

    let lifetime = harness.create(json!({"name": "l", "limit": 10})).await.1["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    harness.record_usage(&lifetime, json!({"usage": 4.0})).await;
    harness.advance(40.0 * 86_400.0).await;
    let key = harness.record_usage(&lifetime, json!({"usage": 1.5})).await;
    assert_eq!(key["limit_remaining"], 4.5, "lifetime limits never reset");
}

#[tokio::test]
async fn activity_reports_completed_days_per_model() {
    let harness = Harness::start().await;
    harness.set_clock("2027-03-10T10:00:00Z").await;
    let first = harness.create(json!({"name": "a"})).await.1["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = harness.create(json!({"name": "b"})).await.1["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    harness
        .record_usage(
            &first,
            json!({"usage": 1.0, "requests": 3, "model": "openai/gpt-4.1"}),
        )
        .await;
    harness
        .record_usage(
            &second,
            json!({"usage": 0.5, "requests": 2, "model": "openai/gpt-4.1"}),
        )
        .await;
    harness
        .record_usage(
            &second,
            json!({"usage": 0.0, "byok_usage": 2.0, "model": "anthropic/claude-sonnet-4"}),
        )
        .await;
    let today = harness.api(Method::GET, "/activity", None).await;
    assert_eq!(today.data(), &json!([]), "today is not a completed day");

    harness.advance(86_400.0).await;
    harness
        .record_usage(&first, json!({"usage": 7.0, "model": "openai/gpt-4.1"}))
        .await;
    harness.advance(86_400.0).await;
    let reply = harness.api(Method::GET, "/activity", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_json(&reply.headers);
    let items = reply.data().as_array().unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    for item in items {
        assert_fields(item, ACTIVITY_FIELDS);
        assert!(item.get("workspace_id").is_none());
    }
    assert_eq!(items[0]["date"], "2027-03-11");
    assert_eq!(items[0]["usage"], 7.0);
    assert_eq!(items[1]["date"], "2027-03-10");
    assert_eq!(items[1]["model"], "anthropic/claude-sonnet-4");
    assert_eq!(items[1]["byok_usage_inference"], 2.0);
    assert_eq!(items[2]["model"], "openai/gpt-4.1");
    assert_eq!(items[2]["usage"], 1.5);
    assert_eq!(items[2]["requests"], 5);
    assert_eq!(items[2]["model_permaslug"], "openai/gpt-4.1-2025-04-14");
    assert_eq!(items[2]["provider_name"], "OpenAI");

    let one_day = harness
        .api(Method::GET, "/activity?date=2027-03-10", None)
        .await;
    assert_eq!(one_day.data().as_array().unwrap().len(), 2);
    let one_key = harness
        .api(
            Method::GET,
            &format!("/activity?api_key_hash={first}"),
            None,
        )
        .await;
    let usages: Vec<f64> = one_key
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|item| f(&item["usage"]))
        .collect();
    assert_eq!(usages, [7.0, 1.0]);
    let grouped = harness
        .api(Method::GET, "/activity?group_by=workspace", None)
        .await;
    assert_eq!(
        grouped.data()[0]["workspace_id"],
        openrouter_emulator::DEFAULT_WORKSPACE_ID
    );

    for query in [
        "date=2027-03-12",
        "date=2027-02-08",
        "date=10-03-2027",
        "date=2027-3-10",
        "group_by=model",
    ] {
        harness
            .api(Method::GET, &format!("/activity?{query}"), None)
            .await
            .assert_error(400, "");
    }
    assert_eq!(
        harness
            .api(Method::GET, "/activity?date=2027-02-10", None)
            .await
            .status,
        StatusCode::OK
    );
    harness
        .api(Method::GET, "/activity?date=2027-02-09", None)
        .await
        .assert_error(400, "\"date\"");
    harness
        .api(Method::GET, "/activity?api_key_hash=nope", None)
        .await
        .assert_error(404, "Key not found");
    // Deleted keys still count in the account's activity.
    harness
        .api(Method::DELETE, &format!("/keys/{first}"), None)
        .await;
    let after = harness.api(Method::GET, "/activity", None).await;
    assert_eq!(after.data().as_array().unwrap().len(), 3);
}
