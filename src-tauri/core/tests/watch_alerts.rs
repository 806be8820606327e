//! Watch cycles against an emulator over HTTP: spend pushed past 80 % notifies once with the key's
//! name, the next cycle stays quiet, 95 % notifies again; a key expiring tomorrow notifies once;
//! raising the limit clears and re-arms; snoozes and the pause hold notifications back; a key
//! disabled outside Keyward is told from one Keyward disabled; usage history and the overview;
//! open alerts survive a restart. No keychain: the sandbox profile's client is redirected to the
//! test's own emulator, whose management key the test knows.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use chrono::{DateTime, Utc};
use keyward_core::ErrorKind;
use keyward_core::Keyward;
use keyward_core::api::Patch;
use keyward_core::ipc::UpdateKeyArgs;
use keyward_core::store::Store;
use keyward_core::watch::{AlertKind, WatchReport, WatchSettings};
use serde_json::json;
use watch_support::{PINNED_AT, watched};

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn titles(report: &WatchReport) -> Vec<String> {
    report
        .notifications
        .iter()
        .map(|n| n.title.clone())
        .collect()
}

#[tokio::test]
async fn spend_past_80_then_95_percent_notifies_once_each() {
    let w = watched("watch-limit").await;
    let hash = w
        .create_key(json!({"name": "prod-backend", "limit": 10.0, "limit_reset": "monthly"}))
        .await;
    let quiet = w.cycle().await;
    assert!(quiet.notifications.is_empty(), "{quiet:#?}");
    assert_eq!(quiet.profiles.len(), 1);
    assert_eq!(quiet.profiles[0].keys, 1);
    assert_eq!(quiet.profiles[0].snapshots_written, 1);

    w.spend(&hash, 8.5).await;
    let report = w.cycle().await;
    assert_eq!(report.notifications.len(), 1, "{report:#?}");
    let note = &report.notifications[0];
    assert!(note.title.contains("prod-backend"), "{note:?}");
    assert_eq!(note.key_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(note.profile_id.as_deref(), Some(w.profile_id.as_str()));
    assert_eq!(report.snapshot.alerts.len(), 1);
    let alert = &report.snapshot.alerts[0];
    assert_eq!(alert.kind, AlertKind::Limit);
    assert_eq!(alert.key_name, "prod-backend");
    assert!(note.alert_ids.contains(&alert.id));

    let again = w.cycle().await;
    assert!(again.notifications.is_empty(), "{:?}", titles(&again));
    assert_eq!(again.snapshot.alerts.len(), 1);

    w.spend(&hash, 1.2).await;
    let higher = w.cycle().await;
    assert_eq!(higher.notifications.len(), 1, "{:?}", titles(&higher));
    assert!(higher.notifications[0].title.contains("prod-backend"));
    assert_ne!(higher.notifications[0].alert_ids, note.alert_ids);
    assert!(w.cycle().await.notifications.is_empty());
    // The list and the alerts as the UI asks for them agree: 95 % open, 80 % still open under it
    // (superseded, so the UI may fold it).
    let listed = w.t.service.alerts(Some(&w.profile_id)).unwrap();
    let thresholds: Vec<(&str, bool)> = listed
        .alerts
        .iter()
        .map(|alert| (alert.threshold.as_str(), alert.superseded))
        .collect();
    assert_eq!(thresholds, [("95", false), ("80", true)]);
    assert!(listed.last_check_at.is_some());
}

#[tokio::test]
async fn a_key_expiring_tomorrow_notifies_once() {
    let w = watched("watch-expiry").await;
    let tomorrow = w.t.now() + chrono::Duration::hours(20);
    w.create_key(json!({"name": "ci-runner", "expires_at": rfc3339(tomorrow)}))
        .await;
    w.create_key(json!({"name": "long-lived"})).await;
    let report = w.cycle().await;
    assert_eq!(report.notifications.len(), 1, "{:?}", titles(&report));
    assert!(report.notifications[0].title.contains("ci-runner"));
    let alert = &report.snapshot.alerts[0];
    assert_eq!(alert.kind, AlertKind::Expiry);
    assert!(alert.due_at.is_some());
    assert!(w.cycle().await.notifications.is_empty());
    assert!(w.cycle().await.notifications.is_empty());
}

#[tokio::test]
async fn raising_the_limit_clears_the_alert_and_re_arms_it() {
    let w = watched("watch-raise").await;
    let hash = w
        .create_key(json!({"name": "search-api", "limit": 10.0}))
        .await;
    w.spend(&hash, 8.5).await;
    assert_eq!(w.cycle().await.notifications.len(), 1);

    w.t.service
        .key_update(UpdateKeyArgs {
            profile_id: w.profile_id.clone(),
            hash: hash.clone(),
            name: None,
            disabled: None,
            limit: Patch::Set(20.0),
            limit_reset: Patch::Keep,
            include_byok_in_limit: None,
        })
        .await
        .unwrap();
    let cleared = w.cycle().await;
    assert!(cleared.notifications.is_empty());
    assert!(
        cleared.snapshot.alerts.is_empty(),
        "{:#?}",
        cleared.snapshot
    );

    // 16.5 of 20: past 80 % of the new limit, a new notification.
    w.spend(&hash, 8.0).await;
    let rearmed = w.cycle().await;
    assert_eq!(rearmed.notifications.len(), 1, "{:?}", titles(&rearmed));
    assert!(rearmed.notifications[0].title.contains("search-api"));
}

#[tokio::test]
async fn snoozes_and_the_pause_hold_notifications_back() {
    let w = watched("watch-snooze").await;
    let a = w.create_key(json!({"name": "alpha", "limit": 10.0})).await;
    let b = w.create_key(json!({"name": "beta", "limit": 10.0})).await;
    w.cycle().await;
    let in_an_hour = w.t.now() + chrono::Duration::hours(1);
    let snoozed =
        w.t.service
            .snooze_alerts(&w.profile_id, &a, Some(in_an_hour))
            .unwrap();
    assert!(snoozed.alerts.is_empty());

    w.spend(&a, 9.0).await;
    w.spend(&b, 9.0).await;
    let report = w.cycle().await;
    assert_eq!(titles(&report).len(), 1, "{:?}", titles(&report));
    assert!(report.notifications[0].title.contains("beta"));
    // Both are listed; alpha's carries its snooze.
    assert_eq!(report.snapshot.alerts.len(), 2);
    let alpha = report
        .snapshot
        .alerts
        .iter()
        .find(|alert| alert.key_hash == a)
        .unwrap();
    assert!(alpha.snoozed_until.is_some());

    // Paused: nothing, not even beta crossing 95 %.
    let paused = w.t.service.pause_alerts(Some(in_an_hour)).unwrap();
    assert!(paused.paused_until.is_some());
    w.spend(&b, 0.8).await;
    assert!(w.cycle().await.notifications.is_empty());

    // Resumed and unsnoozed: what is still open and was never notified comes now.
    w.t.service.pause_alerts(None).unwrap();
    w.t.service.snooze_alerts(&w.profile_id, &a, None).unwrap();
    let resumed = w.cycle().await;
    let mut names = titles(&resumed);
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].contains("alpha") && names[1].contains("beta"),
        "{names:?}"
    );
    assert!(w.cycle().await.notifications.is_empty());
}

