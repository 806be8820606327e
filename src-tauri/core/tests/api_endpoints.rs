//! Every endpoint of the client against the emulator over HTTP: the happy paths, list filters and
//! PATCH's null-versus-absent.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use chrono::{Duration as TimeDelta, Utc};
use keyward_core::api::{
    ActivityQuery, CreateKeyRequest, LimitReset, ListKeysQuery, Patch, UpdateKeyRequest,
};
use secrecy::ExposeSecret;
use serde_json::json;

use api_support::start;

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let env = start().await;
    let expires_at = Utc::now() + TimeDelta::days(30);
    let created = env
        .client
        .create_key(&CreateKeyRequest {
            name: "customer-a".into(),
            limit: Some(25.0),
            limit_reset: Some(LimitReset::Weekly),
            include_byok_in_limit: Some(true),
            expires_at: Some(expires_at),
            ..CreateKeyRequest::default()
        })
        .await
        .unwrap();
    assert!(created.secret.expose_secret().starts_with("sk-or-v1-"));
    let key = &created.key;
    assert_eq!(key.hash.len(), 64);
    assert_eq!(key.name, "customer-a");
    assert_eq!(key.limit, Some(25.0));
    assert_eq!(key.limit_remaining, Some(25.0));
    assert_eq!(key.limit_reset, Some(LimitReset::Weekly));
    assert!(key.include_byok_in_limit);
    // Sent with whole seconds: the stored expiry is the requested one, truncated to the second.
    assert_eq!(key.expires_at.unwrap().timestamp(), expires_at.timestamp());
    assert!(key.created_at.is_some());
    assert!(!format!("{created:?}").contains(created.secret.expose_secret()));

    let fetched = env.client.get_key(&key.hash).await.unwrap();
    assert_eq!(&fetched, key);

    let updated = env
        .client
        .update_key(
            &key.hash,
            &UpdateKeyRequest {
                name: Some("customer-a (prod)".into()),
                disabled: Some(true),
                ..UpdateKeyRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "customer-a (prod)");
    assert!(updated.disabled);
    assert!(updated.updated_at.is_some());

    env.client.delete_key(&key.hash).await.unwrap();
    let gone = env.client.get_key(&key.hash).await.unwrap_err();
    assert_eq!(gone.kind(), "not_found");
}

