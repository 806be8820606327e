//! Unit tests of the alert rules: every kind, its thresholds, de-dup identity and ordering.

use super::*;
use crate::api::LimitReset;
use crate::usage::test_support::{at, key, series};

fn thresholds(alerts: &[AlertView], kind: AlertKind) -> Vec<String> {
    let mut found: Vec<String> = alerts
        .iter()
        .filter(|alert| alert.kind == kind)
        .map(|alert| alert.threshold.clone())
        .collect();
    found.sort();
    found
}

fn run(key: &ApiKey, context: &KeyContext<'_>, now: &str) -> Vec<AlertView> {
    evaluate_key("p1", key, context, &WatchSettings::default(), at(now))
}

fn monthly(limit: f64, remaining: Option<f64>, used_monthly: f64) -> ApiKey {
    let mut k = key("prod-api");
    k.limit = Some(limit);
    k.limit_remaining = remaining;
    k.limit_reset = Some(LimitReset::Monthly);
    k.usage_monthly = used_monthly;
    k
}

#[test]
fn limit_thresholds_and_periods() {
    // (limit, remaining, reset, now, expected thresholds, expected period)
    type Case = (
        f64,
        Option<f64>,
        Option<LimitReset>,
        &'static str,
        &'static [&'static str],
        &'static str,
    );
    let cases: [Case; 8] = [
        (
            50.0,
            Some(10.1),
            Some(LimitReset::Monthly),
            "2026-11-23T10:00:00Z",
            &[],
            "2026-11",
        ),
        (
            50.0,
            Some(10.0),
            Some(LimitReset::Monthly),
            "2026-11-23T10:00:00Z",
            &["80"],
            "2026-11",
        ),
        (
            50.0,
            Some(2.5),
            Some(LimitReset::Monthly),
            "2026-10-31T23:59:59Z",
            &["80", "95"],
            "2026-10",
        ),
        (
            50.0,
            Some(0.0),
            Some(LimitReset::Monthly),
            "2028-02-29T12:00:00Z",
            &["100", "80", "95"],
            "2028-02",
        ),
        (
            10.0,
            Some(1.0),
            Some(LimitReset::Weekly),
            "2026-11-22T23:59:59Z",
            &["80"],
            "2026-W47",
        ),
        (
            10.0,
            Some(1.0),
            Some(LimitReset::Weekly),
            "2026-11-23T00:00:00Z",
            &["80"],
            "2026-W48",
        ),
        (
            10.0,
            Some(0.4),
            Some(LimitReset::Daily),
            "2026-12-31T23:00:00Z",
            &["80", "95"],
            "2026-12-31",
        ),
        (
            10.0,
            Some(1.0),
            None,
            "2026-11-23T10:00:00Z",
            &["80"],
            "none",
        ),
    ];
    for (limit, remaining, reset, now, expected, period) in cases {
        let mut k = key("prod-api");
        k.limit = Some(limit);
        k.limit_remaining = remaining;
        k.limit_reset = reset.clone();
        let alerts = run(&k, &KeyContext::default(), now);
        assert_eq!(
            thresholds(&alerts, AlertKind::Limit),
            expected,
            "{reset:?} {now}"
        );
        for alert in alerts.iter().filter(|a| a.kind == AlertKind::Limit) {
            assert_eq!(alert.period, period, "{now}");
            assert_eq!(
                alert.id,
                format!("p1|hash-prod-api|limit|{}|{period}", alert.threshold)
            );
            assert_eq!(alert.limit, Some(limit));
        }
    }
}

#[test]
fn only_the_highest_threshold_is_not_superseded() {
    let k = monthly(50.0, Some(2.0), 48.0);
    let alerts = run(&k, &KeyContext::default(), "2026-11-23T10:00:00Z");
    let open: Vec<(&str, bool)> = alerts
        .iter()
        .map(|a| (a.threshold.as_str(), a.superseded))
        .collect();
    assert_eq!(open, [("95", false), ("80", true)]);
    assert_eq!(alerts[0].severity, AlertSeverity::Warning);
    assert_eq!(alerts[0].title, "prod-api has used 96 % of its limit");
    assert_eq!(
        alerts[0].body,
        "prod-api has used 96 % ($48) of its $50 monthly limit. Resets on Dec 1."
    );
    assert_eq!(alerts[0].action, "Raise the limit or rotate the key");
}

