//! The service over its sandbox (an emulator it runs itself, with its key in memory only) and an
//! in-memory keychain: the key list with cache, status and offline / rate-limited
//! fallbacks, credits, validation, create (the secret comes back even when the keychain is not
//! there), update, delete, checking a pasted key and refusing an inference key as a profile.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;

use keyward_core::Error;
use keyward_core::ErrorKind;
use keyward_core::api::LimitReset;
use keyward_core::ipc::{
    Connectivity, CreateKeyArgs, KeyCheckArgs, KeyDeleteArgs, KeyStatus, KeysListArgs,
    ProfileAddArgs, ProfileIdArgs, ProfileScopedArgs, UpdateKeyArgs,
};
use keyward_core::vault::{Fault, KeychainFailure};
use secrecy::SecretString;
use serde_json::json;
use service_support::{Event, TestService, list, start, start_with};

/// Opens the sandbox profile and lists its keys once from the emulator (filling the cache).
async fn open_listed(t: &TestService) -> keyward_core::store::Profile {
    let profile = t.service.sandbox_open().await.unwrap();
    t.service.keys_list(list(&profile.id, true)).await.unwrap();
    profile
}

/// Checks `secret` against the OpenRouter of `profile`.
async fn check(
    t: &TestService,
    secret: &str,
    profile: &keyward_core::store::Profile,
) -> Result<keyward_core::ipc::CheckedKey, keyward_core::Error> {
    let args = KeyCheckArgs {
        secret: SecretString::from(secret.to_owned()),
        base_url: Some(profile.base_url.clone()),
    };
    t.service.key_check(args).await
}

fn create_args(profile_id: &str, name: &str) -> CreateKeyArgs {
    CreateKeyArgs {
        profile_id: profile_id.to_owned(),
        name: name.to_owned(),
        limit: None,
        limit_reset: None,
        include_byok_in_limit: false,
        expires_at: None,
        workspace_id: None,
    }
}

#[tokio::test]
async fn sandbox_profile_is_marked_local_and_reused() {
    let t = start("sandbox-open");
    let state = t.service.app_state().unwrap();
    assert!(state.profiles.is_empty());
    assert_eq!(state.active_profile_id, None);

    assert!(!t.service.has_real_profile().unwrap());

    let profile = t.service.sandbox_open().await.unwrap();
    assert!(profile.is_sandbox);
    assert_eq!(profile.name, "Sandbox");
    // The sandbox is no management key of the person's: the launcher still offers the sandbox.
    assert!(!t.service.has_real_profile().unwrap());
    assert!(
        profile.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        profile.base_url
    );
    let state = t.service.app_state().unwrap();
    assert_eq!(
        state.active_profile_id.as_deref(),
        Some(profile.id.as_str())
    );
    assert_eq!(state.profiles.len(), 1);

    // Its management key is never in the keychain.
    assert!(t.vault.management_key(&profile.id).is_err());
    assert!(t.keychain.entries().is_empty());

    // A restart gets a new port and key; the same profile follows it and still works.
    t.service.sandbox_stop().await;
    let again = t.service.sandbox_open().await.unwrap();
    assert_eq!(again.id, profile.id);
    let snapshot = t.service.keys_list(list(&again.id, true)).await.unwrap();
    assert_eq!(snapshot.connectivity, Connectivity::Online);
    assert_eq!(snapshot.keys.len(), 30);
    assert_eq!(t.service.app_state().unwrap().profiles.len(), 1);

    // Switching to it restarts the emulator when it is not running.
    t.service.sandbox_stop().await;
    assert!(t.service.sandbox_control_url().await.is_none());
    t.service
        .profile_switch(ProfileIdArgs {
            id: again.id.clone(),
        })
        .await
        .unwrap();
    assert!(t.service.sandbox_control_url().await.is_some());
}

