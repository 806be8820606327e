//! The service's operations that keep secrets in the keychain (in memory here, faults injected where
//! a test needs the keychain to fail): profiles with their management keys, created keys' secrets
//! held as pending before anything else, kept / forgotten secrets, and the offline fallback of a real
//! profile when its server goes away. That the same secrets land in the real Secret Service is
//! `keychain.rs`'s test.
// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service_support;

use std::sync::{Arc, Mutex};

use keyward_core::ErrorKind;
use keyward_core::ipc::{
    AppState, Connectivity, CreateKeyArgs, PendingAction, PendingResolveArgs, ProfileAddArgs,
    ProfileIdArgs, ProfileRenameArgs, ProfileReplaceKeyArgs,
};
use keyward_core::store::{SecretState, Store};
use keyward_core::vault::{Fault, KeychainFailure};
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use service_support::{TestService, list, start};

fn profile_args(emulator: &Emulator, name: &str) -> ProfileAddArgs {
    ProfileAddArgs {
        name: name.into(),
        base_url: Some(emulator.base_url().to_owned()),
        workspace_id: None,
        management_key: SecretString::from(emulator.management_key().to_owned()),
    }
}

async fn add_profile(t: &TestService, emulator: &Emulator, name: &str) -> String {
    let args = profile_args(emulator, name);
    t.service.profile_add(args).await.unwrap().id
}

/// Keeps or forgets the pending secret of `hash`.
async fn resolve(
    t: &TestService,
    id: &str,
    hash: &str,
    action: PendingAction,
) -> Result<AppState, keyward_core::Error> {
    let args = PendingResolveArgs {
        profile_id: id.to_owned(),
        key_hash: hash.to_owned(),
        action,
    };
    t.service.pending_resolve(args).await
}

/// The secret the service holds for `hash`, in clear.
async fn held(t: &TestService, id: &str, hash: &str) -> String {
    let secret = t.service.held_secret(id, hash).await.unwrap();
    secret.expose_secret().to_owned()
}

#[tokio::test]
async fn profiles_keep_their_key_in_the_keychain() {
    let t = start("profiles");
    let emulator = Emulator::start(EmulatorConfig::default().seed_demo(5).seed(1))
        .await
        .unwrap();
    assert!(!t.service.has_real_profile().unwrap());
    let id = add_profile(&t, &emulator, " Work ").await;
    assert!(t.service.has_real_profile().unwrap());
    let state = t.service.app_state().unwrap();
    assert_eq!(state.active_profile_id.as_deref(), Some(id.as_str()));
    assert_eq!(state.profiles[0].name, "Work");
    assert!(!state.profiles[0].is_sandbox);
    assert_eq!(
        t.vault.management_key(&id).unwrap().expose_secret(),
        emulator.management_key()
    );
    // Nothing secret in the database file.
    let db = std::fs::read(t.dir.path().join("keyward.sqlite3")).unwrap();
    let needle = emulator.management_key().as_bytes();
    assert!(!db.windows(needle.len()).any(|w| w == needle));

    // The client is built from the keychain.
    let listed = t.service.keys_list(list(&id, true)).await.unwrap();
    assert_eq!(listed.keys.len(), 5);
    assert_eq!(listed.connectivity, Connectivity::Online);

    // A second profile becomes active; switch back; rename.
    let other_emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let other = add_profile(&t, &other_emulator, "Personal").await;
    assert_eq!(
        t.service.app_state().unwrap().active_profile_id.as_deref(),
        Some(other.as_str())
    );
    let switched = t
        .service
        .profile_switch(ProfileIdArgs { id: id.clone() })
        .await
        .unwrap();
    assert_eq!(switched.active_profile_id.as_deref(), Some(id.as_str()));
    let renamed = t
        .service
        .profile_rename(ProfileRenameArgs {
            id: id.clone(),
            name: "Work (prod)".into(),
        })
        .await
        .unwrap();
    assert_eq!(renamed.name, "Work (prod)");
    let taken = t
        .service
        .profile_rename(ProfileRenameArgs {
            id: id.clone(),
            name: "personal".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), "profile_name_taken");

    // Replace the key: a wrong one is refused, a new management key is saved and used.
    let wrong = t
        .service
        .profile_replace_key(ProfileReplaceKeyArgs {
            id: id.clone(),
            management_key: SecretString::from(format!("sk-or-v1-{}", "2".repeat(64))),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), "unauthorized");
    let new_key = format!("sk-or-v1-{}", "3".repeat(64));
    reqwest::Client::new()
        .post(format!("{}/management-keys", emulator.control_url()))
        .json(&json!({"key": new_key}))
        .send()
        .await
        .unwrap();
    t.service
        .profile_replace_key(ProfileReplaceKeyArgs {
            id: id.clone(),
            management_key: SecretString::from(new_key.clone()),
        })
        .await
        .unwrap();
    assert_eq!(
        t.vault.management_key(&id).unwrap().expose_secret(),
        new_key
    );
    assert!(t.service.keys_list(list(&id, true)).await.is_ok());

    // Remove: the keychain entry goes too, and the remaining profile becomes active.
    let state = t
        .service
        .profile_remove(ProfileIdArgs { id: id.clone() })
        .await
        .unwrap();
    assert_eq!(state.profiles.len(), 1);
    assert_eq!(state.active_profile_id.as_deref(), Some(other.as_str()));
    assert!(!t.vault.has_management_key(&id).unwrap());
    t.service
        .profile_remove(ProfileIdArgs { id: other.clone() })
        .await
        .unwrap();
    assert_eq!(t.service.app_state().unwrap().active_profile_id, None);
}

