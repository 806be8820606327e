//! The emulated `/workspaces` (CRUD, members, budgets) and `/organization/members` over real HTTP:
//! shapes, paging, validation, the rules between workspaces and keys, persistence and the demo seed.

mod common;

use common::*;
use openrouter_emulator::{DEFAULT_WORKSPACE_ID, EmulatorConfig, RESEARCH_WORKSPACE_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WORKSPACE_FIELDS: &[&str] = &[
    "id",
    "default_guardrail_id",
    "name",
    "slug",
    "description",
    "default_text_model",
    "default_image_model",
    "default_provider_sort",
    "is_observability_io_logging_enabled",
    "is_observability_broadcast_enabled",
    "is_data_discount_logging_enabled",
    "io_logging_sampling_rate",
    "io_logging_api_key_ids",
    "created_at",
    "updated_at",
    "created_by",
];

async fn create_workspace(harness: &Harness, name: &str, slug: &str) -> Value {
    let reply = harness
        .api(
            Method::POST,
            "/workspaces",
            Some(&json!({"name": name, "slug": slug})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.data().clone()
}

// A helper, not a test: the lint's test exemption doesn't reach it, and a panic is the point.
#[allow(clippy::unwrap_used)]
fn ids(reply: &Reply) -> Vec<String> {
    reply
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_default_workspace_always_exists() {
    let harness = Harness::start().await;
    let list = harness.api(Method::GET, "/workspaces", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["total_count"], 1);
    let default = &list.data()[0];
    assert_fields(default, WORKSPACE_FIELDS);
    assert_eq!(default["id"], DEFAULT_WORKSPACE_ID);
    assert_eq!(default["slug"], "default");
    for path in [
        format!("/workspaces/{DEFAULT_WORKSPACE_ID}"),
        "/workspaces/default".to_owned(),
    ] {
        let got = harness.api(Method::GET, &path, None).await;
        assert_eq!(got.data()["id"], DEFAULT_WORKSPACE_ID, "{path}");
    }
    harness
        .api(Method::DELETE, "/workspaces/default", None)
        .await
        .assert_error(400, "default workspace");
    // A reset keeps it too.
    harness
        .control(Method::POST, "/reset", Some(&json!({})))
        .await;
    let list = harness.api(Method::GET, "/workspaces", None).await;
    assert_eq!(ids(&list), vec![DEFAULT_WORKSPACE_ID.to_owned()]);
}

#[tokio::test]
async fn create_read_update_and_delete() {
    let harness = Harness::start().await;
    let reply = harness
        .api(
            Method::POST,
            "/workspaces",
            Some(&json!({"name": "Research", "slug": "research", "description": "evals",
                         "default_text_model": "openai/gpt-4.1", "io_logging_sampling_rate": 0.5,
                         "is_observability_broadcast_enabled": true, "io_logging_api_key_ids": [1, 2]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.data().clone();
    assert_fields(&created, WORKSPACE_FIELDS);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(created["description"], "evals");
    assert_eq!(created["default_text_model"], "openai/gpt-4.1");
    assert_eq!(created["io_logging_sampling_rate"], 0.5);
    assert_eq!(created["is_observability_broadcast_enabled"], true);
    assert_eq!(created["io_logging_api_key_ids"], json!([1, 2]));
    assert_eq!(created["updated_at"], Value::Null);
    assert_ne!(created["default_guardrail_id"], Value::Null);

    let by_slug = harness.api(Method::GET, "/workspaces/research", None).await;
    assert_eq!(by_slug.data()["id"], id.as_str());

    let updated = harness
        .api(
            Method::PATCH,
            &format!("/workspaces/{id}"),
            Some(&json!({"name": "Research & Dev", "slug": "rnd", "description": null})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.data()["name"], "Research & Dev");
    assert_eq!(updated.data()["slug"], "rnd");
    assert_eq!(updated.data()["description"], Value::Null);
    assert_eq!(updated.data()["default_text_model"], "openai/gpt-4.1");
    assert_ne!(updated.data()["updated_at"], Value::Null);
    harness
        .api(Method::GET, "/workspaces/research", None)
        .await
        .assert_error(404, "Workspace not found");

    let deleted = harness
        .api(Method::DELETE, &format!("/workspaces/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body, json!({"deleted": true}));
    harness
        .api(Method::GET, &format!("/workspaces/{id}"), None)
        .await
        .assert_error(404, "Workspace not found");
    harness
        .api(Method::DELETE, &format!("/workspaces/{id}"), None)
        .await
        .assert_error(404, "Workspace not found");
}

#[tokio::test]
async fn bad_workspace_fields_are_400() {
    let harness = Harness::start().await;
    create_workspace(&harness, "Taken", "taken").await;
    for (body, message) in [
        (json!({"slug": "a"}), "\"name\""),
        (json!({"name": "", "slug": "a"}), "\"name\""),
        (json!({"name": "x".repeat(101), "slug": "a"}), "\"name\""),
        (json!({"name": "A"}), "\"slug\""),
        (json!({"name": "A", "slug": "Upper"}), "\"slug\""),
        (json!({"name": "A", "slug": "a--b"}), "\"slug\""),
        (json!({"name": "A", "slug": "-a"}), "\"slug\""),
        (json!({"name": "A", "slug": "a".repeat(51)}), "\"slug\""),
        (json!({"name": "A", "slug": "taken"}), "already used"),
        (
            json!({"name": "A", "slug": "a", "description": "d".repeat(501)}),
            "\"description\"",
        ),
        (
            json!({"name": "A", "slug": "a", "io_logging_sampling_rate": 0}),
            "\"io_logging_sampling_rate\"",
        ),
        (
            json!({"name": "A", "slug": "a", "is_data_discount_logging_enabled": "yes"}),
            "\"is_data_discount_logging_enabled\"",
        ),
        (
            json!({"name": "A", "slug": "a", "io_logging_api_key_ids": ["x"]}),
            "\"io_logging_api_key_ids\"",
        ),
    ] {
        harness
            .api(Method::POST, "/workspaces", Some(&body))
            .await
            .assert_error(400, message);
    }
    harness
        .api(
            Method::PATCH,
            "/workspaces/default",
            Some(&json!({"slug": "taken"})),
        )
        .await
        .assert_error(400, "already used");
    harness
        .api(
            Method::PATCH,
            "/workspaces/nope",
            Some(&json!({"name": "x"})),
        )
        .await
        .assert_error(404, "Workspace not found");
    let list = harness.api(Method::GET, "/workspaces", None).await;
    assert_eq!(list.body["total_count"], 2, "nothing half-created");
}

#[tokio::test]
async fn lists_page_by_offset_and_limit() {
    let harness = Harness::start().await;
    for index in 0..6 {
        create_workspace(&harness, &format!("W{index}"), &format!("w{index}")).await;
    }
    let all = harness.api(Method::GET, "/workspaces", None).await;
    assert_eq!(all.body["total_count"], 7);
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 7);
    let page = harness
        .api(Method::GET, "/workspaces?offset=2&limit=3", None)
        .await;
    assert_eq!(ids(&page), all_ids[2..5].to_vec());
    assert_eq!(page.body["total_count"], 7);
    let past = harness
        .api(Method::GET, "/workspaces?offset=50", None)
        .await;
    assert_eq!(past.data(), &json!([]));
    for query in ["limit=0", "limit=101", "limit=x", "offset=-1"] {
        harness
            .api(Method::GET, &format!("/workspaces?{query}"), None)
            .await
            .assert_error(400, "");
    }
}

#[tokio::test]
async fn only_management_keys_may_call() {
    let harness = Harness::start().await;
    let (secret, _) = harness.create(json!({"name": "inference"})).await;
    for (method, path) in [
        (Method::GET, "/workspaces"),
        (Method::POST, "/workspaces"),
        (Method::GET, "/workspaces/default"),
        (Method::PATCH, "/workspaces/default"),
        (Method::DELETE, "/workspaces/default"),
        (Method::GET, "/workspaces/default/members"),
        (Method::POST, "/workspaces/default/members/add"),
        (Method::POST, "/workspaces/default/members/remove"),
        (Method::GET, "/workspaces/default/budgets"),
        (Method::GET, "/workspaces/default/budgets/daily"),
        (Method::PUT, "/workspaces/default/budgets/daily"),
        (Method::DELETE, "/workspaces/default/budgets/daily"),
        (Method::GET, "/organization/members"),
    ] {
        let body = json!({});
        harness
            .api_as(Some(&secret), method.clone(), path, Some(&body))
            .await
            .assert_error(403, "management keys");
        harness
            .api_as(None, method, path, Some(&body))
            .await
            .assert_error(401, "Missing Authentication header");
    }
}

#[tokio::test]
async fn keys_need_an_existing_workspace_and_keep_theirs_alive() {
    let harness = Harness::start().await;
    let workspace = create_workspace(&harness, "Team", "team").await;
    let id = workspace["id"].as_str().unwrap();
    let unknown = "99999999-2222-4333-8444-555555555555";
    harness
        .api(
            Method::POST,
            "/keys",
            Some(&json!({"name": "k", "workspace_id": unknown})),
        )
        .await
        .assert_error(400, "names no workspace");
    let (_, key) = harness
        .create(json!({"name": "in team", "workspace_id": id}))
        .await;
    assert_eq!(key["workspace_id"], id);
    let hash = key["hash"].as_str().unwrap();
    harness
        .api(
            Method::PATCH,
            &format!("/keys/{hash}"),
            Some(&json!({"workspace_id": unknown})),
        )
        .await
        .assert_error(400, "names no workspace");
    harness
        .api(Method::DELETE, &format!("/workspaces/{id}"), None)
        .await
        .assert_error(400, "still holds 1 API key");
    harness
        .api(Method::DELETE, &format!("/keys/{hash}"), None)
        .await;
    let deleted = harness
        .api(Method::DELETE, &format!("/workspaces/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
}

#[tokio::test]
async fn members_are_added_from_the_organization_and_removed() {
    let harness = Harness::start().await;
    let workspace = create_workspace(&harness, "Team", "team").await;
    let id = workspace["id"].as_str().unwrap();
    for (user, role) in [("user_a", "org:admin"), ("user_b", "org:member")] {
        let reply = harness
            .control(
                Method::POST,
                "/organization/members",
                Some(&json!({"id": user, "email": format!("{user}@x.test"), "role": role})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let org = harness
        .api(Method::GET, "/organization/members", None)
        .await;
    assert_eq!(
        org.body["total_count"], 3,
        "the account's user and two more"
    );
    assert_fields(
        &org.data()[1],
        &["id", "email", "first_name", "last_name", "role"],
    );

    let members_path = format!("/workspaces/{id}/members");
    let empty = harness.api(Method::GET, &members_path, None).await;
    assert_eq!(empty.body, json!({"data": [], "total_count": 0}));

    let added = harness
        .api(
            Method::POST,
            &format!("{members_path}/add"),
            Some(&json!({"user_ids": ["user_a", "user_b", "user_a"]})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["added_count"], 2);
    let first = &added.data()[0];
    assert_fields(
        first,
        &["id", "workspace_id", "user_id", "role", "created_at"],
    );
    assert_eq!(first["role"], "admin");
    assert_eq!(added.data()[1]["role"], "member");
    assert_eq!(first["workspace_id"], id);

    let listed = harness.api(Method::GET, &members_path, None).await;
    assert_eq!(listed.body["total_count"], 2);
    let paged = harness
        .api(
            Method::GET,
            &format!("{members_path}?offset=1&limit=1"),
            None,
        )
        .await;
    assert_eq!(paged.data()[0]["user_id"], "user_b");

    harness
        .api(
            Method::POST,
            &format!("{members_path}/add"),
            Some(&json!({"user_ids": ["stranger"]})),
        )
        .await
        .assert_error(400, "not a member of the organization");
    for body in [
        json!({}),
        json!({"user_ids": []}),
        json!({"user_ids": [""]}),
    ] {
        harness
            .api(Method::POST, &format!("{members_path}/add"), Some(&body))
            .await
            .assert_error(400, "\"user_ids\"");
    }
    let too_many: Vec<String> = (0..101).map(|n| format!("u{n}")).collect();
    harness
        .api(
            Method::POST,
            &format!("{members_path}/remove"),
            Some(&json!({"user_ids": too_many})),
        )
        .await
        .assert_error(400, "\"user_ids\"");

    let removed = harness
        .api(
            Method::POST,
            &format!("{members_path}/remove"),
            Some(&json!({"user_ids": ["user_a", "nobody"]})),
        )
        .await;
    assert_eq!(removed.body, json!({"removed_count": 1}));
    let listed = harness.api(Method::GET, &members_path, None).await;
    assert_eq!(listed.data()[0]["user_id"], "user_b");
    harness
        .api(Method::GET, "/workspaces/nope/members", None)
        .await
        .assert_error(404, "Workspace not found");
    harness
        .api(
            Method::POST,
            "/workspaces/nope/members/add",
            Some(&json!({"user_ids": ["user_a"]})),
        )
        .await
        .assert_error(404, "Workspace not found");
}

#[tokio::test]
async fn budgets_per_interval() {
    let harness = Harness::start().await;
    let budgets = "/workspaces/default/budgets";
    let none = harness.api(Method::GET, budgets, None).await;
    assert_eq!(
        none.body,
        json!({"data": [], "include_byok_in_budgets": false})
    );
    harness
        .api(Method::GET, &format!("{budgets}/monthly"), None)
        .await
        .assert_error(404, "no budget");

    let monthly = harness
        .api(
            Method::PUT,
            &format!("{budgets}/monthly"),
            Some(&json!({"limit_usd": 100, "include_byok_in_budgets": true})),
        )
        .await;
    assert_eq!(monthly.status, StatusCode::OK, "{}", monthly.body);
    assert_fields(
        monthly.data(),
        &[
            "id",
            "workspace_id",
            "limit_usd",
            "reset_interval",
            "created_at",
            "updated_at",
        ],
    );
    assert_eq!(monthly.data()["reset_interval"], "monthly");
    assert_eq!(monthly.data()["limit_usd"], 100.0);
    assert_eq!(monthly.data()["workspace_id"], DEFAULT_WORKSPACE_ID);
    assert_eq!(monthly.body["include_byok_in_budgets"], true);
    let budget_id = monthly.data()["id"].clone();

    let lifetime = harness
        .api(
            Method::PUT,
            &format!("{budgets}/lifetime"),
            Some(&json!({"limit_usd": 500.5})),
        )
        .await;
    assert_eq!(lifetime.data()["reset_interval"], Value::Null);
    assert_eq!(
        lifetime.body["include_byok_in_budgets"], true,
        "left out, the flag stays"
    );

    // Narrower intervals need smaller limits.
    for (interval, limit) in [("weekly", 100.0), ("daily", 150.0), ("lifetime", 99.0)] {
        harness
            .api(
                Method::PUT,
                &format!("{budgets}/{interval}"),
                Some(&json!({"limit_usd": limit})),
            )
            .await
            .assert_error(400, "strictly decrease");
    }
    for body in [
        json!({}),
        json!({"limit_usd": 0}),
        json!({"limit_usd": -1}),
        json!({"limit_usd": "5"}),
        json!({"limit_usd": 5, "include_byok_in_budgets": 1}),
    ] {
        harness
            .api(Method::PUT, &format!("{budgets}/daily"), Some(&body))
            .await
            .assert_error(400, "");
    }
    harness
        .api(Method::GET, &format!("{budgets}/yearly"), None)
        .await
        .assert_error(400, "\"interval\"");

    let raised = harness
        .api(
            Method::PUT,
            &format!("{budgets}/monthly"),
            Some(&json!({"limit_usd": 120})),
        )
        .await;
    assert_eq!(raised.data()["id"], budget_id, "an upsert keeps the budget");
    assert_eq!(raised.data()["limit_usd"], 120.0);

    let listed = harness.api(Method::GET, budgets, None).await;
    let intervals: Vec<&Value> = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|budget| &budget["reset_interval"])
        .collect();
    assert_eq!(intervals, vec![&json!("monthly"), &Value::Null]);

    let got = harness
        .api(Method::GET, &format!("{budgets}/lifetime"), None)
        .await;
    assert_eq!(got.data()["limit_usd"], 500.5);
    for _ in 0..2 {
        let deleted = harness
            .api(Method::DELETE, &format!("{budgets}/lifetime"), None)
            .await;
        assert_eq!(deleted.body, json!({"deleted": true}));
    }
    harness
        .api(Method::GET, &format!("{budgets}/lifetime"), None)
        .await
        .assert_error(404, "no budget");
    harness
        .api(Method::DELETE, "/workspaces/nope/budgets/daily", None)
        .await
        .assert_error(404, "Workspace not found");
    harness
        .api(Method::GET, "/workspaces/nope/budgets", None)
        .await
        .assert_error(404, "Workspace not found");
}

#[tokio::test]
async fn workspaces_survive_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let config = EmulatorConfig::default()
        .management_key(MANAGEMENT_KEY)
        .state_file(&path);
    let harness = Harness::with(config.clone()).await;
    let id = create_workspace(&harness, "Kept", "kept").await["id"].clone();
    harness
        .api(
            Method::PUT,
            "/workspaces/kept/budgets/daily",
            Some(&json!({"limit_usd": 3})),
        )
        .await;
    harness.emulator.shutdown().await;

    let again = Harness::with(config).await;
    let got = again.api(Method::GET, "/workspaces/kept", None).await;
    assert_eq!(got.data()["id"], id);
    let budget = again
        .api(Method::GET, "/workspaces/kept/budgets/daily", None)
        .await;
    assert_eq!(budget.data()["limit_usd"], 3.0);
}

#[tokio::test]
async fn the_demo_account_has_a_research_workspace_with_keys() {
    let harness = Harness::with(
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .seed_demo(12)
            .seed(4),
    )
    .await;
    let list = harness.api(Method::GET, "/workspaces", None).await;
    assert!(ids(&list).contains(&RESEARCH_WORKSPACE_ID.to_owned()));
    let count = |workspace: &'static str| {
        let harness = &harness;
        async move {
            harness
                .api(
                    Method::GET,
                    &format!(
                        "/keys?workspace_id={workspace}&include_disabled=true&include_expired=true"
                    ),
                    None,
                )
                .await
                .data()
                .as_array()
                .unwrap()
                .len()
        }
    };
    let (default, research) = (
        count(DEFAULT_WORKSPACE_ID).await,
        count(RESEARCH_WORKSPACE_ID).await,
    );
    assert_eq!(default + research, 12);
    assert_eq!(research, 4);
    let org = harness
        .api(Method::GET, "/organization/members", None)
        .await;
    assert!(org.body["total_count"].as_u64().unwrap() >= 3);
    let budgets = harness
        .api(
            Method::GET,
            &format!("/workspaces/{RESEARCH_WORKSPACE_ID}/budgets"),
            None,
        )
        .await;
    assert_eq!(budgets.data().as_array().unwrap().len(), 1);
    let members = harness
        .api(
            Method::GET,
            &format!("/workspaces/{RESEARCH_WORKSPACE_ID}/members"),
            None,
        )
        .await;
    assert_eq!(members.body["total_count"], 2);
}

#[tokio::test]
async fn seeding_can_spread_keys_over_workspaces() {
    let harness = Harness::start().await;
    let reply = harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 10, "seed": 1, "workspaces": 5})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let list = harness.api(Method::GET, "/workspaces", None).await;
    assert_eq!(list.body["total_count"], 5);
    for id in ids(&list) {
        let keys = harness
            .api(
                Method::GET,
                &format!("/keys?workspace_id={id}&include_disabled=true&include_expired=true"),
                None,
            )
            .await;
        assert_eq!(keys.data().as_array().unwrap().len(), 2, "{id}");
    }
    harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 1, "workspaces": 0})),
        )
        .await
        .assert_error(400, "\"workspaces\"");
}
