//! A rotation whose keychain refuses the new secret (in memory, faults injected): the secret is held
//! in memory, the rotation stops at the store-secret step with the keychain's error and can't be
//! abandoned (that would lose the secret); once the keychain works again a retry stores it and the
//! rotation completes. Nothing needs a Secret Service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::ErrorKind;
use keyward_core::rotation::{RotationAction, RotationStatus, RotationStepName};
use keyward_core::vault::{Fault, KeychainFailure, KeychainOp};
use rotation_support::rig;

#[tokio::test]
async fn a_locked_keychain_holds_the_new_secret_in_memory_until_a_retry_stores_it() {
    let rig = rig("rot-keychain-locked", None).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    rig.t
        .keychain
        .inject(Fault::new(KeychainFailure::Locked).on(KeychainOp::Set));
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Failed, "{view:#?}");
    assert_eq!(view.current_step, Some(RotationStepName::StoreSecret));
    assert_eq!(view.error.as_ref().unwrap().kind, ErrorKind::KeychainLocked);
    // The new key exists; the file still holds the old secret; the keychain holds nothing new.
    let new_hash = view.new_key_hash.clone().unwrap();
    assert!(rig.emulator_key(&new_hash).await.is_some());
    assert_eq!(rig.env_secret(), rig.old_secret);
    let pending = rig
        .t
        .vault
        .pending_secret_entry(&rig.profile_id, &new_hash)
        .unwrap();
    assert!(rig.t.keychain.secret(&pending).is_none());

    // Abandoning would drop the only copy of the secret.
    let refused = rig
        .t
        .service
        .rotation_action(&view.id, RotationAction::Abandon)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "invalid_input");

    rig.t.keychain.clear_faults();
    let done = rig.act(&view.id, RotationAction::Retry).await;
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    assert_eq!(done.new_key_hash.as_deref(), Some(new_hash.as_str()));
    assert!(rig.journal_problems(&done.id).is_empty());
    // The secret kept in memory is the one deployed, and it works.
    assert_eq!(
        rig.check_secret(&rig.env_secret()).await.unwrap(),
        done.new_key_label.unwrap()
    );
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
}