#[tokio::test]
async fn a_key_disabled_outside_keyward_is_told_from_one_keyward_disabled() {
    let w = watched("watch-disabled").await;
    let outside = w.create_key(json!({"name": "leaked-maybe"})).await;
    let inside = w.create_key(json!({"name": "retired"})).await;
    assert!(w.cycle().await.notifications.is_empty());

    w.patch_key(&outside, json!({"disabled": true})).await;
    w.t.service
        .key_update(UpdateKeyArgs {
            profile_id: w.profile_id.clone(),
            hash: inside.clone(),
            name: None,
            disabled: Some(true),
            limit: Patch::Keep,
            limit_reset: Patch::Keep,
            include_byok_in_limit: None,
        })
        .await
        .unwrap();
    let report = w.cycle().await;
    assert_eq!(titles(&report).len(), 1, "{:?}", titles(&report));
    assert!(report.notifications[0].title.contains("leaked-maybe"));
    let alert = &report.snapshot.alerts[0];
    assert_eq!(alert.kind, AlertKind::Disabled);
    assert_eq!(alert.key_hash, outside);
    // Still open (and quiet) while it stays disabled.
    let later = w.cycle().await;
    assert!(later.notifications.is_empty());
    assert_eq!(later.snapshot.alerts.len(), 1);
}

