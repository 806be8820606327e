//! `GET /models` (public) and `GET /models/user` (management key) over real HTTP: the shape the SDKs'
//! `models.list` parses, newest first, paging with `links.next`.
// Helpers outside #[test] functions panic on purpose too: a failed call is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn models_are_public_and_paged() {
    let harness = Harness::start().await;
    let url = format!("{}/models", harness.emulator.base_url());
    let all = harness.send(None, Method::GET, url.clone(), None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let models = all.data().as_array().unwrap();
    let total = all.body["total_count"].as_u64().unwrap() as usize;
    assert_eq!(models.len(), total);
    assert!(total >= 10);
    assert_eq!(all.body["links"]["next"], Value::Null);
    let first = &models[0];
    for field in [
        "id",
        "canonical_slug",
        "name",
        "created",
        "pricing",
        "context_length",
        "architecture",
        "top_provider",
        "per_request_limits",
        "supported_parameters",
        "default_parameters",
        "supported_voices",
        "links",
    ] {
        assert!(first.get(field).is_some(), "missing {field}");
    }
    assert!(first["pricing"]["prompt"].is_string());
    let created: Vec<i64> = models
        .iter()
        .map(|m| m["created"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(
        models
            .iter()
            .any(|m| m["id"] == "openai/gpt-4.1"
                && m["canonical_slug"] == "openai/gpt-4.1-2025-04-14")
    );

    let page = harness
        .send(None, Method::GET, format!("{url}?offset=2&limit=3"), None)
        .await;
    assert_eq!(page.data().as_array().unwrap().len(), 3);
    assert_eq!(page.data()[0], models[2]);
    assert_eq!(
        page.body["links"]["next"],
        "/api/v1/models?offset=5&limit=3"
    );
    harness
        .send(None, Method::GET, format!("{url}?limit=0"), None)
        .await
        .assert_error(400, "limit");

    let user = harness.api(Method::GET, "/models/user", None).await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(user.body["total_count"], total);
}
