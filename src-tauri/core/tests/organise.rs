//! Organising keys through the service: each listed key's last use and idle days from the API's
//! `last_used_at`, usage snapshots and stored activity (with an injected clock); tags edited and
//! counted; saved filters validated, kept in the settings table and deleted. Against the emulator
//! over HTTP.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use chrono::{DateTime, Duration, Utc};
use keyward_core::ipc::KeyRow;
use keyward_core::metadata::KeyMetadataEdit;
use keyward_core::saved_filters::{GroupBy, KeyFilterSet, SavedFilter};
use keyward_core::store::UsageSnapshot;
use serde_json::json;

use rotation_support::{Rig, create_key, rig};
use service_support::list;

async fn emulator_offset_days(rig: &Rig, days: i64) {
    rig.t
        .post(
            rig.emulator.control_url(),
            "/clock",
            json!({"offset_seconds": days * 86_400}),
        )
        .await;
}

async fn spend(rig: &Rig, hash: &str, usage: f64) {
    rig.t
        .post(
            rig.emulator.control_url(),
            &format!("/keys/{hash}/usage"),
            json!({"usage": usage}),
        )
        .await;
}

fn snapshot(hash: &str, at: DateTime<Utc>, usage: f64, usage_daily: f64) -> UsageSnapshot {
    UsageSnapshot {
        key_hash: hash.to_owned(),
        taken_at: at,
        usage,
        usage_daily,
        usage_weekly: 0.0,
        usage_monthly: 0.0,
        byok_usage: 0.0,
        limit: Some(10.0),
        limit_remaining: None,
        limit_reset: None,
        disabled: false,
        expires_at: None,
    }
}

async fn rows(rig: &Rig, refresh: bool) -> Vec<KeyRow> {
    rig.t
        .service
        .keys_list(list(&rig.profile_id, refresh))
        .await
        .unwrap()
        .keys
}

fn find<'a>(rows: &'a [KeyRow], hash: &str) -> &'a KeyRow {
    rows.iter().find(|row| row.key.hash == hash).unwrap()
}

fn midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc()
}

#[tokio::test]
async fn idle_days_come_from_last_used_at_snapshots_and_activity() {
    let rig = rig("org-idle", None).await;
    // Three keys created 90 days ago and used 60 days ago (OpenRouter's last_used_at says so).
    emulator_offset_days(&rig, -90).await;
    let (by_snapshots, _) = create_key(&rig.t, &rig.profile_id, "snapshots").await;
    let (by_activity, _) = create_key(&rig.t, &rig.profile_id, "activity").await;
    let (quiet, _) = create_key(&rig.t, &rig.profile_id, "quiet").await;
    emulator_offset_days(&rig, -60).await;
    for hash in [&by_snapshots, &by_activity, &quiet] {
        spend(&rig, hash, 2.0).await;
    }
    emulator_offset_days(&rig, 0).await;
    let now = rig.t.now();

    {
        let store = rig.t.open_store();
        // The counter rose between day -20 and day -10, with spend on day -10 itself.
        store
            .record_snapshots(
                &rig.profile_id,
                &[
                    snapshot(&by_snapshots, now - Duration::days(20), 1.0, 0.0),
                    snapshot(&quiet, now - Duration::days(25), 2.0, 0.0),
                ],
            )
            .unwrap();
        store
            .record_snapshots(
                &rig.profile_id,
                &[snapshot(&by_snapshots, now - Duration::days(10), 2.0, 0.5)],
            )
            .unwrap();
        // GET /activity as stored today: spend three days ago.
        let day = (now - Duration::days(3)).date_naive();
        store
            .replace_activity(&rig.profile_id, Some(&by_activity), &[(day, 0.4)], now)
            .unwrap();
    }

    let listed = rows(&rig, true).await;
    let row = find(&listed, &by_snapshots);
    assert_eq!(row.last_used, Some(midnight(now - Duration::days(10))));
    assert_eq!(row.idle_days, Some(10));
    let row = find(&listed, &by_activity);
    assert_eq!(row.last_used, Some(midnight(now - Duration::days(3))));
    assert_eq!(row.idle_days, Some(3));
    // Used 60 days ago per the API: that wins over "watched since day -25 without use".
    let row = find(&listed, &quiet);
    assert!(row.key.last_used_at.is_some());
    assert_eq!(row.last_used, row.key.last_used_at);
    assert_eq!(row.idle_days, Some(60));
    // The rig's key was never used: idle since its creation (today).
    assert_eq!(find(&listed, &rig.old_hash).idle_days, Some(0));
    assert_eq!(find(&listed, &rig.old_hash).last_used, None);

    // 45 days later (the service's clock): the never-used key is 45 days idle, the activity key 48.
    rig.t.advance_clock(45 * 86_400);
    let later = rows(&rig, false).await;
    assert_eq!(find(&later, &rig.old_hash).idle_days, Some(45));
    assert_eq!(find(&later, &by_activity).idle_days, Some(48));
    assert_eq!(find(&later, &quiet).idle_days, Some(105));

    // A key used just now (the API's timestamp) is idle 0 days at the real time.
    rig.t.advance_clock(-45 * 86_400);
    spend(&rig, &rig.old_hash, 0.1).await;
    let fresh = rows(&rig, true).await;
    assert_eq!(find(&fresh, &rig.old_hash).idle_days, Some(0));
    assert!(find(&fresh, &rig.old_hash).last_used.is_some());
}