#[tokio::test]
async fn many_alerts_at_once_are_grouped() {
    let w = watched("watch-group").await;
    let mut hashes = Vec::new();
    for n in 0..6 {
        hashes.push(
            w.create_key(json!({"name": format!("customer-{n}"), "limit": 10.0}))
                .await,
        );
    }
    w.cycle().await;
    for hash in &hashes {
        w.spend(hash, 8.2).await;
    }
    let report = w.cycle().await;
    assert_eq!(report.snapshot.alerts.len(), 6);
    assert!(report.notifications.len() < 6, "{:?}", titles(&report));
    let covered: usize = report.notifications.iter().map(|n| n.alert_ids.len()).sum();
    assert_eq!(covered, 6);
    assert!(report.notifications.iter().any(|n| n.key_hash.is_none()));
}

#[tokio::test]
async fn usage_history_gives_30_days_from_activity_and_snapshots() {
    let w = watched("watch-history").await;
    let hash = w
        .create_key(json!({"name": "analytics", "limit": 50.0, "limit_reset": "monthly"}))
        .await;
    w.spend(&hash, 2.0).await;
    // A day later on both clocks: yesterday's spend is in /activity, today's in the snapshot.
    w.control("/clock", json!({"advance_seconds": 86_400.0}))
        .await;
    w.t.advance_clock(86_400);
    w.spend(&hash, 0.5).await;
    w.cycle().await;

    let history =
        w.t.service
            .usage_history(&w.profile_id, &hash)
            .await
            .unwrap();
    assert_eq!(history.days.len(), 30);
    let today = w.t.now().date_naive();
    assert_eq!(history.days.last().unwrap().date, today);
    assert!(
        (history.days[29].spend - 0.5).abs() < 1e-9,
        "{:?}",
        history.days
    );
    assert_eq!(history.days[28].date, today.pred_opt().unwrap());
    assert!(
        (history.days[28].spend - 2.0).abs() < 1e-9,
        "{:?}",
        history.days
    );
    assert_eq!(history.key_name, "analytics");
    assert_eq!(history.limit, Some(50.0));
    assert!(history.period_spend >= 0.5);
    let dates: Vec<_> = history.days.iter().map(|d| d.date).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);

    // Fetched once a day: asking again reads the store.
    let fetched = w.requests_to("/api/v1/activity").await;
    assert_eq!(fetched, 1);
    w.t.service
        .usage_history(&w.profile_id, &hash)
        .await
        .unwrap();
    assert_eq!(w.requests_to("/api/v1/activity").await, 1);

    let overview = w.t.service.usage_overview(&w.profile_id).await.unwrap();
    assert_eq!(overview.days.len(), 30);
    assert!(
        (overview.days[28].spend - 2.0).abs() < 1e-9,
        "{:?}",
        overview.days
    );
    assert!(
        (overview.days[29].spend - 0.5).abs() < 1e-9,
        "{:?}",
        overview.days
    );
    assert_eq!(overview.top_keys.len(), 1);
    assert_eq!(overview.top_keys[0].key_name, "analytics");
    assert!((overview.top_keys[0].spend_30d - 2.5).abs() < 1e-9);

    let missing =
        w.t.service
            .usage_history(&w.profile_id, &"0".repeat(64))
            .await;
    assert_eq!(missing.unwrap_err().kind(), "not_found");
}

#[tokio::test]
async fn watch_settings_round_trip_and_are_validated() {
    let w = watched("watch-settings").await;
    assert_eq!(w.t.service.watch_settings(), WatchSettings::default());
    let changed = WatchSettings {
        interval_secs: 60,
        limit_percents: vec![50, 90],
        ..WatchSettings::default()
    };
    assert_eq!(
        w.t.service.set_watch_settings(changed.clone()).unwrap(),
        changed
    );
    assert_eq!(w.t.service.watch_settings(), changed);

    let err =
        w.t.service
            .set_watch_settings(WatchSettings {
                interval_secs: 0,
                ..WatchSettings::default()
            })
            .unwrap_err();
    assert_eq!(err.kind(), "invalid_input");
    assert_eq!(
        keyward_core::AppError::from(&err).field.as_deref(),
        Some("interval_secs")
    );
    assert_eq!(
        keyward_core::AppError::from(&err).kind,
        ErrorKind::InvalidInput
    );
    assert_eq!(w.t.service.watch_settings(), changed);

    // Thresholds from the settings drive the rules.
    let hash = w.create_key(json!({"name": "half", "limit": 10.0})).await;
    w.spend(&hash, 5.5).await;
    let report = w.cycle().await;
    assert_eq!(report.snapshot.alerts.len(), 1);
    assert_eq!(report.snapshot.alerts[0].threshold, "50");
}

