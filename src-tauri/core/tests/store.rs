//! The local SQLite store on a real file in a temp dir: migrations, persistence, profiles, the key
//! cache, the secret index, cascades, and that no secret ever reaches the database files.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use keyward_core::store::{
    DATABASE_FILE, DEFAULT_BASE_URL, NewProfile, NewSecretIndexEntry, ProfileChanges,
    SCHEMA_VERSION, SecretState, Store, default_data_dir,
};
use serde::{Deserialize, Serialize};

/// A stand-in for the API's key object: the store is generic, so any serde type will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Key {
    hash: String,
    name: String,
    label: String,
    disabled: bool,
    limit: Option<f64>,
    usage: f64,
    created_at: String,
    workspace_id: Option<String>,
}

fn key(n: usize) -> Key {
    Key {
        hash: format!("{n:064x}"),
        name: format!("Customer {n}"),
        label: format!("sk-or-v1-{:03x}...{:03x}", n % 4096, (n * 7) % 4096),
        disabled: n.is_multiple_of(5),
        limit: n.is_multiple_of(3).then_some(100.0),
        usage: n as f64 / 10.0,
        created_at: format!("2025-08-24T10:{:02}:{:02}Z", (n / 60) % 60, n % 60),
        workspace_id: None,
    }
}

fn profile(name: &str) -> NewProfile {
    NewProfile {
        name: name.to_owned(),
        ..NewProfile::default()
    }
}

fn open(dir: &Path) -> Store {
    Store::open_in_dir(dir).unwrap()
}

#[test]
fn migrates_an_empty_database_to_the_latest_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("not/yet/there");
    let store = open(&nested);
    assert_eq!(store.path(), Some(nested.join(DATABASE_FILE).as_path()));
    assert_eq!(store.schema_version().unwrap() as usize, SCHEMA_VERSION);
    const { assert!(SCHEMA_VERSION >= 1) };
    assert_eq!(store.journal_mode().unwrap(), "wal");
    assert!(store.profiles().unwrap().is_empty());
    assert_eq!(store.active_profile_id().unwrap(), None);
    assert!(store.pending_secrets().unwrap().is_empty());

    let conn = rusqlite::Connection::open(nested.join(DATABASE_FILE)).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        [
            "active_profile",
            "activity_days",
            "activity_fetches",
            "alert_ledger",
            "alert_snoozes",
            "audit_log",
            "cache_meta",
            "cached_keys",
            "command_approvals",
            "key_location_scans",
            "key_locations",
            "key_metadata",
            "keyward_disabled_keys",
            "open_alerts",
            "pending_secrets",
            "profiles",
            "revokes",
            "rotation_journal",
            "rotation_policies",
            "rotations",
            "settings",
            "usage_snapshots",
        ]
    );
}

#[test]
fn reopening_keeps_data_and_does_not_migrate_again() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = open(dir.path());
        let created = store.create_profile(&profile("personal")).unwrap();
        store.set_active_profile(Some(&created.id)).unwrap();
        store.set_setting("refresh_minutes", &15).unwrap();
        store
            .replace_cached_keys(&created.id, &[key(1), key(2)], |k| &k.hash, Utc::now())
            .unwrap();
        created.id
    };
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap() as usize, SCHEMA_VERSION);
    assert_eq!(store.active_profile().unwrap().unwrap().name, "personal");
    assert_eq!(store.setting::<u32>("refresh_minutes").unwrap(), Some(15));
    let cached = store.cached_keys::<Key>(&id).unwrap();
    assert_eq!(cached.len(), 2);
    assert_eq!(cached[0].key, key(1));
}

#[test]
fn a_database_from_a_newer_keyward_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open_in_dir(dir.path()).unwrap_err();
    assert_eq!(err.kind(), "store");
    assert!(err.to_string().contains("newer Keyward"), "{err}");
}

