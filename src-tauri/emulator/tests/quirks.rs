//! `/_emulator/quirks`: a redirect instead of an answer, a mangled create answer, a huge body, another
//! page size, lists without `total_count`; cleared by `DELETE` and by `/_emulator/reset`.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn set_quirks(harness: &Harness, body: Value) -> Reply {
    harness.control(Method::POST, "/quirks", Some(&body)).await
}

#[tokio::test]
async fn quirks_round_trip_and_reject_nonsense() {
    let harness = Harness::start().await;
    let set = set_quirks(&harness, json!({"page_size": 7})).await;
    assert_eq!(set.status, StatusCode::OK);
    let read = harness.control(Method::GET, "/quirks", None).await;
    assert_eq!(read.body["page_size"], 7);
    set_quirks(&harness, json!({"page_size": 0}))
        .await
        .assert_error(400, "page_size");
    set_quirks(
        &harness,
        json!({"redirect": {"location": "http://x", "status": 200}}),
    )
    .await
    .assert_error(400, "redirect.status");
    set_quirks(&harness, json!({"page_sise": 7}))
        .await
        .assert_error(400, "page_sise");
    // Reset clears them with everything else.
    harness.control(Method::POST, "/reset", None).await;
    let read = harness.control(Method::GET, "/quirks", None).await;
    assert_eq!(read.body["page_size"], Value::Null);
}

#[tokio::test]
async fn redirect_answers_a_3xx_with_location_and_is_logged() {
    let harness = Harness::start().await;
    set_quirks(
        &harness,
        json!({"redirect": {"location": "https://elsewhere.test/api/v1/keys", "status": 307}}),
    )
    .await;
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_follow
        .get(format!("{}/keys", harness.emulator.base_url()))
        .bearer_auth(MANAGEMENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        "https://elsewhere.test/api/v1/keys"
    );
    let log = harness.control(Method::GET, "/requests", None).await;
    assert_eq!(log.body["requests"][0]["status"], 307);
    // Controls are never redirected.
    assert_eq!(
        harness.control(Method::GET, "/health", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn page_size_sets_the_keys_page_and_every_offset_limit_list() {
    let harness = Harness::start().await;
    let seeded = harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 30, "seed": 1})),
        )
        .await;
    let hashes: Vec<String> = seeded.body["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hash| hash.as_str().unwrap().to_owned())
        .collect();
    let everything = harness.control(Method::GET, "/keys", None).await;
    let newest_first: Vec<String> = everything
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["hash"].as_str().unwrap().to_owned())
        .collect();
    set_quirks(&harness, json!({"page_size": 7})).await;
    let page = harness
        .api(
            Method::GET,
            "/keys?offset=3&include_disabled=true&include_expired=true",
            None,
        )
        .await;
    let listed: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["hash"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        newest_first[3..10]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    // An offset/limit list ignores the `limit` asked for.
    let guardrail = harness
        .api(Method::POST, "/guardrails", Some(&json!({"name": "g"})))
        .await;
    let id = guardrail.data()["id"].as_str().unwrap().to_owned();
    let assigned = harness
        .api(
            Method::POST,
            &format!("/guardrails/{id}/assignments/keys"),
            Some(&json!({"key_hashes": hashes})),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    let page = harness
        .api(
            Method::GET,
            &format!("/guardrails/{id}/assignments/keys?offset=0&limit=100"),
            None,
        )
        .await;
    assert_eq!(page.data().as_array().unwrap().len(), 7);
    assert_eq!(page.body["total_count"], 30);
    // Larger than the documented maximum works too, and `total_count` can be left out.
    set_quirks(
        &harness,
        json!({"page_size": 250, "omit_total_count": true}),
    )
    .await;
    let page = harness
        .api(
            Method::GET,
            "/keys?include_disabled=true&include_expired=true",
            None,
        )
        .await;
    assert_eq!(page.data().as_array().unwrap().len(), 30);
    let page = harness
        .api(
            Method::GET,
            &format!("/guardrails/{id}/assignments/keys?limit=5"),
            None,
        )
        .await;
    assert_eq!(page.data().as_array().unwrap().len(), 30);
    assert!(page.body.get("total_count").is_none(), "{}", page.body);
}

#[tokio::test]
async fn create_response_is_rewritten_but_the_key_is_real() {
    let harness = Harness::start().await;
    set_quirks(
        &harness,
        json!({"create_response": {
            "set": {"surprise": [1, 2]},
            "data_set": {"usage": "lots"},
            "data_remove": ["label"]
        }}),
    )
    .await;
    let reply = harness
        .api(Method::POST, "/keys", Some(&json!({"name": "odd"})))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["surprise"], json!([1, 2]));
    assert_eq!(reply.data()["usage"], "lots");
    assert!(reply.data().get("label").is_none());
    let secret = reply.body["key"].as_str().unwrap();
    let current = harness
        .api_as(Some(secret), Method::GET, "/key", None)
        .await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.body);
}

#[tokio::test]
async fn huge_body_streams_the_configured_length() {
    let harness = Harness::start().await;
    for content_length in [false, true] {
        set_quirks(
            &harness,
            json!({"huge_body": {"bytes": 3_000_000, "content_length": content_length}}),
        )
        .await;
        let response = harness
            .http
            .get(format!("{}/keys", harness.emulator.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.content_length().is_some(),
            content_length,
            "content_length {content_length}"
        );
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len(), 3_000_000);
        assert!(body.starts_with(b"{\"data\":["));
    }
}
