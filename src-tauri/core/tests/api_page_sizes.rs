//! Every listing that pages, against servers with other page sizes (`/_emulator/quirks`
//! `page_size`): the server's first page sets the stride, so 0, 1, a stride, a stride + 1 and many
//! items all list whole, in order, each once — keys (`list_all`) and the offset/limit lists, with
//! and without `total_count`.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use keyward_core::api::{CreateGuardrailRequest, ListKeysQuery};
use serde_json::json;

use api_support::{TestEnv, start};

const PAGE_SIZES: [usize; 4] = [7, 25, 100, 250];

fn counts(page: usize) -> Vec<usize> {
    let mut counts = vec![0, 1, page - 1, page, page + 1, 3 * page + 2];
    counts.dedup();
    counts
}

/// Empties the emulator, sets its page size, seeds `count` keys; answers every key's hash, newest
/// first (as `list_all` must list them).
async fn fresh(
    env: &TestEnv,
    page_size: usize,
    count: usize,
    omit_total_count: bool,
) -> Vec<String> {
    env.control_post("/reset", json!({})).await;
    env.control_post(
        "/quirks",
        json!({"page_size": page_size, "omit_total_count": omit_total_count}),
    )
    .await;
    if count > 0 {
        env.seed(count, None).await;
    }
    env.all_keys()
        .await
        .iter()
        .map(|key| key["hash"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn keys_list_whole_at_every_page_size() {
    let env = start().await;
    let sequential = env.client_with(|config| config.list_concurrency = 1);
    for page_size in PAGE_SIZES {
        for count in counts(page_size) {
            let expected = fresh(&env, page_size, count, false).await;
            assert_eq!(expected.len(), count);
            for (client, how) in [(&env.client, "concurrent"), (&sequential, "sequential")] {
                env.clear_requests().await;
                let listed: Vec<String> = client
                    .list_all(&ListKeysQuery::everything())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|key| key.hash)
                    .collect();
                assert_eq!(
                    listed, expected,
                    "{count} keys in pages of {page_size} ({how})"
                );
                // Never a runaway: about one request per page, plus the one proving the end.
                let requests = env.requests().await.len();
                assert!(
                    requests <= count / page_size + 2 + client_window(how),
                    "{requests} requests for {count} keys in pages of {page_size} ({how})"
                );
            }
        }
    }
}

/// Pages fetched ahead speculatively beyond the last one, at most.
fn client_window(how: &str) -> usize {
    if how == "concurrent" { 8 } else { 0 }
}

#[tokio::test]
async fn offset_limit_lists_whole_at_every_page_size() {
    let env = start().await;
    for omit_total_count in [false, true] {
        for page_size in PAGE_SIZES {
            for count in counts(page_size) {
                let hashes = fresh(&env, page_size, count, omit_total_count).await;
                // One guardrail holding every key: its key assignments are the paged list.
                let guardrail = env
                    .client
                    .create_guardrail(&CreateGuardrailRequest {
                        name: "paged".into(),
                        ..CreateGuardrailRequest::default()
                    })
                    .await
                    .unwrap();
                for chunk in hashes.chunks(100) {
                    env.client.assign_keys(&guardrail.id, chunk).await.unwrap();
                }
                let mut assigned: Vec<String> = env
                    .client
                    .guardrail_key_assignments(&guardrail.id)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|assignment| assignment.key_hash)
                    .collect();
                assert_eq!(
                    assigned.len(),
                    count,
                    "{count} assignments in pages of {page_size} (total_count omitted: \
                     {omit_total_count})"
                );
                assigned.sort();
                assigned.dedup();
                let mut expected = hashes.clone();
                expected.sort();
                assert_eq!(assigned, expected);
                // The guardrails list itself pages the same way (reset keeps none of ours).
                let guardrails = env.client.list_guardrails().await.unwrap();
                assert!(guardrails.iter().any(|g| g.id == guardrail.id));
            }
        }
    }
}

#[tokio::test]
async fn many_guardrails_list_whole_in_small_pages() {
    let env = start().await;
    for omit_total_count in [false, true] {
        fresh(&env, 7, 0, omit_total_count).await;
        for n in 0..23 {
            env.client
                .create_guardrail(&CreateGuardrailRequest {
                    name: format!("g{n}"),
                    ..CreateGuardrailRequest::default()
                })
                .await
                .unwrap();
            let listed = env.client.list_guardrails().await.unwrap();
            assert_eq!(
                listed.len(),
                n + 1,
                "total_count omitted: {omit_total_count}"
            );
        }
    }
}