#[test]
fn profiles_are_created_listed_renamed_updated_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let personal = store.create_profile(&profile("  personal ")).unwrap();
    assert_eq!(personal.name, "personal");
    assert_eq!(personal.base_url, DEFAULT_BASE_URL);
    assert_eq!(personal.workspace_id, None);
    assert!(!personal.is_sandbox);
    assert_eq!(personal.last_used_at, None);

    let acme = store
        .create_profile(&NewProfile {
            name: "acme-prod".into(),
            base_url: Some("http://127.0.0.1:8080/api/v1/".into()),
            workspace_id: Some("0df9e665-d932-5740-b2c7-b52af166bc11".into()),
            is_sandbox: false,
        })
        .unwrap();
    assert_eq!(acme.base_url, "http://127.0.0.1:8080/api/v1");
    assert_ne!(acme.id, personal.id);

    let names: Vec<_> = store
        .profiles()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["acme-prod", "personal"]);
    assert_eq!(store.profile(&acme.id).unwrap().unwrap(), acme);
    assert_eq!(
        store.profile_by_name("ACME-PROD").unwrap().unwrap().id,
        acme.id
    );
    assert_eq!(store.profile("no-such-id").unwrap(), None);

    // Unique names, regardless of case, with a message a person can act on.
    let err = store.create_profile(&profile("Personal")).unwrap_err();
    assert_eq!(err.kind(), "profile_name_taken");
    assert_eq!(
        err.to_string(),
        "A profile named \"Personal\" already exists: choose another name"
    );
    let err = store.rename_profile(&acme.id, "PERSONAL").unwrap_err();
    assert_eq!(err.kind(), "profile_name_taken");
    assert_eq!(store.profile(&acme.id).unwrap().unwrap().name, "acme-prod");

    let renamed = store.rename_profile(&acme.id, "acme-production").unwrap();
    assert_eq!(renamed.name, "acme-production");
    assert!(renamed.updated_at >= acme.updated_at);
    // Renaming to the same name with another case is not a conflict with itself.
    store.rename_profile(&acme.id, "ACME-production").unwrap();

    let updated = store
        .update_profile(
            &acme.id,
            &ProfileChanges {
                workspace_id: Some(None),
                base_url: Some("https://openrouter.ai/api/v1".into()),
                ..ProfileChanges::default()
            },
        )
        .unwrap();
    assert_eq!(updated.workspace_id, None);
    assert_eq!(updated.base_url, DEFAULT_BASE_URL);

    for bad in ["", "   ", "tab\there"] {
        assert_eq!(
            store.create_profile(&profile(bad)).unwrap_err().kind(),
            "invalid_input"
        );
    }
    assert_eq!(
        store
            .create_profile(&profile(&"x".repeat(65)))
            .unwrap_err()
            .kind(),
        "invalid_input"
    );
    for bad_url in [
        "not a url",
        "ftp://openrouter.ai/api/v1",
        "https://user:pw@example.com",
        // The key would cross the network unencrypted: http only to loopback.
        "http://openrouter.ai/api/v1",
        "http://10.1.2.3:8080/api/v1",
    ] {
        let err = store
            .create_profile(&NewProfile {
                name: "bad".into(),
                base_url: Some(bad_url.into()),
                ..NewProfile::default()
            })
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input", "{bad_url}");
    }

    store.touch_profile(&personal.id).unwrap();
    assert!(
        store
            .profile(&personal.id)
            .unwrap()
            .unwrap()
            .last_used_at
            .is_some()
    );
    assert_eq!(
        store.touch_profile("missing").unwrap_err().kind(),
        "profile_not_found"
    );
    assert_eq!(
        store.rename_profile("missing", "x").unwrap_err().kind(),
        "profile_not_found"
    );

    assert!(store.remove_profile(&personal.id).unwrap());
    assert!(!store.remove_profile(&personal.id).unwrap());
    assert_eq!(store.profiles().unwrap().len(), 1);
    // The name is free again.
    store.create_profile(&profile("personal")).unwrap();
}

