//! The key cache and a refresh racing changes made through Keyward (found by the fault soak): a
//! list that left the server before a key was changed, created or deleted locally must not undo
//! that change when it is written (`replace_cached_keys_since`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use keyward_core::store::{NewProfile, Store};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Key {
    hash: String,
    name: String,
}

fn key(n: usize, name: &str) -> Key {
    Key {
        hash: format!("{n:064x}"),
        name: name.to_owned(),
    }
}

fn names(store: &Store, profile_id: &str) -> Vec<(String, String)> {
    store
        .cached_keys::<Key>(profile_id)
        .unwrap()
        .into_iter()
        .map(|cached| (cached.key_hash[62..].to_owned(), cached.key.name))
        .collect()
}

#[test]
fn a_list_older_than_local_changes_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).unwrap();
    let profile = store
        .create_profile(&NewProfile {
            name: "race".into(),
            ..NewProfile::default()
        })
        .unwrap();
    let other = store
        .create_profile(&NewProfile {
            name: "other".into(),
            ..NewProfile::default()
        })
        .unwrap();
    let id = profile.id.as_str();
    store
        .replace_cached_keys(id, &[key(1, "one"), key(2, "two")], |k| &k.hash, Utc::now())
        .unwrap();

    // A refresh starts listing; meanwhile key 1 is renamed, key 2 deleted, key 3 created.
    let since = store.cache_changes(id);
    store
        .upsert_cached_key(id, &key(1, "").hash, &key(1, "renamed"), Utc::now())
        .unwrap();
    assert!(store.remove_cached_key(id, &key(2, "").hash).unwrap());
    store
        .upsert_cached_key(id, &key(3, "").hash, &key(3, "three"), Utc::now())
        .unwrap();
    // Another profile's changes are not this profile's.
    store
        .upsert_cached_key(&other.id, &key(4, "").hash, &key(4, "x"), Utc::now())
        .unwrap();
    assert_eq!(store.cache_changes(id), since + 3);

    // The list left the server before those changes; key 5 is new to it.
    let listed = [key(5, "five"), key(1, "one"), key(2, "two")];
    let cached = store
        .replace_cached_keys_since(id, &listed, |k| &k.hash, Utc::now(), Some(since))
        .unwrap();
    assert_eq!(cached, 3);
    let expected: Vec<(String, String)> = [("03", "three"), ("05", "five"), ("01", "renamed")]
        .iter()
        .map(|(hash, name)| ((*hash).to_owned(), (*name).to_owned()))
        .collect();
    assert_eq!(names(&store, id), expected);

    // A list that left after them is taken whole.
    let since = store.cache_changes(id);
    store
        .replace_cached_keys_since(
            id,
            &[key(1, "one again")],
            |k| &k.hash,
            Utc::now(),
            Some(since),
        )
        .unwrap();
    assert_eq!(
        names(&store, id),
        [("01".to_owned(), "one again".to_owned())]
    );
}
