//! `list_all` against the emulator: hundreds of keys across pages, newest first, no duplicates, no
//! gaps — also while other clients create and delete keys during the listing.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use std::collections::HashSet;

use keyward_core::api::{ApiKey, CreateKeyRequest, ListKeysQuery, OpenRouterClient};
use serde_json::json;

use api_support::{TestEnv, start};

fn assert_newest_first_without_duplicates(keys: &[ApiKey]) {
    let unique: HashSet<&str> = keys.iter().map(|key| key.hash.as_str()).collect();
    assert_eq!(unique.len(), keys.len(), "duplicates in the listing");
    for pair in keys.windows(2) {
        assert!(
            pair[0].created_at >= pair[1].created_at,
            "not newest first: {:?} before {:?}",
            pair[0].created_at,
            pair[1].created_at
        );
    }
}

async fn emulator_hashes(env: &TestEnv) -> Vec<String> {
    env.all_keys()
        .await
        .iter()
        .map(|key| key["hash"].as_str().unwrap().to_owned())
        .collect()
}

async fn list_requests(env: &TestEnv) -> Vec<String> {
    env.requests()
        .await
        .iter()
        .filter(|request| request["method"] == "GET" && request["path"] == "/api/v1/keys")
        .map(|request| request["query"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_hundreds_of_keys_across_pages() {
    let env = start().await;
    env.seed(260, None).await;
    let expected = emulator_hashes(&env).await;
    assert_eq!(expected.len(), 260);

    let keys = env
        .client
        .list_all(&ListKeysQuery::everything())
        .await
        .unwrap();
    assert_newest_first_without_duplicates(&keys);
    let listed: Vec<String> = keys.iter().map(|key| key.hash.clone()).collect();
    assert_eq!(
        listed, expected,
        "same keys in the emulator's newest-first order"
    );
    // Pages at 0, 99 and 198 are needed; a few more may be fetched ahead, never a runaway.
    let requests = list_requests(&env).await;
    assert!((3..=6).contains(&requests.len()), "{requests:?}");

    // Rate-limited pages are waited for and retried; the listing is the same.
    env.set_faults(json!({"rate_limit": {"next": 3, "retry_after_ms": 20}}))
        .await;
    let throttled = env
        .client
        .list_all(&ListKeysQuery::everything())
        .await
        .unwrap();
    assert_eq!(throttled, keys);

    // The same answer one page at a time.
    let sequential = env.client_with(|config| config.list_concurrency = 1);
    let again = sequential
        .list_all(&ListKeysQuery::everything())
        .await
        .unwrap();
    assert_eq!(again, keys);

    // The default filter leaves out the seed's disabled and expired keys, on every page.
    let active = env
        .client
        .list_all(&ListKeysQuery::default())
        .await
        .unwrap();
    assert_newest_first_without_duplicates(&active);
    assert!(active.len() < keys.len());
    let now = chrono::Utc::now();
    assert!(
        active
            .iter()
            .all(|key| !key.disabled && !key.is_expired(now))
    );
    let expected_active = keys
        .iter()
        .filter(|key| !key.disabled && !key.is_expired(now))
        .count();
    assert_eq!(active.len(), expected_active);
}

#[tokio::test]
async fn page_boundaries() {
    let env = start().await;
    // Empty account: one request.
    assert!(
        env.client
            .list_all(&ListKeysQuery::everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(list_requests(&env).await.len(), 1);

    for total in [99usize, 100, 199, 200] {
        env.control_post("/reset", json!({})).await;
        env.seed(total, None).await;
        let keys = env
            .client
            .list_all(&ListKeysQuery::everything())
            .await
            .unwrap();
        assert_eq!(keys.len(), total);
        assert_newest_first_without_duplicates(&keys);
        assert_eq!(
            keys.iter().map(|key| key.hash.clone()).collect::<Vec<_>>(),
            emulator_hashes(&env).await
        );
    }
}

/// Lists every key while `churn` (creating or deleting keys through another client) runs.
async fn list_during(env: &TestEnv, churn: impl Future<Output = ()>) -> Vec<ApiKey> {
    let lister = env.client.clone();
    let (listed, ()) = tokio::join!(
        async move { lister.list_all(&ListKeysQuery::everything()).await },
        churn
    );
    let keys = listed.unwrap();
    assert_newest_first_without_duplicates(&keys);
    keys
}

#[tokio::test]
async fn keys_created_during_listing_cause_no_gaps_or_duplicates() {
    let env = start().await;
    env.seed(540, None).await;
    // Slow every answer a little so creations land between page requests.
    env.set_faults(json!({"latency_ms": 15})).await;
    for round in 0..3 {
        let before: HashSet<String> = emulator_hashes(&env).await.into_iter().collect();
        let creator: OpenRouterClient = env.client.clone();
        let creating = async move {
            for n in 0..12 {
                creator
                    .create_key(&CreateKeyRequest::new(format!("during-{round}-{n}")))
                    .await
                    .unwrap();
            }
        };
        let keys = list_during(&env, creating).await;
        let listed: HashSet<&str> = keys.iter().map(|key| key.hash.as_str()).collect();
        let missing: Vec<&String> = before
            .iter()
            .filter(|hash| !listed.contains(hash.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} keys missing",
            missing.len()
        );
    }
}

#[tokio::test]
async fn keys_deleted_during_listing_cause_no_gaps_or_duplicates() {
    let env = start().await;
    let seeded = env.seed(450, None).await;
    env.set_faults(json!({"latency_ms": 15})).await;
    // Delete keys spread over the first pages, where a deletion shifts every later page.
    let doomed: Vec<String> = seeded.iter().step_by(9).take(25).cloned().collect();
    let deleter = env.client.clone();
    let deleting = {
        let doomed = doomed.clone();
        async move {
            for hash in &doomed {
                deleter.delete_key(hash).await.unwrap();
            }
        }
    };
    let keys = list_during(&env, deleting).await;
    let listed: HashSet<&str> = keys.iter().map(|key| key.hash.as_str()).collect();
    let doomed: HashSet<&String> = doomed.iter().collect();
    let missing: Vec<&String> = seeded
        .iter()
        .filter(|hash| !doomed.contains(hash) && !listed.contains(hash.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} surviving keys missing",
        missing.len()
    );
    // The deletions shifted the pages under the concurrent pass: it noticed (the pages stopped
    // overlapping) and re-read the rest at half-page steps.
    let queries = list_requests(&env).await;
    assert!(
        queries.iter().any(|query| query.ends_with("offset=50")),
        "no re-read: {queries:?}"
    );
}
