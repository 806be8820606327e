//! `/guardrails` over real HTTP: CRUD, paging, validation, key and member assignments, the demo seed
//! and persistence (`/models` is in `models.rs`).

// Helpers outside #[test] functions panic on purpose too: a failed call is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use openrouter_emulator::{ACCOUNT_USER_ID, DEFAULT_WORKSPACE_ID, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every key of the Guardrail object the emulator answers with.
const GUARDRAIL_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "limit_usd",
    "reset_interval",
    "allowed_models",
    "ignored_models",
    "allowed_providers",
    "ignored_providers",
    "enforce_zdr",
    "enforce_zdr_anthropic",
    "enforce_zdr_google",
    "enforce_zdr_openai",
    "enforce_zdr_other",
    "enforce_zdr_xai",
    "include_byok_in_budgets",
    "workspace_id",
    "created_at",
    "updated_at",
];

const KEY_ASSIGNMENT_FIELDS: &[&str] = &[
    "id",
    "key_hash",
    "guardrail_id",
    "key_name",
    "key_label",
    "assigned_by",
    "created_at",
];

const MEMBER_ASSIGNMENT_FIELDS: &[&str] = &[
    "id",
    "user_id",
    "organization_id",
    "guardrail_id",
    "assigned_by",
    "created_at",
];