#[tokio::test]
async fn keys_list_answers_from_the_cache_then_refreshes() {
    let t = start("keys-list");
    let profile = t.service.sandbox_open().await.unwrap();

    let cold = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert!(cold.keys.is_empty());
    assert!(cold.from_cache);
    assert_eq!(cold.fetched_at, None);
    assert!(
        t.events.take().is_empty(),
        "reading the cache emits nothing"
    );

    let fresh = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(!fresh.from_cache);
    assert!(fresh.fetched_at.is_some());
    let control = t.sandbox_control().await;
    let everything = t.get(&control, "/keys").await;
    let emulator_hashes: Vec<&str> = everything["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["hash"].as_str().unwrap())
        .collect();
    assert_eq!(fresh.keys.len(), emulator_hashes.len());
    for row in &fresh.keys {
        assert!(emulator_hashes.contains(&row.key.hash.as_str()));
    }
    assert_eq!(
        t.events.take(),
        vec![
            Event::KeysChanged(keyward_core::ipc::KeysChangedEvent {
                profile_id: profile.id.clone()
            }),
            Event::Connectivity(keyward_core::ipc::ConnectivityEvent {
                profile_id: profile.id.clone(),
                connectivity: Connectivity::Online
            }),
        ]
    );

    // The cache now answers with the same list, without a request.
    t.control
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert!(cached.from_cache);
    assert_eq!(cached.keys, fresh.keys);
    assert_eq!(cached.fetched_at, fresh.fetched_at);
    assert_eq!(t.request_count(&control).await, 0);
}

#[tokio::test]
async fn status_is_derived_with_the_injected_clock_and_filters_apply() {
    let t = start("status");
    let profile = t.service.sandbox_open().await.unwrap();
    let all = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    let now = t.now();
    let mut seen = std::collections::HashSet::new();
    for row in &all.keys {
        let expected = if row.key.expires_at.is_some_and(|at| at <= now) {
            KeyStatus::Expired
        } else if row.key.disabled {
            KeyStatus::Disabled
        } else {
            KeyStatus::Active
        };
        assert_eq!(row.status, expected, "{}", row.key.name);
        seen.insert(row.status);
    }
    assert!(seen.contains(&KeyStatus::Active) && seen.contains(&KeyStatus::Disabled));

    let active_only = t
        .service
        .keys_list(KeysListArgs {
            include_disabled: false,
            include_expired: false,
            ..list(&profile.id, false)
        })
        .await
        .unwrap();
    assert!(
        active_only
            .keys
            .iter()
            .all(|row| row.status == KeyStatus::Active)
    );
    assert_eq!(
        active_only.keys.len(),
        all.keys
            .iter()
            .filter(|row| row.status == KeyStatus::Active)
            .count()
    );

    // Two years on, every key with an expiry has expired: no refresh needed.
    t.advance_clock(2 * 366 * 24 * 3600);
    let later = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    let with_expiry = later
        .keys
        .iter()
        .filter(|row| row.key.expires_at.is_some())
        .count();
    assert!(with_expiry > 0, "the demo data has keys with an expiry");
    assert_eq!(
        later
            .keys
            .iter()
            .filter(|row| row.status == KeyStatus::Expired)
            .count(),
        with_expiry
    );
}

#[tokio::test]
async fn unreachable_server_answers_the_cache_as_offline() {
    let t = start("offline");
    let profile = t.service.sandbox_open().await.unwrap();
    let online = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    let control = t.sandbox_control().await;
    t.events.take();

    // Dropped connections: network.
    t.post(&control, "/faults", json!({"drop": {"next": 10}}))
        .await;
    let first = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(first.from_cache);
    assert_eq!(first.keys, online.keys);
    assert_eq!(first.fetched_at, online.fetched_at);
    let since = match &first.connectivity {
        Connectivity::Offline { error, since, .. } => {
            assert_eq!(error.kind, ErrorKind::Network, "{error:?}");
            *since
        }
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        t.events.take().as_slice(),
        [Event::Connectivity(event)] if matches!(event.connectivity, Connectivity::Offline { .. })
    ));

    // 5xx: still offline, still since the first failure.
    t.post(
        &control,
        "/faults",
        json!({"server_error": {"next": 10, "status": 503}}),
    )
    .await;
    let second = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    match &second.connectivity {
        Connectivity::Offline {
            error,
            since: again,
            ..
        } => {
            assert_eq!(error.kind, ErrorKind::Server);
            assert_eq!(*again, since);
        }
        other => panic!("{other:?}"),
    }
    // The cached read reports the same state.
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert_eq!(cached.connectivity, second.connectivity);

    // Back online.
    t.clear_faults(&control).await;
    let back = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert_eq!(back.connectivity, Connectivity::Online);
    assert!(!back.from_cache);
}

