//! Client-side validation: every invalid input is refused with the field named, and the emulator's
//! request log proves nothing was sent.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use std::sync::Arc;

use chrono::{Duration as TimeDelta, TimeZone, Utc};
use keyward_core::Error;
use keyward_core::api::{
    ActivityQuery, CreateKeyRequest, LimitReset, ListKeysQuery, Patch, UpdateKeyRequest,
    parse_expiry,
};

use api_support::start;

const HASH: &str = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";

fn field(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::InvalidInput {
            field: Some(field), ..
        }) => field,
        other => panic!("expected a client-side InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_creates_are_never_sent() {
    let env = start().await;
    let client = &env.client;
    let create = |request: CreateKeyRequest| async move { client.create_key(&request).await };
    let base = || CreateKeyRequest::new("k");

    assert_eq!(field(create(CreateKeyRequest::new("")).await), "name");
    assert_eq!(field(create(CreateKeyRequest::new(" \t ")).await), "name");
    for limit in [-1.0, f64::NAN, f64::INFINITY] {
        let request = CreateKeyRequest {
            limit: Some(limit),
            ..base()
        };
        assert_eq!(field(create(request).await), "limit");
    }
    let request = CreateKeyRequest {
        limit_reset: Some(LimitReset::Other("hourly".into())),
        ..base()
    };
    assert_eq!(field(create(request).await), "limit_reset");
    let request = CreateKeyRequest {
        expires_at: Some(Utc::now() - TimeDelta::minutes(1)),
        ..base()
    };
    assert_eq!(field(create(request).await), "expires_at");
    let request = CreateKeyRequest {
        workspace_id: Some("  ".into()),
        ..base()
    };
    assert_eq!(field(create(request).await), "workspace_id");

    assert!(env.requests().await.is_empty());
}

#[tokio::test]
async fn invalid_updates_hashes_and_queries_are_never_sent() {
    let env = start().await;
    let client = &env.client;

    assert_eq!(
        field(client.update_key(HASH, &UpdateKeyRequest::default()).await),
        "update"
    );
    let negative = UpdateKeyRequest {
        limit: Patch::Set(-5.0),
        ..UpdateKeyRequest::default()
    };
    assert_eq!(field(client.update_key(HASH, &negative).await), "limit");
    let blank = UpdateKeyRequest {
        name: Some(String::new()),
        ..UpdateKeyRequest::default()
    };
    assert_eq!(field(client.update_key(HASH, &blank).await), "name");
    let odd_reset = UpdateKeyRequest {
        limit_reset: Patch::Set(LimitReset::Other("yearly".into())),
        ..UpdateKeyRequest::default()
    };
    assert_eq!(
        field(client.update_key(HASH, &odd_reset).await),
        "limit_reset"
    );

    let rename = UpdateKeyRequest {
        name: Some("x".into()),
        ..UpdateKeyRequest::default()
    };
    for bad in [
        "",
        "abc",
        "../credits",
        &HASH.to_uppercase(),
        &HASH[1..],
        "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce94?",
    ] {
        assert_eq!(field(client.get_key(bad).await), "hash", "{bad}");
        assert_eq!(field(client.update_key(bad, &rename).await), "hash");
        assert_eq!(field(client.delete_key(bad).await), "hash");
    }
    let activity = ActivityQuery {
        date: None,
        api_key_hash: Some("nope".into()),
    };
    assert_eq!(field(client.activity(&activity).await), "api_key_hash");
    let list = ListKeysQuery {
        workspace_id: Some(String::new()),
        ..ListKeysQuery::default()
    };
    assert_eq!(field(client.list_all(&list).await), "workspace_id");
    assert_eq!(field(client.list_page(&list, 0).await), "workspace_id");

    assert!(env.requests().await.is_empty());
}

#[tokio::test]
async fn user_text_parsers() {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    assert_eq!(
        field(parse_expiry("2030-01-01T00:00:00", now)),
        "expires_at"
    );
    assert_eq!(
        field(parse_expiry("2020-01-01T00:00:00Z", now)),
        "expires_at"
    );
    assert_eq!(
        parse_expiry("2030-01-01T02:00:00+02:00", now).unwrap(),
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(field(LimitReset::from_input("biweekly")), "limit_reset");
    assert_eq!(
        LimitReset::from_input(" MONTHLY ").unwrap(),
        LimitReset::Monthly
    );
}

#[tokio::test]
async fn expiry_is_judged_by_the_injected_clock() {
    let env = start().await;
    let in_2040 = Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap();
    let future_client = env.client_with(|config| config.clock = Arc::new(move || in_2040));
    let request = CreateKeyRequest {
        expires_at: Some(Utc.with_ymd_and_hms(2035, 1, 1, 0, 0, 0).unwrap()),
        ..CreateKeyRequest::new("k")
    };
    assert_eq!(
        field(future_client.create_key(&request).await),
        "expires_at"
    );
    assert!(env.requests().await.is_empty());
    // With the real clock the same expiry is in the future and the key is created.
    let created = env.client.create_key(&request).await.unwrap();
    assert_eq!(
        created.key.expires_at,
        Some(Utc.with_ymd_and_hms(2035, 1, 1, 0, 0, 0).unwrap())
    );
}