#[tokio::test]
async fn tags_are_edited_counted_and_refused_when_bad() {
    let rig = rig("org-tags", None).await;
    let (second, _) = create_key(&rig.t, &rig.profile_id, "second").await;
    let service = &rig.t.service;
    let edit = |add: &[&str], remove: &[&str]| KeyMetadataEdit {
        add_tags: add.iter().map(|t| (*t).to_owned()).collect(),
        remove_tags: remove.iter().map(|t| (*t).to_owned()).collect(),
        ..KeyMetadataEdit::default()
    };
    let first = service
        .key_metadata_edit(
            &rig.profile_id,
            &rig.old_hash,
            &edit(&["Prod", "leaked"], &[]),
        )
        .await
        .unwrap();
    assert_eq!(first.metadata.tags, ["prod", "leaked"]);
    service
        .key_metadata_edit(
            &rig.profile_id,
            &second,
            &KeyMetadataEdit {
                environment: Some("staging".into()),
                ..edit(&["prod"], &[])
            },
        )
        .await
        .unwrap();
    let after = service
        .key_metadata_edit(&rig.profile_id, &rig.old_hash, &edit(&[], &["LEAKED"]))
        .await
        .unwrap();
    assert_eq!(after.metadata.tags, ["prod"]);
    let counts: Vec<(String, u32)> = service
        .key_tags(&rig.profile_id)
        .unwrap()
        .into_iter()
        .map(|c| (c.tag, c.keys))
        .collect();
    assert_eq!(counts, [("prod".to_owned(), 2)]);
    // A bad tag changes nothing.
    assert!(
        service
            .key_metadata_edit(&rig.profile_id, &second, &edit(&["two words"], &[]))
            .await
            .is_err()
    );
    let listed = rows(&rig, false).await;
    assert_eq!(find(&listed, &second).metadata.tags, ["prod"]);
    assert_eq!(
        find(&listed, &second).metadata.environment.as_deref(),
        Some("staging")
    );
}

#[tokio::test]
async fn saved_filters_are_validated_kept_replaced_and_deleted() {
    let rig = rig("org-filters", None).await;
    let service = &rig.t.service;
    assert!(service.saved_filters().unwrap().is_empty());
    let leaked = SavedFilter {
        name: " Leaked ".into(),
        filters: KeyFilterSet {
            tag: Some("Leaked".into()),
            group_by: GroupBy::Project,
            ..KeyFilterSet::default()
        },
    };
    let idle = SavedFilter {
        name: "Idle 30".into(),
        filters: KeyFilterSet {
            unused_days: Some(30),
            ..KeyFilterSet::default()
        },
    };
    service.saved_filter_save(&leaked).unwrap();
    let list = service.saved_filter_save(&idle).unwrap();
    assert_eq!(
        list.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["Leaked", "Idle 30"]
    );
    assert_eq!(list[0].filters.tag.as_deref(), Some("leaked"));

    // A bad filter is refused with its field and changes nothing.
    let bad = SavedFilter {
        name: "bad".into(),
        filters: KeyFilterSet {
            unused_days: Some(0),
            ..KeyFilterSet::default()
        },
    };
    let error = service.saved_filter_save(&bad).unwrap_err();
    assert!(
        matches!(&error, keyward_core::Error::InvalidInput { field: Some(f), .. } if f == "unused_days")
    );
    // Same name (any case) replaces in place.
    let replaced = service
        .saved_filter_save(&SavedFilter {
            name: "LEAKED".into(),
            filters: KeyFilterSet {
                status: keyward_core::saved_filters::StatusFilter::Active,
                ..leaked.filters.clone()
            },
        })
        .unwrap();
    assert_eq!(replaced.len(), 2);
    assert_eq!(replaced[0].name, "LEAKED");

    // Kept in the settings table: a second connection reads the same list.
    let stored: Vec<SavedFilter> = rig
        .t
        .open_store()
        .setting("key_list.saved_filters")
        .unwrap()
        .unwrap();
    assert_eq!(stored, replaced);

    let after = service.saved_filter_delete("idle 30").unwrap();
    assert_eq!(after.len(), 1);
    assert!(matches!(
        service.saved_filter_delete("nope"),
        Err(keyward_core::Error::NotFound { .. })
    ));
    assert_eq!(service.saved_filters().unwrap(), after);
}

