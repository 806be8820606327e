//! Every error kind and every retry rule against the emulator's real answers and injected faults:
//! 401/403/404/400, 429 with Retry-After honoured or over budget, 5xx retried and exhausted, timeouts,
//! dropped and refused connections, and the POST that must not be sent twice.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use std::time::{Duration, Instant};

use keyward_core::Error;
use keyward_core::api::{CreateKeyRequest, ListKeysQuery, RetryPolicy};
use secrecy::ExposeSecret;
use serde_json::json;

use api_support::{request_lines, start};

const UNKNOWN_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[tokio::test]
async fn unauthorized_without_or_with_a_wrong_key() {
    let env = start().await;
    let anonymous = api_support::client_with(&env.emulator, "", |_| {});
    let err = anonymous.credits().await.unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { message } if message == "Missing Authentication header"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "unauthorized");

    let wrong = api_support::client_with(&env.emulator, "sk-or-v1-not-a-real-key", |_| {});
    let err = wrong.list_all(&ListKeysQuery::default()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { message } if message == "Invalid API key"),
        "{err:?}"
    );
    // Not retried: a 4xx answer is final.
    assert_eq!(env.requests().await.len(), 2);
}

#[tokio::test]
async fn inference_key_is_forbidden_on_management_endpoints() {
    let env = start().await;
    let created = env
        .client
        .create_key(&CreateKeyRequest::new("inference"))
        .await
        .unwrap();
    let inference = api_support::client_with(&env.emulator, created.secret.expose_secret(), |_| {});
    let err = inference
        .list_all(&ListKeysQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "forbidden");
    let text = err.to_string();
    assert!(
        text.starts_with("This is not a management key: Only management keys"),
        "{text}"
    );
    assert!(text.contains("https://openrouter.ai/settings/management-keys"));
    assert_eq!(inference.credits().await.unwrap_err().kind(), "forbidden");
    // GET /key works with any key.
    assert!(!inference.current_key().await.unwrap().is_management_key);
}

#[tokio::test]
async fn not_found_and_server_side_bad_request() {
    let env = start().await;
    let err = env.client.get_key(UNKNOWN_HASH).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { message } if message == "Key not found"),
        "{err:?}"
    );
    assert_eq!(
        env.client
            .delete_key(UNKNOWN_HASH)
            .await
            .unwrap_err()
            .kind(),
        "not_found"
    );

    // The emulator requires a UUID workspace; the client only checks it isn't empty.
    let err = env
        .client
        .create_key(&CreateKeyRequest {
            workspace_id: Some("not-a-uuid".into()),
            ..CreateKeyRequest::new("k")
        })
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput {
            field: None,
            message,
        } => {
            assert!(message.contains("workspace_id"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let serialized = serde_json::to_value(&err).unwrap();
    assert_eq!(serialized["kind"], "invalid_input");
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let env = start().await;
    env.set_faults(json!({"rate_limit": {"next": 1, "retry_after_seconds": 1}}))
        .await;
    let started = Instant::now();
    env.client.credits().await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    let statuses: Vec<_> = env
        .requests()
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(429), json!(200)]);
}

#[tokio::test]
async fn retry_after_ms_wins_over_retry_after() {
    let env = start().await;
    env.set_faults(
        json!({"rate_limit": {"next": 2, "retry_after_seconds": 5, "retry_after_ms": 150}}),
    )
    .await;
    let started = Instant::now();
    env.client.credits().await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(290),
        "two waits of 150 ms: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(2),
        "Retry-After: 5 must not be used: {waited:?}"
    );
    assert_eq!(env.requests().await.len(), 3);
}

#[tokio::test]
async fn rate_limit_beyond_the_budget_fails_at_once() {
    let env = start().await;
    env.set_faults(json!({"rate_limit": {"next": 1, "retry_after_seconds": 60}}))
        .await;
    let started = Instant::now();
    let err = env.client.credits().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_secs(60)),
        "{err:?}"
    );
    assert!(err.to_string().contains("retry after 60 s"), "{err}");
    assert_eq!(
        serde_json::to_value(&err).unwrap()["retry_after_ms"],
        60_000
    );
    assert_eq!(env.requests().await.len(), 1);
}

#[tokio::test]
async fn rate_limit_not_retried_when_disabled() {
    let env = start().await;
    let client = env.client_with(|config| {
        config.retry = RetryPolicy {
            retry_rate_limited: false,
            ..api_support::fast_retry()
        }
    });
    env.set_faults(json!({"rate_limit": {"next": 1, "retry_after_seconds": 1}}))
        .await;
    let err = client.credits().await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(env.requests().await.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let env = start().await;
    env.set_faults(json!({"server_error": {"next": 2, "status": 503}}))
        .await;
    let keys = env
        .client
        .list_all(&ListKeysQuery::default())
        .await
        .unwrap();
    assert!(keys.is_empty());
    let statuses: Vec<_> = env
        .requests()
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(503), json!(503), json!(200)]);
}

#[tokio::test]
async fn server_errors_exhaust_the_attempts() {
    let env = start().await;
    env.set_faults(json!({"server_error": {"next": 10}})).await;
    let err = env.client.credits().await.unwrap_err();
    assert!(
        matches!(&err, Error::Server { status: 500, message } if message == "Internal Server Error"),
        "{err:?}"
    );
    // fast_retry() allows 4 attempts in total.
    assert_eq!(env.requests().await.len(), 4);
}

