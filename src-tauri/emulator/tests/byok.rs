//! `/byok` over real HTTP: the credential's shape (the provider key never comes back), paging with
//! `total_count`, filters, allowlist validation and updates, auth, errors and the state file.
// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use openrouter_emulator::{DEFAULT_WORKSPACE_ID, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every field of `BYOKKey` (spec + Python 1.3.84 superset).
const BYOK_FIELDS: &[&str] = &[
    "id",
    "provider",
    "workspace_id",
    "name",
    "label",
    "disabled",
    "is_fallback",
    "is_byok_only",
    "is_required",
    "declared_region",
    "declared_zdr",
    "allowed_models",
    "allowed_api_key_hashes",
    "allowed_user_ids",
    "sort_order",
    "created_at",
];

const PROVIDER_KEY: &str = "sk-proj-very-secret-provider-key-AbCd";

async fn create_byok(harness: &Harness, body: Value) -> Value {
    let reply = harness.api(Method::POST, "/byok", Some(&body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.data().clone()
}

#[tokio::test]
async fn create_get_list_delete_never_return_the_provider_key() {
    let harness = Harness::start().await;
    let (_, key) = harness.create(json!({"name": "app"})).await;
    let hash = key["hash"].as_str().unwrap();
    let created = create_byok(
        &harness,
        json!({"provider": "openai", "key": PROVIDER_KEY, "name": "Prod OpenAI",
               "allowed_api_key_hashes": [hash]}),
    )
    .await;
    assert_fields(&created, BYOK_FIELDS);
    assert_eq!(created["label"], "sk-...AbCd");
    assert_eq!(created["provider"], "openai");
    assert_eq!(created["workspace_id"], DEFAULT_WORKSPACE_ID);
    assert_eq!(created["allowed_api_key_hashes"], json!([hash]));
    assert_eq!(created["allowed_models"], Value::Null);
    assert_eq!(created["sort_order"], 0);
    assert_eq!(created["disabled"], false);
    assert!(uuid::Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());
    let id = created["id"].as_str().unwrap();

    let fetched = harness.api(Method::GET, &format!("/byok/{id}"), None).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.data(), &created);
    let listed = harness.api(Method::GET, "/byok", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["total_count"], 1);
    assert_eq!(listed.data(), &json!([created]));
    for reply in [&fetched, &listed] {
        assert!(!reply.body.to_string().contains("very-secret"));
    }

    let second = create_byok(&harness, json!({"provider": "openai", "key": PROVIDER_KEY})).await;
    assert_eq!(second["sort_order"], 1);
    assert_eq!(second["name"], Value::Null);

    let deleted = harness
        .api(Method::DELETE, &format!("/byok/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body, json!({"deleted": true}));
    harness
        .api(Method::GET, &format!("/byok/{id}"), None)
        .await
        .assert_error(404, "not found");
    harness
        .api(Method::DELETE, &format!("/byok/{id}"), None)
        .await
        .assert_error(404, "not found");
    harness
        .api(
            Method::PATCH,
            &format!("/byok/{id}"),
            Some(&json!({"disabled": true})),
        )
        .await
        .assert_error(404, "not found");
}

#[tokio::test]
async fn list_pages_with_offset_and_limit_and_filters() {
    let harness = Harness::start().await;
    for n in 0..7 {
        let provider = if n % 2 == 0 { "openai" } else { "anthropic" };
        create_byok(
            &harness,
            json!({"provider": provider, "key": PROVIDER_KEY, "name": format!("k{n}")}),
        )
        .await;
    }
    let other = "11111111-2222-4333-8444-555555555555";
    harness.ensure_workspace(other).await;
    create_byok(
        &harness,
        json!({"provider": "openai", "key": PROVIDER_KEY, "workspace_id": other}),
    )
    .await;
    let page = harness
        .api(Method::GET, "/byok?offset=2&limit=3", None)
        .await;
    assert_eq!(page.body["total_count"], 7);
    let names: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["k2", "k3", "k4"]);
    let tail = harness
        .api(Method::GET, "/byok?offset=6&limit=100", None)
        .await;
    assert_eq!(tail.data().as_array().unwrap().len(), 1);
    let default_limit = harness.api(Method::GET, "/byok", None).await;
    assert_eq!(default_limit.data().as_array().unwrap().len(), 7);
    let openai = harness
        .api(Method::GET, "/byok?provider=openai", None)
        .await;
    assert_eq!(openai.body["total_count"], 4);
    let scoped = harness
        .api(Method::GET, &format!("/byok?workspace_id={other}"), None)
        .await;
    assert_eq!(scoped.body["total_count"], 1);
    assert_eq!(scoped.data()[0]["workspace_id"], other);

    for (query, message) in [
        ("limit=0", "\"limit\""),
        ("limit=101", "\"limit\""),
        ("offset=-1", "\"offset\""),
        ("provider=nope", "\"provider\""),
        ("workspace_id=zzz", "\"workspace_id\""),
    ] {
        harness
            .api(Method::GET, &format!("/byok?{query}"), None)
            .await
            .assert_error(400, message);
    }
}

#[tokio::test]
async fn create_is_validated() {
    let harness = Harness::start().await;
    let unknown = "a".repeat(64);
    for (body, message) in [
        (json!({"key": PROVIDER_KEY}), "\"provider\""),
        (
            json!({"provider": "acme", "key": PROVIDER_KEY}),
            "\"provider\"",
        ),
        (json!({"provider": "openai"}), "\"key\""),
        (json!({"provider": "openai", "key": ""}), "\"key\""),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "name": "x".repeat(256)}),
            "\"name\"",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_api_key_hashes": []}),
            "1 to 100",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_api_key_hashes": ["ABC"]}),
            "hex",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_api_key_hashes": [unknown]}),
            "not a key of this account",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "is_fallback": true, "is_byok_only": true}),
            "cannot be combined",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "declared_region": "mars"}),
            "\"declared_region\"",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "disabled": "yes"}),
            "\"disabled\"",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_models": "all"}),
            "\"allowed_models\"",
        ),
        (
            json!({"provider": "openai", "key": PROVIDER_KEY, "workspace_id": "nope"}),
            "\"workspace_id\"",
        ),
    ] {
        harness
            .api(Method::POST, "/byok", Some(&body))
            .await
            .assert_error(400, message);
    }
    let listed = harness.api(Method::GET, "/byok", None).await;
    assert_eq!(listed.body["total_count"], 0, "nothing invalid was created");
}

