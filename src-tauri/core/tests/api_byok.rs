//! The BYOK, observability-destination and analytics methods of the client against the emulator
//! over HTTP: whole-list paging, allowlist updates, every documented error, retries, and per-key
//! spend by day and model.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use chrono::{TimeZone, Utc};
use keyward_core::Error;
use keyward_core::api::{
    AnalyticsFilter, AnalyticsQuery, CreateKeyRequest, FilterOperator, OpenRouterClient,
    UpdateByokKeyRequest, UpdateDestinationRequest,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use api_support::{TestEnv, client_with, request_lines, start};

const OTHER_WORKSPACE: &str = "11111111-2222-4333-8444-555555555555";
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

/// A raw management-key call to the emulator's API (for what Keyward itself never does: creating
/// BYOK credentials and destinations, which needs their secrets).
async fn raw(env: &TestEnv, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = env
        .control
        .request(method, format!("{}{path}", env.emulator.base_url()))
        .bearer_auth(env.emulator.management_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn new_credential(env: &TestEnv, provider: &str, extra: Value) -> String {
    let mut body = json!({"provider": provider, "key": "sk-provider-secret-material-AbCd"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let created = raw(env, reqwest::Method::POST, "/byok", body).await;
    created["data"]["id"].as_str().unwrap().to_owned()
}

async fn new_destination(env: &TestEnv, extra: Value) -> String {
    let mut body = json!({"type": "langfuse", "name": "traces",
                          "config": {"publicKey": "pk-lf-1", "secretKey": "sk-lf-secret-5678"}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let created = raw(
        env,
        reqwest::Method::POST,
        "/observability/destinations",
        body,
    )
    .await;
    created["data"]["id"].as_str().unwrap().to_owned()
}

async fn new_key(env: &TestEnv, name: &str) -> String {
    env.client
        .create_key(&CreateKeyRequest::new(name))
        .await
        .unwrap()
        .key
        .hash
}

fn inference_client(env: &TestEnv, secret: &str) -> OpenRouterClient {
    client_with(&env.emulator, secret, |_| {})
}

#[tokio::test]
async fn byok_list_pages_whole_and_get_reads_one() {
    let env = start().await;
    for n in 0..130 {
        let provider = if n % 2 == 0 { "openai" } else { "anthropic" };
        new_credential(&env, provider, json!({"name": format!("c{n:03}")})).await;
    }
    env.seed(0, Some(OTHER_WORKSPACE)).await;
    new_credential(&env, "groq", json!({"workspace_id": OTHER_WORKSPACE})).await;
    env.clear_requests().await;
    let all = env.client.list_byok_keys().await.unwrap();
    assert_eq!(all.len(), 130);
    let names: Vec<String> = all.iter().map(|k| k.name.clone().unwrap()).collect();
    let expected: Vec<String> = (0..130).map(|n| format!("c{n:03}")).collect();
    assert_eq!(names, expected, "every credential once, in order");
    let queries: Vec<String> = env
        .requests()
        .await
        .iter()
        .map(|r| r["query"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(queries, ["offset=0&limit=100", "offset=100&limit=100"]);
    assert!(all.iter().all(|k| k.label == "sk-...AbCd"));

    let scoped = env
        .client
        .list_byok_keys_in(Some(OTHER_WORKSPACE))
        .await
        .unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].provider, "groq");
    assert_eq!(scoped[0].workspace_id.as_deref(), Some(OTHER_WORKSPACE));

    let one = env.client.get_byok_key(&all[0].id).await.unwrap();
    assert_eq!(one, all[0]);
    assert!(one.created_at.is_some());
}

#[tokio::test]
async fn byok_allowlist_is_set_and_cleared_and_outlives_the_key() {
    let env = start().await;
    let first = new_key(&env, "first").await;
    let second = new_key(&env, "second").await;
    let id = new_credential(&env, "openai", json!({})).await;

    let set = env
        .client
        .set_byok_allowed_key_hashes(&id, Some(vec![first.clone(), second.clone()]))
        .await
        .unwrap();
    assert_eq!(
        set.allowed_api_key_hashes,
        Some(vec![first.clone(), second.clone()])
    );
    assert!(set.names_key(&first) && set.names_key(&second));

    // The emulator, like the real API, leaves a deleted key's hash in the list.
    env.client.delete_key(&first).await.unwrap();
    let after = env.client.get_byok_key(&id).await.unwrap();
    assert!(after.names_key(&first));
    // Keyward removes it by sending the list without it.
    assert_eq!(after.allowlist_removing(&second), Some(vec![first.clone()]));
    let cleaned = env
        .client
        .set_byok_allowed_key_hashes(&id, after.allowlist_removing(&first))
        .await
        .unwrap();
    // A replacement key is added the same way; the only hash left can't be removed (no `[]`).
    let third = new_key(&env, "third").await;
    let grown = cleaned.allowlist_adding(&third).unwrap();
    assert_eq!(grown, [second.clone(), third.clone()]);
    assert_eq!(cleaned.allowlist_removing(&second), None);
    assert_eq!(cleaned.allowed_api_key_hashes, Some(vec![second.clone()]));

    let renamed = env
        .client
        .update_byok_key(
            &id,
            &UpdateByokKeyRequest {
                name: Some("Prod OpenAI".to_owned()).into(),
                disabled: Some(true),
                ..UpdateByokKeyRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Prod OpenAI"));
    assert!(renamed.disabled);
    assert_eq!(renamed.allowed_api_key_hashes, Some(vec![second.clone()]));

    let cleared = env
        .client
        .set_byok_allowed_key_hashes(&id, None)
        .await
        .unwrap();
    assert_eq!(cleared.allowed_api_key_hashes, None);
    assert!(!cleared.names_key(&second));
}

#[tokio::test]
async fn byok_errors_map_to_their_kinds() {
    let env = start().await;
    let id = new_credential(&env, "openai", json!({})).await;
    let hash = new_key(&env, "someone").await;

    // Refused before sending: nothing reaches the server.
    env.clear_requests().await;
    for result in [
        env.client.get_byok_key("not-a-uuid").await,
        env.client
            .set_byok_allowed_key_hashes(&id, Some(Vec::new()))
            .await,
        env.client
            .set_byok_allowed_key_hashes(&id, Some(vec!["XYZ".into()]))
            .await,
        env.client
            .update_byok_key(&id, &UpdateByokKeyRequest::default())
            .await,
    ] {
        assert!(
            matches!(result, Err(Error::InvalidInput { field: Some(_), .. })),
            "{result:?}"
        );
    }
    assert!(matches!(
        env.client.list_byok_keys_in(Some("nope")).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(env.requests().await.is_empty());

    // The server's answers.
    let not_found = env.client.get_byok_key(UNKNOWN_ID).await.unwrap_err();
    assert!(matches!(not_found, Error::NotFound { .. }), "{not_found:?}");
    let not_found = env
        .client
        .set_byok_allowed_key_hashes(UNKNOWN_ID, Some(vec![hash.clone()]))
        .await
        .unwrap_err();
    assert!(matches!(not_found, Error::NotFound { .. }), "{not_found:?}");
    let unknown_hash = env
        .client
        .set_byok_allowed_key_hashes(&id, Some(vec!["c".repeat(64)]))
        .await
        .unwrap_err();
    match unknown_hash {
        Error::InvalidInput {
            field: None,
            message,
        } => {
            assert!(message.contains("not a key of this account"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let secret = env
        .client
        .create_key(&CreateKeyRequest::new("inference"))
        .await
        .unwrap()
        .secret;
    let inference = inference_client(&env, secret.expose_secret());
    assert!(matches!(
        inference.list_byok_keys().await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        inference.get_byok_key(&id).await,
        Err(Error::Forbidden { .. })
    ));
    let stranger = inference_client(&env, "sk-or-v1-not-a-key-of-this-account");
    assert!(matches!(
        stranger.list_byok_keys().await,
        Err(Error::Unauthorized { .. })
    ));
    assert!(matches!(
        stranger.set_byok_allowed_key_hashes(&id, None).await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn allowlist_updates_and_lists_are_retried_after_server_errors() {
    let env = start().await;
    let hash = new_key(&env, "retried").await;
    let id = new_credential(&env, "anthropic", json!({})).await;
    let dest = new_destination(&env, json!({})).await;
    env.set_faults(json!({"server_error": {"next": 2, "status": 503}}))
        .await;
    let updated = env
        .client
        .set_byok_allowed_key_hashes(&id, Some(vec![hash.clone()]))
        .await
        .unwrap();
    assert!(updated.names_key(&hash));
    env.set_faults(json!({"server_error": {"next": 1, "status": 502}}))
        .await;
    assert_eq!(env.client.list_destinations().await.unwrap().len(), 1);
    env.set_faults(json!({"server_error": {"next": 1, "status": 500}}))
        .await;
    let logged = env
        .client
        .set_destination_key_hashes(&dest, Some(vec![hash.clone()]))
        .await
        .unwrap();
    assert!(logged.names_key(&hash));
    let statuses: Vec<u64> = env
        .requests()
        .await
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .filter(|status| *status >= 500)
        .collect();
    assert_eq!(statuses, [503, 503, 502, 500]);
}

#[tokio::test]
async fn destinations_list_get_and_key_hashes() {
    let env = start().await;
    let hash = new_key(&env, "logged").await;
    let id = new_destination(&env, json!({"api_key_hashes": [hash]})).await;
    new_destination(
        &env,
        json!({"name": "hooks", "type": "webhook", "config": {"url": "https://127.0.0.1/hook"}}),
    )
    .await;
    env.seed(0, Some(OTHER_WORKSPACE)).await;
    new_destination(&env, json!({"workspace_id": OTHER_WORKSPACE})).await;

    let all = env.client.list_destinations().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].kind, "langfuse");
    assert!(all[0].names_key(&hash));
    assert_eq!(all[1].kind, "webhook");
    assert_eq!(all[1].api_key_hashes, None);
    assert_eq!(
        env.client
            .list_destinations_in(Some(OTHER_WORKSPACE))
            .await
            .unwrap()
            .len(),
        1
    );
    // Keyward keeps no config: the masked secret is not even in its model.
    assert!(!serde_json::to_string(&all).unwrap().contains("****"));

    let fetched = env.client.get_destination(&id).await.unwrap();
    assert_eq!(fetched, all[0]);

    let other = new_key(&env, "other").await;
    let both = env
        .client
        .set_destination_key_hashes(&id, Some(vec![hash.clone(), other.clone()]))
        .await
        .unwrap();
    assert!(both.names_key(&hash) && both.names_key(&other));
    env.client.delete_key(&hash).await.unwrap();
    assert!(
        env.client
            .get_destination(&id)
            .await
            .unwrap()
            .names_key(&hash)
    );
    let disabled = env
        .client
        .update_destination(
            &id,
            &UpdateDestinationRequest {
                enabled: Some(false),
                name: Some("traces (paused)".into()),
                ..UpdateDestinationRequest::default()
            },
        )
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.name.as_deref(), Some("traces (paused)"));
    let all_keys = env
        .client
        .set_destination_key_hashes(&id, None)
        .await
        .unwrap();
    assert_eq!(all_keys.api_key_hashes, None);

    // Errors.
    assert!(matches!(
        env.client.get_destination(UNKNOWN_ID).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        env.client
            .set_destination_key_hashes(UNKNOWN_ID, None)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        env.client
            .set_destination_key_hashes(&id, Some(Vec::new()))
            .await,
        Err(Error::InvalidInput { field: Some(_), .. })
    ));
    assert!(matches!(
        env.client.get_destination("nope").await,
        Err(Error::InvalidInput { field: Some(_), .. })
    ));
    let stranger = inference_client(&env, "sk-or-v1-not-a-key-of-this-account");
    assert!(matches!(
        stranger.list_destinations().await,
        Err(Error::Unauthorized { .. })
    ));
    assert!(matches!(
        stranger.get_destination(&id).await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn analytics_reads_per_key_spend_by_day_and_model() {
    let env = start().await;
    env.control_post("/clock", json!({"now": "2026-11-02T10:00:00Z"}))
        .await;
    let hash = new_key(&env, "spender").await;
    let other = new_key(&env, "other").await;
    let usage = |model: &str, usage: f64, requests: u64| json!({"usage": usage, "requests": requests, "model": model});
    env.control_post(
        &format!("/keys/{hash}/usage"),
        usage("openai/gpt-4.1", 1.5, 12),
    )
    .await;
    env.control_post(
        &format!("/keys/{other}/usage"),
        usage("openai/gpt-4.1", 9.0, 1),
    )
    .await;
    env.control_post("/clock", json!({"now": "2026-11-03T10:00:00Z"}))
        .await;
    env.control_post(
        &format!("/keys/{hash}/usage"),
        usage("anthropic/claude-sonnet-4", 0.25, 2),
    )
    .await;

    let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
    let result = env
        .client
        .analytics_query(&AnalyticsQuery::key_spend_by_day(&hash, start, end))
        .await
        .unwrap();
    assert!(!result.metadata.truncated);
    assert!(result.warnings.is_empty());
    let mut rows = result.spend_rows();
    rows.sort_by_key(|row| row.date);
    let summary: Vec<(String, String, f64, u64)> = rows
        .iter()
        .map(|row| {
            (
                row.date.unwrap().to_string(),
                row.model.clone().unwrap(),
                row.spend,
                row.requests,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2026-11-02".to_owned(),
                "openai/gpt-4.1".to_owned(),
                1.5,
                12
            ),
            (
                "2026-11-03".to_owned(),
                "anthropic/claude-sonnet-4".to_owned(),
                0.25,
                2
            ),
        ]
    );

    let by_key = env
        .client
        .analytics_query(&AnalyticsQuery::spend_by_key_and_day(start, end))
        .await
        .unwrap();
    let total_of = |wanted: &str| -> f64 {
        by_key
            .spend_rows()
            .iter()
            .filter(|row| row.api_key_hash.as_deref() == Some(wanted))
            .map(|row| row.spend)
            .sum()
    };
    assert_eq!(total_of(&hash), 1.75);
    assert_eq!(total_of(&other), 9.0);

    // A deleted key's hash is answered with a warning, not an error.
    env.client.delete_key(&other).await.unwrap();
    let gone = env
        .client
        .analytics_query(&AnalyticsQuery::key_spend_by_day(&other, start, end))
        .await
        .unwrap();
    assert!(gone.rows.is_empty());
    assert_eq!(gone.warnings.len(), 1);

    // Errors: refused locally, refused by the server, refused for an inference key.
    let mut bad = AnalyticsQuery::key_spend_by_day(&hash, start, end);
    bad.filters.push(AnalyticsFilter {
        field: "model".into(),
        operator: FilterOperator::In,
        value: json!([]),
    });
    assert!(matches!(
        env.client.analytics_query(&bad).await,
        Err(Error::InvalidInput { field: Some(_), .. })
    ));
    let mut unknown_metric = AnalyticsQuery::spend_by_key_and_day(start, end);
    unknown_metric.metrics = vec!["latency_p99".into()];
    match env.client.analytics_query(&unknown_metric).await {
        Err(Error::InvalidInput {
            field: None,
            message,
        }) => {
            assert!(message.contains("unknown metric"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let stranger = inference_client(&env, "sk-or-v1-not-a-key-of-this-account");
    assert!(matches!(
        stranger
            .analytics_query(&AnalyticsQuery::spend_by_key_and_day(start, end))
            .await,
        Err(Error::Unauthorized { .. })
    ));
    assert!(matches!(
        stranger.analytics_meta().await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn analytics_meta_lists_what_the_spend_query_uses() {
    let env = start().await;
    let meta = env.client.analytics_meta().await.unwrap();
    let metric = meta
        .metrics
        .iter()
        .find(|m| m.name == "total_usage")
        .unwrap();
    assert_eq!(metric.display_format, "currency");
    assert!(meta.metrics.iter().any(|m| m.name == "request_count"));
    assert!(meta.dimensions.iter().any(|d| d.name == "api_key_id"));
    assert!(meta.dimensions.iter().any(|d| d.name == "model"));
    assert!(meta.granularities.iter().any(|g| g.name == "day"));
    assert!(
        meta.operators
            .iter()
            .any(|o| o.name == "eq" && o.value_type == "scalar")
    );
    env.set_faults(json!({"server_error": {"next": 1, "status": 503}}))
        .await;
    assert_eq!(env.client.analytics_meta().await.unwrap(), meta);
    let lines = request_lines(&env.requests().await);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("/analytics/meta"))
            .count(),
        3
    );
}