#[test]
fn the_active_profile_is_switched_and_cleared_when_removed() {
    let store = Store::open_in_memory().unwrap();
    let a = store.create_profile(&profile("a")).unwrap();
    let b = store.create_profile(&profile("b")).unwrap();
    assert_eq!(store.active_profile().unwrap(), None);

    store.set_active_profile(Some(&a.id)).unwrap();
    assert_eq!(
        store.active_profile_id().unwrap().as_deref(),
        Some(a.id.as_str())
    );
    assert!(
        store
            .profile(&a.id)
            .unwrap()
            .unwrap()
            .last_used_at
            .is_some()
    );
    store.set_active_profile(Some(&b.id)).unwrap();
    assert_eq!(store.active_profile().unwrap().unwrap().id, b.id);

    let err = store.set_active_profile(Some("missing")).unwrap_err();
    assert_eq!(err.kind(), "profile_not_found");
    assert_eq!(
        store.active_profile_id().unwrap().as_deref(),
        Some(b.id.as_str())
    );

    store.remove_profile(&b.id).unwrap();
    assert_eq!(store.active_profile_id().unwrap(), None);
    store.set_active_profile(Some(&a.id)).unwrap();
    store.set_active_profile(None).unwrap();
    assert_eq!(store.active_profile_id().unwrap(), None);
}

#[test]
fn settings_round_trip_as_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Alerts {
        expiry_days: Vec<u32>,
        near_limit_percent: f64,
    }
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.setting::<Alerts>("alerts").unwrap(), None);
    let alerts = Alerts {
        expiry_days: vec![7, 1],
        near_limit_percent: 80.0,
    };
    store.set_setting("alerts", &alerts).unwrap();
    assert_eq!(store.setting::<Alerts>("alerts").unwrap(), Some(alerts));
    store
        .set_setting(
            "alerts",
            &serde_json::json!({"expiry_days": [3], "near_limit_percent": 95.0}),
        )
        .unwrap();
    assert_eq!(
        store
            .setting::<Alerts>("alerts")
            .unwrap()
            .unwrap()
            .expiry_days,
        [3]
    );
    // A value of the wrong shape is a store error, not a panic.
    assert_eq!(store.setting::<u32>("alerts").unwrap_err().kind(), "store");
    assert!(store.remove_setting("alerts").unwrap());
    assert!(!store.remove_setting("alerts").unwrap());
}

#[test]
fn ten_thousand_cached_keys_replace_and_read_back_fast_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let p = store.create_profile(&profile("big")).unwrap();
    let other = store.create_profile(&profile("other")).unwrap();
    store
        .replace_cached_keys(&other.id, &[key(1)], |k| &k.hash, Utc::now())
        .unwrap();

    let keys: Vec<Key> = (0..10_000).map(key).collect();
    let fetched_at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let started = Instant::now();
    let cached = store
        .replace_cached_keys(&p.id, &keys, |k| &k.hash, fetched_at)
        .unwrap();
    let wrote = started.elapsed();
    assert_eq!(cached, 10_000);

    let started = Instant::now();
    let back = store.cached_keys::<Key>(&p.id).unwrap();
    let read = started.elapsed();
    println!("10,000 cached keys: replace {wrote:?}, read {read:?}");
    assert_eq!(back.len(), 10_000);
    assert!(
        back.iter()
            .zip(&keys)
            .all(|(c, k)| c.key == *k && c.key_hash == k.hash)
    );
    assert!(back.iter().all(|c| c.fetched_at == fetched_at));
    // Generous bounds for a debug build on 2 cores; a regression to per-row transactions takes minutes.
    assert!(wrote < Duration::from_secs(5), "replace took {wrote:?}");
    assert!(read < Duration::from_secs(5), "read took {read:?}");

    let meta = store.cache_meta(&p.id).unwrap().unwrap();
    assert_eq!(meta.last_refresh_at, Some(fetched_at));
    assert_eq!(meta.last_error, None);

    // Replacing drops keys that are gone; other profiles are untouched.
    let later = fetched_at + chrono::Duration::minutes(5);
    store
        .replace_cached_keys(&p.id, &keys[..3], |k| &k.hash, later)
        .unwrap();
    let back = store.cached_keys::<Key>(&p.id).unwrap();
    assert_eq!(
        back.iter().map(|c| c.key.clone()).collect::<Vec<_>>(),
        keys[..3]
    );
    assert_eq!(store.cached_keys::<Key>(&other.id).unwrap().len(), 1);
}

