//! The alert rules: from a key, its spend history and what the watcher knows about it, the alerts
//! open at `now`.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::text::{day, day_time, money, percent, span};
use super::{AlertKind, AlertSeverity, AlertView, WatchSettings, alert_id};
use crate::api::{ApiKey, LimitReset};
use crate::usage::{
    DEFAULT_HORIZON, DailySpend, LimitStanding, SpendAnomaly, limit_standing, period_label,
    spend_anomaly, spend_forecast,
};

/// What the watcher knows about a key besides the key object itself. `Default` is "nothing".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyContext<'a> {
    /// The key's [`crate::usage::daily_spend`] series (empty: no forecast, no anomaly).
    pub days: &'a [DailySpend],
    /// When the spend data starts to mean something (see [`crate::usage::burn_per_day`]).
    pub history_start: Option<DateTime<Utc>>,
    /// When the key object was fetched. Numbers from another reset period than `now`'s (a cached
    /// list after midnight, a clock that jumped) say nothing about the current period, so the limit
    /// and forecast rules skip them. `None` = fetched just now.
    pub observed_at: Option<DateTime<Utc>>,
    /// Keyward itself disabled the key (a rotation, the person in Keyward's window).
    pub disabled_by_keyward: bool,
    /// When Keyward first saw the key disabled after having seen it enabled. `None` when it never
    /// saw the change (e.g. the key was already disabled when Keyward first listed it): such a key
    /// raises no "disabled outside Keyward" alert.
    pub disabled_since: Option<DateTime<Utc>>,
    /// When the key's rotation policy wants it rotated.
    pub rotation_due_at: Option<DateTime<Utc>>,
    /// The key's alerts are snoozed until then.
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// The alerts open for one key at `now`, most important first.
///
/// An expired key raises only `expired`, and a disabled one only `disabled` (when disabled outside
/// Keyward): neither can spend, so limits, forecasts, anomalies and rotation no longer matter.
/// Every crossed threshold of a kind is its own alert (its own de-dup identity); all but the
/// highest are marked `superseded`.
pub fn evaluate_key(
    profile_id: &str,
    key: &ApiKey,
    context: &KeyContext<'_>,
    settings: &WatchSettings,
    now: DateTime<Utc>,
) -> Vec<AlertView> {
    let maker = AlertMaker {
        profile_id,
        key,
        now,
        snoozed_until: context.snoozed_until.filter(|until| *until > now),
    };
    let mut alerts = Vec::new();
    if let Some(expiry) = key.expires_at.filter(|expiry| *expiry <= now) {
        alerts.push(expired_alert(&maker, expiry));
        return finish(alerts);
    }
    if key.disabled {
        if let Some(since) = context
            .disabled_since
            .filter(|_| !context.disabled_by_keyward)
        {
            alerts.push(disabled_alert(&maker, since));
        }
        return finish(alerts);
    }
    if let Some(expiry) = key.expires_at {
        alerts.extend(expiry_alerts(&maker, expiry, &settings.expiry_days));
    }
    let same_period = context.observed_at.is_none_or(|observed| {
        period_label(key.limit_reset.as_ref(), observed)
            == period_label(key.limit_reset.as_ref(), now)
    });
    if same_period && let Some(standing) = limit_standing(key, now) {
        alerts.extend(limit_alerts(&maker, &standing, &settings.limit_percents));
        let forecast = spend_forecast(
            key,
            context.days,
            context.history_start,
            now,
            DEFAULT_HORIZON,
        );
        if let Some(hits_at) = forecast.and_then(|forecast| forecast.hits_limit_at) {
            let burn = forecast.map_or(0.0, |forecast| forecast.burn_per_day);
            alerts.push(forecast_alert(&maker, &standing, hits_at, burn));
        }
    }
    if let Some(anomaly) = spend_anomaly(
        context.days,
        context.history_start,
        now,
        settings.anomaly_factor,
        settings.anomaly_min_usd,
    ) {
        alerts.push(anomaly_alert(&maker, &anomaly));
    }
    if let Some(due) = context.rotation_due_at.filter(|due| *due <= now) {
        alerts.push(rotation_alert(&maker, due));
    }
    finish(alerts)
}

