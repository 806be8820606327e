//! The watcher's part of the store on a real file: usage snapshots (written only when something
//! changed or a new UTC day began, pruned by age), the alert ledger, open alerts surviving a reopen,
//! snoozes and the pause running out, keys Keyward disabled, activity per profile and key, and the
//! cascade when a profile is removed.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use keyward_core::alerts::AlertKind;
use keyward_core::store::{LedgerEntry, NewProfile, Store, UsageSnapshot};
use serde_json::json;

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

fn snapshot(hash: &str, taken_at: DateTime<Utc>, usage: f64) -> UsageSnapshot {
    UsageSnapshot {
        key_hash: hash.to_owned(),
        taken_at,
        usage,
        usage_daily: usage / 10.0,
        usage_weekly: usage / 2.0,
        usage_monthly: usage,
        byok_usage: 0.0,
        limit: Some(100.0),
        limit_remaining: Some(100.0 - usage),
        limit_reset: Some("monthly".to_owned()),
        disabled: false,
        expires_at: None,
    }
}

fn store_with_profile() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).unwrap();
    let profile = store
        .create_profile(&NewProfile {
            name: "Work".into(),
            ..NewProfile::default()
        })
        .unwrap();
    (dir, store, profile.id)
}

fn ledger_entry(
    profile: &str,
    hash: &str,
    threshold: &str,
    notified_at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        alert_id: format!("{profile}|{hash}|limit|{threshold}|2026-11"),
        profile_id: profile.to_owned(),
        key_hash: hash.to_owned(),
        kind: AlertKind::Limit,
        threshold: threshold.into(),
        period: "2026-11".into(),
        limit_at_notice: Some(100.0),
        notified_at,
    }
}

#[test]
fn snapshots_are_written_only_when_something_changed_or_a_day_began() {
    let (_dir, store, profile) = store_with_profile();
    let first = [
        snapshot("a", at(20, 10, 0), 1.0),
        snapshot("b", at(20, 10, 0), 5.0),
    ];
    assert_eq!(store.record_snapshots(&profile, &first).unwrap(), 2);
    // Same numbers five minutes later: nothing new. One key moved: one row.
    let again = [
        snapshot("a", at(20, 10, 5), 1.0),
        snapshot("b", at(20, 10, 5), 6.0),
    ];
    assert_eq!(store.record_snapshots(&profile, &again).unwrap(), 1);
    // A limit change is a change too.
    let mut raised = snapshot("a", at(20, 10, 10), 1.0);
    raised.limit = Some(200.0);
    assert_eq!(store.record_snapshots(&profile, &[raised]).unwrap(), 1);
    // The next UTC day, unchanged numbers still get their daily row.
    let mut next_day = snapshot("a", at(21, 0, 1), 1.0);
    next_day.limit = Some(200.0);
    assert_eq!(store.record_snapshots(&profile, &[next_day]).unwrap(), 1);

    let latest = store.latest_snapshots(&profile).unwrap();
    assert_eq!(latest.len(), 2);
    assert_eq!(latest["a"].taken_at, at(21, 0, 1));
    assert_eq!(latest["a"].limit, Some(200.0));
    assert_eq!(latest["b"].usage, 6.0);
    assert_eq!(latest["b"].taken_at, at(20, 10, 5));

    let of_a = store
        .snapshots_since(&profile, Some("a"), at(20, 0, 0))
        .unwrap();
    let times: Vec<_> = of_a.iter().map(|s| s.taken_at).collect();
    assert_eq!(times, vec![at(20, 10, 0), at(20, 10, 10), at(21, 0, 1)]);
    assert_eq!(of_a[0], first[0]);
    let all_since = store
        .snapshots_since(&profile, None, at(20, 10, 5))
        .unwrap();
    assert_eq!(all_since.len(), 3);

    assert_eq!(store.prune_snapshots(at(20, 10, 6)).unwrap(), 3);
    let left = store.snapshots_since(&profile, None, at(1, 0, 0)).unwrap();
    assert_eq!(left.len(), 2);
}