#[test]
fn cache_errors_single_key_updates_and_duplicates() {
    let store = Store::open_in_memory().unwrap();
    let p = store.create_profile(&profile("p")).unwrap();
    assert_eq!(store.cache_meta(&p.id).unwrap(), None);
    assert!(store.cached_keys::<Key>(&p.id).unwrap().is_empty());

    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    // The API may repeat a key across pages while keys are being created: the first one wins.
    let mut dup = key(2);
    dup.name = "later copy".into();
    let n = store
        .replace_cached_keys(&p.id, &[key(1), key(2), dup], |k| &k.hash, t0)
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        store.cached_keys::<Key>(&p.id).unwrap()[1].key.name,
        "Customer 2"
    );

    let t1 = t0 + chrono::Duration::hours(1);
    store
        .record_cache_error(&p.id, "Can't reach OpenRouter", t1)
        .unwrap();
    let meta = store.cache_meta(&p.id).unwrap().unwrap();
    assert_eq!(meta.last_refresh_at, Some(t0));
    assert_eq!(meta.last_error.as_deref(), Some("Can't reach OpenRouter"));
    assert_eq!(meta.last_error_at, Some(t1));
    assert_eq!(
        store.cached_keys::<Key>(&p.id).unwrap().len(),
        2,
        "a failed refresh keeps the list"
    );

    // A created key goes first; an edited one keeps its place.
    store
        .upsert_cached_key(&p.id, &key(3).hash, &key(3), t1)
        .unwrap();
    let mut edited = key(2);
    edited.disabled = true;
    store
        .upsert_cached_key(&p.id, &edited.hash, &edited, t1)
        .unwrap();
    let back = store.cached_keys::<Key>(&p.id).unwrap();
    let hashes: Vec<_> = back.iter().map(|c| c.key_hash.clone()).collect();
    assert_eq!(hashes, [key(3).hash, key(1).hash, key(2).hash]);
    assert!(back[2].key.disabled);
    assert_eq!(
        store
            .cached_key::<Key>(&p.id, &key(2).hash)
            .unwrap()
            .unwrap()
            .fetched_at,
        t1
    );

    assert!(store.remove_cached_key(&p.id, &key(1).hash).unwrap());
    assert!(!store.remove_cached_key(&p.id, &key(1).hash).unwrap());
    assert_eq!(store.cached_key::<Key>(&p.id, &key(1).hash).unwrap(), None);

    // A successful refresh clears the error.
    store
        .replace_cached_keys(&p.id, &[key(9)], |k| &k.hash, t1)
        .unwrap();
    assert_eq!(store.cache_meta(&p.id).unwrap().unwrap().last_error, None);

    // Reading back as a type the JSON no longer fits is a store error asking for a refresh.
    let err = store.cached_keys::<Vec<u8>>(&p.id).unwrap_err();
    assert_eq!(err.kind(), "store");
    assert!(err.to_string().contains("refresh"), "{err}");

    let err = store
        .replace_cached_keys("missing", &[key(1)], |k| &k.hash, t1)
        .unwrap_err();
    assert_eq!(err.kind(), "profile_not_found");
}

#[test]
fn the_secret_index_tracks_pending_and_kept_secrets() {
    let store = Store::open_in_memory().unwrap();
    let a = store.create_profile(&profile("a")).unwrap();
    let b = store.create_profile(&profile("b")).unwrap();
    let entry = |p: &str, n: usize| NewSecretIndexEntry {
        profile_id: p.to_owned(),
        key_hash: key(n).hash,
        key_name: key(n).name,
        label: Some(key(n).label),
    };

    let first = store.record_pending_secret(&entry(&a.id, 1)).unwrap();
    assert_eq!(first.state, SecretState::Pending);
    store.record_pending_secret(&entry(&a.id, 2)).unwrap();
    store.record_pending_secret(&entry(&b.id, 3)).unwrap();
    assert_eq!(store.pending_secrets().unwrap().len(), 3);

    assert!(store.mark_secret_kept(&a.id, &key(2).hash).unwrap());
    assert!(!store.mark_secret_kept(&a.id, "unknown").unwrap());
    let pending: Vec<_> = store
        .pending_secrets()
        .unwrap()
        .into_iter()
        .map(|e| e.key_hash)
        .collect();
    assert_eq!(pending, [key(1).hash, key(3).hash]);
    let kept = store
        .secret_index(Some(&a.id), Some(SecretState::Kept))
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].key_name, "Customer 2");
    assert_eq!(store.secret_index(Some(&a.id), None).unwrap().len(), 2);
    assert_eq!(
        store
            .secret_index_entry(&a.id, &key(1).hash)
            .unwrap()
            .unwrap(),
        first
    );

    // Recording again (a retried creation) resets to pending.
    store.record_pending_secret(&entry(&a.id, 2)).unwrap();
    assert_eq!(
        store
            .secret_index_entry(&a.id, &key(2).hash)
            .unwrap()
            .unwrap()
            .state,
        SecretState::Pending
    );

    assert!(
        store
            .remove_secret_index_entry(&a.id, &key(1).hash)
            .unwrap()
    );
    assert!(
        !store
            .remove_secret_index_entry(&a.id, &key(1).hash)
            .unwrap()
    );
    assert_eq!(
        store
            .record_pending_secret(&entry("missing", 1))
            .unwrap_err()
            .kind(),
        "profile_not_found"
    );
}

