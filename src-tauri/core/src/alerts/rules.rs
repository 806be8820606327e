//! The alert rules: from a key, its spend history and what the watcher knows about it, the alerts
//! open at `now`.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{AlertKind, AlertSeverity, AlertView, WatchSettings, alert_id};
use crate::api::ApiKey;
use crate::usage::{
    Budget, DEFAULT_HORIZON, DailySpend, SpendStop, limit_standing, period_label, spend_anomaly,
    spend_forecast, what_stops_first,
};

mod lifecycle;
mod spend;

use lifecycle::{disabled_alert, expired_alert, expiry_alerts, rotation_alert};
use spend::{anomaly_alert, budget_forecast_alert, forecast_alert, limit_alerts};

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
    /// The budgets in the key's way besides its own limit (guardrail, workspace, credits), from
    /// this tick's account facts; the forecast alert uses whichever runs out first.
    pub budgets: &'a [Budget],
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
    let earliest_budget = earliest_budget_stop(key, context.budgets, now);
    let mut key_forecast = None;
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
            key_forecast = Some((standing, hits_at, burn));
        }
    }
    // One forecast alert: whichever limit runs out first.
    match (key_forecast, earliest_budget) {
        (Some((standing, hits_at, burn)), stop)
            if stop
                .as_ref()
                .and_then(|stop| stop.runs_out_at)
                .is_none_or(|other| hits_at <= other) =>
        {
            alerts.push(forecast_alert(&maker, &standing, hits_at, burn));
        }
        (_, Some(stop)) => alerts.push(budget_forecast_alert(&maker, &stop)),
        _ => {}
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

/// The guardrail, workspace or credits budget that runs out first at the current burn rate, if one
/// runs out before it resets and within the forecast horizon (or the key's expiry).
fn earliest_budget_stop(key: &ApiKey, budgets: &[Budget], now: DateTime<Utc>) -> Option<SpendStop> {
    let horizon = key
        .expires_at
        .filter(|expiry| *expiry > now)
        .map_or(now + DEFAULT_HORIZON, |expiry| {
            expiry.min(now + DEFAULT_HORIZON)
        });
    what_stops_first(budgets.to_vec(), now)
        .into_iter()
        .find(|stop| stop.runs_out_at.is_some_and(|at| at < horizon))
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

#[cfg(test)]
mod tests;
