//! The spend alerts: limit thresholds crossed, the limit forecast to be hit, unusual daily spend.

use chrono::{DateTime, TimeDelta, Utc};

use super::{AlertMaker, Draft};
use crate::alerts::text::{day, money, percent, span};
use crate::alerts::{AlertKind, AlertSeverity, AlertView};
use crate::api::LimitReset;
use crate::usage::{LimitStanding, SpendAnomaly, SpendStop, StopScope, period_label};

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

pub(super) fn limit_alerts(
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

pub(super) fn forecast_alert(
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

/// `its guardrail 'Production allowlist' budget`, `its workspace 'Research' monthly budget`, `the
/// account's credits`.
fn budget_phrase(stop: &SpendStop) -> String {
    let adjective = reset_adjective(stop.reset.as_ref());
    match stop.scope {
        StopScope::Guardrail => format!("its guardrail '{}' {adjective}budget", stop.name),
        StopScope::Workspace => format!("its workspace '{}' {adjective}budget", stop.name),
        StopScope::Credits => "the account's credits".to_owned(),
        StopScope::KeyLimit => format!("its {adjective}limit"),
    }
}

/// The forecast alert for a budget other than the key's own limit (guardrail, workspace, credits):
/// "will hit its guardrail 'Production allowlist' budget today at 14:29 UTC".
pub(super) fn budget_forecast_alert(maker: &AlertMaker<'_>, stop: &SpendStop) -> AlertView {
    let name = maker.name();
    let now = maker.now;
    let hits_at = stop.runs_out_at.unwrap_or(now);
    let when = if hits_at.date_naive() == now.date_naive() {
        format!("today at {} UTC", hits_at.format("%H:%M"))
    } else {
        format!("on {}", day(hits_at, now))
    };
    let what = budget_phrase(stop);
    let before = match stop.resets_at {
        Some(end) => format!(
            ", {} before it resets on {}",
            span(end - hits_at),
            day(end, now)
        ),
        None => String::new(),
    };
    let pooled = match stop.scope {
        StopScope::Workspace | StopScope::Credits => " (shared with other keys)",
        StopScope::Guardrail | StopScope::KeyLimit => "",
    };
    maker.make(Draft {
        kind: AlertKind::Forecast,
        severity: AlertSeverity::Warning,
        threshold: "forecast".to_owned(),
        period: period_label(stop.reset.as_ref(), now),
        title: format!("{name} will hit {what} {when}"),
        body: format!(
            "At this rate ({}/day{pooled}) {name} hits {what} ({}) {when}{before}. {} left.",
            money(stop.burn_per_day.unwrap_or(0.0)),
            money(stop.limit),
            money(stop.remaining)
        ),
        action: match stop.scope {
            StopScope::Credits => "Buy credits or slow the spend",
            _ => "Raise the budget or slow the spend",
        },
        due_at: Some(hits_at),
    })
}

pub(super) fn anomaly_alert(maker: &AlertMaker<'_>, anomaly: &SpendAnomaly) -> AlertView {
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