/// [`evaluate_key`] over many keys of one profile: `(key, context)` pairs; the result is sorted
/// most important first (severity, then the soonest due, then key name).
pub fn evaluate<'a>(
    profile_id: &str,
    keys: impl IntoIterator<Item = (&'a ApiKey, KeyContext<'a>)>,
    settings: &WatchSettings,
    now: DateTime<Utc>,
) -> Vec<AlertView> {
    let mut alerts: Vec<AlertView> = keys
        .into_iter()
        .flat_map(|(key, context)| evaluate_key(profile_id, key, &context, settings, now))
        .collect();
    sort_alerts(&mut alerts);
    alerts
}

/// Keeps the `raised_at` of alerts that were already open (same id) in `previous`, so an alert
/// says when it first appeared rather than when it was last evaluated.
pub fn carry_over_raised_at(alerts: &mut [AlertView], previous: &[AlertView]) {
    let first_seen: HashMap<&str, DateTime<Utc>> = previous
        .iter()
        .map(|alert| (alert.id.as_str(), alert.raised_at))
        .collect();
    for alert in alerts {
        if let Some(raised_at) = first_seen.get(alert.id.as_str()) {
            alert.raised_at = alert.raised_at.min(*raised_at);
        }
    }
}

/// How far up its kind's ladder a threshold is: 100 % above 95 %, `expired` above `1d` above `7d`.
pub(crate) fn threshold_rank(kind: AlertKind, threshold: &str) -> i64 {
    match kind {
        AlertKind::Expiry if threshold == "expired" => i64::MAX,
        AlertKind::Expiry => threshold
            .trim_end_matches('d')
            .parse::<i64>()
            .map_or(0, |days| -days),
        AlertKind::Limit => threshold.parse::<i64>().unwrap_or(0),
        _ => 0,
    }
}

pub(crate) fn sort_alerts(alerts: &mut [AlertView]) {
    alerts.sort_by(|a, b| {
        Reverse(a.severity)
            .cmp(&Reverse(b.severity))
            .then_with(|| match (a.due_at, b.due_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.key_name.cmp(&b.key_name))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| {
                threshold_rank(b.kind, &b.threshold).cmp(&threshold_rank(a.kind, &a.threshold))
            })
    });
}

/// Marks every alert below the highest threshold of its key and kind as superseded, then sorts.
fn finish(mut alerts: Vec<AlertView>) -> Vec<AlertView> {
    let mut highest: HashMap<(String, AlertKind), i64> = HashMap::new();
    for alert in &alerts {
        let rank = threshold_rank(alert.kind, &alert.threshold);
        highest
            .entry((alert.key_hash.clone(), alert.kind))
            .and_modify(|top| *top = (*top).max(rank))
            .or_insert(rank);
    }
    for alert in &mut alerts {
        let rank = threshold_rank(alert.kind, &alert.threshold);
        alert.superseded = highest
            .get(&(alert.key_hash.clone(), alert.kind))
            .is_some_and(|top| *top > rank);
    }
    sort_alerts(&mut alerts);
    alerts
}

struct AlertMaker<'a> {
    profile_id: &'a str,
    key: &'a ApiKey,
    now: DateTime<Utc>,
    snoozed_until: Option<DateTime<Utc>>,
}

/// The parts of an alert that differ by rule.
struct Draft {
    kind: AlertKind,
    severity: AlertSeverity,
    threshold: String,
    period: String,
    title: String,
    body: String,
    action: &'static str,
    due_at: Option<DateTime<Utc>>,
}

impl AlertMaker<'_> {
    fn make(&self, draft: Draft) -> AlertView {
        AlertView {
            id: alert_id(
                self.profile_id,
                &self.key.hash,
                draft.kind,
                &draft.threshold,
                &draft.period,
            ),
            profile_id: self.profile_id.to_owned(),
            key_hash: self.key.hash.clone(),
            key_name: self.key.name.clone(),
            kind: draft.kind,
            severity: draft.severity,
            threshold: draft.threshold,
            period: draft.period,
            title: draft.title,
            body: draft.body,
            action: draft.action.to_owned(),
            raised_at: self.now,
            due_at: draft.due_at,
            snoozed_until: self.snoozed_until,
            limit: self.key.limit,
            superseded: false,
        }
    }

    fn name(&self) -> &str {
        &self.key.name
    }
}