#[tokio::test]
async fn rate_limit_answers_the_cache_with_the_retry_time() {
    let t = start("rate-limited");
    let profile = t.service.sandbox_open().await.unwrap();
    let online = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    let control = t.sandbox_control().await;
    t.post(
        &control,
        "/faults",
        json!({"rate_limit": {"next": 5, "retry_after_seconds": 7}}),
    )
    .await;
    let before = t.now();
    let limited = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(limited.from_cache);
    assert_eq!(limited.keys, online.keys);
    match limited.connectivity {
        Connectivity::RateLimited { retry_at, error } => {
            assert_eq!(error.kind, ErrorKind::RateLimited);
            assert_eq!(error.retry_after_ms, Some(7000));
            let wait = (retry_at - before).num_milliseconds();
            assert!((6_000..=9_000).contains(&wait), "{wait}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn credits_and_validation() {
    let t = start("credits");
    let profile = t.service.sandbox_open().await.unwrap();
    let credits = t
        .service
        .credits(ProfileScopedArgs {
            profile_id: profile.id.clone(),
        })
        .await
        .unwrap();
    assert!(credits.total_credits >= 100.0);
    assert!(credits.total_usage >= 0.0);

    let valid = CreateKeyArgs {
        limit: Some(10.0),
        limit_reset: Some(LimitReset::Monthly),
        expires_at: Some("2099-01-01T00:00:00Z".into()),
        ..create_args(&profile.id, "ci")
    };
    assert!(t.service.validate_create(&valid).is_empty());

    let bad = CreateKeyArgs {
        limit: Some(-1.0),
        expires_at: Some("2001-01-01T00:00:00Z".into()),
        ..create_args(&profile.id, "  ")
    };
    let errors = t.service.validate_create(&bad);
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_deref()).collect();
    assert_eq!(
        fields,
        vec![Some("name"), Some("limit"), Some("expires_at")],
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| e.kind == ErrorKind::InvalidInput));
    let zoneless = CreateKeyArgs {
        expires_at: Some("2099-01-01T00:00:00".into()),
        ..create_args(&profile.id, "ok")
    };
    let errors = t.service.validate_create(&zoneless);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("time zone"), "{errors:?}");

    // A create with a bad field never reaches the server.
    let control = t.sandbox_control().await;
    t.control
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    let refused = t.service.key_create(bad).await.unwrap_err();
    assert_eq!(refused.kind(), "invalid_input");
    assert_eq!(t.request_count(&control).await, 0);
}