#[test]
fn removing_a_profile_cascades_to_its_cache_and_secret_index_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let gone = store.create_profile(&profile("gone")).unwrap();
    let kept = store.create_profile(&profile("kept")).unwrap();
    for p in [&gone, &kept] {
        store
            .replace_cached_keys(&p.id, &[key(1), key(2)], |k| &k.hash, Utc::now())
            .unwrap();
        store
            .record_pending_secret(&NewSecretIndexEntry {
                profile_id: p.id.clone(),
                key_hash: key(1).hash,
                key_name: "new".into(),
                label: None,
            })
            .unwrap();
    }
    store.set_active_profile(Some(&gone.id)).unwrap();

    assert!(store.remove_profile(&gone.id).unwrap());
    assert!(store.cached_keys::<Key>(&gone.id).unwrap().is_empty());
    assert_eq!(store.cache_meta(&gone.id).unwrap(), None);
    assert!(store.secret_index(Some(&gone.id), None).unwrap().is_empty());
    assert_eq!(store.active_profile_id().unwrap(), None);

    assert_eq!(store.cached_keys::<Key>(&kept.id).unwrap().len(), 2);
    assert!(store.cache_meta(&kept.id).unwrap().is_some());
    assert_eq!(store.secret_index(Some(&kept.id), None).unwrap().len(), 1);

    // Nothing is left behind in the file either.
    let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    for table in ["cached_keys", "cache_meta", "pending_secrets"] {
        let rows: i64 = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE profile_id = ?1"),
                [&gone.id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
}

/// Reads every file of the database (main, WAL, shared memory) and reports which contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[test]
fn no_secret_reaches_the_database_files() {
    let secret = format!("sk-or-v1-{}", "d3558566a246d57584c29dd02393d4a5".repeat(2));
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let p = store.create_profile(&profile("personal")).unwrap();
    store.set_active_profile(Some(&p.id)).unwrap();
    let keys: Vec<Key> = (0..50).map(key).collect();
    store
        .replace_cached_keys(&p.id, &keys, |k| &k.hash, Utc::now())
        .unwrap();
    store
        .record_pending_secret(&NewSecretIndexEntry {
            profile_id: p.id.clone(),
            key_hash: key(7).hash,
            key_name: "ci".into(),
            label: Some("sk-or-v1-d35...55d".into()),
        })
        .unwrap();

    // The usual mistakes are refused rather than written: a create response (secret at top-level
    // `key`) cached as a key, a secret in a setting, a secret in an error message or a key name.
    let create_response = serde_json::json!({"key": secret, "data": key(99)});
    let err = store
        .replace_cached_keys(
            &p.id,
            std::slice::from_ref(&create_response),
            |_| "h",
            Utc::now(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), "store");
    assert!(!err.to_string().contains(&secret));
    assert!(
        store
            .upsert_cached_key(&p.id, "h", &create_response, Utc::now())
            .is_err()
    );
    assert!(store.set_setting("last_created", &secret).is_err());
    assert!(
        store
            .record_cache_error(&p.id, &format!("bad key {secret}"), Utc::now())
            .is_err()
    );
    assert!(
        store
            .record_pending_secret(&NewSecretIndexEntry {
                profile_id: p.id.clone(),
                key_hash: key(8).hash,
                key_name: secret.clone(),
                label: None,
            })
            .is_err()
    );
    // A failed replace leaves the previous list in place.
    assert_eq!(store.cached_keys::<Key>(&p.id).unwrap().len(), 50);

    // Look in the WAL before a checkpoint and in the main file after one.
    let body = &secret["sk-or-v1-".len()..];
    let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the writes should be in the WAL"
    );
    assert_eq!(
        files_containing(dir.path(), secret.as_bytes()),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(dir.path(), body.as_bytes()),
        Vec::<String>::new()
    );
    store.checkpoint().unwrap();
    drop(store);
    assert_eq!(
        files_containing(dir.path(), body.as_bytes()),
        Vec::<String>::new()
    );
    // The check itself can fail: what was written is found.
    assert!(!files_containing(dir.path(), key(7).hash.as_bytes()).is_empty());
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    // The desktop app and the CLI may have the store open at the same time.
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());
    let cli = open(dir.path());
    let p = app.create_profile(&profile("shared")).unwrap();
    assert_eq!(cli.profile(&p.id).unwrap().unwrap().name, "shared");
    cli.replace_cached_keys(&p.id, &[key(1)], |k| &k.hash, Utc::now())
        .unwrap();
    assert_eq!(app.cached_keys::<Key>(&p.id).unwrap().len(), 1);
    let err = cli.create_profile(&profile("SHARED")).unwrap_err();
    assert_eq!(err.kind(), "profile_name_taken");
}

