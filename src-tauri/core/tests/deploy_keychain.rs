//! Keychain deploy targets against a real Secret Service (gnome-keyring under `dbus-run-session`):
//! the entry is written and read back, its previous value is backed up, undo and discard work.
//! Run in a session: `dbus-run-session -- bash -c 'echo -n pw | gnome-keyring-daemon --unlock
//! --components=secrets >/dev/null; cargo test -p keyward-core --test deploy_keychain -- --ignored'`

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyward_core::deploy::{self, DeployContext, DeployTarget, DeployUndo};
use keyward_core::vault::{KeychainEntry, Vault};
use secrecy::{ExposeSecret, SecretString};

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

#[tokio::test]
#[ignore = "needs a Secret Service"]
async fn deploys_backs_up_undoes_and_discards() {
    let service = format!("keyward-deploy-test-{}", std::process::id());
    let entry = KeychainEntry::new(service.clone(), "prod-app");
    let vault = Vault::new();
    let ctx = DeployContext::new();
    let target = DeployTarget::Keychain {
        service: service.clone(),
        account: "prod-app".into(),
    };

    let first = deploy::deploy(&target, &secret("first-value"), &ctx).await;
    assert!(first.ok, "{}", first.message);
    assert_eq!(vault.entry(&entry).unwrap().expose_secret(), "first-value");

    let second = deploy::deploy(&target, &secret("second-value"), &ctx).await;
    assert!(second.ok, "{}", second.message);
    assert!(
        !serde_json::to_string(&second)
            .unwrap()
            .contains("second-value")
    );
    assert_eq!(vault.entry(&entry).unwrap().expose_secret(), "second-value");
    let Some(DeployUndo::RestoreKeychainEntry {
        backup_account: Some(backup),
        ..
    }) = &second.undo
    else {
        panic!("{:?}", second.undo);
    };
    let backup_entry = KeychainEntry::new(service.clone(), backup.clone());
    assert_eq!(
        vault.entry(&backup_entry).unwrap().expose_secret(),
        "first-value"
    );

    deploy::undo(&second, &ctx).await.unwrap();
    assert_eq!(vault.entry(&entry).unwrap().expose_secret(), "first-value");
    deploy::discard_backup(&second, &ctx).await.unwrap();
    assert!(!vault.delete_entry(&backup_entry).unwrap());

    // The first deploy created the entry: undoing it deletes it.
    deploy::undo(&first, &ctx).await.unwrap();
    assert!(!vault.delete_entry(&entry).unwrap());
}