#[tokio::test]
async fn stopped_server_answers_the_cache_as_offline_and_401_is_an_error() {
    let t = start("offline-real");
    let emulator = Emulator::start(EmulatorConfig::default().seed_demo(3).seed(2))
        .await
        .unwrap();
    let id = add_profile(&t, &emulator, "Work").await;
    let online = t.service.keys_list(list(&id, true)).await.unwrap();
    assert_eq!(online.keys.len(), 3);

    emulator.shutdown().await;
    let offline = t.service.keys_list(list(&id, true)).await.unwrap();
    assert!(offline.from_cache);
    assert_eq!(offline.keys, online.keys);
    match &offline.connectivity {
        Connectivity::Offline { error, .. } => {
            assert!(
                matches!(error.kind, ErrorKind::Network | ErrorKind::Timeout),
                "{error:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // A server that no longer knows the key: an error, not a fallback.
    let fresh = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let other = add_profile(&t, &fresh, "Other").await;
    t.vault
        .set_management_key(
            &other,
            &SecretString::from(format!("sk-or-v1-{}", "4".repeat(64))),
        )
        .unwrap();
    // A new service instance (an app restart) reads the keychain again.
    let restarted = restart(&t);
    let err = restarted.keys_list(list(&other, true)).await.unwrap_err();
    assert_eq!(err.kind(), "unauthorized");
}

/// A second service over the same data directory and vault (a restart of the app).
fn restart(t: &TestService) -> keyward_core::Keyward {
    let mut config = keyward_core::ServiceConfig::new(t.vault.clone());
    config.client_tuning = Arc::new(service_support::fast_client);
    keyward_core::Keyward::new(Store::open_in_dir(t.dir.path()).unwrap(), config)
}

#[tokio::test]
async fn created_secret_is_pending_before_anything_else_then_kept_or_forgotten() {
    let t = start("pending");
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let id = add_profile(&t, &emulator, "Work").await;

    // At the moment the cache changes (the first step after holding the secret), the secret must
    // already be in the keychain and indexed.
    let observed: Arc<Mutex<Vec<(bool, bool)>>> = Arc::default();
    {
        let observed = Arc::clone(&observed);
        let vault = t.vault.clone();
        let dir = t.dir.path().to_path_buf();
        *t.events.on_keys_changed.lock().unwrap() = Some(Box::new(move |event| {
            let store = Store::open_in_dir(&dir).unwrap();
            let newest = store
                .cached_keys::<serde_json::Value>(&event.profile_id)
                .unwrap();
            let hash = newest[0].key_hash.clone();
            let indexed = store
                .secret_index_entry(&event.profile_id, &hash)
                .unwrap()
                .is_some_and(|entry| entry.state == SecretState::Pending);
            let in_keychain = vault.pending_secret(&event.profile_id, &hash).is_ok();
            observed.lock().unwrap().push((indexed, in_keychain));
        }));
    }
    let created = t
        .service
        .key_create(CreateKeyArgs {
            profile_id: id.clone(),
            name: "deploy".into(),
            limit: None,
            limit_reset: None,
            include_byok_in_limit: false,
            expires_at: None,
            workspace_id: None,
        })
        .await
        .unwrap();
    *t.events.on_keys_changed.lock().unwrap() = None;
    assert!(created.pending_saved, "{:?}", created.keychain_error);
    assert_eq!(observed.lock().unwrap().as_slice(), &[(true, true)]);
    let hash = created.key.key.hash.clone();
    assert_eq!(
        t.vault.pending_secret(&id, &hash).unwrap().expose_secret(),
        created.secret
    );

    let state = t.service.app_state().unwrap();
    assert_eq!(state.pending_secrets.len(), 1);
    assert_eq!(state.pending_secrets[0].key_hash, hash);
    assert_eq!(state.pending_secrets[0].state, SecretState::Pending);
    assert_eq!(
        state.pending_secrets[0].label.as_deref(),
        Some(created.key.key.label.as_str())
    );
    assert_eq!(held(&t, &id, &hash).await, created.secret);

    // A profile holding secrets can't be removed.
    let refused = t
        .service
        .profile_remove(ProfileIdArgs { id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "profile_holds_secrets");

    // Keep: moves to the kept entry, still readable for copying.
    let state = resolve(&t, &id, &hash, PendingAction::Keep).await.unwrap();
    assert_eq!(state.pending_secrets[0].state, SecretState::Kept);
    assert!(t.vault.pending_secret(&id, &hash).is_err());
    assert_eq!(held(&t, &id, &hash).await, created.secret);

    // Forget: gone from the keychain and the list.
    let state = resolve(&t, &id, &hash, PendingAction::Forget)
        .await
        .unwrap();
    assert!(state.pending_secrets.is_empty());
    assert!(t.vault.kept_secret(&id, &hash).is_err());
    let missing = t.service.held_secret(&id, &hash).await.unwrap_err();
    assert_eq!(missing.kind(), "secret_not_found");
    let again = resolve(&t, &id, &hash, PendingAction::Forget)
        .await
        .unwrap_err();
    assert_eq!(again.kind(), "secret_not_found");

    t.service
        .profile_remove(ProfileIdArgs { id })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_locked_keychain_keeps_no_half_added_profile_and_reads_say_locked() {
    let t = start("locked-profile");
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let id = add_profile(&t, &emulator, "Work").await;
    t.keychain.inject(Fault::new(KeychainFailure::Locked));

    // Adding a profile whose key can't be saved leaves no profile behind.
    let other = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let refused = t
        .service
        .profile_add(profile_args(&other, "Personal"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "keychain_locked", "{refused}");
    assert!(refused.to_string().contains("unlock"), "{refused}");
    let state = t.service.app_state().unwrap();
    assert_eq!(state.profiles.len(), 1);
    assert_eq!(state.active_profile_id.as_deref(), Some(id.as_str()));

    // A profile whose client is not built yet can't be listed while locked; once unlocked it can.
    let err = t.service.keys_list(list(&id, true)).await.unwrap_err();
    assert_eq!(err.kind(), "keychain_locked");
    t.keychain.clear_faults();
    assert!(t.service.keys_list(list(&id, true)).await.is_ok());
}
