//! Unit tests of notification planning: once per threshold, re-arming, mutes, pause, quiet hours,
//! snoozes and grouping.

use super::*;
use crate::alerts::{KeyContext, evaluate_key, settings::QuietHours};
use crate::api::{ApiKey, LimitReset};
use crate::usage::test_support::{at, key};

fn monthly(name: &str, limit: f64, remaining: f64) -> ApiKey {
    let mut k = key(name);
    k.limit = Some(limit);
    k.limit_remaining = Some(remaining);
    k.limit_reset = Some(LimitReset::Monthly);
    k
}

fn alerts_of(keys: &[&ApiKey], now: DateTime<Utc>) -> Vec<AlertView> {
    keys.iter()
        .flat_map(|k| {
            evaluate_key(
                "p1",
                k,
                &KeyContext::default(),
                &WatchSettings::default(),
                now,
            )
        })
        .collect()
}

fn limits(keys: &[&ApiKey]) -> KeyLimits {
    keys.iter()
        .map(|k| (("p1".to_owned(), k.hash.clone()), k.limit))
        .collect()
}

fn plan(
    keys: &[&ApiKey],
    ledger: &Ledger,
    settings: &WatchSettings,
    paused_until: Option<DateTime<Utc>>,
    now: &str,
) -> NotificationPlan {
    let now = at(now);
    let key_limits = limits(keys);
    let context = NotifyContext {
        now,
        settings,
        paused_until,
        local_offset: FixedOffset::east_opt(0).unwrap(),
        key_limits: &key_limits,
    };
    plan_notifications(&alerts_of(keys, now), ledger, &context)
}

#[test]
fn once_per_threshold_then_the_next_threshold_then_a_new_period() {
    let settings = WatchSettings::default();
    let k = monthly("prod-api", 50.0, 9.0);
    let first = plan(
        &[&k],
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T10:00:00Z",
    );
    assert_eq!(first.notifications.len(), 1);
    let n = &first.notifications[0];
    assert_eq!(n.title, "prod-api has used 82 % of its limit");
    assert_eq!(n.key_hash.as_deref(), Some("hash-prod-api"));
    assert_eq!(n.alert_ids, ["p1|hash-prod-api|limit|80|2026-11"]);
    // The next cycle: nothing new.
    let second = plan(
        &[&k],
        &first.ledger,
        &settings,
        None,
        "2026-11-23T10:05:00Z",
    );
    assert!(second.notifications.is_empty());
    assert!(second.recorded.is_empty());
    // Past 95 %: one new notification.
    let k = monthly("prod-api", 50.0, 2.0);
    let third = plan(
        &[&k],
        &second.ledger,
        &settings,
        None,
        "2026-11-24T10:00:00Z",
    );
    assert_eq!(third.notifications.len(), 1);
    assert_eq!(
        third.notifications[0].alert_ids,
        ["p1|hash-prod-api|limit|95|2026-11"]
    );
    // December: a new period re-arms 80 and 95, notified as one (the highest).
    let fourth = plan(
        &[&k],
        &third.ledger,
        &settings,
        None,
        "2026-12-01T00:00:00Z",
    );
    assert_eq!(fourth.notifications.len(), 1);
    let mut ids = fourth.notifications[0].alert_ids.clone();
    ids.sort();
    assert_eq!(
        ids,
        [
            "p1|hash-prod-api|limit|80|2026-12",
            "p1|hash-prod-api|limit|95|2026-12"
        ]
    );
    assert!(fourth.notifications[0].title.contains("96 %"));
    assert_eq!(fourth.recorded.len(), 2);
}

#[test]
fn raising_the_limit_rearms_lowering_does_not() {
    let settings = WatchSettings::default();
    let k = monthly("prod-api", 50.0, 9.0); // 41 used: 82 %
    let first = plan(
        &[&k],
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T10:00:00Z",
    );
    // Raised to 51 with the same 41 used: still 80 %, notified again under the new limit.
    let raised = monthly("prod-api", 51.0, 10.0);
    let step = plan(
        &[&raised],
        &first.ledger,
        &settings,
        None,
        "2026-11-23T10:05:00Z",
    );
    assert_eq!(step.forgotten, ["p1|hash-prod-api|limit|80|2026-11"]);
    assert_eq!(step.notifications.len(), 1);
    assert_eq!(
        step.ledger
            .get("p1|hash-prod-api|limit|80|2026-11")
            .unwrap()
            .limit_at_notice,
        Some(51.0)
    );
    // Raised to 100: under 80 %, forgotten and silent.
    let high = monthly("prod-api", 100.0, 59.0);
    let step = plan(
        &[&high],
        &first.ledger,
        &settings,
        None,
        "2026-11-23T10:05:00Z",
    );
    assert_eq!(step.forgotten.len(), 1);
    assert!(step.notifications.is_empty());
    assert!(step.ledger.is_empty());
    // Lowered to 45 (41 used = 91 %): the 80 entry stays, nothing new.
    let lowered = monthly("prod-api", 45.0, 4.0);
    let step = plan(
        &[&lowered],
        &first.ledger,
        &settings,
        None,
        "2026-11-23T10:05:00Z",
    );
    assert!(step.forgotten.is_empty());
    assert!(step.notifications.is_empty());
    // Limit removed: re-armed.
    let mut none = lowered.clone();
    none.limit = None;
    let step = plan(
        &[&none],
        &first.ledger,
        &settings,
        None,
        "2026-11-23T10:05:00Z",
    );
    assert_eq!(step.forgotten.len(), 1);
    // A key not in the limits map keeps its entries.
    let step = plan(&[], &first.ledger, &settings, None, "2026-11-23T10:05:00Z");
    assert_eq!(step.ledger, first.ledger);
}

