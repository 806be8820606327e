//! A key's account against the emulator: its guardrail, the BYOK credential and log destination
//! naming it, and what stops it first (own limit, guardrail budget, pooled workspace budget,
//! credits) with the earliest first; the forecast alert of a watch cycle names that budget, and a
//! tick reads the account once per profile, not once per key.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use keyward_core::ipc::KeysListArgs;
use keyward_core::usage::StopScope;
use keyward_core::watch::AlertKind;
use openrouter_emulator::DEFAULT_WORKSPACE_ID;
use serde_json::{Value, json};
use watch_support::{Watched, watched};

async fn api(w: &Watched, method: reqwest::Method, path: &str, body: Value) -> Value {
    let answer = w
        .http
        .request(method, format!("{}{path}", w.emulator.base_url()))
        .bearer_auth(w.emulator.management_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn refresh(w: &Watched) {
    w.t.service
        .keys_list(KeysListArgs {
            profile_id: w.profile_id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: true,
        })
        .await
        .unwrap();
}

/// A key with a $50 monthly limit under a guardrail "Production allowlist" ($10 daily), in a BYOK
/// allowlist and a log destination; the default workspace has a $100 monthly budget. Another key
/// is named by none of them. Returns (key, other).
async fn seeded(w: &Watched) -> (String, String) {
    let key = w
        .create_key(json!({"name": "prod-api", "limit": 50.0, "limit_reset": "monthly"}))
        .await;
    let other = w.create_key(json!({"name": "batch"})).await;
    let guardrail = api(
        w,
        reqwest::Method::POST,
        "/guardrails",
        json!({"name": "Production allowlist", "limit_usd": 10.0, "reset_interval": "daily",
               "allowed_providers": ["openai"]}),
    )
    .await;
    let guardrail_id = guardrail["data"]["id"].as_str().unwrap().to_owned();
    api(
        w,
        reqwest::Method::POST,
        &format!("/guardrails/{guardrail_id}/assignments/keys"),
        json!({"key_hashes": [key]}),
    )
    .await;
    api(
        w,
        reqwest::Method::POST,
        "/byok",
        json!({"provider": "openai", "key": "sk-proj-test-provider-key-AbCd", "name": "OpenAI prod",
               "allowed_api_key_hashes": [key]}),
    )
    .await;
    api(
        w,
        reqwest::Method::POST,
        "/byok",
        json!({"provider": "anthropic", "key": "sk-ant-other-provider-key-WxYz",
               "allowed_api_key_hashes": [other]}),
    )
    .await;
    api(
        w,
        reqwest::Method::POST,
        "/observability/destinations",
        json!({"type": "webhook", "name": "Audit hook", "config": {"url": "http://127.0.0.1:9/hook"},
               "api_key_hashes": [key]}),
    )
    .await;
    api(
        w,
        reqwest::Method::PUT,
        &format!("/workspaces/{DEFAULT_WORKSPACE_ID}/budgets/monthly"),
        json!({"limit_usd": 100.0}),
    )
    .await;
    w.control("/credits", json!({"total_credits": 500.0})).await;
    (key, other)
}

#[tokio::test]
async fn a_keys_account_lists_its_guardrail_byok_logs_and_stops() {
    let w = watched("account-details").await;
    let (key, other) = seeded(&w).await;
    w.spend(&key, 8.0).await;
    w.spend(&other, 30.0).await;
    refresh(&w).await;

    let account = w.t.service.key_account(&w.profile_id, &key).await.unwrap();
    assert_eq!(account.unavailable, []);
    let guardrail = account.guardrail.as_ref().expect("its guardrail");
    assert_eq!(guardrail.name, "Production allowlist");
    assert_eq!(guardrail.limit_usd, Some(10.0));
    assert_eq!(
        guardrail.allowed_providers.as_deref(),
        Some(&["openai".to_owned()][..])
    );
    let byok: Vec<(&str, Option<&str>)> = account
        .byok
        .iter()
        .map(|b| (b.provider.as_str(), b.name.as_deref()))
        .collect();
    assert_eq!(byok, [("openai", Some("OpenAI prod"))]);
    assert!(account.byok[0].label.ends_with("AbCd"));
    assert!(!account.byok[0].label.contains("provider-key"));
    let logs: Vec<(&str, &str)> = account
        .destinations
        .iter()
        .map(|d| (d.name.as_deref().unwrap_or(""), d.kind.as_str()))
        .collect();
    assert_eq!(logs, [("Audit hook", "webhook")]);

    // $2 left of the guardrail's daily $10, $42 of the key's $50, $62 of the pooled $100
    // (8 + 30 spent by both keys), $462 of the credits.
    let stops: Vec<(StopScope, &str, f64)> = account
        .stops
        .iter()
        .map(|s| {
            (
                s.scope,
                s.name.as_str(),
                (s.remaining * 100.0).round() / 100.0,
            )
        })
        .collect();
    assert_eq!(
        stops,
        [
            (StopScope::Guardrail, "Production allowlist", 2.0),
            (StopScope::KeyLimit, "Key limit", 42.0),
            (StopScope::Workspace, "Default Workspace", 62.0),
            (StopScope::Credits, "Account credits", 462.0),
        ]
    );

    let plain =
        w.t.service
            .key_account(&w.profile_id, &other)
            .await
            .unwrap();
    assert!(plain.guardrail.is_none());
    assert!(plain.destinations.is_empty());
    assert_eq!(plain.byok.len(), 1);
    assert_eq!(plain.byok[0].provider, "anthropic");
    assert_eq!(plain.stops[0].scope, StopScope::Workspace);
}

#[tokio::test]
async fn a_hash_not_in_the_list_is_refused_before_any_request() {
    let w = watched("account-unknown").await;
    refresh(&w).await;
    let before = w.requests_to("/api/v1/").await;
    let error =
        w.t.service
            .key_account(&w.profile_id, "not-a-hash")
            .await
            .unwrap_err();
    assert_eq!(error.kind(), keyward_core::ErrorKind::InvalidInput);
    let missing = "a".repeat(64);
    let error =
        w.t.service
            .key_account(&w.profile_id, &missing)
            .await
            .unwrap_err();
    assert_eq!(error.kind(), keyward_core::ErrorKind::NotFound);
    assert_eq!(w.requests_to("/api/v1/").await, before);
}

#[tokio::test]
async fn the_forecast_alert_names_the_budget_that_runs_out_first() {
    let w = watched("account-forecast").await;
    let (key, _) = seeded(&w).await;
    // Spend through the morning: $1 an hour, so the guardrail's $10 day runs out long before the
    // key's $50 month.
    let first = w.cycle().await;
    assert!(first.snapshot.alerts.is_empty(), "{first:#?}");
    for _ in 0..7 {
        w.advance_clocks(3600).await;
        w.spend(&key, 1.0).await;
        w.cycle().await;
    }
    let report = w.cycle().await;
    let forecast = report
        .snapshot
        .alerts
        .iter()
        .find(|alert| alert.kind == AlertKind::Forecast)
        .unwrap_or_else(|| panic!("no forecast alert: {report:#?}"));
    assert_eq!(forecast.key_hash, key);
    assert!(
        forecast
            .title
            .contains("will hit its guardrail 'Production allowlist' daily budget today at"),
        "{}",
        forecast.title
    );
}

#[tokio::test]
async fn a_watch_tick_reads_the_account_once_not_per_key() {
    let w = watched("account-cheap").await;
    seeded(&w).await;
    for i in 0..6 {
        w.create_key(json!({"name": format!("extra-{i}"), "limit": 5.0}))
            .await;
    }
    w.cycle().await;
    let credits = w.requests_to("/api/v1/credits").await;
    let guardrails = w.requests_to("/api/v1/guardrails").await;
    let budgets = w
        .requests_to(&format!(
            "/api/v1/workspaces/{DEFAULT_WORKSPACE_ID}/budgets"
        ))
        .await;
    w.cycle().await;
    // 8 keys in one workspace: one credits read, the workspace's guardrails plus every
    // assignment, the workspace's budgets; per tick.
    assert_eq!(w.requests_to("/api/v1/credits").await - credits, 1);
    assert_eq!(w.requests_to("/api/v1/guardrails").await - guardrails, 2);
    assert_eq!(
        w.requests_to(&format!(
            "/api/v1/workspaces/{DEFAULT_WORKSPACE_ID}/budgets"
        ))
        .await
            - budgets,
        1
    );
}
