//! `POST /chat/completions`: what a key's requests meet, one rule a test — the key (401), workspace
//! budgets, the guardrail's budget, the key's limit and the credits (402), the guardrail's lists and
//! BYOK access (403) — and the usage charged to the key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MODEL: &str = "openai/gpt-5-mini";
const OTHER_MODEL: &str = "anthropic/claude-sonnet-4";
const PROVIDER_KEY: &str = "sk-proj-chat-test-provider-secret-AbCd";

fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Say hello in five words."}]})
}

fn byok_body(model: &str, provider: &str) -> Value {
    let mut body = chat_body(model);
    body["provider"] = json!({"only": [provider]});
    body
}

async fn chat(harness: &Harness, secret: &str, body: &Value) -> Reply {
    harness
        .api_as(Some(secret), Method::POST, "/chat/completions", Some(body))
        .await
}

/// A new key: (secret, hash).
async fn key(harness: &Harness, body: Value) -> (String, String) {
    let (secret, data) = harness.create(body).await;
    (secret, data["hash"].as_str().unwrap().to_owned())
}

async fn guardrail(harness: &Harness, body: Value, hash: &str) -> String {
    let reply = harness.api(Method::POST, "/guardrails", Some(&body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.data()["id"].as_str().unwrap().to_owned();
    let assigned = harness
        .api(
            Method::POST,
            &format!("/guardrails/{id}/assignments/keys"),
            Some(&json!({"key_hashes": [hash]})),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    id
}

async fn byok(harness: &Harness, body: Value) -> String {
    let reply = harness.api(Method::POST, "/byok", Some(&body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.data()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_completion_answers_in_the_sdk_shape_and_charges_the_key() {
    let harness = Harness::start().await;
    harness.set_clock("2030-06-15T12:00:00Z").await;
    let (secret, hash) = key(&harness, json!({"name": "app"})).await;
    let reply = chat(&harness, &secret, &chat_body(MODEL)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_json(&reply.headers);
    let body = &reply.body;
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], MODEL);
    assert!(body["id"].as_str().unwrap().starts_with("gen-"));
    assert!(body["created"].is_i64());
    assert_eq!(body["system_fingerprint"], Value::Null);
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(
        !body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(usage["is_byok"], false);
    let cost = f(&usage["cost"]);
    assert!(cost > 0.0 && cost < 0.01, "a realistic price: {cost}");

    let after = harness.key(&hash).await;
    assert!((f(&after["usage"]) - cost).abs() < 1e-9);
    assert!((f(&after["usage_daily"]) - cost).abs() < 1e-9);
    assert_eq!(f(&after["byok_usage"]), 0.0);
    assert!(after["last_used_at"].is_string());
    // `/activity` shows it once the day is complete.
    harness.advance(86_400.0).await;
    let activity = harness
        .api(Method::GET, &format!("/activity?api_key_hash={hash}"), None)
        .await;
    assert_eq!(activity.data()[0]["model"], MODEL);
    assert_eq!(activity.data()[0]["requests"], 1);
}

#[tokio::test]
async fn unknown_disabled_and_expired_keys_get_401_and_management_keys_403() {
    let harness = Harness::start().await;
    let body = chat_body(MODEL);
    chat(&harness, "sk-or-v1-nope", &body)
        .await
        .assert_error(401, "Invalid API key");
    let (secret, hash) = key(&harness, json!({"name": "soon off"})).await;
    let off = harness
        .api(
            Method::PATCH,
            &format!("/keys/{hash}"),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    chat(&harness, &secret, &body)
        .await
        .assert_error(401, "API key is disabled");
    let (expiring, _) = key(
        &harness,
        json!({"name": "expiring", "expires_at": "2099-01-01T00:00:00Z"}),
    )
    .await;
    harness.set_clock("2099-01-02T00:00:00Z").await;
    chat(&harness, &expiring, &body)
        .await
        .assert_error(401, "API key has expired");
    chat(&harness, MANAGEMENT_KEY, &body)
        .await
        .assert_error(403, "Management keys");
}

#[tokio::test]
async fn bad_requests_are_400_and_streaming_is_refused() {
    let harness = Harness::start().await;
    let (secret, _) = key(&harness, json!({"name": "app"})).await;
    for (body, message) in [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            "\"model\"",
        ),
        (chat_body("nobody/no-model"), "not a valid model ID"),
        (json!({"model": MODEL, "messages": []}), "\"messages\""),
        (
            json!({"model": MODEL, "messages": [{"content": "x"}]}),
            "\"role\"",
        ),
        (
            json!({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": true}),
            "does not stream",
        ),
        (
            json!({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "provider": {"only": "openai"}}),
            "provider.only",
        ),
    ] {
        chat(&harness, &secret, &body)
            .await
            .assert_error(400, message);
    }
    chat(&harness, &secret, &byok_body(MODEL, "anthropic"))
        .await
        .assert_error(404, "No endpoints found");
}

#[tokio::test]
async fn a_workspace_budget_is_pooled_over_its_keys() {
    let harness = Harness::start().await;
    // Mid-month, mid-day: spend and the check fall in the same budget window.
    harness.set_clock("2030-06-15T12:00:00Z").await;
    let (first, first_hash) = key(&harness, json!({"name": "first"})).await;
    let (second, _) = key(&harness, json!({"name": "second"})).await;
    let put = harness
        .api(
            Method::PUT,
            "/workspaces/default/budgets/monthly",
            Some(&json!({"limit_usd": 1.0})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        chat(&harness, &second, &chat_body(MODEL)).await.status,
        StatusCode::OK
    );
    harness
        .record_usage(&first_hash, json!({"usage": 1.0}))
        .await;
    // The first key's spend stops the second one too.
    chat(&harness, &second, &chat_body(MODEL))
        .await
        .assert_error(
            402,
            "Workspace \"Default Workspace\" has used up its monthly budget",
        );
    chat(&harness, &first, &chat_body(MODEL))
        .await
        .assert_error(402, "monthly budget");
}

#[tokio::test]
async fn a_guardrail_budget_is_per_key_and_comes_before_the_key_limit() {
    let harness = Harness::start().await;
    harness.set_clock("2030-06-15T12:00:00Z").await;
    let (secret, hash) = key(&harness, json!({"name": "guarded", "limit": 0.5})).await;
    let (other, other_hash) = key(&harness, json!({"name": "also guarded"})).await;
    let id = guardrail(
        &harness,
        json!({"name": "Small budget", "limit_usd": 0.25, "reset_interval": "monthly"}),
        &hash,
    )
    .await;
    let assigned = harness
        .api(
            Method::POST,
            &format!("/guardrails/{id}/assignments/keys"),
            Some(&json!({"key_hashes": [other_hash]})),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK);
    harness.record_usage(&hash, json!({"usage": 0.6})).await;
    // Over both the guardrail's budget and its own limit: the guardrail answers first.
    chat(&harness, &secret, &chat_body(MODEL))
        .await
        .assert_error(402, "Guardrail \"Small budget\" budget exceeded");
    // The other key under the same guardrail has its own budget.
    assert_eq!(
        chat(&harness, &other, &chat_body(MODEL)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_key_limit_then_the_credits_answer_402() {
    let harness = Harness::start().await;
    let (secret, hash) = key(&harness, json!({"name": "limited", "limit": 0.1})).await;
    assert_eq!(
        chat(&harness, &secret, &chat_body(MODEL)).await.status,
        StatusCode::OK
    );
    harness.record_usage(&hash, json!({"usage": 0.1})).await;
    chat(&harness, &secret, &chat_body(MODEL))
        .await
        .assert_error(402, "Key limit exceeded");

    let (free, _) = key(&harness, json!({"name": "unlimited"})).await;
    let credits = harness
        .control(
            Method::POST,
            "/credits",
            Some(&json!({"total_credits": 0.1})),
        )
        .await;
    assert_eq!(credits.status, StatusCode::OK);
    chat(&harness, &free, &chat_body(MODEL))
        .await
        .assert_error(402, "Insufficient credits");
}

#[tokio::test]
async fn a_guardrail_model_or_provider_block_is_403_naming_it() {
    let harness = Harness::start().await;
    let (secret, hash) = key(&harness, json!({"name": "guarded"})).await;
    guardrail(
        &harness,
        json!({"name": "Only GPT-5 mini", "allowed_models": [MODEL]}),
        &hash,
    )
    .await;
    assert_eq!(
        chat(&harness, &secret, &chat_body(MODEL)).await.status,
        StatusCode::OK
    );
    chat(&harness, &secret, &chat_body(OTHER_MODEL))
        .await
        .assert_error(
            403,
            "Guardrail \"Only GPT-5 mini\" does not allow the model",
        );

    let (ignored, ignored_hash) = key(&harness, json!({"name": "no openai"})).await;
    guardrail(
        &harness,
        json!({"name": "No OpenAI", "ignored_providers": ["openai"]}),
        &ignored_hash,
    )
    .await;
    chat(&harness, &ignored, &chat_body(MODEL))
        .await
        .assert_error(
            403,
            "Guardrail \"No OpenAI\" does not allow the provider openai",
        );
    assert_eq!(
        chat(&harness, &ignored, &chat_body(OTHER_MODEL))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn byok_routing_needs_a_credential_that_admits_the_key() {
    let harness = Harness::start().await;
    let (allowed, allowed_hash) = key(&harness, json!({"name": "allowed"})).await;
    let (outsider, _) = key(&harness, json!({"name": "outsider"})).await;
    byok(
        &harness,
        json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_api_key_hashes": [allowed_hash]}),
    )
    .await;

    let reply = chat(&harness, &allowed, &byok_body(MODEL, "openai")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["usage"]["is_byok"], true);
    let charged = harness.key(&allowed_hash).await;
    assert!(f(&charged["byok_usage"]) > 0.0);
    assert_eq!(f(&charged["usage"]), 0.0);

    // A key the credential does not name, demanding BYOK: 403 (a key that lost its BYOK access).
    chat(&harness, &outsider, &byok_body(MODEL, "openai"))
        .await
        .assert_error(403, "No BYOK credential for openai");
    // Not demanding it, the request is served on credits.
    let plain = chat(&harness, &outsider, &chat_body(MODEL)).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.body["usage"]["is_byok"], false);
    // A provider without credentials in the workspace is served on credits even with `only`.
    let other = chat(&harness, &outsider, &byok_body(OTHER_MODEL, "anthropic")).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn byok_allowed_models_and_users_also_admit_or_refuse() {
    let harness = Harness::start().await;
    let (secret, _) = key(
        &harness,
        json!({"name": "app", "creator_user_id": "user_other"}),
    )
    .await;
    let id = byok(
        &harness,
        json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_models": ["openai/gpt-5"]}),
    )
    .await;
    chat(&harness, &secret, &byok_body(MODEL, "openai"))
        .await
        .assert_error(403, "BYOK");
    let patched = harness
        .api(
            Method::PATCH,
            &format!("/byok/{id}"),
            Some(&json!({"allowed_models": null, "allowed_user_ids": ["user_other"]})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        chat(&harness, &secret, &byok_body(MODEL, "openai"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn credentials_of_another_workspace_do_not_apply() {
    let harness = Harness::start().await;
    let other = "11111111-2222-4333-8444-555555555555";
    harness.ensure_workspace(other).await;
    let (secret, _) = key(
        &harness,
        json!({"name": "elsewhere", "workspace_id": other}),
    )
    .await;
    byok(
        &harness,
        json!({"provider": "openai", "key": PROVIDER_KEY, "allowed_api_key_hashes": null}),
    )
    .await;
    // The default workspace's credential names everyone but does not serve keys of `other`.
    let reply = chat(&harness, &secret, &byok_body(MODEL, "openai")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["usage"]["is_byok"], false);
}

#[tokio::test]
async fn resources_refuse_a_workspace_that_does_not_exist() {
    let harness = Harness::start().await;
    let missing = "99999999-2222-4333-8444-555555555555";
    for (path, body) in [
        ("/guardrails", json!({"name": "g", "workspace_id": missing})),
        (
            "/byok",
            json!({"provider": "openai", "key": PROVIDER_KEY, "workspace_id": missing}),
        ),
        (
            "/observability/destinations",
            json!({"type": "webhook", "name": "hook", "config": {"url": "https://127.0.0.1/h"},
                   "workspace_id": missing}),
        ),
    ] {
        harness
            .api(Method::POST, path, Some(&body))
            .await
            .assert_error(400, "names no workspace");
    }
}

#[tokio::test]
async fn organization_members_can_be_assigned_a_guardrail() {
    let harness = Harness::start().await;
    let member = harness
        .control(
            Method::POST,
            "/organization/members",
            Some(&json!({"id": "user_org_only", "email": "o@example.com"})),
        )
        .await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.body);
    let created = harness
        .api(
            Method::POST,
            "/guardrails",
            Some(&json!({"name": "members"})),
        )
        .await;
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let assigned = harness
        .api(
            Method::POST,
            &format!("/guardrails/{id}/assignments/members"),
            Some(&json!({"member_user_ids": ["user_org_only"]})),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    assert_eq!(assigned.body["assigned_count"], 1);
    harness
        .api(
            Method::POST,
            &format!("/guardrails/{id}/assignments/members"),
            Some(&json!({"member_user_ids": ["user_nobody"]})),
        )
        .await
        .assert_error(404, "user_nobody");
}

#[tokio::test]
async fn byok_spend_counts_toward_budgets_only_when_they_include_it() {
    let harness = Harness::start().await;
    harness.set_clock("2030-06-15T12:00:00Z").await;
    let (secret, hash) = key(&harness, json!({"name": "byok heavy"})).await;
    let id = guardrail(
        &harness,
        json!({"name": "Tight", "limit_usd": 0.1, "reset_interval": "daily"}),
        &hash,
    )
    .await;
    harness
        .record_usage(&hash, json!({"usage": 0.0, "byok_usage": 1.0}))
        .await;
    assert_eq!(
        chat(&harness, &secret, &chat_body(MODEL)).await.status,
        StatusCode::OK
    );
    let patched = harness
        .api(
            Method::PATCH,
            &format!("/guardrails/{id}"),
            Some(&json!({"include_byok_in_budgets": true})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    chat(&harness, &secret, &chat_body(MODEL))
        .await
        .assert_error(402, "Guardrail \"Tight\"");

    // The same for a workspace budget.
    let (other, _) = key(&harness, json!({"name": "unguarded"})).await;
    let put = harness
        .api(
            Method::PUT,
            "/workspaces/default/budgets/daily",
            Some(&json!({"limit_usd": 0.5})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        chat(&harness, &other, &chat_body(MODEL)).await.status,
        StatusCode::OK
    );
    let put = harness
        .api(
            Method::PUT,
            "/workspaces/default/budgets/daily",
            Some(&json!({"limit_usd": 0.5, "include_byok_in_budgets": true})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    chat(&harness, &other, &chat_body(MODEL))
        .await
        .assert_error(402, "daily budget");
}