#[tokio::test]
async fn allowlist_updates_set_clear_and_survive_key_deletion() {
    let harness = Harness::start().await;
    let (_, first) = harness.create(json!({"name": "first"})).await;
    let (_, second) = harness.create(json!({"name": "second"})).await;
    let first = first["hash"].as_str().unwrap().to_owned();
    let second = second["hash"].as_str().unwrap().to_owned();
    let created = create_byok(
        &harness,
        json!({"provider": "anthropic", "key": PROVIDER_KEY}),
    )
    .await;
    let path = format!("/byok/{}", created["id"].as_str().unwrap());

    let set = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"allowed_api_key_hashes": [first, second, first]})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.data()["allowed_api_key_hashes"], json!([first, second]));
    assert_eq!(set.data()["label"], "sk-...AbCd");

    // Deleting a key leaves its hash in the list; sending the list back still works.
    let deleted = harness
        .api(Method::DELETE, &format!("/keys/{first}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let after = harness.api(Method::GET, &path, None).await;
    assert_eq!(
        after.data()["allowed_api_key_hashes"],
        json!([first, second])
    );
    let resent = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"allowed_api_key_hashes": [first, second]})),
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    // …but a deleted key can't be added to a list that does not name it.
    let other = create_byok(&harness, json!({"provider": "openai", "key": PROVIDER_KEY})).await;
    harness
        .api(
            Method::PATCH,
            &format!("/byok/{}", other["id"].as_str().unwrap()),
            Some(&json!({"allowed_api_key_hashes": [first]})),
        )
        .await
        .assert_error(400, "not a key of this account");

    harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"allowed_api_key_hashes": []})),
        )
        .await
        .assert_error(400, "1 to 100");
    let cleared = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"allowed_api_key_hashes": null, "name": "renamed"})),
        )
        .await;
    assert_eq!(cleared.data()["allowed_api_key_hashes"], Value::Null);
    assert_eq!(cleared.data()["name"], "renamed");
    // Rotating the provider key in place changes only the label.
    let rotated = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"key": "sk-ant-new-material-WxYz"})),
        )
        .await;
    assert_eq!(rotated.data()["label"], "sk-...WxYz");
    assert_eq!(rotated.data()["id"], created["id"]);
}

#[tokio::test]
async fn inference_keys_and_anonymous_callers_are_refused() {
    let harness = Harness::start().await;
    let (secret, _) = harness.create(json!({"name": "inference"})).await;
    let created = create_byok(&harness, json!({"provider": "openai", "key": PROVIDER_KEY})).await;
    let item = format!("/byok/{}", created["id"].as_str().unwrap());
    let body = json!({"provider": "openai", "key": PROVIDER_KEY});
    for (method, path, body) in [
        (Method::GET, "/byok", None),
        (Method::POST, "/byok", Some(&body)),
        (Method::GET, item.as_str(), None),
        (
            Method::PATCH,
            item.as_str(),
            Some(&json!({"disabled": true})),
        ),
        (Method::DELETE, item.as_str(), None),
    ] {
        harness
            .api_as(Some(&secret), method.clone(), path, body)
            .await
            .assert_error(403, "Only management keys");
        harness
            .api_as(None, method.clone(), path, body)
            .await
            .assert_error(401, "Missing Authentication header");
        harness
            .api_as(Some("sk-or-v1-unknown"), method, path, body)
            .await
            .assert_error(401, "Invalid API key");
    }
}

#[tokio::test]
async fn credentials_persist_in_the_state_file_and_the_demo_account_has_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let config = || {
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .state_file(&path)
            .seed_demo(20)
            .seed(7)
    };
    let harness = Harness::with(config()).await;
    let seeded = harness.api(Method::GET, "/byok", None).await;
    assert_eq!(seeded.body["total_count"], 2);
    let providers: Vec<&str> = seeded
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["openai", "anthropic"]);
    for credential in seeded.data().as_array().unwrap() {
        for hash in credential["allowed_api_key_hashes"].as_array().unwrap() {
            let key = harness.key(hash.as_str().unwrap()).await;
            assert_eq!(key["disabled"], false);
        }
    }
    let created = create_byok(&harness, json!({"provider": "groq", "key": PROVIDER_KEY})).await;
    harness.emulator.shutdown().await;
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("very-secret")
    );

    let again = Harness::with(config()).await;
    let listed = again.api(Method::GET, "/byok", None).await;
    assert_eq!(listed.body["total_count"], 3);
    assert_eq!(listed.data()[2], created);
}
