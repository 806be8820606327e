//! No secret reaches the logs: every span and event (Keyward's, reqwest's, hyper's) of a create,
//! a retried create and a listing is captured at TRACE and searched for the keys. A binary of its
//! own: tracing caches per-callsite interest globally, and tests running beside this one on other
//! threads (with no subscriber) could make its thread-local subscriber miss events.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use keyward_core::api::{CreateKeyRequest, ListKeysQuery};
use secrecy::ExposeSecret;
use serde_json::json;

use api_support::start;

/// A writer that keeps everything the fmt subscriber prints.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("log buffer poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Single-threaded runtime: the thread-local subscriber sees every span and event, reqwest's and
// hyper's included.
#[tokio::test(flavor = "current_thread")]
async fn logs_never_contain_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = start().await;
    env.set_faults(json!({"server_error": {"next": 1}})).await;
    let created = env
        .client
        .create_key(&CreateKeyRequest::new("logged"))
        .await
        .unwrap_err();
    assert_eq!(created.kind(), "server");
    env.set_faults(json!({"rate_limit": {"next": 1, "retry_after_ms": 5}}))
        .await;
    let created = env
        .client
        .create_key(&CreateKeyRequest::new("logged"))
        .await
        .unwrap();
    env.client
        .list_all(&ListKeysQuery::everything())
        .await
        .unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("retrying OpenRouter request"), "{text}");
    assert!(text.contains("/keys"), "{text}");
    assert!(!text.contains(created.secret.expose_secret()));
    assert!(!text.contains(env.emulator.management_key()));
    assert!(!text.to_ascii_lowercase().contains("bearer"));
}