#[test]
fn reaching_the_limit_is_critical_and_says_until_when() {
    let k = monthly(50.0, Some(0.0), 51.25);
    let alerts = run(&k, &KeyContext::default(), "2026-11-30T10:00:00Z");
    assert_eq!(alerts[0].threshold, "100");
    assert_eq!(alerts[0].severity, AlertSeverity::Critical);
    assert_eq!(
        alerts[0].body,
        "prod-api has used $51.25 of its $50 monthly limit: requests with it fail until it \
         resets at 00:00 UTC."
    );
    let mut no_reset = k.clone();
    no_reset.limit_reset = None;
    let alerts = run(&no_reset, &KeyContext::default(), "2026-11-30T10:00:00Z");
    assert!(alerts[0].body.ends_with("until the limit is raised."));
}

#[test]
fn keys_with_null_fields_or_no_limit_raise_nothing() {
    let mut k = key("plain");
    k.usage = 1e6;
    assert!(run(&k, &KeyContext::default(), "2026-11-23T10:00:00Z").is_empty());
    // No limit_remaining: the counters decide (monthly 45 of 50).
    let k = monthly(50.0, None, 45.0);
    let alerts = run(&k, &KeyContext::default(), "2026-11-23T10:00:00Z");
    assert_eq!(thresholds(&alerts, AlertKind::Limit), ["80"]);
    // Unknown reset without limit_remaining: no standing, no alert.
    let mut odd = k.clone();
    odd.limit_reset = Some(LimitReset::Other("hourly".into()));
    assert!(run(&odd, &KeyContext::default(), "2026-11-23T10:00:00Z").is_empty());
}

#[test]
fn stale_numbers_from_another_period_raise_no_limit_alert() {
    // Fetched Oct 31 at 23:59 (95 % used in October), evaluated after the monthly reset.
    let k = monthly(50.0, Some(2.0), 48.0);
    let context = KeyContext {
        observed_at: Some(at("2026-10-31T23:59:00Z")),
        ..KeyContext::default()
    };
    assert!(run(&k, &context, "2026-11-01T00:01:00Z").is_empty());
    // Same period: fine. Clock moved back into the previous period: skipped too.
    assert!(!run(&k, &context, "2026-10-31T23:59:30Z").is_empty());
    let context = KeyContext {
        observed_at: Some(at("2026-11-01T00:05:00Z")),
        ..KeyContext::default()
    };
    assert!(run(&k, &context, "2026-10-31T23:50:00Z").is_empty());
}

#[test]
fn expiry_thresholds_at_their_boundaries() {
    let expiry = "2026-11-30T12:00:00Z";
    // (now, expected thresholds)
    let cases: [(&str, &[&str]); 6] = [
        ("2026-11-23T11:59:59Z", &[]),
        ("2026-11-23T12:00:00Z", &["7d"]),
        ("2026-11-29T11:59:59Z", &["7d"]),
        ("2026-11-29T12:00:00Z", &["1d", "7d"]),
        ("2026-11-30T11:59:59Z", &["1d", "7d"]),
        ("2026-11-30T12:00:00Z", &["expired"]),
    ];
    let mut k = key("prod-api");
    k.expires_at = Some(at(expiry));
    for (now, expected) in cases {
        let alerts = run(&k, &KeyContext::default(), now);
        assert_eq!(thresholds(&alerts, AlertKind::Expiry), expected, "{now}");
        assert!(alerts.iter().all(|a| a.due_at == Some(at(expiry))));
    }
    let alerts = run(&k, &KeyContext::default(), "2026-11-29T20:00:00Z");
    assert_eq!(alerts[0].threshold, "1d");
    assert_eq!(alerts[0].title, "prod-api expires in 16 hours");
    assert_eq!(
        alerts[0].body,
        "prod-api expires on Nov 30 at 12:00 UTC. Requests with it will fail from then on."
    );
    assert!(alerts[1].superseded);
}

