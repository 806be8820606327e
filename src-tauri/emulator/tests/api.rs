//! The emulated keys API (`/api/v1/keys`, `/key`, `/credits`) over real HTTP: body shapes, auth,
//! errors and validation. Listing is in `listing.rs`, usage windows, limits and activity in
//! `usage.rs`.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn create_get_list_update_share_the_key_object_shape() {
    let harness = Harness::start().await;
    let reply = harness
        .api(
            Method::POST,
            "/keys",
            Some(
                &json!({"name": "prod-api", "limit": 50.0, "limit_reset": "monthly",
                         "include_byok_in_limit": true, "unknown_field": 1}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_json(&reply.headers);
    let secret = reply.body["key"].as_str().unwrap();
    let hex_part = secret.strip_prefix("sk-or-v1-").unwrap();
    assert_eq!(hex_part.len(), 64);
    assert!(
        hex_part
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
    let data = reply.data();
    assert_fields(data, KEY_OBJECT_FIELDS);
    assert!(
        data.get("key").is_none(),
        "the secret is only at the top level"
    );
    assert_eq!(
        data["hash"],
        json!(hex::encode(Sha256::digest(secret.as_bytes())))
    );
    assert_eq!(
        data["label"],
        json!(format!("sk-or-v1-{}...{}", &hex_part[..3], &hex_part[61..]))
    );
    assert_eq!(data["name"], "prod-api");
    assert_eq!(data["limit"], 50.0);
    assert_eq!(data["limit_remaining"], 50.0);
    assert_eq!(data["limit_reset"], "monthly");
    assert_eq!(data["include_byok_in_limit"], true);
    assert_eq!(data["disabled"], false);
    assert_eq!(data["expires_at"], Value::Null);
    assert_eq!(data["updated_at"], Value::Null);
    assert_eq!(data["last_used_at"], Value::Null);
    assert_eq!(data["external_user"], Value::Null);
    assert_eq!(
        data["workspace_id"],
        openrouter_emulator::DEFAULT_WORKSPACE_ID
    );
    assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
    let hash = data["hash"].as_str().unwrap();

    let got = harness
        .api(Method::GET, &format!("/keys/{hash}"), None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_json(&got.headers);
    assert_eq!(got.data(), data);

    let list = harness.api(Method::GET, "/keys", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.body.as_object().unwrap().len(),
        1,
        "only `data`, no count"
    );
    assert_eq!(
        list.data().as_array().unwrap().as_slice(),
        std::slice::from_ref(data)
    );
    let slash = harness.api(Method::GET, "/keys/", None).await;
    assert_eq!(slash.body, list.body);

    let updated = harness
        .api(
            Method::PATCH,
            &format!("/keys/{hash}"),
            Some(&json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_fields(updated.data(), KEY_OBJECT_FIELDS);
    assert_eq!(updated.data()["name"], "renamed");
    assert!(
        updated.data()["updated_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[tokio::test]
async fn create_with_every_field_and_a_trailing_slash() {
    let harness = Harness::start().await;
    let workspace = "11111111-2222-4333-8444-555555555555";
    harness.ensure_workspace(workspace).await;
    let reply = harness
        .api(
            Method::POST,
            "/keys/",
            Some(
                &json!({"name": "acme-corp customer", "limit": null, "limit_reset": null,
                         "include_byok_in_limit": false, "expires_at": "2099-01-02T03:04:05.250Z",
                         "creator_user_id": "user_abc", "workspace_id": workspace,
                         "external": {"user": "customer_42", "api_key": "x".repeat(40)}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let data = reply.data();
    assert_eq!(data["expires_at"], "2099-01-02T03:04:05.250Z");
    assert_eq!(data["creator_user_id"], "user_abc");
    assert_eq!(data["external_user"], "customer_42");
    assert_eq!(data["workspace_id"], workspace);
    assert_eq!(data["limit"], Value::Null);
    assert_eq!(data["limit_remaining"], Value::Null);
    assert!(
        !reply.body.to_string().contains(&"x".repeat(40)),
        "external.api_key is never returned"
    );
    let offset = harness
        .api(
            Method::POST,
            "/keys",
            Some(&json!({"name": "k", "expires_at": "2099-01-02T05:04:05+02:00"})),
        )
        .await;
    assert_eq!(offset.data()["expires_at"], "2099-01-02T03:04:05Z");
}

#[tokio::test]
async fn delete_answers_deleted_true_then_the_key_is_gone() {
    let harness = Harness::start().await;
    let (secret, data) = harness.create(json!({"name": "ci-pipeline"})).await;
    let hash = data["hash"].as_str().unwrap();
    let reply = harness
        .api(Method::DELETE, &format!("/keys/{hash}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_json(&reply.headers);
    assert_eq!(reply.body, json!({"deleted": true}));
    harness
        .api(Method::GET, &format!("/keys/{hash}"), None)
        .await
        .assert_error(404, "Key not found");
    harness
        .api(Method::DELETE, &format!("/keys/{hash}"), None)
        .await
        .assert_error(404, "Key not found");
    harness
        .api_as(Some(&secret), Method::GET, "/key", None)
        .await
        .assert_error(401, "Invalid API key");
}

#[tokio::test]
async fn current_key_for_inference_and_management_keys() {
    let harness = Harness::start().await;
    let (secret, data) = harness
        .create(json!({"name": "staging-worker-07", "limit": 100.0, "limit_reset": "monthly"}))
        .await;
    harness
        .record_usage(data["hash"].as_str().unwrap(), json!({"usage": 25.5}))
        .await;
    let reply = harness
        .api_as(Some(&secret), Method::GET, "/key", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_json(&reply.headers);
    let current = reply.data();
    assert_fields(current, CURRENT_KEY_FIELDS);
    for absent in [
        "hash",
        "name",
        "disabled",
        "created_at",
        "updated_at",
        "external_user",
        "last_used_at",
    ] {
        assert!(
            current.get(absent).is_none(),
            "{absent} must not be in /key"
        );
    }
    assert_eq!(current["label"], data["label"]);
    assert_eq!(current["is_management_key"], false);
    assert_eq!(current["is_provisioning_key"], false);
    assert_eq!(current["is_free_tier"], false);
    assert_eq!(current["rate_limit"]["requests"], -1);
    assert_eq!(current["usage"], 25.5);
    assert_eq!(current["usage_monthly"], 25.5);
    assert_eq!(current["limit_remaining"], 74.5);
    assert_eq!(
        current["allowed_data_regions"],
        json!(["global", "europe", "us"])
    );
    assert_fields(
        &current["free_model_daily_requests"],
        &["limit", "remaining", "used"],
    );
    let budgets = current["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 1);
    assert_fields(&budgets[0], BUDGET_FIELDS);
    assert_eq!(budgets[0]["scope"], "key_limit");
    assert_eq!(budgets[0]["limit_usd"], 100.0);
    assert_eq!(budgets[0]["spend_usd"], 25.5);
    assert_eq!(budgets[0]["remaining_usd"], 74.5);
    assert_eq!(budgets[0]["reset_interval"], "monthly");
    let resets_at = budgets[0]["resets_at"].as_str().unwrap();
    assert!(resets_at.ends_with("-01T00:00:00Z"), "{resets_at}");
    assert_eq!(current["effective_budget"], budgets[0]);

    let (lifetime_secret, _) = harness
        .create(json!({"name": "lifetime", "limit": 5}))
        .await;
    let lifetime = harness
        .api_as(Some(&lifetime_secret), Method::GET, "/key", None)
        .await;
    assert_eq!(lifetime.data()["budgets"][0]["resets_at"], Value::Null);
    let (unlimited_secret, unlimited_key) = harness.create(json!({"name": "unlimited"})).await;
    harness
        .record_usage(
            unlimited_key["hash"].as_str().unwrap(),
            json!({"usage": 0.0, "requests": 3, "model": "mistralai/mistral-small-3.2-24b-instruct:free"}),
        )
        .await;
    let unlimited = harness
        .api_as(Some(&unlimited_secret), Method::GET, "/key", None)
        .await;
    assert_eq!(unlimited.data()["budgets"], json!([]));
    assert_eq!(unlimited.data()["effective_budget"], Value::Null);
    assert_eq!(
        unlimited.data()["free_model_daily_requests"],
        json!({"limit": 1000, "remaining": 997, "used": 3})
    );

    let management = harness.api(Method::GET, "/key", None).await;
    assert_eq!(management.status, StatusCode::OK);
    assert_fields(management.data(), CURRENT_KEY_FIELDS);
    assert_eq!(management.data()["is_management_key"], true);
    assert_eq!(management.data()["is_provisioning_key"], true);
}

#[tokio::test]
async fn disabled_and_expired_keys_are_refused_by_get_key() {
    let harness = Harness::start().await;
    let (secret, data) = harness.create(json!({"name": "soon-off"})).await;
    let hash = data["hash"].as_str().unwrap();
    harness
        .api(
            Method::PATCH,
            &format!("/keys/{hash}"),
            Some(&json!({"disabled": true})),
        )
        .await;
    harness
        .api_as(Some(&secret), Method::GET, "/key", None)
        .await
        .assert_error(401, "disabled");

    let (expiring, _) = harness
        .create(json!({"name": "short", "expires_at": "2099-01-01T00:00:00Z"}))
        .await;
    harness.set_clock("2099-01-01T00:00:01Z").await;
    harness
        .api_as(Some(&expiring), Method::GET, "/key", None)
        .await
        .assert_error(401, "expired");
}

#[tokio::test]
async fn credits_shape() {
    let harness = Harness::start().await;
    let (_, data) = harness.create(json!({"name": "spender"})).await;
    harness
        .record_usage(
            data["hash"].as_str().unwrap(),
            json!({"usage": 1.5, "byok_usage": 4.0}),
        )
        .await;
    let reply = harness.api(Method::GET, "/credits", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_json(&reply.headers);
    assert_fields(reply.data(), &["total_credits", "total_usage"]);
    assert_eq!(reply.data()["total_usage"], 1.5);
    assert!(f(&reply.data()["total_credits"]) > 0.0);
    // Deleted keys' spend stays on the account.
    harness
        .api(
            Method::DELETE,
            &format!("/keys/{}", data["hash"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        harness.api(Method::GET, "/credits", None).await.data()["total_usage"],
        1.5
    );
}

#[tokio::test]
async fn authentication_errors() {
    let harness = Harness::start().await;
    let (secret, data) = harness.create(json!({"name": "inference"})).await;
    let hash = data["hash"].as_str().unwrap().to_owned();
    harness
        .api_as(None, Method::GET, "/keys", None)
        .await
        .assert_error(401, "Missing Authentication header");
    harness
        .api_as(None, Method::GET, "/key", None)
        .await
        .assert_error(401, "Missing Authentication header");
    harness
        .api_as(Some("sk-or-v1-0000"), Method::GET, "/keys", None)
        .await
        .assert_error(401, "Invalid API key");
    let raw = harness
        .http
        .get(format!("{}/keys", harness.emulator.base_url()))
        .header("authorization", format!("Basic {MANAGEMENT_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::UNAUTHORIZED);
    let lowercase = harness
        .http
        .get(format!("{}/keys", harness.emulator.base_url()))
        .header("authorization", format!("bearer   {MANAGEMENT_KEY} "))
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status(), StatusCode::OK);

    let forbidden = "Only management keys can perform this operation";
    let patch = json!({"name": "x"});
    let create = json!({"name": "x"});
    let calls: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, "/keys".into(), None),
        (Method::POST, "/keys".into(), Some(&create)),
        (Method::GET, format!("/keys/{hash}"), None),
        (Method::PATCH, format!("/keys/{hash}"), Some(&patch)),
        (Method::DELETE, format!("/keys/{hash}"), None),
        (Method::GET, "/credits".into(), None),
        (Method::GET, "/activity".into(), None),
    ];
    for (method, path, body) in calls {
        harness
            .api_as(Some(&secret), method, &path, body)
            .await
            .assert_error(403, forbidden);
    }
    assert_eq!(
        harness
            .api_as(Some(&secret), Method::GET, "/key", None)
            .await
            .status,
        StatusCode::OK
    );
    // The inference key survived all of that.
    harness.key(&hash).await;
}

#[tokio::test]
async fn unknown_hash_and_unknown_paths() {
    let harness = Harness::start().await;
    for method in [Method::GET, Method::DELETE] {
        harness
            .api(method, "/keys/nope", None)
            .await
            .assert_error(404, "Key not found");
    }
    harness
        .api(Method::PATCH, "/keys/nope", Some(&json!({"name": "x"})))
        .await
        .assert_error(404, "Key not found");
    harness
        .api(Method::GET, "/nothing-here", None)
        .await
        .assert_error(404, "Not Found");
    harness
        .api(Method::PUT, "/keys", None)
        .await
        .assert_error(405, "Method Not Allowed");
}

#[tokio::test]
async fn create_validation_errors_name_the_field() {
    let harness = Harness::start().await;
    let cases = [
        (json!({}), "\"name\""),
        (json!({"name": ""}), "\"name\""),
        (json!({"name": "   "}), "\"name\""),
        (json!({"name": 5}), "\"name\""),
        (json!({"name": "k", "limit": "10"}), "\"limit\""),
        (json!({"name": "k", "limit": -1}), "\"limit\""),
        (
            json!({"name": "k", "limit_reset": "yearly"}),
            "\"limit_reset\"",
        ),
        (json!({"name": "k", "limit_reset": 1}), "\"limit_reset\""),
        (
            json!({"name": "k", "include_byok_in_limit": "yes"}),
            "\"include_byok_in_limit\"",
        ),
        (
            json!({"name": "k", "expires_at": "2099-01-02T03:04"}),
            "\"expires_at\"",
        ),
        (
            json!({"name": "k", "expires_at": "2099-01-02T03:04Z"}),
            "\"expires_at\"",
        ),
        (
            json!({"name": "k", "expires_at": "2099-01-02T03:04:05"}),
            "\"expires_at\"",
        ),
        (
            json!({"name": "k", "expires_at": "tomorrow"}),
            "\"expires_at\"",
        ),
        (
            json!({"name": "k", "expires_at": "2001-01-02T03:04:05Z"}),
            "in the future",
        ),
        (
            json!({"name": "k", "workspace_id": "not-a-uuid"}),
            "\"workspace_id\"",
        ),
        (json!({"name": "k", "external": {}}), "\"external.user\""),
        (
            json!({"name": "k", "external": {"user": "u", "api_key": "short"}}),
            "\"external.api_key\"",
        ),
        (json!({"name": "k", "external": "u"}), "\"external\""),
        (
            json!({"name": "k", "creator_user_id": 3}),
            "\"creator_user_id\"",
        ),
        (json!(["name"]), "JSON object"),
    ];
    for (body, message) in cases {
        harness
            .api(Method::POST, "/keys", Some(&body))
            .await
            .assert_error(400, message);
    }
    let malformed = harness
        .http
        .post(format!("{}/keys", harness.emulator.base_url()))
        .bearer_auth(MANAGEMENT_KEY)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON body")
    );
    let listed = harness
        .api(
            Method::GET,
            "/keys?include_disabled=true&include_expired=true",
            None,
        )
        .await;
    assert_eq!(
        listed.data(),
        &json!([]),
        "no failed create left a key behind"
    );
}

#[tokio::test]
async fn patch_distinguishes_null_from_absent() {
    let harness = Harness::start().await;
    let (_, data) = harness
        .create(json!({"name": "k", "limit": 10.0, "limit_reset": "daily", "include_byok_in_limit": true}))
        .await;
    let path = format!("/keys/{}", data["hash"].as_str().unwrap());

    harness
        .api(Method::PATCH, &path, Some(&json!({})))
        .await
        .assert_error(400, "No update fields provided");
    harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"expires_at": null, "bogus": 1})),
        )
        .await
        .assert_error(400, "No update fields provided");
    harness
        .api(Method::PATCH, &path, None)
        .await
        .assert_error(400, "No update fields provided");

    // Absent fields stay as they were.
    let renamed = harness
        .api(Method::PATCH, &path, Some(&json!({"name": "n2"})))
        .await;
    assert_eq!(renamed.data()["limit"], 10.0);
    assert_eq!(renamed.data()["limit_reset"], "daily");
    assert_eq!(renamed.data()["include_byok_in_limit"], true);

    // null clears limit and limit_reset.
    let cleared = harness
        .api(Method::PATCH, &path, Some(&json!({"limit": null})))
        .await;
    assert_eq!(cleared.data()["limit"], Value::Null);
    assert_eq!(cleared.data()["limit_remaining"], Value::Null);
    assert_eq!(cleared.data()["limit_reset"], "daily");
    let cleared = harness
        .api(Method::PATCH, &path, Some(&json!({"limit_reset": null})))
        .await;
    assert_eq!(cleared.data()["limit_reset"], Value::Null);

    harness
        .ensure_workspace("11111111-2222-4333-8444-555555555555")
        .await;
    let all = harness
        .api(
            Method::PATCH,
            &path,
            Some(&json!({"disabled": true, "limit": 3, "limit_reset": "weekly", "include_byok_in_limit": false,
                         "workspace_id": "11111111-2222-4333-8444-555555555555"})),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.data()["disabled"], true);
    assert_eq!(all.data()["limit"], 3.0);
    assert_eq!(all.data()["limit_reset"], "weekly");
    assert_eq!(all.data()["include_byok_in_limit"], false);
    assert_eq!(
        all.data()["workspace_id"],
        "11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(
        all.data()["hash"],
        data["hash"],
        "moving workspaces keeps the key"
    );

    let invalid = [
        (json!({"name": null}), "\"name\""),
        (json!({"name": ""}), "\"name\""),
        (json!({"disabled": "true"}), "\"disabled\""),
        (json!({"disabled": null}), "\"disabled\""),
        (json!({"limit": -5}), "\"limit\""),
        (json!({"limit_reset": "hourly"}), "\"limit_reset\""),
        (
            json!({"include_byok_in_limit": 1}),
            "\"include_byok_in_limit\"",
        ),
        (json!({"workspace_id": "nope"}), "\"workspace_id\""),
        (json!({"name": "ok", "limit": "x"}), "\"limit\""),
    ];
    for (body, message) in invalid {
        harness
            .api(Method::PATCH, &path, Some(&body))
            .await
            .assert_error(400, message);
    }
    assert_eq!(
        harness.key(data["hash"].as_str().unwrap()).await["name"],
        "n2",
        "failed PATCHes change nothing"
    );
}

#[tokio::test]
async fn query_validation() {
    let harness = Harness::start().await;
    for query in ["offset=-1", "offset=abc", "offset=1.5", "offset="] {
        harness
            .api(Method::GET, &format!("/keys?{query}"), None)
            .await
            .assert_error(400, "\"offset\"");
    }
    for query in [
        "include_disabled=yes",
        "include_disabled=1",
        "include_expired=TRUE",
    ] {
        let name = query.split('=').next().unwrap();
        harness
            .api(Method::GET, &format!("/keys?{query}"), None)
            .await
            .assert_error(400, name);
    }
    harness
        .api(Method::GET, "/keys?workspace_id=x", None)
        .await
        .assert_error(400, "\"workspace_id\"");
    let fine = harness
        .api(
            Method::GET,
            "/keys?offset=0&include_disabled=false&whatever=1",
            None,
        )
        .await;
    assert_eq!(fine.status, StatusCode::OK);
}
