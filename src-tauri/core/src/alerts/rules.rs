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
        period_label(key.limit_reset.as_ref(), observed) == period_label(key.limit_reset.as_ref(), now)
    });
    if same_period && let Some(standing) = limit_standing(key, now) {
        alerts.extend(limit_alerts(&maker, &standing, &settings.limit_percents));
        let forecast = spend_forecast(key, context.days, context.history_start, now, DEFAULT_HORIZON);
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
