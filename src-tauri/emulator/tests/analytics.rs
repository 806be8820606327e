//! `/analytics/query` and `/analytics/meta` over real HTTP: per-key spend by day and model from the
//! usage buckets, filters, granularity, ordering, limits, validation and auth.
// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Two keys with usage on 2026-11-02 (a Monday) and 2026-11-03; the clock ends on 2026-11-03.
async fn account() -> (Harness, String, String) {
    let harness = Harness::start().await;
    harness.set_clock("2026-11-02T10:00:00Z").await;
    let (_, a) = harness.create(json!({"name": "a"})).await;
    let (_, b) = harness.create(json!({"name": "b"})).await;
    let a = a["hash"].as_str().unwrap().to_owned();
    let b = b["hash"].as_str().unwrap().to_owned();
    harness
        .record_usage(
            &a,
            json!({"usage": 1.25, "requests": 10, "model": "openai/gpt-4.1"}),
        )
        .await;
    harness
        .record_usage(
            &a,
            json!({"usage": 0.5, "requests": 4, "model": "anthropic/claude-sonnet-4"}),
        )
        .await;
    harness
        .record_usage(
            &b,
            json!({"usage": 2.0, "byok_usage": 3.0, "requests": 7, "model": "openai/gpt-4.1"}),
        )
        .await;
    harness.set_clock("2026-11-03T09:00:00Z").await;
    harness
        .record_usage(
            &a,
            json!({"usage": 0.75, "requests": 3, "model": "openai/gpt-4.1"}),
        )
        .await;
    (harness, a, b)
}