async fn create_guardrail(harness: &Harness, body: Value) -> Value {
    let reply = harness.api(Method::POST, "/guardrails", Some(&body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_fields(reply.data(), GUARDRAIL_FIELDS);
    reply.data().clone()
}

async fn new_key(harness: &Harness, name: &str) -> String {
    let (_, key) = harness.create(json!({"name": name})).await;
    key["hash"].as_str().unwrap().to_owned()
}

async fn assign(harness: &Harness, id: &str, hashes: &[&str]) -> Reply {
    harness
        .api(
            Method::POST,
            &format!("/guardrails/{id}/assignments/keys"),
            Some(&json!({"key_hashes": hashes})),
        )
        .await
}

fn hashes_of(reply: &Reply) -> Vec<String> {
    reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key_hash"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_get_update_delete() {
    let harness = Harness::start().await;
    let created = create_guardrail(
        &harness,
        json!({"name": "Prod", "description": "only approved models", "limit_usd": 50,
               "reset_interval": "monthly",
               "allowed_models": ["openai/gpt-4.1", "anthropic/claude-4-sonnet-20250522"],
               "allowed_providers": ["openai", "anthropic"], "enforce_zdr": true,
               "enforce_zdr_xai": false, "include_byok_in_budgets": true}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().to_string(), id);
    // Slugs are answered as canonical slugs.
    assert_eq!(
        created["allowed_models"],
        json!([
            "openai/gpt-4.1-2025-04-14",
            "anthropic/claude-4-sonnet-20250522"
        ])
    );
    assert_eq!(created["limit_usd"], 50.0);
    assert_eq!(created["reset_interval"], "monthly");
    assert_eq!(created["workspace_id"], DEFAULT_WORKSPACE_ID);
    // The deprecated flag fills the per-provider fields the request did not name.
    assert_eq!(created["enforce_zdr_openai"], true);
    assert_eq!(created["enforce_zdr_xai"], false);
    assert_eq!(created["include_byok_in_budgets"], true);
    assert_eq!(created["updated_at"], Value::Null);

    let got = harness
        .api(Method::GET, &format!("/guardrails/{id}"), None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.data(), &created);

    // PATCH replaces whole arrays and leaves unnamed fields alone.
    let patched = harness
        .api(
            Method::PATCH,
            &format!("/guardrails/{id}"),
            Some(
                &json!({"allowed_models": ["google/gemini-2.5-flash"], "limit_usd": null,
                         "ignored_providers": ["deepinfra"]}),
            ),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.data()["allowed_models"],
        json!(["google/gemini-2.5-flash"])
    );
    assert_eq!(patched.data()["limit_usd"], Value::Null);
    assert_eq!(patched.data()["ignored_providers"], json!(["deepinfra"]));
    assert_eq!(
        patched.data()["allowed_providers"],
        json!(["openai", "anthropic"])
    );
    assert_eq!(patched.data()["name"], "Prod");
    assert!(patched.data()["updated_at"].is_string());

    let deleted = harness
        .api(Method::DELETE, &format!("/guardrails/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body, json!({"deleted": true}));
    for method in [Method::GET, Method::DELETE] {
        harness
            .api(method, &format!("/guardrails/{id}"), None)
            .await
            .assert_error(404, "Guardrail not found");
    }
    harness
        .api(
            Method::PATCH,
            &format!("/guardrails/{id}"),
            Some(&json!({"name": "x"})),
        )
        .await
        .assert_error(404, "Guardrail not found");
}

#[tokio::test]
async fn validation_refuses_bad_fields() {
    let harness = Harness::start().await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (
            json!({"name": "g", "description": "d".repeat(1001)}),
            "description",
        ),
        (json!({"name": "g", "limit_usd": -1}), "limit_usd"),
        (json!({"name": "g", "limit_usd": "5"}), "limit_usd"),
        (
            json!({"name": "g", "reset_interval": "yearly"}),
            "reset_interval",
        ),
        (json!({"name": "g", "allowed_models": []}), "allowed_models"),
        (
            json!({"name": "g", "allowed_models": ["acme/nope"]}),
            "unknown model",
        ),
        (
            json!({"name": "g", "ignored_models": [""]}),
            "ignored_models",
        ),
        (
            json!({"name": "g", "allowed_providers": ["Open AI"]}),
            "provider slug",
        ),
        (
            json!({"name": "g", "enforce_zdr_openai": "yes"}),
            "enforce_zdr_openai",
        ),
        (
            json!({"name": "g", "include_byok_in_budgets": null}),
            "include_byok_in_budgets",
        ),
        (json!({"name": "g", "workspace_id": "nope"}), "workspace_id"),
        (
            json!({"name": "g", "content_filters": "x"}),
            "content_filters",
        ),
    ];
    for (body, message) in cases {
        harness
            .api(Method::POST, "/guardrails", Some(&body))
            .await
            .assert_error(400, message);
    }
    let id = create_guardrail(&harness, json!({"name": "g"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/guardrails/{id}");
    harness
        .api(Method::PATCH, &path, Some(&json!({})))
        .await
        .assert_error(400, "No update fields provided");
    harness
        .api(Method::PATCH, &path, Some(&json!({"name": null})))
        .await
        .assert_error(400, "name");
    harness
        .api(Method::PATCH, &path, Some(&json!({"limit_usd": -0.5})))
        .await
        .assert_error(400, "limit_usd");
    // A refused PATCH changes nothing.
    harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"description": "kept?", "reset_interval": "hourly"})),
        )
        .await
        .assert_error(400, "reset_interval");
    let got = harness.api(Method::GET, &path, None).await;
    assert_eq!(got.data()["description"], Value::Null);
}

#[tokio::test]
async fn management_key_only() {
    let harness = Harness::start().await;
    let (secret, _) = harness.create(json!({"name": "inference"})).await;
    let id = create_guardrail(&harness, json!({"name": "g"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let calls = [
        (Method::GET, "/guardrails".to_owned()),
        (Method::POST, "/guardrails".to_owned()),
        (Method::GET, format!("/guardrails/{id}")),
        (Method::GET, "/guardrails/assignments/keys".to_owned()),
        (Method::GET, "/guardrails/assignments/members".to_owned()),
        (Method::GET, format!("/guardrails/{id}/assignments/keys")),
        (
            Method::POST,
            format!("/guardrails/{id}/assignments/members/remove"),
        ),
        (Method::GET, "/models/user".to_owned()),
    ];
    for (method, path) in calls {
        harness
            .api_as(
                Some(&secret),
                method.clone(),
                &path,
                Some(&json!({"name": "x"})),
            )
            .await
            .assert_error(403, "Only management keys");
        harness
            .api_as(None, method.clone(), &path, None)
            .await
            .assert_error(401, "Missing Authentication header");
        harness
            .api_as(Some("sk-or-v1-unknown"), method, &path, None)
            .await
            .assert_error(401, "Invalid API key");
    }
}

#[tokio::test]
async fn listing_pages_and_filters_by_workspace() {
    let harness = Harness::start().await;
    for index in 0..7 {
        create_guardrail(&harness, json!({"name": format!("g{index}")})).await;
    }
    let other = "11111111-2222-4333-8444-555555555555";
    harness.ensure_workspace(other).await;
    create_guardrail(
        &harness,
        json!({"name": "elsewhere", "workspace_id": other}),
    )
    .await;

    let all = harness.api(Method::GET, "/guardrails", None).await;
    assert_eq!(all.body["total_count"], 7);
    assert_eq!(all.data().as_array().unwrap().len(), 7);
    let page = harness
        .api(Method::GET, "/guardrails?offset=5&limit=5", None)
        .await;
    assert_eq!(page.body["total_count"], 7);
    let names: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["g5", "g6"]);
    let elsewhere = harness
        .api(
            Method::GET,
            &format!("/guardrails?workspace_id={other}"),
            None,
        )
        .await;
    assert_eq!(elsewhere.body["total_count"], 1);
    assert_eq!(elsewhere.data()[0]["workspace_id"], other);
    for query in ["limit=0", "limit=101", "offset=-1", "workspace_id=x"] {
        harness
            .api(Method::GET, &format!("/guardrails?{query}"), None)
            .await
            .assert_error(400, "");
    }
}

#[tokio::test]
async fn a_key_holds_one_guardrail_and_loses_it_with_the_key() {
    let harness = Harness::start().await;
    let first = create_guardrail(&harness, json!({"name": "first"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = create_guardrail(&harness, json!({"name": "second"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = new_key(&harness, "key-a").await;
    let b = new_key(&harness, "key-b").await;
    let c = new_key(&harness, "key-c").await;

    let reply = assign(&harness, &first, &[&a, &b, &a]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"assigned_count": 2}));
    // Again: nothing new.
    assert_eq!(
        assign(&harness, &first, &[&a]).await.body["assigned_count"],
        0
    );

    let listed = harness
        .api(
            Method::GET,
            &format!("/guardrails/{first}/assignments/keys"),
            None,
        )
        .await;
    assert_eq!(listed.body["total_count"], 2);
    let entry = &listed.data()[0];
    assert_fields(entry, KEY_ASSIGNMENT_FIELDS);
    assert_eq!(entry["key_name"], "key-a");
    assert!(
        entry["key_label"]
            .as_str()
            .unwrap()
            .starts_with("sk-or-v1-")
    );
    assert_eq!(entry["guardrail_id"], first.as_str());
    assert_eq!(entry["assigned_by"], ACCOUNT_USER_ID);

    // Assigning another guardrail replaces the old assignment.
    assert_eq!(
        assign(&harness, &second, &[&b, &c]).await.body["assigned_count"],
        2
    );
    let first_keys = harness
        .api(
            Method::GET,
            &format!("/guardrails/{first}/assignments/keys"),
            None,
        )
        .await;
    assert_eq!(hashes_of(&first_keys), std::slice::from_ref(&a));
    let everything = harness
        .api(Method::GET, "/guardrails/assignments/keys", None)
        .await;
    assert_eq!(everything.body["total_count"], 3);
    let mut all = hashes_of(&everything);
    all.sort();
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(all, expected);

    // Unknown hashes: 404 and nothing assigned.
    assign(&harness, &first, &[&c, "0".repeat(64).as_str()])
        .await
        .assert_error(404, "API key not found");
    let second_keys = harness
        .api(
            Method::GET,
            &format!("/guardrails/{second}/assignments/keys"),
            None,
        )
        .await;
    assert_eq!(second_keys.body["total_count"], 2);

    // Remove: counts only what was assigned to this guardrail.
    let removed = harness
        .api(
            Method::POST,
            &format!("/guardrails/{second}/assignments/keys/remove"),
            Some(&json!({"key_hashes": [b, a, "f".repeat(64)]})),
        )
        .await;
    assert_eq!(removed.body, json!({"unassigned_count": 1}));

    // Deleting a key drops its assignment.
    let deleted = harness
        .api(Method::DELETE, &format!("/keys/{c}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let second_keys = harness
        .api(
            Method::GET,
            &format!("/guardrails/{second}/assignments/keys"),
            None,
        )
        .await;
    assert_eq!(second_keys.body["total_count"], 0);

    // Deleting a guardrail drops its assignments.
    harness
        .api(Method::DELETE, &format!("/guardrails/{first}"), None)
        .await;
    let everything = harness
        .api(Method::GET, "/guardrails/assignments/keys?limit=1", None)
        .await;
    assert_eq!(everything.body["total_count"], 0);

    for body in [
        json!({}),
        json!({"key_hashes": []}),
        json!({"key_hashes": [""]}),
        json!({"key_hashes": "x"}),
    ] {
        harness
            .api(
                Method::POST,
                &format!("/guardrails/{second}/assignments/keys"),
                Some(&body),
            )
            .await
            .assert_error(400, "key_hashes");
    }
    assign(&harness, "0df9e665-0000-4000-8000-000000000000", &[&a])
        .await
        .assert_error(404, "Guardrail not found");
    harness
        .api(Method::GET, "/guardrails/not-a-uuid/assignments/keys", None)
        .await
        .assert_error(404, "Guardrail not found");
}

#[tokio::test]
async fn member_assignments() {
    let harness = Harness::start().await;
    let id = create_guardrail(&harness, json!({"name": "members"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = create_guardrail(&harness, json!({"name": "other"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let teammate = "user_2teammate000000000000000";
    harness
        .create(json!({"name": "theirs", "creator_user_id": teammate}))
        .await;
    let path = format!("/guardrails/{id}/assignments/members");
    let reply = harness
        .api(
            Method::POST,
            &path,
            Some(&json!({"member_user_ids": [ACCOUNT_USER_ID, teammate]})),
        )
        .await;
    assert_eq!(reply.body, json!({"assigned_count": 2}), "{}", reply.body);
    let listed = harness.api(Method::GET, &path, None).await;
    assert_eq!(listed.body["total_count"], 2);
    assert_fields(&listed.data()[0], MEMBER_ASSIGNMENT_FIELDS);
    assert!(
        listed.data()[0]["organization_id"]
            .as_str()
            .unwrap()
            .starts_with("org_")
    );

    harness
        .api(
            Method::POST,
            &path,
            Some(&json!({"member_user_ids": ["user_stranger"]})),
        )
        .await
        .assert_error(404, "member not found");
    // A member, like a key, holds one guardrail.
    harness
        .api(
            Method::POST,
            &format!("/guardrails/{other}/assignments/members"),
            Some(&json!({"member_user_ids": [teammate]})),
        )
        .await;
    let all = harness
        .api(Method::GET, "/guardrails/assignments/members", None)
        .await;
    assert_eq!(all.body["total_count"], 2);
    let removed = harness
        .api(
            Method::POST,
            &format!("{path}/remove"),
            Some(&json!({"member_user_ids": [ACCOUNT_USER_ID, teammate]})),
        )
        .await;
    assert_eq!(removed.body, json!({"unassigned_count": 1}));
    harness
        .api(
            Method::POST,
            &format!("{path}/remove"),
            Some(&json!({"member_user_ids": []})),
        )
        .await
        .assert_error(400, "member_user_ids");
}

#[tokio::test]
async fn demo_account_has_guarded_keys() {
    let harness = Harness::with(
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .seed_demo(20)
            .seed(7),
    )
    .await;
    let list = harness.api(Method::GET, "/guardrails", None).await;
    let names: Vec<&str> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Production allowlist", "No training"]);
    let production = &list.data()[0];
    assert_eq!(production["allowed_models"].as_array().unwrap().len(), 3);
    assert!(production["limit_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(list.data()[1]["enforce_zdr_openai"], true);
    let assignments = harness
        .api(Method::GET, "/guardrails/assignments/keys", None)
        .await;
    assert_eq!(assignments.body["total_count"], 5);
    for hash in hashes_of(&assignments) {
        assert_eq!(harness.key(&hash).await["hash"], hash.as_str());
    }
    let members = harness
        .api(Method::GET, "/guardrails/assignments/members", None)
        .await;
    assert_eq!(members.body["total_count"], 1);
    // Seeding more keys adds no more guardrails.
    let reply = harness
        .control(Method::POST, "/seed", Some(&json!({"count": 3})))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let list = harness.api(Method::GET, "/guardrails", None).await;
    assert_eq!(list.body["total_count"], 2);
}

#[tokio::test]
async fn guardrails_survive_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("state.json");
    let config = || {
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .state_file(&path)
    };
    let harness = Harness::with(config()).await;
    let id = create_guardrail(
        &harness,
        json!({"name": "kept", "allowed_models": ["openai/o3"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hash = new_key(&harness, "guarded").await;
    assert_eq!(assign(&harness, &id, &[&hash]).await.status, StatusCode::OK);
    let before = harness
        .api(Method::GET, &format!("/guardrails/{id}"), None)
        .await;
    harness.emulator.shutdown().await;

    let harness = Harness::with(config()).await;
    let after = harness
        .api(Method::GET, &format!("/guardrails/{id}"), None)
        .await;
    assert_eq!(after.body, before.body);
    let keys = harness
        .api(
            Method::GET,
            &format!("/guardrails/{id}/assignments/keys"),
            None,
        )
        .await;
    assert_eq!(hashes_of(&keys), [hash]);
}