#[cfg(unix)]
#[test]
fn the_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_profile(&profile("p")).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// The data directory is made 0700 (a fresh one, and an existing one that was 0755), and a database,
/// WAL and shared-memory file left wider by an earlier run (or made by hand) are narrowed to 0600
/// when the store opens.
#[cfg(unix)]
#[test]
fn an_existing_data_dir_and_database_files_are_narrowed_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let scratch = tempfile::tempdir().unwrap();
    let fresh = scratch.path().join("fresh/dev.keyward.app");
    open(&fresh).create_profile(&profile("p")).unwrap();
    assert_eq!(mode(&fresh), 0o700);

    let dir = scratch.path().join("old");
    std::fs::create_dir(&dir).unwrap();
    // A handle kept open keeps the WAL and shared-memory files in place (as the app does while the
    // CLI starts).
    let earlier = open(&dir);
    earlier.create_profile(&profile("p")).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for name in [DATABASE_FILE, "keyward.sqlite3-wal", "keyward.sqlite3-shm"] {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = open(&dir);
    store.create_profile(&profile("q")).unwrap();
    assert_eq!(mode(&dir), 0o700);
    for name in [DATABASE_FILE, "keyward.sqlite3-wal", "keyward.sqlite3-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    drop(earlier);
}

#[test]
fn the_default_data_dir_is_the_desktop_apps() {
    let dir = default_data_dir().unwrap();
    assert!(dir.is_absolute(), "{}", dir.display());
    assert_eq!(
        dir.file_name().and_then(|name| name.to_str()),
        Some(keyward_core::store::APP_IDENTIFIER)
    );
    let conf: serde_json::Value =
        serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
    assert_eq!(conf["identifier"], keyward_core::store::APP_IDENTIFIER);
}

#[test]
fn command_approvals_keep_only_digests_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let digest =
        keyward_core::deploy::command_digest("/usr/bin/update", &["--x".into()], "KEY", None);
    {
        let store = open(dir.path());
        assert!(!store.is_command_approved(&digest).unwrap());
        store.approve_command(&digest, Utc::now()).unwrap();
        // Twice is fine (the first approval is kept).
        store.approve_command(&digest, Utc::now()).unwrap();
        assert!(
            store
                .approve_command("/usr/bin/update", Utc::now())
                .is_err()
        );
    }
    let store = open(dir.path());
    assert!(store.is_command_approved(&digest).unwrap());
    assert_eq!(store.approved_commands().unwrap().len(), 1);
    let other = keyward_core::deploy::command_digest("/usr/bin/update", &[], "KEY", None);
    assert!(!store.is_command_approved(&other).unwrap());
}