async fn query(harness: &Harness, body: Value) -> Value {
    let reply = harness
        .api(Method::POST, "/analytics/query", Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.data().clone()
}

fn rows(answer: &Value) -> &Vec<Value> {
    answer["data"].as_array().unwrap()
}

const NOVEMBER: &str = r#"{"start": "2026-11-01T00:00:00Z", "end": "2026-11-04T00:00:00Z"}"#;

#[tokio::test]
async fn spend_of_one_key_by_day_and_model() {
    let (harness, a, _) = account().await;
    let range: Value = serde_json::from_str(NOVEMBER).unwrap();
    let answer = query(
        &harness,
        json!({"metrics": ["total_usage", "request_count"], "dimensions": ["model"],
               "granularity": "day", "time_range": range,
               "filters": [{"field": "api_key_id", "operator": "eq", "value": a}],
               "order_by": {"field": "date", "direction": "asc"}}),
    )
    .await;
    assert_eq!(
        rows(&answer),
        &vec![
            json!({"date__day": "2026-11-02T00:00:00.000Z", "model": "anthropic/claude-sonnet-4", "total_usage": 0.5, "request_count": 4}),
            json!({"date__day": "2026-11-02T00:00:00.000Z", "model": "openai/gpt-4.1", "total_usage": 1.25, "request_count": 10}),
            json!({"date__day": "2026-11-03T00:00:00.000Z", "model": "openai/gpt-4.1", "total_usage": 0.75, "request_count": 3}),
        ]
    );
    assert_eq!(answer["metadata"]["row_count"], 3);
    assert_eq!(answer["metadata"]["truncated"], false);
    assert!(answer["metadata"]["query_time_ms"].is_number());
    assert!(answer.get("warnings").is_none());
}

#[tokio::test]
async fn spend_by_key_totals_and_ordering() {
    let (harness, a, b) = account().await;
    let range: Value = serde_json::from_str(NOVEMBER).unwrap();
    let answer = query(
        &harness,
        json!({"metrics": ["total_usage", "byok_usage"], "dimensions": ["api_key_id"],
               "time_range": range, "order_by": {"field": "total_usage", "direction": "desc"}}),
    )
    .await;
    assert_eq!(
        rows(&answer),
        &vec![
            json!({"api_key_id": a, "total_usage": 2.5, "byok_usage": 0.0}),
            json!({"api_key_id": b, "total_usage": 2.0, "byok_usage": 3.0}),
        ]
    );
    // Week granularity folds both days into the week starting Monday 2026-11-02.
    let weekly = query(
        &harness,
        json!({"metrics": ["request_count"], "granularity": "week", "time_range": range}),
    )
    .await;
    assert_eq!(
        rows(&weekly),
        &vec![json!({"date__week": "2026-11-02T00:00:00.000Z", "request_count": 24})]
    );
    // in / not_in, the model's permaslug, the limit.
    let filtered = query(
        &harness,
        json!({"metrics": ["request_count"], "dimensions": ["api_key_id", "model"], "time_range": range,
               "filters": [{"field": "model", "operator": "in", "value": ["openai/gpt-4.1-2025-04-14"]},
                           {"field": "api_key_id", "operator": "not_in", "value": [a]}]}),
    )
    .await;
    assert_eq!(
        rows(&filtered),
        &vec![json!({"api_key_id": b, "model": "openai/gpt-4.1", "request_count": 7})]
    );
    let limited = query(
        &harness,
        json!({"metrics": ["request_count"], "dimensions": ["model"], "time_range": range, "limit": 1}),
    )
    .await;
    assert_eq!(rows(&limited).len(), 1);
    assert_eq!(limited["metadata"]["truncated"], true);
}

#[tokio::test]
async fn deleted_keys_still_count_and_unknown_hashes_warn() {
    let (harness, a, b) = account().await;
    let deleted = harness
        .api(Method::DELETE, &format!("/keys/{b}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let range: Value = serde_json::from_str(NOVEMBER).unwrap();
    let total = query(
        &harness,
        json!({"metrics": ["total_usage"], "time_range": range}),
    )
    .await;
    assert_eq!(rows(&total), &vec![json!({"total_usage": 4.5})]);
    let by_key = query(
        &harness,
        json!({"metrics": ["total_usage"], "dimensions": ["api_key_id"], "time_range": range,
               "order_by": {"field": "total_usage", "direction": "asc"}}),
    )
    .await;
    assert_eq!(
        rows(&by_key),
        &vec![
            json!({"api_key_id": null, "total_usage": 2.0}),
            json!({"api_key_id": a, "total_usage": 2.5})
        ]
    );
    let warned = query(
        &harness,
        json!({"metrics": ["total_usage"], "time_range": range,
               "filters": [{"field": "api_key_id", "operator": "eq", "value": b}]}),
    )
    .await;
    assert_eq!(rows(&warned), &Vec::<Value>::new());
    assert!(warned["warnings"][0].as_str().unwrap().contains(&b));
    // The default range is the last 30 days, today included.
    let default = query(&harness, json!({"metrics": ["request_count"]})).await;
    assert_eq!(rows(&default), &vec![json!({"request_count": 24})]);
}

#[tokio::test]
async fn queries_are_validated() {
    let (harness, _, _) = account().await;
    for (body, message) in [
        (json!({}), "\"metrics\" is required"),
        (json!({"metrics": []}), "at least one"),
        (json!({"metrics": ["latency_p50"]}), "unknown metric"),
        (
            json!({"metrics": ["request_count"], "dimensions": ["model", "provider", "user"]}),
            "at most 2",
        ),
        (
            json!({"metrics": ["request_count"], "dimensions": ["country"]}),
            "unknown dimension",
        ),
        (
            json!({"metrics": ["request_count"], "granularity": "hour"}),
            "\"granularity\"",
        ),
        (
            json!({"metrics": ["request_count"], "filters": [{"field": "color", "operator": "eq", "value": "x"}]}),
            "not a dimension",
        ),
        (
            json!({"metrics": ["request_count"], "filters": [{"field": "model", "operator": "like", "value": "x"}]}),
            "not supported",
        ),
        (
            json!({"metrics": ["request_count"], "filters": [{"field": "model", "operator": "in", "value": "x"}]}),
            "non-empty array",
        ),
        (
            json!({"metrics": ["request_count"], "filters": [{"field": "model", "operator": "eq", "value": ["x"]}]}),
            "a string or a number",
        ),
        (
            json!({"metrics": ["request_count"], "time_range": {"start": "2026-11-03T00:00:00Z", "end": "2026-11-01T00:00:00Z"}}),
            "before",
        ),
        (
            json!({"metrics": ["request_count"], "time_range": {"start": "yesterday", "end": "2026-11-01T00:00:00Z"}}),
            "time_range.start",
        ),
        (
            json!({"metrics": ["request_count"], "time_range": {"start": "2024-01-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}}),
            "at most 366",
        ),
        (
            json!({"metrics": ["request_count"], "limit": 0}),
            "\"limit\"",
        ),
        (
            json!({"metrics": ["request_count"], "order_by": {"field": "total_usage", "direction": "desc"}}),
            "order_by.field",
        ),
        (
            json!({"metrics": ["request_count"], "order_by": {"field": "date", "direction": "up"}}),
            "order_by.direction",
        ),
        (
            json!({"metrics": ["request_count"], "classifier_dimensions": {"classifier_id": "x"}}),
            "classifier",
        ),
    ] {
        harness
            .api(Method::POST, "/analytics/query", Some(&body))
            .await
            .assert_error(400, message);
    }
}

#[tokio::test]
async fn meta_describes_what_query_accepts_and_both_need_a_management_key() {
    let (harness, _, _) = account().await;
    let reply = harness.api(Method::GET, "/analytics/meta", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let meta = reply.data();
    let names = |list: &str| -> Vec<String> {
        meta[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for metric in ["request_count", "total_usage"] {
        assert!(names("metrics").contains(&metric.to_owned()));
    }
    assert_eq!(
        names("dimensions")[..2],
        ["api_key_id".to_owned(), "model".to_owned()]
    );
    assert_eq!(names("granularities"), ["day", "week", "month"]);
    assert_eq!(names("operators"), ["eq", "neq", "in", "not_in"]);
    for metric in meta["metrics"].as_array().unwrap() {
        assert_fields(
            metric,
            &["name", "display_label", "is_rate", "display_format"],
        );
    }
    // Every metric and dimension meta lists is accepted by query.
    for dimension in names("dimensions") {
        query(
            &harness,
            json!({"metrics": names("metrics"), "dimensions": [dimension], "granularity": "month"}),
        )
        .await;
    }

    let (secret, _) = harness.create(json!({"name": "inference"})).await;
    let body = json!({"metrics": ["request_count"]});
    for (method, path, body) in [
        (Method::GET, "/analytics/meta", None),
        (Method::POST, "/analytics/query", Some(&body)),
    ] {
        harness
            .api_as(Some(&secret), method.clone(), path, body)
            .await
            .assert_error(403, "Only management keys");
        harness
            .api_as(None, method, path, body)
            .await
            .assert_error(401, "Missing Authentication header");
    }
}