#[test]
fn snapshot_times_order_correctly_with_and_without_fractions() {
    let (_dir, store, profile) = store_with_profile();
    let whole = at(20, 10, 0);
    let fraction = whole + Duration::milliseconds(500);
    let later = whole + Duration::seconds(1);
    for (time, usage) in [(fraction, 2.0), (whole, 1.0), (later, 3.0)] {
        store
            .record_snapshots(&profile, &[snapshot("a", time, usage)])
            .unwrap();
    }
    let rows = store.snapshots_since(&profile, Some("a"), whole).unwrap();
    let usage: Vec<f64> = rows.iter().map(|s| s.usage).collect();
    assert_eq!(usage, vec![1.0, 2.0, 3.0]);
    assert_eq!(store.latest_snapshots(&profile).unwrap()["a"].usage, 3.0);
    assert_eq!(
        store
            .snapshots_since(&profile, Some("a"), fraction)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn the_ledger_records_forgets_and_prunes_gone_keys() {
    let (_dir, store, profile) = store_with_profile();
    let entries = [
        ledger_entry(&profile, "a", "80", at(20, 10, 0)),
        ledger_entry(&profile, "a", "95", at(20, 11, 0)),
        ledger_entry(&profile, "b", "80", at(1, 11, 0)),
    ];
    store.record_notified(&entries).unwrap();
    assert_eq!(store.alert_ledger(&profile).unwrap().len(), 3);
    // Recording an identity again refreshes it instead of duplicating.
    let mut again = entries[0].clone();
    again.limit_at_notice = Some(150.0);
    store.record_notified(&[again]).unwrap();
    let ledger = store.alert_ledger(&profile).unwrap();
    assert_eq!(ledger.len(), 3);
    assert!(ledger.iter().any(|e| e.limit_at_notice == Some(150.0)));

    assert_eq!(
        store
            .forget_notified(&[entries[1].alert_id.clone(), "nope".into()])
            .unwrap(),
        1
    );
    // "b" is gone from the account; "a" stays; nothing is old enough to age out.
    let current: HashSet<String> = ["a".to_owned()].into();
    let none_open = HashSet::new();
    assert_eq!(
        store
            .prune_ledger(&profile, &current, &none_open, at(1, 0, 0))
            .unwrap(),
        1
    );
    let ledger = store.alert_ledger(&profile).unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].key_hash, "a");
    assert_eq!(ledger[0].kind, AlertKind::Limit);
    // Old enough, but its alert is still open: kept (an alert of no period would fire again).
    let open: HashSet<String> = [ledger[0].alert_id.clone()].into();
    assert_eq!(
        store
            .prune_ledger(&profile, &current, &open, at(25, 0, 0))
            .unwrap(),
        0
    );
    // A gone key's entry whose alert is somehow still listed stays too.
    assert_eq!(
        store
            .prune_ledger(&profile, &HashSet::new(), &open, at(1, 0, 0))
            .unwrap(),
        0
    );
    // Closed and old enough: aged out.
    assert_eq!(
        store
            .prune_ledger(&profile, &current, &none_open, at(25, 0, 0))
            .unwrap(),
        1
    );
    assert!(store.alert_ledger(&profile).unwrap().is_empty());
}

