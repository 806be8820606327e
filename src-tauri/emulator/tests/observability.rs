//! `/observability/destinations` over real HTTP: the destination's shape with its secrets masked,
//! paging, per-type config validation, the per-type cap (409), `api_key_hashes` updates, auth.
// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use openrouter_emulator::{DEFAULT_WORKSPACE_ID, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every field of a destination (spec + Python 1.3.84 superset).
const DESTINATION_FIELDS: &[&str] = &[
    "id",
    "workspace_id",
    "type",
    "name",
    "enabled",
    "privacy_mode",
    "broadcast_generation_cost",
    "broadcast_generation_cost_allocation",
    "broadcast_generation_identity",
    "broadcast_generation_request_context",
    "sampling_rate",
    "api_key_hashes",
    "filter_rules",
    "regions",
    "config",
    "created_at",
    "updated_at",
];

fn langfuse(name: &str) -> Value {
    json!({"type": "langfuse", "name": name,
           "config": {"publicKey": "pk-lf-public", "secretKey": "sk-lf-secret-value-1234"}})
}

async fn create_destination(harness: &Harness, body: Value) -> Value {
    let reply = harness
        .api(Method::POST, "/observability/destinations", Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.data().clone()
}

#[tokio::test]
async fn create_get_list_update_delete_with_secrets_masked() {
    let harness = Harness::start().await;
    let created = create_destination(&harness, langfuse("traces")).await;
    assert_fields(&created, DESTINATION_FIELDS);
    assert_eq!(created["type"], "langfuse");
    assert_eq!(created["workspace_id"], DEFAULT_WORKSPACE_ID);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["sampling_rate"], 1.0);
    assert_eq!(created["api_key_hashes"], Value::Null);
    assert_eq!(created["filter_rules"], Value::Null);
    assert_eq!(created["regions"], json!(["global"]));
    assert_eq!(created["config"]["publicKey"], "pk-lf-public");
    assert_eq!(created["config"]["secretKey"], "****1234");
    let id = created["id"].as_str().unwrap();
    let path = format!("/observability/destinations/{id}");

    let fetched = harness.api(Method::GET, &path, None).await;
    assert_eq!(fetched.data(), &created);
    let listed = harness
        .api(Method::GET, "/observability/destinations", None)
        .await;
    assert_eq!(listed.body["total_count"], 1);
    assert_eq!(listed.data(), &json!([created]));
    assert!(!listed.body.to_string().contains("secret-value"));

    // A masked value sent back keeps the stored secret; other config fields merge in.
    let updated = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"name": "renamed", "sampling_rate": 0.5, "enabled": false,
                         "config": {"secretKey": "****1234", "baseUrl": "https://eu.cloud.langfuse.com"},
                         "filter_rules": {"groups": [{"logic": "or", "rules": [{"field": "model", "operator": "equals", "value": "openai/gpt-4.1"}]}]}})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let data = updated.data();
    assert_eq!(data["name"], "renamed");
    assert_eq!(data["sampling_rate"], 0.5);
    assert_eq!(data["enabled"], false);
    assert_eq!(data["config"]["secretKey"], "****1234");
    assert_eq!(data["config"]["publicKey"], "pk-lf-public");
    assert_eq!(data["config"]["baseUrl"], "https://eu.cloud.langfuse.com");
    assert_eq!(data["filter_rules"]["groups"][0]["logic"], "or");
    let rotated = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"config": {"secretKey": "sk-lf-another-secret-9876"}})),
        )
        .await;
    assert_eq!(rotated.data()["config"]["secretKey"], "****9876");

    let deleted = harness.api(Method::DELETE, &path, None).await;
    assert_eq!(deleted.body, json!({"deleted": true}));
    harness
        .api(Method::GET, &path, None)
        .await
        .assert_error(404, "not found");
    harness
        .api(Method::DELETE, &path, None)
        .await
        .assert_error(404, "not found");
    harness
        .api(Method::PATCH, &path, Some(&json!({"enabled": true})))
        .await
        .assert_error(404, "not found");
}

#[tokio::test]
async fn api_key_hashes_set_clear_and_survive_key_deletion() {
    let harness = Harness::start().await;
    let (_, key) = harness.create(json!({"name": "logged"})).await;
    let hash = key["hash"].as_str().unwrap().to_owned();
    let created = create_destination(&harness, langfuse("traces")).await;
    let path = format!(
        "/observability/destinations/{}",
        created["id"].as_str().unwrap()
    );
    let set = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"api_key_hashes": [hash]})),
        )
        .await;
    assert_eq!(set.data()["api_key_hashes"], json!([hash]));
    let deleted = harness
        .api(Method::DELETE, &format!("/keys/{hash}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let after = harness.api(Method::GET, &path, None).await;
    assert_eq!(after.data()["api_key_hashes"], json!([hash]));
    harness
        .api(Method::PATCH, &path, Some(&json!({"api_key_hashes": []})))
        .await
        .assert_error(400, "1 to 100");
    harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"api_key_hashes": ["nothex"]})),
        )
        .await
        .assert_error(400, "hex");
    let cleared = harness
        .api(Method::PATCH, &path, Some(&json!({"api_key_hashes": null})))
        .await;
    assert_eq!(cleared.data()["api_key_hashes"], Value::Null);
}