fn expired_alert(maker: &AlertMaker<'_>, expiry: DateTime<Utc>) -> AlertView {
    let name = maker.name();
    maker.make(Draft {
        kind: AlertKind::Expiry,
        severity: AlertSeverity::Critical,
        threshold: "expired".to_owned(),
        period: crate::usage::NO_PERIOD.to_owned(),
        title: format!("{name} has expired"),
        body: format!(
            "{name} expired on {}; requests with it fail.",
            day_time(expiry, maker.now)
        ),
        action: "Rotate the key, or delete it if nothing uses it",
        due_at: Some(expiry),
    })
}

fn expiry_alerts(maker: &AlertMaker<'_>, expiry: DateTime<Utc>, days: &[u32]) -> Vec<AlertView> {
    let left = expiry - maker.now;
    let name = maker.name();
    days.iter()
        .filter(|days| left <= TimeDelta::days(i64::from(**days)))
        .map(|days| {
            maker.make(Draft {
                kind: AlertKind::Expiry,
                severity: if *days <= 1 {
                    AlertSeverity::Warning
                } else {
                    AlertSeverity::Info
                },
                threshold: format!("{days}d"),
                period: crate::usage::NO_PERIOD.to_owned(),
                title: format!("{name} expires in {}", span(left)),
                body: format!(
                    "{name} expires on {}. Requests with it will fail from then on.",
                    day_time(expiry, maker.now)
                ),
                action: "Rotate the key before it expires",
                due_at: Some(expiry),
            })
        })
        .collect()
}

/// `monthly `, `weekly `, `daily ` or nothing: the limit's adjective.
fn reset_adjective(reset: Option<&LimitReset>) -> &'static str {
    match reset {
        Some(LimitReset::Daily) => "daily ",
        Some(LimitReset::Weekly) => "weekly ",
        Some(LimitReset::Monthly) => "monthly ",
        Some(LimitReset::Other(_)) | None => "",
    }
}

/// `on Dec 1`, or `at 00:00 UTC` for a reset tomorrow at midnight.
fn reset_when(period_end: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if period_end - now <= TimeDelta::days(1) {
        "at 00:00 UTC".to_owned()
    } else {
        format!("on {}", day(period_end, now))
    }
}

fn limit_alerts(
    maker: &AlertMaker<'_>,
    standing: &LimitStanding,
    percents: &[u32],
) -> Vec<AlertView> {
    let name = maker.name();
    let used_percent = percent(standing.fraction);
    let kind_of_limit = format!(
        "{} {}limit",
        money(standing.limit),
        reset_adjective(standing.reset.as_ref())
    );
    percents
        .iter()
        .filter(|percent| standing.fraction + 1e-9 >= f64::from(**percent) / 100.0)
        .map(|threshold| {
            let reached = *threshold >= 100;
            let (title, body) = if reached {
                let until = match standing.period_end {
                    Some(end) => format!("until it resets {}", reset_when(end, maker.now)),
                    None => "until the limit is raised".to_owned(),
                };
                (
                    format!("{name} has reached its limit"),
                    format!(
                        "{name} has used {} of its {kind_of_limit}: requests with it fail {until}.",
                        money(standing.used)
                    ),
                )
            } else {
                let resets = match standing.period_end {
                    Some(end) => format!("Resets {}.", reset_when(end, maker.now)),
                    None => "The limit does not reset.".to_owned(),
                };
                (
                    format!("{name} has used {used_percent} % of its limit"),
                    format!(
                        "{name} has used {used_percent} % ({}) of its {kind_of_limit}. {resets}",
                        money(standing.used)
                    ),
                )
            };
            maker.make(Draft {
                kind: AlertKind::Limit,
                severity: if reached {
                    AlertSeverity::Critical
                } else {
                    AlertSeverity::Warning
                },
                threshold: threshold.to_string(),
                period: standing.period.clone(),
                title,
                body,
                action: "Raise the limit or rotate the key",
                due_at: None,
            })
        })
        .collect()
}