#[test]
fn expired_key_raises_only_expired() {
    let mut k = monthly(50.0, Some(0.0), 50.0);
    k.expires_at = Some(at("2026-11-20T00:00:00Z"));
    k.disabled = true;
    let context = KeyContext {
        disabled_since: Some(at("2026-11-21T00:00:00Z")),
        rotation_due_at: Some(at("2026-11-01T00:00:00Z")),
        ..KeyContext::default()
    };
    let alerts = run(&k, &context, "2026-11-23T10:00:00Z");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].id, "p1|hash-prod-api|expiry|expired|none");
    assert_eq!(alerts[0].severity, AlertSeverity::Critical);
}

#[test]
fn disabled_outside_keyward_only() {
    let mut k = monthly(50.0, Some(0.0), 50.0);
    k.disabled = true;
    let since = at("2026-11-23T09:15:00Z");
    let now = "2026-11-23T10:00:00Z";
    // Never saw it change: silent; and no limit alerts for a key that cannot spend.
    assert!(run(&k, &KeyContext::default(), now).is_empty());
    // Keyward disabled it: silent.
    let by_us = KeyContext {
        disabled_since: Some(since),
        disabled_by_keyward: true,
        ..KeyContext::default()
    };
    assert!(run(&k, &by_us, now).is_empty());
    let outside = KeyContext {
        disabled_since: Some(since),
        ..KeyContext::default()
    };
    let alerts = run(&k, &outside, now);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Disabled);
    assert_eq!(alerts[0].period, "2026-11-23T09:15:00Z");
    assert_eq!(alerts[0].title, "prod-api was disabled outside Keyward");
    // Enabled again: gone.
    k.disabled = false;
    assert!(
        run(&k, &outside, now)
            .iter()
            .all(|a| a.kind != AlertKind::Disabled)
    );
}

#[test]
fn forecast_says_when_and_how_long_before_the_reset() {
    let now = at("2026-11-23T00:00:00Z");
    let k = monthly(50.0, Some(20.0), 30.0);
    let mut days = series(now, &[5.0; 30]);
    days.last_mut().unwrap().spend = 0.0;
    let context = KeyContext {
        days: &days,
        ..KeyContext::default()
    };
    let alerts = evaluate_key("p1", &k, &context, &WatchSettings::default(), now);
    let forecast = alerts
        .iter()
        .find(|a| a.kind == AlertKind::Forecast)
        .unwrap();
    assert_eq!(forecast.id, "p1|hash-prod-api|forecast|forecast|2026-11");
    assert_eq!(forecast.due_at, Some(at("2026-11-27T00:00:00Z")));
    assert_eq!(forecast.title, "prod-api will hit its limit on Nov 27");
    assert_eq!(
        forecast.body,
        "At this rate ($5/day) prod-api hits its $50 monthly limit on Nov 27, 4 days before \
         the reset on Dec 1. $20 left."
    );
    // At $1/day the reset comes first: no forecast alert.
    let slow = series(now, &[1.0; 29]);
    let context = KeyContext {
        days: &slow,
        ..KeyContext::default()
    };
    let alerts = evaluate_key("p1", &k, &context, &WatchSettings::default(), now);
    assert!(alerts.iter().all(|a| a.kind != AlertKind::Forecast));
}

#[test]
fn anomaly_and_rotation_due() {
    let now = at("2026-11-23T15:00:00Z");
    let mut values = vec![1.0; 29];
    values.push(12.0);
    let days = series(now, &values);
    let context = KeyContext {
        days: &days,
        rotation_due_at: Some(at("2026-11-23T15:00:00Z")),
        snoozed_until: Some(at("2026-11-24T00:00:00Z")),
        ..KeyContext::default()
    };
    let k = key("prod-api");
    let alerts = evaluate_key("p1", &k, &context, &WatchSettings::default(), now);
    let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::Anomaly, AlertKind::RotationDue]);
    assert_eq!(alerts[0].period, "2026-11-23");
    assert_eq!(
        alerts[0].body,
        "prod-api spent $12 today (UTC), 12.0× its daily average of $1 over the last 7 days."
    );
    assert_eq!(
        alerts[1].id,
        "p1|hash-prod-api|rotation_due|rotation_due|2026-11-23"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.snoozed_until == Some(at("2026-11-24T00:00:00Z")))
    );
    // A rotation due tomorrow is not due; a past snooze is not shown.
    let context = KeyContext {
        days: &days,
        rotation_due_at: Some(at("2026-11-24T00:00:00Z")),
        snoozed_until: Some(at("2026-11-23T14:00:00Z")),
        ..KeyContext::default()
    };
    let alerts = evaluate_key("p1", &k, &context, &WatchSettings::default(), now);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].snoozed_until, None);
}