#[tokio::test]
async fn create_update_delete_round_trip() {
    let t = start("crud");
    let profile = open_listed(&t).await;
    t.events.take();

    let created = t
        .service
        .key_create(CreateKeyArgs {
            limit: Some(20.0),
            limit_reset: Some(LimitReset::Daily),
            include_byok_in_limit: true,
            expires_at: Some("2099-06-01T12:00:00+02:00".into()),
            ..create_args(&profile.id, "  service-a ")
        })
        .await
        .unwrap();
    assert!(created.secret.starts_with("sk-or-v1-"));
    assert_eq!(created.key.key.name, "service-a");
    assert_eq!(created.key.key.limit, Some(20.0));
    assert_eq!(created.key.key.limit_reset, Some(LimitReset::Daily));
    assert!(created.key.key.include_byok_in_limit);
    assert_eq!(
        created.key.key.expires_at.map(|at| at.to_rfc3339()),
        Some("2099-06-01T10:00:00+00:00".to_owned())
    );
    assert_eq!(created.key.status, KeyStatus::Active);
    assert!(
        created.pending_saved && created.keychain_error.is_none(),
        "{:?}",
        created.keychain_error
    );
    assert!(
        t.events
            .take()
            .contains(&Event::KeysChanged(keyward_core::ipc::KeysChangedEvent {
                profile_id: profile.id.clone()
            }))
    );

    // The new key is in the cache at once, first.
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert_eq!(cached.keys[0].key.hash, created.key.key.hash);

    // The secret works: it is an inference key of this account.
    let checked = check(&t, &created.secret, &profile).await.unwrap();
    assert!(!checked.is_management_key);
    assert_eq!(checked.label, created.key.key.label);
    assert_eq!(checked.limit, Some(20.0));

    let hash = created.key.key.hash.clone();
    let update = |fields: serde_json::Value| {
        let mut args = json!({"profile_id": profile.id, "hash": hash});
        args.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        serde_json::from_value::<UpdateKeyArgs>(args).unwrap()
    };
    let row = t
        .service
        .key_update(update(
            json!({"limit": 5.5, "limit_reset": "weekly", "name": "svc-b"}),
        ))
        .await
        .unwrap();
    assert_eq!(row.key.limit, Some(5.5));
    assert_eq!(row.key.limit_reset, Some(LimitReset::Weekly));
    assert_eq!(row.key.name, "svc-b");

    // null clears the limit; an absent limit_reset stays.
    let row = t
        .service
        .key_update(update(json!({"limit": null})))
        .await
        .unwrap();
    assert_eq!(row.key.limit, None);
    assert_eq!(row.key.limit_reset, Some(LimitReset::Weekly));
    let row = t
        .service
        .key_update(update(json!({"limit_reset": null, "disabled": true})))
        .await
        .unwrap();
    assert_eq!(row.key.limit_reset, None);
    assert_eq!(row.status, KeyStatus::Disabled);
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    let in_cache = cached.keys.iter().find(|r| r.key.hash == hash).unwrap();
    assert_eq!(in_cache.status, KeyStatus::Disabled);

    // Nothing to change is refused before sending.
    let nothing = t.service.key_update(update(json!({}))).await.unwrap_err();
    assert_eq!(nothing.kind(), "invalid_input");

    t.service
        .key_delete(KeyDeleteArgs {
            profile_id: profile.id.clone(),
            hash: hash.clone(),
        })
        .await
        .unwrap();
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert!(cached.keys.iter().all(|r| r.key.hash != hash));
    let refreshed = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(refreshed.keys.iter().all(|r| r.key.hash != hash));
    let again = t
        .service
        .key_delete(KeyDeleteArgs {
            profile_id: profile.id.clone(),
            hash,
        })
        .await
        .unwrap_err();
    assert_eq!(again.kind(), "not_found");
}

#[tokio::test]
async fn inference_and_wrong_keys_are_refused_as_profiles() {
    let t = start("refuse");
    let sandbox = t.service.sandbox_open().await.unwrap();
    let created = t
        .service
        .key_create(create_args(&sandbox.id, "inference"))
        .await
        .unwrap();

    let refused = t
        .service
        .profile_add(ProfileAddArgs {
            name: "Work".into(),
            base_url: Some(sandbox.base_url.clone()),
            workspace_id: None,
            management_key: SecretString::from(created.secret.clone()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::NotManagementKey { label } if *label == created.key.key.label),
        "{refused:?}"
    );
    let message = refused.to_string();
    assert!(message.contains("inference key"), "{message}");
    assert!(
        message.contains("https://openrouter.ai/settings/management-keys"),
        "{message}"
    );
    assert!(!message.contains(&created.secret));

    let wrong = t
        .service
        .profile_add(ProfileAddArgs {
            name: "Work".into(),
            base_url: Some(sandbox.base_url.clone()),
            workspace_id: None,
            management_key: SecretString::from(format!("sk-or-v1-{}", "0".repeat(64))),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), "unauthorized");

    let bad_url = t
        .service
        .profile_add(ProfileAddArgs {
            name: "Work".into(),
            base_url: Some("not a url".into()),
            workspace_id: None,
            management_key: SecretString::from("sk-or-v1-x".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&bad_url, Error::InvalidInput { field: Some(f), .. } if f == "base_url"),
        "{bad_url:?}"
    );
    let taken = t
        .service
        .profile_add(ProfileAddArgs {
            name: "sandbox".into(),
            base_url: None,
            workspace_id: None,
            management_key: SecretString::from("sk-or-v1-x".to_owned()),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), "profile_name_taken");

    // Nothing was stored.
    assert_eq!(t.service.app_state().unwrap().profiles.len(), 1);

    let unknown = check(&t, &format!("sk-or-v1-{}", "1".repeat(64)), &sandbox)
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), "unauthorized");
}

