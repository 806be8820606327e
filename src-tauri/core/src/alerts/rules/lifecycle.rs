//! The key's lifecycle alerts: expired, expiring soon, disabled outside Keyward, rotation due.

use chrono::{DateTime, TimeDelta, Utc};

use super::{AlertMaker, Draft};
use crate::alerts::text::{day, day_time, span};
use crate::alerts::{AlertKind, AlertSeverity, AlertView};

pub(super) fn expired_alert(maker: &AlertMaker<'_>, expiry: DateTime<Utc>) -> AlertView {
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

pub(super) fn expiry_alerts(
    maker: &AlertMaker<'_>,
    expiry: DateTime<Utc>,
    days: &[u32],
) -> Vec<AlertView> {
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

pub(super) fn disabled_alert(maker: &AlertMaker<'_>, since: DateTime<Utc>) -> AlertView {
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

pub(super) fn rotation_alert(maker: &AlertMaker<'_>, due: DateTime<Utc>) -> AlertView {
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
