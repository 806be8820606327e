//! `GET /keys` over real HTTP: paging over many keys (newest first, no duplicates) and the
//! disabled / expired / workspace filters.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn paging_over_many_keys_is_newest_first_without_duplicates() {
    let harness = Harness::start().await;
    let seeded = harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 230, "seed": 9})),
        )
        .await;
    assert_eq!(seeded.body["created"], 230);
    let mut created = Vec::new();
    for index in 0..30 {
        created.push(
            harness
                .create(json!({"name": format!("k{index:02}")}))
                .await
                .1["hash"]
                .clone(),
        );
    }
    let everything = "include_disabled=true&include_expired=true";
    let mut seen = Vec::new();
    let mut offset = 0;
    let mut page_sizes = Vec::new();
    loop {
        let page = harness
            .api(
                Method::GET,
                &format!("/keys?{everything}&offset={offset}"),
                None,
            )
            .await;
        let keys = page.data().as_array().unwrap().clone();
        page_sizes.push(keys.len());
        offset += keys.len();
        seen.extend(keys);
        if page_sizes.last() != Some(&100) {
            break;
        }
    }
    assert_eq!(page_sizes, [100, 100, 60]);
    let hashes: Vec<&str> = seen
        .iter()
        .map(|key| key["hash"].as_str().unwrap())
        .collect();
    assert_eq!(
        hashes.iter().collect::<HashSet<_>>().len(),
        260,
        "no duplicates"
    );
    let newest: Vec<Value> = created.iter().rev().cloned().collect();
    let first: Vec<Value> = seen[..30].iter().map(|key| key["hash"].clone()).collect();
    assert_eq!(
        first, newest,
        "the newest keys come first, in reverse creation order"
    );
    let times: Vec<&str> = seen
        .iter()
        .map(|key| key["created_at"].as_str().unwrap())
        .collect();
    let parsed: Vec<chrono::DateTime<chrono::Utc>> =
        times.iter().map(|time| time.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|pair| pair[0] >= pair[1]),
        "created_at never increases"
    );
    let all = harness.control(Method::GET, "/keys", None).await;
    let control_hashes: Vec<&str> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["hash"].as_str().unwrap())
        .collect();
    assert_eq!(
        control_hashes, hashes,
        "the control listing has the same order"
    );
    let past_end = harness.api(Method::GET, "/keys?offset=5000", None).await;
    assert_eq!(past_end.data(), &json!([]));
}

#[tokio::test]
async fn filters_for_disabled_expired_and_workspace() {
    let harness = Harness::start().await;
    let other_workspace = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    harness.ensure_workspace(other_workspace).await;
    let plain = harness.create(json!({"name": "plain"})).await.1["hash"].clone();
    let disabled = harness.create(json!({"name": "disabled"})).await.1["hash"].clone();
    harness
        .api(
            Method::PATCH,
            &format!("/keys/{}", disabled.as_str().unwrap()),
            Some(&json!({"disabled": true})),
        )
        .await;
    let expiring = harness
        .create(json!({"name": "expiring", "expires_at": "2099-06-01T00:00:00Z"}))
        .await
        .1["hash"]
        .clone();
    let elsewhere = harness
        .create(json!({"name": "elsewhere", "workspace_id": other_workspace}))
        .await
        .1["hash"]
        .clone();
    harness.set_clock("2099-06-01T00:00:00Z").await;

    let hashes = |reply: Reply| -> Vec<Value> {
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["hash"].clone())
            .collect()
    };
    assert_eq!(
        hashes(harness.api(Method::GET, "/keys", None).await),
        std::slice::from_ref(&plain)
    );
    assert_eq!(
        hashes(
            harness
                .api(Method::GET, "/keys?include_disabled=true", None)
                .await
        ),
        [disabled.clone(), plain.clone()]
    );
    assert_eq!(
        hashes(
            harness
                .api(Method::GET, "/keys?include_expired=true", None)
                .await
        ),
        [expiring.clone(), plain.clone()]
    );
    assert_eq!(
        hashes(
            harness
                .api(
                    Method::GET,
                    "/keys?include_expired=true&include_disabled=true",
                    None
                )
                .await
        ),
        [expiring.clone(), disabled.clone(), plain.clone()]
    );
    assert_eq!(
        hashes(
            harness
                .api(
                    Method::GET,
                    &format!("/keys?workspace_id={other_workspace}"),
                    None
                )
                .await
        ),
        std::slice::from_ref(&elsewhere)
    );
    assert_eq!(
        hashes(
            harness
                .api(
                    Method::GET,
                    &format!("/keys?workspace_id={}", other_workspace.to_uppercase()),
                    None
                )
                .await
        ),
        [elsewhere]
    );
    // One second earlier the key had not expired yet.
    harness.advance(-1.0).await;
    assert_eq!(
        hashes(harness.api(Method::GET, "/keys", None).await),
        [expiring, plain]
    );
}