#[tokio::test]
async fn create_is_validated_per_type_and_capped_at_five_per_type() {
    let harness = Harness::start().await;
    for (body, message) in [
        (json!({"name": "x", "config": {}}), "\"type\""),
        (
            json!({"type": "splunk", "name": "x", "config": {}}),
            "\"type\"",
        ),
        (
            json!({"type": "webhook", "config": {"url": "https://example.invalid"}}),
            "\"name\"",
        ),
        (
            json!({"type": "webhook", "name": "x"}),
            "\"config\" is required",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": []}),
            "\"config\" must be an object",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {}}),
            "config.url",
        ),
        (
            json!({"type": "langfuse", "name": "x", "config": {"publicKey": "pk"}}),
            "config.secretKey",
        ),
        (
            json!({"type": "s3", "name": "x", "config": {"bucketName": "b", "accessKeyId": "a"}}),
            "config.secretAccessKey",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u", "method": "GET"}}),
            "config.method",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u", "headers": {"a": 1}}}),
            "config.headers",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u"}, "sampling_rate": 0}),
            "\"sampling_rate\"",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u"}, "sampling_rate": 1.5}),
            "\"sampling_rate\"",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u"}, "regions": ["mars"]}),
            "\"regions\"",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u"}, "filter_rules": {"groups": [{"rules": [{"field": "color", "operator": "equals"}]}]}}),
            "\"filter_rules\"",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u"}, "api_key_hashes": []}),
            "1 to 100",
        ),
        (
            json!({"type": "webhook", "name": "x", "config": {"url": "u"}, "enabled": "yes"}),
            "\"enabled\"",
        ),
    ] {
        harness
            .api(Method::POST, "/observability/destinations", Some(&body))
            .await
            .assert_error(400, message);
    }
    for n in 0..5 {
        create_destination(&harness, langfuse(&format!("lf{n}"))).await;
    }
    harness
        .api(
            Method::POST,
            "/observability/destinations",
            Some(&langfuse("lf5")),
        )
        .await
        .assert_error(409, "maximum of 5");
    // Another type, or another workspace, is not capped by those five.
    create_destination(
        &harness,
        json!({"type": "webhook", "name": "hook", "config": {"url": "https://127.0.0.1/hook"}}),
    )
    .await;
    let other = "11111111-2222-4333-8444-555555555555";
    harness.ensure_workspace(other).await;
    let mut scoped = langfuse("elsewhere");
    scoped["workspace_id"] = json!(other);
    create_destination(&harness, scoped).await;

    let page = harness
        .api(
            Method::GET,
            "/observability/destinations?offset=4&limit=1",
            None,
        )
        .await;
    assert_eq!(page.body["total_count"], 6);
    assert_eq!(page.data()[0]["name"], "lf4");
    let scoped = harness
        .api(
            Method::GET,
            &format!("/observability/destinations?workspace_id={other}"),
            None,
        )
        .await;
    assert_eq!(scoped.body["total_count"], 1);
    harness
        .api(Method::GET, "/observability/destinations?limit=500", None)
        .await
        .assert_error(400, "\"limit\"");
}

#[tokio::test]
async fn inference_keys_are_refused_and_the_demo_account_logs_three_keys() {
    let harness = Harness::with(
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .seed_demo(30)
            .seed(3),
    )
    .await;
    let listed = harness
        .api(Method::GET, "/observability/destinations", None)
        .await;
    assert_eq!(listed.body["total_count"], 1);
    let demo = &listed.data()[0];
    assert_eq!(demo["type"], "langfuse");
    assert_eq!(demo["api_key_hashes"].as_array().unwrap().len(), 3);

    let (secret, _) = harness.create(json!({"name": "inference"})).await;
    let item = format!(
        "/observability/destinations/{}",
        demo["id"].as_str().unwrap()
    );
    let body = langfuse("x");
    for (method, path, body) in [
        (Method::GET, "/observability/destinations", None),
        (Method::POST, "/observability/destinations", Some(&body)),
        (Method::GET, item.as_str(), None),
        (
            Method::PATCH,
            item.as_str(),
            Some(&json!({"enabled": false})),
        ),
        (Method::DELETE, item.as_str(), None),
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
