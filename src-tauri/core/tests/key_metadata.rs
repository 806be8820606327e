//! Local key metadata through the service: set and shown in the list, refused whole when a field is
//! bad (nothing changes), kept across an update and a refresh, dropped with its key, carried by a
//! rotation to the new key, and refused when it carries a secret. Against the emulator over HTTP.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::ipc::{KeyDeleteArgs, KeyMetadataSetArgs, KeyRow, UpdateKeyArgs};
use keyward_core::metadata::KeyMetadata;
use keyward_core::rotation::RotationStatus;

use rotation_support::{Rig, create_key, rig, start_args};
use service_support::list;

fn tagged(tags: &[&str]) -> KeyMetadata {
    KeyMetadata {
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        environment: Some("production".into()),
        project: Some("checkout".into()),
        owner: Some("ana@example.com".into()),
        notes: Some("used by the payment worker\nrotate after incidents".into()),
    }
}

async fn row(rig: &Rig, hash: &str) -> Option<KeyRow> {
    let snapshot = rig
        .t
        .service
        .keys_list(list(&rig.profile_id, false))
        .await
        .unwrap();
    snapshot.keys.into_iter().find(|row| row.key.hash == hash)
}

async fn set(rig: &Rig, hash: &str, metadata: KeyMetadata) -> Result<KeyRow, keyward_core::Error> {
    rig.t
        .service
        .key_metadata_set(KeyMetadataSetArgs {
            profile_id: rig.profile_id.clone(),
            hash: hash.to_owned(),
            metadata,
        })
        .await
}

#[tokio::test]
async fn metadata_is_set_normalized_listed_and_survives_updates_and_refreshes() {
    let rig = rig("meta-set", None).await;
    let answered = set(
        &rig,
        &rig.old_hash,
        tagged(&[" Leaked", "team:core", "LEAKED"]),
    )
    .await
    .unwrap();
    assert_eq!(answered.metadata.tags, ["leaked", "team:core"]);
    assert_eq!(
        row(&rig, &rig.old_hash).await.unwrap().metadata,
        answered.metadata
    );

    // An update of the key on OpenRouter answers its row with the metadata.
    let updated = rig
        .t
        .service
        .key_update(UpdateKeyArgs {
            profile_id: rig.profile_id.clone(),
            hash: rig.old_hash.clone(),
            name: Some("renamed".into()),
            ..UpdateKeyArgs::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.metadata, answered.metadata);
    // A refresh replaces the cache, not the metadata.
    let refreshed = rig
        .t
        .service
        .keys_list(list(&rig.profile_id, true))
        .await
        .unwrap();
    let old = refreshed
        .keys
        .iter()
        .find(|r| r.key.hash == rig.old_hash)
        .unwrap();
    assert_eq!(old.metadata, answered.metadata);
    // Other keys have none.
    assert!(
        refreshed
            .keys
            .iter()
            .filter(|r| r.key.hash != rig.old_hash)
            .all(|r| r.metadata.is_empty())
    );

    // Clearing it all removes it.
    let cleared = set(&rig, &rig.old_hash, KeyMetadata::default())
        .await
        .unwrap();
    assert!(cleared.metadata.is_empty());
    assert!(
        rig.t
            .open_store()
            .key_metadata(&rig.profile_id, &rig.old_hash)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_metadata_secrets_and_unknown_keys_change_nothing() {
    let rig = rig("meta-bad", None).await;
    let good = set(&rig, &rig.old_hash, tagged(&["prod"]))
        .await
        .unwrap()
        .metadata;

    let mut bad = tagged(&["prod", "two words"]);
    bad.project = Some("new".into());
    let err = set(&rig, &rig.old_hash, bad).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_input", "{err}");
    let validation = rig.t.service.key_metadata_validate(&tagged(&["a b"]));
    assert_eq!(validation.len(), 1);
    assert_eq!(validation[0].field.as_deref(), Some("tags"));

    let mut secret = tagged(&["prod"]);
    secret.notes = Some(format!("old value {}", rig.old_secret));
    let err = set(&rig, &rig.old_hash, secret).await.unwrap_err();
    assert!(!err.to_string().contains(&rig.old_secret), "{err}");

    let err = set(&rig, "0123456789abcdef", tagged(&["x"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");

    assert_eq!(row(&rig, &rig.old_hash).await.unwrap().metadata, good);
    assert!(
        rig.t
            .open_store()
            .key_metadata(&rig.profile_id, "0123456789abcdef")
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_a_key_drops_its_metadata() {
    let rig = rig("meta-delete", None).await;
    let (hash, _) = create_key(&rig.t, &rig.profile_id, "short-lived").await;
    set(&rig, &hash, tagged(&["temp"])).await.unwrap();
    rig.t
        .service
        .key_delete(KeyDeleteArgs {
            profile_id: rig.profile_id.clone(),
            hash: hash.clone(),
        })
        .await
        .unwrap();
    assert!(
        rig.t
            .open_store()
            .key_metadata(&rig.profile_id, &hash)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_rotation_hands_the_metadata_to_the_new_key() {
    let rig = rig("meta-rotate", None).await;
    let metadata = set(&rig, &rig.old_hash, tagged(&["prod", "payments"]))
        .await
        .unwrap()
        .metadata;
    rig.set_policy(|policy| policy.quiet_period_secs = 0);
    let mut args = start_args(&rig);
    args.delete_at_once = true;
    let view = rig.t.service.rotation_start(args).await.unwrap();
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    assert_eq!(row(&rig, &new_hash).await.unwrap().metadata, metadata);
    // The old key is gone, and its metadata with it.
    assert!(
        rig.t
            .open_store()
            .key_metadata(&rig.profile_id, &rig.old_hash)
            .unwrap()
            .is_empty()
    );
}
