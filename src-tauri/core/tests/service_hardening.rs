//! What the service accepts before it sends a key anywhere, and where a new secret ends up when the
//! server's create answer is odd: a management or pasted key not shaped like an OpenRouter key and a
//! plain-http base URL to another machine are refused before any request (profile add, key
//! replacement, key check); an odd `POST /keys` answer still puts the secret in the keychain, both
//! for a created key and in a rotation.
//!
//! The vault is in memory (`service_support`): no Secret Service needed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::ipc::{CreateKeyArgs, KeyCheckArgs, ProfileAddArgs, ProfileReplaceKeyArgs};
use keyward_core::rotation::{RotationStatus, RotationStepName};
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::{ExposeSecret, SecretString};

use rotation_support::rig;
use service_support::start;

fn add_args(base_url: &str, key: &str) -> ProfileAddArgs {
    ProfileAddArgs {
        name: "Work".into(),
        base_url: Some(base_url.to_owned()),
        workspace_id: None,
        management_key: SecretString::from(key.to_owned()),
    }
}

/// `InvalidInput` naming `field`, whose message does not repeat `secret`.
fn assert_refused(err: &keyward_core::Error, field: &str, secret: &str) {
    assert_eq!(err.kind(), "invalid_input", "{err}");
    let keyward_core::Error::InvalidInput {
        field: Some(named), ..
    } = err
    else {
        panic!("no field: {err:?}");
    };
    assert_eq!(named, field, "{err}");
    if secret.len() > 6 {
        assert!(!err.to_string().contains(secret), "{err}");
    }
}

#[tokio::test]
async fn a_key_not_shaped_like_an_openrouter_key_is_refused_before_any_request() {
    let t = start("hard-shape");
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let control = emulator.control_url().to_owned();
    for bad in [
        "hello world",
        "sk-or-v1-abc def",
        "https://openrouter.ai",
        "Bearer  ",
    ] {
        let err = t
            .service
            .profile_add(add_args(emulator.base_url(), bad))
            .await
            .unwrap_err();
        assert_refused(&err, "management_key", bad);
        let err = t
            .service
            .key_check(KeyCheckArgs {
                secret: SecretString::from(bad.to_owned()),
                base_url: Some(emulator.base_url().to_owned()),
            })
            .await
            .unwrap_err();
        assert_refused(&err, "secret", bad);
    }
    assert_eq!(t.request_count(&control).await, 0, "nothing was sent");
    // The emulator's own keys have the shape: adding the profile works, and replacing its key with
    // something else is refused the same way.
    let profile = t
        .service
        .profile_add(add_args(emulator.base_url(), emulator.management_key()))
        .await
        .unwrap();
    let before = t.request_count(&control).await;
    let err = t
        .service
        .profile_replace_key(ProfileReplaceKeyArgs {
            id: profile.id.clone(),
            management_key: SecretString::from("hello world"),
        })
        .await
        .unwrap_err();
    assert_refused(&err, "management_key", "hello world");
    assert_eq!(t.request_count(&control).await, before);
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused_before_any_request() {
    let t = start("hard-http");
    for url in [
        "http://openrouter.ai/api/v1",
        "http://192.0.2.7:8080/api/v1",
    ] {
        let err = t
            .service
            .profile_add(add_args(url, "sk-or-v1-local-management-key"))
            .await
            .unwrap_err();
        assert_refused(&err, "base_url", "sk-or-v1-local-management-key");
        assert!(err.to_string().contains("https://"), "{err}");
        let err = t
            .service
            .key_check(KeyCheckArgs {
                secret: SecretString::from("sk-or-v1-pasted"),
                base_url: Some(url.to_owned()),
            })
            .await
            .unwrap_err();
        assert_refused(&err, "base_url", "sk-or-v1-pasted");
    }
    assert!(t.service.app_state().unwrap().profiles.is_empty());
}

const ODD_CREATE: &str = r#"{"create_response": {
    "set": {"unexpected": {"nested": [1]}},
    "data_set": {"usage": "lots", "disabled": null, "brand_new": true},
    "data_remove": ["label", "limit_reset"]
}}"#;

#[tokio::test]
async fn an_odd_create_answer_still_puts_the_secret_in_the_keychain() {
    let t = start("hard-create");
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let control = emulator.control_url().to_owned();
    let profile = t
        .service
        .profile_add(add_args(emulator.base_url(), emulator.management_key()))
        .await
        .unwrap();
    t.post(
        &control,
        "/quirks",
        serde_json::from_str(ODD_CREATE).unwrap(),
    )
    .await;
    let created = t
        .service
        .key_create(CreateKeyArgs {
            profile_id: profile.id.clone(),
            name: "odd".into(),
            limit: Some(3.0),
            limit_reset: None,
            include_byok_in_limit: false,
            expires_at: None,
            workspace_id: None,
        })
        .await
        .unwrap();
    assert!(created.pending_saved, "{:?}", created.keychain_error);
    let held = t
        .service
        .held_secret(&profile.id, &created.key.key.hash)
        .await
        .unwrap();
    assert_eq!(held.expose_secret(), created.secret);
    // It is the real key's secret.
    let checked = t
        .service
        .key_check(KeyCheckArgs {
            secret: SecretString::from(created.secret.clone()),
            base_url: Some(emulator.base_url().to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(checked.label, created.key.key.label);
}

#[tokio::test]
async fn a_rotation_keeps_the_secret_of_an_odd_create_answer() {
    let rig = rig("hard-rotate", None).await;
    rig.t
        .post(
            &rig.control(),
            "/quirks",
            serde_json::from_str(ODD_CREATE).unwrap(),
        )
        .await;
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting, "{view:#?}");
    assert_eq!(
        view.current_step,
        Some(RotationStepName::DeleteOld),
        "{view:#?}"
    );
    let new_hash = view.new_key_hash.clone().unwrap();
    let deployed = rig.env_secret();
    assert_ne!(deployed, rig.old_secret);
    let held = rig
        .t
        .service
        .held_secret(&rig.profile_id, &new_hash)
        .await
        .unwrap();
    assert_eq!(held.expose_secret(), deployed);
    assert!(rig.check_secret(&deployed).await.is_ok());
}