#[tokio::test]
async fn open_alerts_survive_a_restart() {
    let w = watched("watch-restart").await;
    let hash = w.create_key(json!({"name": "nightly", "limit": 1.0})).await;
    w.spend(&hash, 1.0).await;
    let report = w.cycle().await;
    // 100 %, and under it 95 % and 80 %.
    assert_eq!(report.snapshot.alerts.len(), 3);
    assert_eq!(report.snapshot.alerts[0].threshold, "100");

    let reopened = Keyward::new(
        Store::open_in_dir(w.t.dir.path()).unwrap(),
        keyward_core::ServiceConfig::new(w.t.vault.clone()),
    );
    let listed = reopened.alerts(None).unwrap();
    assert_eq!(listed.alerts, report.snapshot.alerts);
}

#[tokio::test]
async fn a_stopped_sandbox_is_not_watched() {
    let w = watched("watch-sandbox-stopped").await;
    w.create_key(json!({"name": "x", "limit": 1.0})).await;
    assert_eq!(w.cycle().await.profiles.len(), 1);
    w.t.service.sandbox_stop().await;
    let report = w.cycle().await;
    assert!(report.profiles.is_empty());
    assert!(w.t.service.sandbox_control_url().await.is_none());
}

#[tokio::test]
async fn a_key_burning_towards_its_limit_gets_a_forecast_once() {
    let w = watched("watch-forecast").await;
    let hash = w
        .create_key(json!({"name": "batch-jobs", "limit": 10.0}))
        .await;
    assert!(w.cycle().await.notifications.is_empty());
    // Seven hours later (08:00 UTC) $3 is spent: $9 a day, the $7 left last until 02:40 tomorrow.
    w.advance_clocks(7 * 3600).await;
    w.spend(&hash, 3.0).await;
    let report = w.cycle().await;
    assert_eq!(report.notifications.len(), 1, "{:?}", titles(&report));
    let note = &report.notifications[0];
    assert_eq!(note.title, "batch-jobs will hit its limit on Jan 16");
    assert!(note.body.contains("$9/day"), "{note:?}");
    assert_eq!(note.key_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(report.snapshot.alerts.len(), 1);
    let alert = &report.snapshot.alerts[0];
    assert_eq!(alert.kind, AlertKind::Forecast);
    let start: DateTime<Utc> = PINNED_AT.parse().unwrap();
    let due = alert.due_at.unwrap();
    let expected = start + chrono::Duration::hours(25) + chrono::Duration::minutes(40);
    assert!(
        (due - expected).num_seconds().abs() < 120,
        "{due} vs {expected}"
    );
    assert!(w.cycle().await.notifications.is_empty());
    // The usage history carries the same forecast.
    let history =
        w.t.service
            .usage_history(&w.profile_id, &hash)
            .await
            .unwrap();
    let forecast = history.forecast.unwrap();
    assert!((forecast.burn_per_day - 9.0).abs() < 0.05, "{forecast:?}");
    assert!(forecast.hits_limit_at.is_some());
}

#[tokio::test]
async fn a_day_of_unusual_spend_is_an_anomaly_once() {
    let w = watched("watch-anomaly").await;
    let hash = w.create_key(json!({"name": "chatbot"})).await;
    w.cycle().await;
    // Three ordinary days of $1.
    for _ in 0..3 {
        w.advance_clocks(86_400).await;
        w.spend(&hash, 1.0).await;
        assert!(w.cycle().await.notifications.is_empty());
    }
    // The fourth day starts ordinary, then $10 more.
    w.advance_clocks(86_400).await;
    w.spend(&hash, 1.0).await;
    let ordinary = w.cycle().await;
    assert!(ordinary.notifications.is_empty(), "{:?}", titles(&ordinary));
    assert!(ordinary.snapshot.alerts.is_empty());
    w.spend(&hash, 10.0).await;
    let report = w.cycle().await;
    assert_eq!(report.notifications.len(), 1, "{:?}", titles(&report));
    assert_eq!(
        report.notifications[0].title,
        "chatbot is spending unusually fast"
    );
    let alert = &report.snapshot.alerts[0];
    assert_eq!(alert.kind, AlertKind::Anomaly);
    assert_eq!(alert.period, "2030-01-19");
    assert!(
        alert
            .body
            .contains("$11 today (UTC), 11.0× its daily average of $1 over the last 3 days"),
        "{}",
        alert.body
    );
    assert!(w.cycle().await.notifications.is_empty());
}
