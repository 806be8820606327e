//! The client against a server that misbehaves on purpose (`/_emulator/quirks`): redirects are
//! refused, never followed; plain http to another machine is refused before any request; a huge
//! body is cut off at the cap; an odd create answer still hands over the new secret.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use keyward_core::api::{
    ClientConfig, CreateKeyRequest, ListKeysQuery, MAX_RESPONSE_BYTES, OpenRouterClient,
};
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use api_support::{TestEnv, client_with, request_lines, start};

async fn quirks(env: &TestEnv, body: Value) {
    env.control_post("/quirks", body).await;
}

#[tokio::test]
async fn a_redirect_is_an_error_and_is_never_followed() {
    let env = start().await;
    // Where the redirect points: a second server that must never see a request (nor the key).
    let elsewhere = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let elsewhere_env = TestEnv {
        client: client_with(&elsewhere, elsewhere.management_key(), |_| {}),
        emulator: elsewhere,
        control: reqwest::Client::new(),
    };
    for status in [301, 302, 307, 308] {
        env.clear_requests().await;
        quirks(
            &env,
            json!({"redirect": {
                "location": format!("{}/key", elsewhere_env.emulator.base_url()),
                "status": status
            }}),
        )
        .await;
        let err = env.client.current_key().await.unwrap_err();
        assert_eq!(err.kind(), "server", "{status}: {err}");
        let text = err.to_string();
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains("never follows redirects"), "{text}");
        // A create (307/308 would replay the body, key and all) is refused the same way.
        let err = env
            .client
            .create_key(&CreateKeyRequest::new("moved"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "server", "{err}");
        let err = env
            .client
            .list_all(&ListKeysQuery::everything())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "server", "{err}");
        // One attempt each (a redirect is not retried), nothing followed.
        assert_eq!(
            request_lines(&env.requests().await),
            ["GET /api/v1/key", "POST /api/v1/keys", "GET /api/v1/keys"],
            "{status}"
        );
        assert!(elsewhere_env.requests().await.is_empty(), "{status}");
    }
    // A pasted key being checked (a client built with it) follows the same rule.
    let pasted = env.client_with(|config| {
        config.api_key = SecretString::from("sk-or-v1-pasted-inference-key");
    });
    assert_eq!(pasted.current_key().await.unwrap_err().kind(), "server");
    assert!(elsewhere_env.requests().await.is_empty());
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused_before_any_request() {
    for url in [
        "http://openrouter.ai/api/v1",
        "http://192.0.2.10:8080/api/v1",
        "http://[2001:db8::1]/api/v1",
        "http://localhost.example/api/v1",
    ] {
        let err = OpenRouterClient::new(ClientConfig::new(
            url,
            SecretString::from("sk-or-v1-never-sent"),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), "invalid_input", "{url}");
        let text = err.to_string();
        assert!(text.contains("https://"), "{text}");
        assert!(!text.contains("never-sent"), "{text}");
    }
    // Loopback over http (the emulator, the sandbox) and https anywhere are fine.
    for url in [
        "http://127.0.0.1:1/api/v1",
        "http://[::1]:1/api/v1",
        "http://localhost:1/api/v1",
        "https://openrouter.ai/api/v1",
    ] {
        OpenRouterClient::new(ClientConfig::new(url, SecretString::from("sk-or-v1-k"))).unwrap();
    }
}

#[tokio::test]
async fn a_huge_body_is_cut_off_at_the_cap() {
    let env = start().await;
    let mib = 1024 * 1024;
    for content_length in [false, true] {
        env.clear_requests().await;
        quirks(
            &env,
            json!({"huge_body": {"bytes": MAX_RESPONSE_BYTES + 8 * mib, "content_length": content_length}}),
        )
        .await;
        let err = env
            .client
            .list_page(&ListKeysQuery::everything(), 0)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "decode", "{err}");
        assert!(err.to_string().contains("more than 32 MiB"), "{err}");
        // Not retried: a second copy would be as large.
        assert_eq!(
            env.requests().await.len(),
            1,
            "content_length {content_length}"
        );
    }
    // A smaller configured cap, and a body just under it still reads (as what it is: not JSON).
    let small = env.client_with(|config| config.max_response_bytes = mib);
    quirks(&env, json!({"huge_body": {"bytes": mib + 1}})).await;
    let err = small.credits().await.unwrap_err();
    assert!(err.to_string().contains("more than 1 MiB"), "{err}");
    quirks(&env, json!({"huge_body": {"bytes": mib}})).await;
    let err = small.credits().await.unwrap_err();
    assert!(err.to_string().contains("can't read"), "{err}");
    // A create whose answer is too large may have created the key: the message says so.
    quirks(
        &env,
        json!({"huge_body": {"bytes": 2 * mib, "path_prefix": "/api/v1/keys"}}),
    )
    .await;
    let err = small
        .create_key(&CreateKeyRequest::new("big"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("may have been created"), "{err}");
}

/// GET /key with `secret` against the emulator: its label.
async fn label_of(env: &TestEnv, secret: &SecretString) -> String {
    let client = env.client_with(|config| config.api_key = secret.clone());
    client.current_key().await.unwrap().label
}

#[tokio::test]
async fn an_odd_create_answer_still_hands_over_the_secret() {
    let env = start().await;
    let odd_bodies = [
        json!({"set": {"unexpected": {"nested": true}}}),
        json!({"data_set": {"usage": "lots", "disabled": null, "created_at": 5, "brand_new": 1}}),
        json!({"data_remove": ["label", "name", "usage", "limit_reset"]}),
        json!({"data_set": {"expires_at": "soon", "limit": "fifty", "workspace_id": 7}}),
    ];
    for (n, mangle) in odd_bodies.into_iter().enumerate() {
        quirks(&env, json!({"create_response": mangle})).await;
        let name = format!("odd-{n}");
        let created = env
            .client
            .create_key(&CreateKeyRequest {
                limit: Some(5.0),
                ..CreateKeyRequest::new(name.clone())
            })
            .await
            .unwrap_or_else(|err| panic!("{mangle}: {err}"));
        // The secret is the real key's: the server knows it, under the hash the answer named.
        assert!(created.secret.expose_secret().starts_with("sk-or-v1-"));
        assert_eq!(label_of(&env, &created.secret).await, created.key.label);
        let on_server = env.all_keys().await;
        let key = on_server
            .iter()
            .find(|key| key["hash"] == created.key.hash.as_str())
            .expect("the created key is on the server");
        assert_eq!(key["name"], name.as_str());
        assert_eq!(created.key.name, name);
        assert_eq!(created.key.limit, Some(5.0));
    }
    // Without the secret (or the hash to file it under) there is nothing to keep: a clear error
    // that says the key may exist.
    for mangle in [json!({"remove": ["key"]}), json!({"data_remove": ["hash"]})] {
        quirks(&env, json!({"create_response": mangle})).await;
        let err = env
            .client
            .create_key(&CreateKeyRequest::new("lost"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "decode", "{err}");
        assert!(err.to_string().contains("may have been created"), "{err}");
    }
}