#[test]
fn muted_kinds_and_notifications_off_are_recorded_not_shown() {
    let k = monthly("prod-api", 50.0, 9.0);
    let mut settings = WatchSettings::default();
    settings.notify.limit = false;
    let step = plan(
        &[&k],
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T10:00:00Z",
    );
    assert!(step.notifications.is_empty());
    assert_eq!(step.recorded.len(), 1);
    let settings = WatchSettings {
        notifications_enabled: false,
        ..WatchSettings::default()
    };
    let step = plan(
        &[&k],
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T10:00:00Z",
    );
    assert!(step.notifications.is_empty());
    assert!(step.ledger.contains("p1|hash-prod-api|limit|80|2026-11"));
}

#[test]
fn pause_and_quiet_hours_hold_without_dropping() {
    let k = monthly("prod-api", 50.0, 9.0);
    let settings = WatchSettings::default();
    let paused = Some(at("2026-11-23T11:00:00Z"));
    let held = plan(
        &[&k],
        &Ledger::default(),
        &settings,
        paused,
        "2026-11-23T10:00:00Z",
    );
    assert!(held.notifications.is_empty());
    assert!(held.recorded.is_empty());
    assert_eq!(held.held_until, paused);
    let after = plan(
        &[&k],
        &held.ledger,
        &settings,
        paused,
        "2026-11-23T11:00:00Z",
    );
    assert_eq!(after.notifications.len(), 1);
    assert_eq!(after.held_until, None);

    let quiet = WatchSettings {
        quiet_hours: Some(QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
        }),
        ..WatchSettings::default()
    };
    let night = plan(
        &[&k],
        &Ledger::default(),
        &quiet,
        None,
        "2026-11-23T23:30:00Z",
    );
    assert!(night.notifications.is_empty());
    assert_eq!(night.held_until, Some(at("2026-11-24T07:00:00Z")));
    let morning = plan(&[&k], &night.ledger, &quiet, None, "2026-11-24T07:00:00Z");
    assert_eq!(morning.notifications.len(), 1);
    // Nothing to hold: no held_until even in quiet hours.
    let nothing = plan(
        &[],
        &Ledger::default(),
        &quiet,
        None,
        "2026-11-23T23:30:00Z",
    );
    assert_eq!(nothing.held_until, None);
}

#[test]
fn snoozed_keys_wait_for_the_snooze_to_end() {
    let k = monthly("prod-api", 50.0, 9.0);
    let now = at("2026-11-23T10:00:00Z");
    let mut alerts = alerts_of(&[&k], now);
    for alert in &mut alerts {
        alert.snoozed_until = Some(at("2026-11-24T00:00:00Z"));
    }
    let key_limits = limits(&[&k]);
    let settings = WatchSettings::default();
    let context = NotifyContext {
        now,
        settings: &settings,
        paused_until: None,
        local_offset: FixedOffset::east_opt(0).unwrap(),
        key_limits: &key_limits,
    };
    let step = plan_notifications(&alerts, &Ledger::default(), &context);
    assert!(step.notifications.is_empty());
    assert!(step.recorded.is_empty());
    let later = NotifyContext {
        now: at("2026-11-24T00:00:00Z"),
        ..context
    };
    assert_eq!(
        plan_notifications(&alerts, &step.ledger, &later)
            .notifications
            .len(),
        1
    );
}

#[test]
fn many_at_once_are_grouped_by_kind() {
    let settings = WatchSettings::default();
    let names = ["a", "b", "c", "d", "e", "f"];
    let keys: Vec<ApiKey> = names.iter().map(|n| monthly(n, 10.0, 1.0)).collect();
    let refs: Vec<&ApiKey> = keys.iter().collect();
    let step = plan(
        &refs,
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T10:00:00Z",
    );
    assert_eq!(step.notifications.len(), 1);
    let n = &step.notifications[0];
    assert_eq!(n.title, "6 keys are near their limit");
    assert_eq!(
        n.body,
        "a, b, c, d, e and 1 more. Open Keyward's alerts to see each."
    );
    assert_eq!(n.key_hash, None);
    assert_eq!(n.profile_id.as_deref(), Some("p1"));
    assert_eq!(n.alert_ids.len(), 6);
    // Three are not grouped.
    let step = plan(
        &refs[..3],
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T10:00:00Z",
    );
    assert_eq!(step.notifications.len(), 3);
    assert!(step.notifications.iter().all(|n| n.key_hash.is_some()));
}

#[test]
fn an_expiry_notification_opens_the_extend_dialog_others_just_the_key() {
    let settings = WatchSettings::default();
    let mut expiring = key("eu-api");
    expiring.expires_at = Some(at("2026-11-24T12:00:00Z"));
    let full = monthly("prod-api", 50.0, 1.0);
    let planned = plan(
        &[&expiring, &full],
        &Ledger::default(),
        &settings,
        None,
        "2026-11-23T13:00:00Z",
    );
    let action_of = |name: &str| {
        planned
            .notifications
            .iter()
            .find(|n| n.title.contains(name))
            .map(|n| n.key_action)
            .unwrap_or_else(|| panic!("no notification for {name}: {planned:#?}"))
    };
    assert_eq!(
        action_of("eu-api"),
        Some(crate::ipc::OpenKeyAction::ExtendExpiry)
    );
    assert_eq!(action_of("prod-api"), None);
}