#[test]
fn open_alerts_survive_a_reopen_and_are_replaced_per_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (work, home) = {
        let store = Store::open_in_dir(dir.path()).unwrap();
        let work = store
            .create_profile(&NewProfile {
                name: "Work".into(),
                ..NewProfile::default()
            })
            .unwrap()
            .id;
        let home = store
            .create_profile(&NewProfile {
                name: "Home".into(),
                ..NewProfile::default()
            })
            .unwrap()
            .id;
        let one = json!({"id": "w1", "title": "prod is at 80 %"});
        let two = json!({"id": "w2", "title": "ci expires tomorrow"});
        let three = json!({"id": "h1", "title": "home key"});
        store
            .replace_open_alerts(&work, &[("w1", "a", &one), ("w2", "b", &two)])
            .unwrap();
        store
            .replace_open_alerts(&home, &[("h1", "c", &three)])
            .unwrap();
        (work, home)
    };
    let store = Store::open_in_dir(dir.path()).unwrap();
    let work_alerts: Vec<serde_json::Value> = store.open_alerts(Some(&work)).unwrap();
    let ids: Vec<_> = work_alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["w1", "w2"]);
    assert_eq!(
        store.open_alerts::<serde_json::Value>(None).unwrap().len(),
        3
    );

    let replaced = json!({"id": "w3"});
    store
        .replace_open_alerts(&work, &[("w3", "a", &replaced)])
        .unwrap();
    let work_alerts: Vec<serde_json::Value> = store.open_alerts(Some(&work)).unwrap();
    assert_eq!(work_alerts, vec![replaced]);
    assert_eq!(
        store
            .open_alerts::<serde_json::Value>(Some(&home))
            .unwrap()
            .len(),
        1
    );

    // Nothing secret goes in, even by mistake.
    let leaked = json!({"id": "x", "body": format!("sk-or-v1-{}", "ab".repeat(32))});
    let err = store
        .replace_open_alerts(&work, &[("x", "a", &leaked)])
        .unwrap_err();
    assert_eq!(err.kind(), "store");
    assert_eq!(
        store
            .open_alerts::<serde_json::Value>(Some(&work))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn snoozes_and_the_pause_run_out() {
    let (_dir, store, profile) = store_with_profile();
    let now = at(20, 12, 0);
    store
        .set_snooze(&profile, "a", Some(now + Duration::hours(1)))
        .unwrap();
    store
        .set_snooze(&profile, "b", Some(now + Duration::hours(2)))
        .unwrap();
    assert_eq!(store.snoozes(Some(&profile), now).unwrap().len(), 2);
    assert_eq!(
        store
            .snoozes(None, now + Duration::minutes(90))
            .unwrap()
            .len(),
        1
    );
    store.set_snooze(&profile, "b", None).unwrap();
    assert!(store.snoozes(None, now).unwrap().is_empty());
    assert!(store.set_snooze("no-such-profile", "a", Some(now)).is_err());

    assert_eq!(store.paused_until(now).unwrap(), None);
    store
        .set_paused_until(Some(now + Duration::hours(1)))
        .unwrap();
    assert_eq!(
        store.paused_until(now).unwrap(),
        Some(now + Duration::hours(1))
    );
    assert_eq!(store.paused_until(now + Duration::hours(1)).unwrap(), None);
    store.set_paused_until(None).unwrap();
    assert_eq!(store.paused_until(now).unwrap(), None);
}

#[test]
fn keys_disabled_by_keyward_are_remembered_until_re_enabled() {
    let (_dir, store, profile) = store_with_profile();
    let now = at(20, 12, 0);
    store
        .set_disabled_by_keyward(&profile, "a", true, now)
        .unwrap();
    store
        .set_disabled_by_keyward(&profile, "b", true, now)
        .unwrap();
    store
        .set_disabled_by_keyward(&profile, "a", false, now)
        .unwrap();
    assert_eq!(
        store.disabled_by_keyward(&profile).unwrap(),
        HashSet::from(["b".to_owned()])
    );
}

#[test]
fn activity_is_kept_per_profile_and_key_with_its_fetch_day() {
    let (_dir, store, profile) = store_with_profile();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    assert!(store.activity(&profile, None).unwrap().is_none());
    // Several models on one day add up.
    store
        .replace_activity(
            &profile,
            Some("a"),
            &[(day(19), 1.5), (day(18), 0.5), (day(19), 0.25)],
            at(20, 9, 0),
        )
        .unwrap();
    store
        .replace_activity(&profile, None, &[(day(19), 9.0)], at(20, 9, 0))
        .unwrap();
    let a = store.activity(&profile, Some("a")).unwrap().unwrap();
    assert_eq!(a.fetched_on, day(20));
    assert_eq!(a.days, vec![(day(18), 0.5), (day(19), 1.75)]);
    let all = store.activity(&profile, None).unwrap().unwrap();
    assert_eq!(all.days, vec![(day(19), 9.0)]);

    // A later fetch replaces the days.
    store
        .replace_activity(&profile, Some("a"), &[(day(20), 2.0)], at(21, 9, 0))
        .unwrap();
    let a = store.activity(&profile, Some("a")).unwrap().unwrap();
    assert_eq!(a.fetched_on, day(21));
    assert_eq!(a.days, vec![(day(20), 2.0)]);

    assert_eq!(store.prune_activity(&profile, &HashSet::new()).unwrap(), 1);
    assert!(store.activity(&profile, Some("a")).unwrap().is_none());
    assert!(store.activity(&profile, None).unwrap().is_some());
}

#[test]
fn removing_a_profile_removes_everything_watched_for_it() {
    let (_dir, store, profile) = store_with_profile();
    let now = at(20, 12, 0);
    store
        .record_snapshots(&profile, &[snapshot("a", now, 1.0)])
        .unwrap();
    store
        .record_notified(&[ledger_entry(&profile, "a", "80", now)])
        .unwrap();
    store
        .replace_open_alerts(&profile, &[("x", "a", &json!({"id": "x"}))])
        .unwrap();
    store
        .set_snooze(&profile, "a", Some(now + Duration::hours(1)))
        .unwrap();
    store
        .set_disabled_by_keyward(&profile, "a", true, now)
        .unwrap();
    store
        .replace_activity(&profile, Some("a"), &[], now)
        .unwrap();
    assert!(store.remove_profile(&profile).unwrap());
    assert!(store.latest_snapshots(&profile).unwrap().is_empty());
    assert!(store.alert_ledger(&profile).unwrap().is_empty());
    assert!(
        store
            .open_alerts::<serde_json::Value>(None)
            .unwrap()
            .is_empty()
    );
    assert!(store.snoozes(None, now).unwrap().is_empty());
    assert!(store.disabled_by_keyward(&profile).unwrap().is_empty());
    assert!(store.activity(&profile, Some("a")).unwrap().is_none());
}