/// The key list reads only the few snapshots that decide (`Store::idle_snapshots`): on a long
/// history of rises, flat days and a quiet end, the rule answers the same on them as on all.
#[tokio::test]
async fn the_few_deciding_snapshots_give_the_same_answer_as_all_of_them() {
    use keyward_core::idle::{UseEvidence, key_idle};
    use keyward_core::usage::UsagePoint;

    let rig = rig("org-evidence", None).await;
    let store = rig.t.open_store();
    let now = rig.t.now();
    let since = now - Duration::days(40);
    // Several histories: (hours before now, usage, usage_daily) per snapshot.
    let histories: Vec<Vec<(i64, f64, f64)>> = vec![
        vec![
            (30 * 24, 1.0, 0.0),
            (20 * 24, 2.0, 0.4),
            (19 * 24, 2.0, 0.0),
            (5 * 24, 2.0, 0.0),
        ],
        vec![
            (30 * 24, 1.0, 0.0),
            (20 * 24, 2.0, 0.0),
            (10 * 24, 2.0, 0.0),
            (2, 2.0, 0.0),
        ],
        vec![(25 * 24, 3.0, 0.0), (24 * 24, 3.0, 0.0), (3, 3.0, 0.2)],
        vec![
            (12 * 24, 5.0, 0.0),
            (11 * 24 - 3, 6.0, 0.7),
            (11 * 24 - 6, 7.0, 1.7),
            (1, 7.0, 0.0),
        ],
        vec![(8 * 24, 4.0, 0.0)],
    ];
    for (index, history) in histories.iter().enumerate() {
        let hash = format!("{index:064x}");
        for (hours, usage, daily) in history {
            store
                .record_snapshots(
                    &rig.profile_id,
                    &[snapshot(
                        &hash,
                        now - Duration::hours(*hours),
                        *usage,
                        *daily,
                    )],
                )
                .unwrap();
        }
        let all: Vec<UsagePoint> = store
            .snapshots_since(&rig.profile_id, Some(&hash), since)
            .unwrap()
            .iter()
            .map(|s| UsagePoint {
                at: s.taken_at,
                usage: s.usage,
                usage_daily: Some(s.usage_daily),
            })
            .collect();
        let few = store.idle_snapshots(&rig.profile_id, &hash, since).unwrap();
        assert!(few.len() <= 4 && !few.is_empty(), "{few:?}");
        let judge = |points: &[UsagePoint]| {
            key_idle(
                &UseEvidence {
                    last_used_at: None,
                    created_at: Some(now - Duration::days(90)),
                    lifetime_usage: 1.0,
                    snapshots: points,
                    activity: None,
                },
                now,
            )
        };
        assert_eq!(judge(&few), judge(&all), "history {index}");
    }
    // The list reads them for all its keys in one statement: the same points, key by key; a key
    // without snapshots is absent.
    let hashes: Vec<String> = (0..=histories.len())
        .map(|index| format!("{index:064x}"))
        .collect();
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let grouped = store
        .idle_snapshots_of(&rig.profile_id, &refs, since)
        .unwrap();
    assert_eq!(grouped.len(), histories.len());
    for hash in &hashes[..histories.len()] {
        let one = store.idle_snapshots(&rig.profile_id, hash, since).unwrap();
        assert_eq!(grouped.get(hash), Some(&one), "{hash}");
    }
    assert!(!grouped.contains_key(&hashes[histories.len()]));

    // And the stored per-key activity, in two statements: the same as key by key, without the
    // profile-wide answer.
    let day = now.date_naive();
    store
        .replace_activity(&rig.profile_id, Some(&hashes[0]), &[(day, 0.4)], now)
        .unwrap();
    store
        .replace_activity(&rig.profile_id, Some(&hashes[1]), &[], now)
        .unwrap();
    store
        .replace_activity(&rig.profile_id, None, &[(day, 9.0)], now)
        .unwrap();
    let activities = store.key_activities(&rig.profile_id).unwrap();
    assert_eq!(activities.len(), 2);
    for hash in &hashes[..2] {
        let one = store.activity(&rig.profile_id, Some(hash)).unwrap();
        assert_eq!(activities.get(hash), one.as_ref(), "{hash}");
    }
}