#[test]
fn evaluate_sorts_by_severity_and_keeps_first_raised_at() {
    let full = monthly(10.0, Some(0.0), 10.0);
    let mut near = monthly(10.0, Some(1.5), 8.5);
    near.hash = "hash-near".into();
    near.name = "near".into();
    let now = at("2026-11-23T10:00:00Z");
    let settings = WatchSettings::default();
    let mut alerts = evaluate(
        "p1",
        [
            (&near, KeyContext::default()),
            (&full, KeyContext::default()),
        ],
        &settings,
        now,
    );
    assert_eq!(alerts[0].threshold, "100");
    assert_eq!(alerts.last().unwrap().severity, AlertSeverity::Warning);
    let mut previous = alerts.clone();
    for alert in &mut previous {
        alert.raised_at = at("2026-11-23T08:00:00Z");
    }
    carry_over_raised_at(&mut alerts, &previous[1..]);
    assert_eq!(alerts[0].raised_at, now);
    assert!(
        alerts[1..]
            .iter()
            .all(|a| a.raised_at == at("2026-11-23T08:00:00Z"))
    );
}

#[test]
fn forecast_uses_the_budget_that_runs_out_first() {
    use crate::usage::{Budget, StopScope};
    let now = at("2026-11-23T00:00:00Z"); // a Monday
    // The key's own $50 monthly limit runs out on Nov 27 at $5/day.
    let k = monthly(50.0, Some(20.0), 30.0);
    let mut days = series(now, &[5.0; 30]);
    days.last_mut().unwrap().spend = 0.0;
    let guardrail = Budget {
        scope: StopScope::Guardrail,
        name: "Production allowlist".into(),
        limit: 40.0,
        reset: Some(LimitReset::Weekly),
        spent: 30.0,
        burn_per_day: Some(5.0),
    };
    let credits = Budget {
        scope: StopScope::Credits,
        name: "Account credits".into(),
        limit: 500.0,
        reset: None,
        spent: 400.0,
        burn_per_day: Some(20.0),
    };
    let forecasts = |budgets: &[Budget]| -> Vec<AlertView> {
        let context = KeyContext {
            days: &days,
            budgets,
            ..KeyContext::default()
        };
        evaluate_key("p1", &k, &context, &WatchSettings::default(), now)
            .into_iter()
            .filter(|a| a.kind == AlertKind::Forecast)
            .collect()
    };

    // $10 left of the guardrail's weekly $40 at $5/day: Nov 25, before the key's Nov 27.
    let alerts = forecasts(&[guardrail.clone(), credits.clone()]);
    assert_eq!(alerts.len(), 1, "one forecast alert: {alerts:#?}");
    assert_eq!(
        alerts[0].title,
        "prod-api will hit its guardrail 'Production allowlist' weekly budget on Nov 25"
    );
    assert_eq!(alerts[0].due_at, Some(at("2026-11-25T00:00:00Z")));
    assert_eq!(alerts[0].id, "p1|hash-prod-api|forecast|forecast|2026-W48");
    assert!(alerts[0].body.contains("$10 left"), "{}", alerts[0].body);

    // Credits ($100 at $20/day) run out Nov 28, after the key's own limit: the key's alert.
    let alerts = forecasts(std::slice::from_ref(&credits));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].title, "prod-api will hit its limit on Nov 27");

    // Without a limit of its own, the credits' forecast alone.
    let mut unlimited = k.clone();
    unlimited.limit = None;
    unlimited.limit_remaining = None;
    let context = KeyContext {
        days: &days,
        budgets: std::slice::from_ref(&credits),
        ..KeyContext::default()
    };
    let alerts = evaluate_key("p1", &unlimited, &context, &WatchSettings::default(), now);
    let forecast = alerts
        .iter()
        .find(|a| a.kind == AlertKind::Forecast)
        .unwrap();
    assert_eq!(
        forecast.title,
        "prod-api will hit the account's credits on Nov 28"
    );
    assert!(forecast.body.contains("shared with other keys"));
}