#[tokio::test]
async fn patch_null_clears_and_absent_keeps() {
    let env = start().await;
    let created = env
        .client
        .create_key(&CreateKeyRequest {
            limit: Some(10.0),
            limit_reset: Some(LimitReset::Monthly),
            ..CreateKeyRequest::new("limited")
        })
        .await
        .unwrap();
    let hash = created.key.hash.clone();

    // Absent: renaming leaves limit and reset alone.
    let renamed = env
        .client
        .update_key(
            &hash,
            &UpdateKeyRequest {
                name: Some("still limited".into()),
                ..UpdateKeyRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.limit, Some(10.0));
    assert_eq!(renamed.limit_reset, Some(LimitReset::Monthly));

    // Set: a new value replaces the old one.
    let raised = env
        .client
        .update_key(
            &hash,
            &UpdateKeyRequest {
                limit: Patch::Set(40.0),
                ..UpdateKeyRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(raised.limit, Some(40.0));
    assert_eq!(raised.limit_reset, Some(LimitReset::Monthly));

    // Null: the limit is removed, the reset kept.
    env.client
        .update_key(
            &hash,
            &UpdateKeyRequest {
                limit: Patch::Clear,
                ..UpdateKeyRequest::default()
            },
        )
        .await
        .unwrap();
    let stored = env
        .all_keys()
        .await
        .into_iter()
        .find(|key| key["hash"] == hash.as_str())
        .unwrap();
    assert_eq!(stored["limit"], json!(null));
    assert_eq!(stored["limit_remaining"], json!(null));
    assert_eq!(stored["limit_reset"], "monthly");
    assert_eq!(stored["name"], "still limited");

    let cleared_reset = env
        .client
        .update_key(
            &hash,
            &UpdateKeyRequest {
                limit_reset: Patch::Clear,
                ..UpdateKeyRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared_reset.limit, None);
    assert_eq!(cleared_reset.limit_reset, None);
}

#[tokio::test]
async fn list_filters_disabled_expired_and_workspace() {
    let env = start().await;
    let plain = env
        .client
        .create_key(&CreateKeyRequest::new("plain"))
        .await
        .unwrap()
        .key
        .hash;
    let disabled = env
        .client
        .create_key(&CreateKeyRequest::new("disabled"))
        .await
        .unwrap()
        .key
        .hash;
    env.client
        .update_key(
            &disabled,
            &UpdateKeyRequest {
                disabled: Some(true),
                ..UpdateKeyRequest::default()
            },
        )
        .await
        .unwrap();
    let expiring = env
        .client
        .create_key(&CreateKeyRequest {
            expires_at: Some(Utc::now() + TimeDelta::hours(1)),
            ..CreateKeyRequest::new("expiring")
        })
        .await
        .unwrap()
        .key
        .hash;
    // Two hours later on the emulator's clock the key has expired.
    env.control_post("/clock", json!({"advance_seconds": 7200.0}))
        .await;
    let other_workspace = "7d4c1f6e-1111-4a2b-9c3d-0123456789ab";
    let elsewhere = env.seed(3, Some(other_workspace)).await;

    let hashes = |query: ListKeysQuery| {
        let client = env.client.clone();
        async move {
            let mut hashes: Vec<String> = client
                .list_all(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|key| key.hash)
                .collect();
            hashes.sort();
            hashes
        }
    };
    let sorted = |mut list: Vec<String>| {
        list.sort();
        list
    };

    assert_eq!(hashes(ListKeysQuery::default()).await, vec![plain.clone()]);
    assert_eq!(
        hashes(ListKeysQuery {
            include_disabled: true,
            ..ListKeysQuery::default()
        })
        .await,
        sorted(vec![plain.clone(), disabled.clone()])
    );
    assert_eq!(
        hashes(ListKeysQuery {
            include_expired: true,
            ..ListKeysQuery::default()
        })
        .await,
        sorted(vec![plain.clone(), expiring.clone()])
    );
    assert_eq!(
        hashes(ListKeysQuery::everything()).await,
        sorted(vec![plain.clone(), disabled.clone(), expiring.clone()])
    );
    let in_other = hashes(ListKeysQuery {
        include_disabled: true,
        include_expired: true,
        workspace_id: Some(other_workspace.into()),
    })
    .await;
    assert_eq!(in_other, sorted(elsewhere));

    // One page through list_page directly, with the same filter semantics.
    let page = env
        .client
        .list_page(&ListKeysQuery::everything(), 0)
        .await
        .unwrap();
    assert_eq!(page.len(), 3);
    let skipped = env
        .client
        .list_page(&ListKeysQuery::everything(), 2)
        .await
        .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].hash, page[2].hash);
}

#[tokio::test]
async fn current_key_credits_and_activity() {
    let env = start().await;
    let me = env.client.current_key().await.unwrap();
    assert!(me.is_management_key);
    assert!(me.can_manage_keys());

    env.control_post("/credits", json!({"total_credits": 120.5}))
        .await;
    let credits = env.client.credits().await.unwrap();
    assert_eq!(credits.total_credits, 120.5);

    // An inference key checked through GET /key with its own client.
    let created = env
        .client
        .create_key(&CreateKeyRequest {
            limit: Some(5.0),
            ..CreateKeyRequest::new("inference")
        })
        .await
        .unwrap();
    let hash = created.key.hash.clone();
    env.control_post(
        &format!("/keys/{hash}/usage"),
        json!({"usage": 1.25, "requests": 3, "model": "openai/gpt-4.1"}),
    )
    .await;
    let inference = api_support::client_with(&env.emulator, created.secret.expose_secret(), |_| {});
    let its_view = inference.current_key().await.unwrap();
    assert!(!its_view.can_manage_keys());
    assert_eq!(its_view.limit, Some(5.0));
    assert_eq!(its_view.usage, 1.25);
    assert_eq!(its_view.limit_remaining, Some(3.75));

    // /activity covers completed days: move the clock a day on, then ask for yesterday.
    let today = env.control_get("/clock").await["now"]
        .as_str()
        .unwrap()
        .get(..10)
        .unwrap()
        .to_owned();
    env.control_post("/clock", json!({"advance_seconds": 86400.0}))
        .await;
    let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
    let rows = env
        .client
        .activity(&ActivityQuery {
            date: Some(day),
            api_key_hash: Some(hash.clone()),
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].day(), Some(day));
    assert_eq!(rows[0].model, "openai/gpt-4.1");
    assert_eq!(rows[0].usage, 1.25);
    assert_eq!(rows[0].requests, 3);
    let all = env
        .client
        .activity(&ActivityQuery::default())
        .await
        .unwrap();
    assert!(all.iter().any(|row| row.usage == 1.25));
}