#[tokio::test]
async fn create_is_not_retried_after_a_server_error() {
    let env = start().await;
    env.set_faults(json!({"server_error": {"next": 1}})).await;
    let err = env
        .client
        .create_key(&CreateKeyRequest::new("once"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "server");
    assert!(err.to_string().contains("may have been created"), "{err}");
    assert_eq!(
        request_lines(&env.requests().await),
        vec!["POST /api/v1/keys"]
    );

    // A dropped connection after sending is just as ambiguous: one attempt, no more.
    env.clear_requests().await;
    env.set_faults(json!({"drop": {"next": 1}})).await;
    let err = env
        .client
        .create_key(&CreateKeyRequest::new("once"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "network");
    assert_eq!(env.requests().await.len(), 1);

    // A 429 did nothing on the server, so the create is retried — and exactly one key exists.
    env.clear_requests().await;
    env.set_faults(json!({"rate_limit": {"next": 1, "retry_after_ms": 10}}))
        .await;
    env.client
        .create_key(&CreateKeyRequest::new("once"))
        .await
        .unwrap();
    assert_eq!(env.requests().await.len(), 2);
    let named_once = env
        .all_keys()
        .await
        .into_iter()
        .filter(|key| key["name"] == "once")
        .count();
    assert_eq!(named_once, 1);
}

#[tokio::test]
async fn timeouts_are_reported_and_retried_for_reads() {
    let env = start().await;
    let impatient = env.client_with(|config| {
        config.request_timeout = Duration::from_millis(300);
        config.retry = RetryPolicy::none();
    });
    env.set_faults(json!({"timeout": {"next": 1, "hold_seconds": 5}}))
        .await;
    let started = Instant::now();
    let err = impatient.credits().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(
        err.to_string().contains("did not answer within 0.3 s"),
        "{err}"
    );

    // With retries, a read survives one held request.
    let patient = env.client_with(|config| config.request_timeout = Duration::from_millis(300));
    env.set_faults(json!({"timeout": {"next": 1, "hold_seconds": 5}}))
        .await;
    patient.credits().await.unwrap();
}

#[tokio::test]
async fn a_create_that_times_out_says_the_key_may_exist() {
    // The request left this machine: the server may have created the key before the answer was
    // lost, so the person must refresh before trying again (or make a duplicate).
    let env = start().await;
    let impatient = env.client_with(|config| config.request_timeout = Duration::from_millis(300));
    env.set_faults(json!({"timeout": {"next": 1, "hold_seconds": 5}}))
        .await;
    let err = impatient
        .create_key(&CreateKeyRequest::new("held"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(err.kind(), "timeout");
    assert!(
        err.to_string()
            .contains("did not answer within 0.3 s (the key may have been created anyway"),
        "{err}"
    );
    assert_eq!(
        request_lines(&env.requests().await),
        vec!["POST /api/v1/keys"]
    );
}

#[tokio::test]
async fn dropped_connections_are_retried_for_reads() {
    let env = start().await;
    env.set_faults(json!({"drop": {"next": 2}})).await;
    env.client.current_key().await.unwrap();
    assert_eq!(env.requests().await.len(), 3);

    let once = env.client_with(|config| config.retry = RetryPolicy::none());
    env.set_faults(json!({"drop": {"next": 1}})).await;
    let err = once.current_key().await.unwrap_err();
    assert_eq!(err.kind(), "network");
    assert!(
        err.to_string()
            .starts_with("Can't reach OpenRouter at 127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn refused_connection_is_a_network_error() {
    // A port that was free a moment ago and has no listener now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = keyward_core::api::ClientConfig {
        retry: api_support::fast_retry(),
        ..keyward_core::api::ClientConfig::new(
            format!("http://127.0.0.1:{port}/api/v1/"),
            secrecy::SecretString::from("sk-or-v1-anything"),
        )
    };
    let client = keyward_core::api::OpenRouterClient::new(config).unwrap();
    let started = Instant::now();
    let err = client.current_key().await.unwrap_err();
    match &err {
        Error::Network { host, message, .. } => {
            assert_eq!(host, &format!("127.0.0.1:{port}"));
            assert!(message.to_lowercase().contains("refused"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Three backoffs of 10, 20 and 40 ms happened before giving up.
    assert!(
        started.elapsed() >= Duration::from_millis(70),
        "{:?}",
        started.elapsed()
    );
    // A create is retried on a refused connection too: it never reached a server.
    let err = client
        .create_key(&CreateKeyRequest::new("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "network");
    assert!(!err.to_string().contains("may have been created"), "{err}");
}

#[tokio::test]
async fn delete_after_an_ambiguous_attempt_reads_404_as_done() {
    let env = start().await;
    // The first attempt's 500 leaves it unknown whether the key went; the retry's 404 says it is
    // gone, which is what the caller asked for.
    env.set_faults(json!({"server_error": {"next": 1}})).await;
    env.client.delete_key(UNKNOWN_HASH).await.unwrap();
    let statuses: Vec<_> = env
        .requests()
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(404)]);

    // After a 429 nothing happened on the server, so a 404 is a plain NotFound.
    env.set_faults(json!({"rate_limit": {"next": 1, "retry_after_ms": 10}}))
        .await;
    let err = env.client.delete_key(UNKNOWN_HASH).await.unwrap_err();
    assert_eq!(err.kind(), "not_found");
}

#[tokio::test]
async fn patch_is_retried_after_a_server_error() {
    let env = start().await;
    let hash = env
        .client
        .create_key(&CreateKeyRequest::new("before"))
        .await
        .unwrap()
        .key
        .hash;
    env.clear_requests().await;
    env.set_faults(json!({"server_error": {"next": 1, "status": 502}}))
        .await;
    let updated = env
        .client
        .update_key(
            &hash,
            &keyward_core::api::UpdateKeyRequest {
                name: Some("after".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "after");
    assert_eq!(
        request_lines(&env.requests().await),
        vec![format!("PATCH /api/v1/keys/{hash}"); 2]
    );
}
