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

#[tokio::test]
#[ignore = "needs a Secret Service"]
async fn a_planned_backup_survives_a_repeated_deploy_and_undoes_an_interrupted_one() {
    let service = format!("keyward-deploy-planned-test-{}", std::process::id());
    let entry = KeychainEntry::new(service.clone(), "prod-app");
    let backup_entry = KeychainEntry::new(service.clone(), "prod-app.keyward-backup-rotation-r1");
    let vault = Vault::new();
    let ctx = DeployContext::new().with_backup_suffix("rotation-r1");
    let target = DeployTarget::Keychain {
        service: service.clone(),
        account: "prod-app".into(),
    };
    let since = std::time::SystemTime::now();
    vault.set_entry(&entry, &secret("old-value")).unwrap();

    // Not deployed yet: nothing to take back.
    let done = deploy::undo_interrupted(&target, &secret("new-value"), since, &ctx).await;
    assert_eq!(done.unwrap(), None);
    assert_eq!(vault.entry(&entry).unwrap().expose_secret(), "old-value");

    // Deployed twice (the first outcome lost): the backup keeps the old value, not the new one.
    assert!(deploy::deploy(&target, &secret("new-value"), &ctx).await.ok);
    let again = deploy::deploy(&target, &secret("new-value"), &ctx).await;
    assert!(again.ok, "{}", again.message);
    assert_eq!(
        vault.entry(&backup_entry).unwrap().expose_secret(),
        "old-value"
    );

    // Its outcome lost too: the interrupted undo restores the old value from the planned backup.
    let done = deploy::undo_interrupted(&target, &secret("new-value"), since, &ctx).await;
    assert!(done.unwrap().is_some());
    assert_eq!(vault.entry(&entry).unwrap().expose_secret(), "old-value");
    assert!(vault.delete_entry(&backup_entry).unwrap());

    // An entry the interrupted deploy created (no backup) is deleted.
    vault.set_entry(&entry, &secret("new-value")).unwrap();
    let done = deploy::undo_interrupted(&target, &secret("new-value"), since, &ctx).await;
    assert!(done.unwrap().is_some());
    assert!(!vault.delete_entry(&entry).unwrap());
}

/// A keychain target may not name Keyward's own entries: its service (`keyward`, or the vault's own,
/// e.g. the CLI's `--keychain-service`) holds the management keys and the pending and kept secrets,
/// and `….keyward-backup-…` accounts hold other deploys' previous values. Refused when the target is
/// checked (policy validation), and again when a deploy runs, leaving the entry as it was.
#[tokio::test]
async fn keywards_own_entries_are_refused_as_targets() {
    let field = |target: &DeployTarget| match deploy::validate_target(target) {
        Err(keyward_core::Error::InvalidInput { field, message }) => {
            (field.unwrap_or_default(), message)
        }
        other => panic!("{target:?}: {other:?}"),
    };
    for service in ["keyward", "Keyward", " keyward "] {
        let (at, why) = field(&DeployTarget::Keychain {
            service: service.into(),
            account: "management-key/p1".into(),
        });
        assert_eq!(at, "service");
        assert!(why.contains("Keyward's own keychain service"), "{why}");
    }
    let (at, _) = field(&DeployTarget::Keychain {
        service: "my-app".into(),
        account: "prod.keyward-backup-rotation-r1".into(),
    });
    assert_eq!(at, "account");
    let mut policy = keyward_core::rotation::RotationPolicy::default_for("p1", "h1");
    policy.targets = vec![DeployTarget::Keychain {
        service: "keyward".into(),
        account: "pending/p1/h2".into(),
    }];
    assert!(policy.validate().is_err());

    // A vault under its own service name: that service is refused too, and nothing is written.
    let vault = Vault::in_memory("keyward-cli-test");
    vault
        .set_management_key("p1", &secret("sk-or-v1-management"))
        .unwrap();
    let ctx = DeployContext {
        vault: vault.clone(),
        ..DeployContext::new()
    };
    let own = DeployTarget::Keychain {
        service: "keyward-cli-test".into(),
        account: "management-key/p1".into(),
    };
    assert!(deploy::validate_target(&own).is_ok());
    assert!(deploy::validate_target_for(&own, vault.service()).is_err());
    let outcome = deploy::deploy(&own, &secret("sk-or-v1-new"), &ctx).await;
    assert!(!outcome.ok);
    assert!(
        outcome.message.contains("own keychain service"),
        "{}",
        outcome.message
    );
    assert_eq!(
        vault.management_key("p1").unwrap().expose_secret(),
        "sk-or-v1-management"
    );
    // Another service is fine.
    let elsewhere = DeployTarget::Keychain {
        service: "my-app".into(),
        account: "prod".into(),
    };
    assert!(
        deploy::deploy(&elsewhere, &secret("sk-or-v1-new"), &ctx)
            .await
            .ok
    );
}