#[tokio::test]
async fn sandbox_keys_survive_a_restart_and_a_bad_state_file_is_set_aside() {
    let t = start_with("sandbox-state", |config, dir| {
        config.sandbox.state_file = Some(dir.join("sandbox-emulator.json"));
    });
    let state_file = t.dir.path().join("sandbox-emulator.json");
    let profile = t.service.sandbox_open().await.unwrap();
    let created = t
        .service
        .key_create(create_args(&profile.id, "kept-across-restarts"))
        .await
        .unwrap();
    t.service.sandbox_stop().await;
    assert!(state_file.is_file());
    let secret_text = std::fs::read_to_string(&state_file).unwrap();
    assert!(
        !secret_text.contains(&created.secret),
        "no secret in the state file"
    );

    t.service.sandbox_open().await.unwrap();
    let listed = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert!(
        listed
            .keys
            .iter()
            .any(|r| r.key.hash == created.key.key.hash)
    );
    t.service.sandbox_stop().await;

    // An unreadable state file does not keep the sandbox from starting.
    std::fs::write(&state_file, "not json").unwrap();
    t.service.sandbox_open().await.unwrap();
    let fresh = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    assert_eq!(fresh.keys.len(), 30);
    assert!(t.dir.path().join("sandbox-emulator.old.json").is_file());
}

/// With no keychain reachable (every call fails as without a Secret Service), a create still returns
/// the secret, says it is not saved and why, and the key is still listed.
#[tokio::test]
async fn keychain_failure_still_returns_the_secret() {
    let t = start("keychain-down");
    let profile = t.service.sandbox_open().await.unwrap();
    t.keychain.inject(Fault::new(KeychainFailure::Unavailable));
    let created = t
        .service
        .key_create(create_args(&profile.id, "no-keychain"))
        .await
        .unwrap();
    assert!(!created.pending_saved);
    let error = created.keychain_error.clone().expect("the keychain error");
    assert!(
        matches!(
            error.kind,
            ErrorKind::KeychainUnavailable | ErrorKind::Keychain
        ),
        "{error:?}"
    );
    assert!(created.secret.starts_with("sk-or-v1-"));
    // The returned secret is the real one.
    let checked = check(&t, &created.secret, &profile).await.unwrap();
    assert_eq!(checked.label, created.key.key.label);
    // Not indexed as held (the keychain write came first and failed), but listed.
    assert!(t.service.app_state().unwrap().pending_secrets.is_empty());
    let cached = t.service.keys_list(list(&profile.id, false)).await.unwrap();
    assert_eq!(cached.keys[0].key.hash, created.key.key.hash);
    assert!(t.keychain.entries().is_empty());
}

#[tokio::test]
async fn the_sandbox_shows_a_whole_team_account() {
    // A newcomer sees workspaces, guardrails, BYOK and a log destination without an account.
    let t = start("sandbox-account");
    let profile = open_listed(&t).await;
    let workspaces = t
        .service
        .workspaces_list(keyward_core::ipc::WorkspacesListArgs {
            profile_id: profile.id.clone(),
            refresh: true,
        })
        .await
        .unwrap();
    assert_eq!(workspaces.len(), 2, "{workspaces:?}");
    let snapshot = t.service.keys_list(list(&profile.id, true)).await.unwrap();
    for workspace in &workspaces {
        assert!(
            snapshot
                .keys
                .iter()
                .any(|row| row.key.workspace_id.as_deref() == Some(workspace.id.as_str())),
            "no key of {}",
            workspace.name
        );
    }
    let guardrails = t
        .service
        .guardrails_list(keyward_core::service::GuardrailsListArgs {
            profile_id: profile.id.clone(),
            refresh: true,
        })
        .await
        .unwrap();
    assert!(guardrails.len() >= 2, "{guardrails:?}");
    let (mut guarded, mut with_byok, mut logged) = (0, 0, 0);
    for row in &snapshot.keys {
        let account = t
            .service
            .key_account(&profile.id, &row.key.hash)
            .await
            .unwrap();
        assert!(account.unavailable.is_empty(), "{account:?}");
        guarded += usize::from(account.guardrail.is_some());
        with_byok += usize::from(!account.byok.is_empty());
        logged += usize::from(!account.destinations.is_empty());
    }
    assert!(
        guarded >= 3 && with_byok >= 3 && logged >= 1,
        "{guarded} {with_byok} {logged}"
    );
}