fn forecast_alert(
    maker: &AlertMaker<'_>,
    standing: &LimitStanding,
    hits_at: DateTime<Utc>,
    burn_per_day: f64,
) -> AlertView {
    let name = maker.name();
    let now = maker.now;
    let when = if hits_at.date_naive() == now.date_naive() {
        format!("today at {} UTC", hits_at.format("%H:%M"))
    } else {
        format!("on {}", day(hits_at, now))
    };
    let limit = format!(
        "{} {}limit",
        money(standing.limit),
        reset_adjective(standing.reset.as_ref())
    );
    let before = match standing.period_end {
        Some(end) => format!(
            ", {} before the reset on {}",
            span(end - hits_at),
            day(end, now)
        ),
        None => match maker.key.expires_at {
            Some(expiry) => format!(", {} before the key expires", span(expiry - hits_at)),
            None => String::new(),
        },
    };
    maker.make(Draft {
        kind: AlertKind::Forecast,
        severity: AlertSeverity::Warning,
        threshold: "forecast".to_owned(),
        period: standing.period.clone(),
        title: format!("{name} will hit its limit {when}"),
        body: format!(
            "At this rate ({}/day) {name} hits its {limit} {when}{before}. {} left.",
            money(burn_per_day),
            money(standing.remaining)
        ),
        action: "Raise the limit or rotate the key",
        due_at: Some(hits_at),
    })
}

fn anomaly_alert(maker: &AlertMaker<'_>, anomaly: &SpendAnomaly) -> AlertView {
    let name = maker.name();
    let body = if anomaly.baseline > 0.0 {
        format!(
            "{name} spent {} today (UTC), {:.1}× its daily average of {} over the last {} days.",
            money(anomaly.today),
            anomaly.today / anomaly.baseline,
            money(anomaly.baseline),
            anomaly.baseline_days
        )
    } else {
        format!(
            "{name} spent {} today (UTC), after {} days without spend.",
            money(anomaly.today),
            anomaly.baseline_days
        )
    };
    maker.make(Draft {
        kind: AlertKind::Anomaly,
        severity: AlertSeverity::Warning,
        threshold: "anomaly".to_owned(),
        period: maker.now.format("%Y-%m-%d").to_string(),
        title: format!("{name} is spending unusually fast"),
        body,
        action: "Check for a leak or a runaway job; disable the key if the spend is not yours",
        due_at: None,
    })
}

fn disabled_alert(maker: &AlertMaker<'_>, since: DateTime<Utc>) -> AlertView {
    let name = maker.name();
    maker.make(Draft {
        kind: AlertKind::Disabled,
        severity: AlertSeverity::Warning,
        threshold: "disabled".to_owned(),
        period: since.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        title: format!("{name} was disabled outside Keyward"),
        body: format!(
            "Keyward saw {name} disabled on {}, and not by Keyward. Requests with it fail.",
            day_time(since, maker.now)
        ),
        action: "Re-enable it if that was a mistake, or rotate it if it leaked",
        due_at: None,
    })
}

fn rotation_alert(maker: &AlertMaker<'_>, due: DateTime<Utc>) -> AlertView {
    let name = maker.name();
    let expires = maker
        .key
        .expires_at
        .map(|expiry| format!(" It expires on {}.", day(expiry, maker.now)))
        .unwrap_or_default();
    maker.make(Draft {
        kind: AlertKind::RotationDue,
        severity: AlertSeverity::Info,
        threshold: "rotation_due".to_owned(),
        period: due.format("%Y-%m-%d").to_string(),
        title: format!("{name} is due for rotation"),
        body: format!(
            "Its rotation policy called for a new key by {}.{expires}",
            day(due, maker.now)
        ),
        action: "Rotate the key",
        due_at: Some(due),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
