//! The watcher's settings as the person sets them, their defaults and their validation.

use chrono::{DateTime, Timelike};
use chrono::{FixedOffset, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::AlertKind;
use crate::Error;

/// The shortest interval the settings accept from a person (tests configure the watcher directly).
pub const MIN_INTERVAL_SECS: u32 = 10;
/// A day: checking less often than that would miss a 1-day expiry warning.
pub const MAX_INTERVAL_SECS: u32 = 86_400;
/// Expiry warnings further ahead than this are refused.
pub const MAX_EXPIRY_DAYS: u32 = 365;

/// Which kinds of alerts make desktop notifications (all still show in the alerts panel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct NotifyKinds {
    pub expiry: bool,
    pub limit: bool,
    pub forecast: bool,
    pub anomaly: bool,
    pub disabled: bool,
    pub rotation_due: bool,
}

impl Default for NotifyKinds {
    fn default() -> Self {
        NotifyKinds {
            expiry: true,
            limit: true,
            forecast: true,
            anomaly: true,
            disabled: true,
            rotation_due: true,
        }
    }
}

impl NotifyKinds {
    pub fn allows(&self, kind: AlertKind) -> bool {
        match kind {
            AlertKind::Expiry => self.expiry,
            AlertKind::Limit => self.limit,
            AlertKind::Forecast => self.forecast,
            AlertKind::Anomaly => self.anomaly,
            AlertKind::Disabled => self.disabled,
            AlertKind::RotationDue => self.rotation_due,
        }
    }
}

/// A daily window (local time, `"HH:MM"`) in which notifications wait. `start` after `end` spans
/// midnight (`"22:00"`–`"07:00"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

impl QuietHours {
    /// `Some(end of the window, in UTC)` when `now` is inside it; the local time is UTC +
    /// `local_offset`. `None` outside, or when the times don't parse (validation refuses those).
    pub fn active_until(
        &self,
        now: DateTime<Utc>,
        local_offset: FixedOffset,
    ) -> Option<DateTime<Utc>> {
        let start = parse_hhmm(&self.start)?;
        let end = parse_hhmm(&self.end)?;
        let local = now.with_timezone(&local_offset);
        let time = local.time().with_nanosecond(0).unwrap_or(local.time());
        let inside = if start < end {
            start <= time && time < end
        } else if start > end {
            time >= start || time < end
        } else {
            false
        };
        if !inside {
            return None;
        }
        let today_end = local.date_naive().and_time(end);
        let end_local = if end > time {
            today_end
        } else {
            today_end + TimeDelta::days(1)
        };
        end_local
            .and_local_timezone(local_offset)
            .single()
            .map(|end| end.with_timezone(&Utc))
    }
}

/// `"HH:MM"` (24 h, two digits each).
pub fn parse_hhmm(text: &str) -> Option<NaiveTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return None;
    }
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// What the watcher checks, how often, and what it notifies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct WatchSettings {
    /// Seconds between refreshes.
    pub interval_secs: u32,
    /// Warn this many days before a key expires (each its own alert).
    pub expiry_days: Vec<u32>,
    /// Warn at these percentages of the limit used in the current period.
    pub limit_percents: Vec<u32>,
    /// Today's spend at least this many times the recent daily average is an anomaly...
    pub anomaly_factor: f64,
    /// ... when it is also at least this many USD.
    pub anomaly_min_usd: f64,
    pub notify: NotifyKinds,
    /// `null` = no quiet hours.
    pub quiet_hours: Option<QuietHours>,
    /// Off: alerts still show in the window and tray, no desktop notifications.
    pub notifications_enabled: bool,
    pub start_at_login: bool,
    /// On battery with the window closed, check less often (3× the interval, at most 30 min).
    pub slower_on_battery: bool,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            interval_secs: 300,
            expiry_days: vec![7, 1],
            limit_percents: vec![80, 95, 100],
            anomaly_factor: 3.0,
            anomaly_min_usd: 1.0,
            notify: NotifyKinds::default(),
            quiet_hours: None,
            notifications_enabled: true,
            start_at_login: false,
            slower_on_battery: true,
        }
    }
}

impl WatchSettings {
    /// Checks the settings as a person entered them: `InvalidInput` naming the field at fault.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_with_min_interval(MIN_INTERVAL_SECS)
    }

    /// [`validate`](Self::validate) with another shortest interval (tests run cycles faster).
    pub fn validate_with_min_interval(&self, min_interval_secs: u32) -> Result<(), Error> {
        if self.interval_secs < min_interval_secs || self.interval_secs > MAX_INTERVAL_SECS {
            return Err(Error::invalid(
                "interval_secs",
                format!(
                    "must be between {min_interval_secs} and {MAX_INTERVAL_SECS} seconds, not {}",
                    self.interval_secs
                ),
            ));
        }
        check_thresholds("expiry_days", &self.expiry_days, 1, MAX_EXPIRY_DAYS, "days")?;
        check_thresholds("limit_percents", &self.limit_percents, 1, 100, "%")?;
        if !self.anomaly_factor.is_finite() || self.anomaly_factor <= 1.0 {
            return Err(Error::invalid(
                "anomaly_factor",
                format!("must be a number above 1, not {}", self.anomaly_factor),
            ));
        }
        if !self.anomaly_min_usd.is_finite() || self.anomaly_min_usd < 0.0 {
            return Err(Error::invalid(
                "anomaly_min_usd",
                format!(
                    "must be a number of USD, 0 or more, not {}",
                    self.anomaly_min_usd
                ),
            ));
        }
        if let Some(quiet) = &self.quiet_hours {
            for (field, value) in [
                ("quiet_hours.start", &quiet.start),
                ("quiet_hours.end", &quiet.end),
            ] {
                if parse_hhmm(value).is_none() {
                    return Err(Error::invalid(
                        field,
                        format!("\"{value}\" is not a time like 07:30 (24-hour HH:MM)"),
                    ));
                }
            }
            if quiet.start == quiet.end {
                return Err(Error::invalid(
                    "quiet_hours.end",
                    "must differ from the start (turn quiet hours off instead)",
                ));
            }
        }
        Ok(())
    }
}

fn check_thresholds(
    field: &str,
    values: &[u32],
    min: u32,
    max: u32,
    unit: &str,
) -> Result<(), Error> {
    if values.is_empty() {
        return Err(Error::invalid(
            field,
            "needs at least one value (turn the notifications of this kind off instead)",
        ));
    }
    if let Some(bad) = values.iter().find(|value| **value < min || **value > max) {
        return Err(Error::invalid(
            field,
            format!("{bad} {unit} is outside {min}–{max} {unit}"),
        ));
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(Error::invalid(
            field,
            format!("{} {unit} is listed twice", pair[0]),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::test_support::at;
    use strum::VariantArray;

    fn field_of(error: Error) -> String {
        match error {
            Error::InvalidInput { field, .. } => field.unwrap_or_default(),
            other => panic!("not InvalidInput: {other}"),
        }
    }

    #[test]
    fn defaults_match_the_contract() {
        let settings = WatchSettings::default();
        assert_eq!(settings.interval_secs, 300);
        assert_eq!(settings.expiry_days, [7, 1]);
        assert_eq!(settings.limit_percents, [80, 95, 100]);
        assert_eq!(settings.anomaly_factor, 3.0);
        assert_eq!(settings.anomaly_min_usd, 1.0);
        assert!(settings.notifications_enabled);
        assert!(!settings.start_at_login);
        assert_eq!(settings.quiet_hours, None);
        for &kind in AlertKind::VARIANTS {
            assert!(settings.notify.allows(kind), "{kind:?}");
        }
        settings.validate().unwrap();
        // A partial object (an older store, a newer UI) fills in the defaults.
        let parsed: WatchSettings = serde_json::from_str(r#"{"interval_secs": 60}"#).unwrap();
        assert_eq!(parsed.interval_secs, 60);
        assert_eq!(parsed.limit_percents, [80, 95, 100]);
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(json["notify"]["rotation_due"], true);
        assert_eq!(json["quiet_hours"], serde_json::Value::Null);
    }

    #[test]
    fn validation_names_the_field() {
        type Edit = fn(&mut WatchSettings);
        let cases: [(&str, Edit); 16] = [
            ("interval_secs", |s| s.interval_secs = 9),
            ("interval_secs", |s| s.interval_secs = 86_401),
            ("expiry_days", |s| s.expiry_days.clear()),
            ("expiry_days", |s| s.expiry_days = vec![0]),
            ("expiry_days", |s| s.expiry_days = vec![400]),
            ("expiry_days", |s| s.expiry_days = vec![7, 7]),
            ("limit_percents", |s| s.limit_percents.clear()),
            ("limit_percents", |s| s.limit_percents = vec![80, 101]),
            ("limit_percents", |s| s.limit_percents = vec![0]),
            ("anomaly_factor", |s| s.anomaly_factor = 1.0),
            ("anomaly_factor", |s| s.anomaly_factor = f64::NAN),
            ("anomaly_min_usd", |s| s.anomaly_min_usd = -0.01),
            ("anomaly_min_usd", |s| s.anomaly_min_usd = f64::INFINITY),
            ("quiet_hours.start", |s| {
                s.quiet_hours = Some(QuietHours {
                    start: "7:00".into(),
                    end: "08:00".into(),
                })
            }),
            ("quiet_hours.end", |s| {
                s.quiet_hours = Some(QuietHours {
                    start: "22:00".into(),
                    end: "24:00".into(),
                })
            }),
            ("quiet_hours.end", |s| {
                s.quiet_hours = Some(QuietHours {
                    start: "22:00".into(),
                    end: "22:00".into(),
                })
            }),
        ];
        for (field, edit) in cases {
            let mut settings = WatchSettings::default();
            edit(&mut settings);
            let error = settings.validate().expect_err(field);
            assert_eq!(field_of(error), field);
        }
    }

    #[test]
    fn minimum_interval_is_a_parameter() {
        let settings = WatchSettings {
            interval_secs: 1,
            ..WatchSettings::default()
        };
        assert_eq!(field_of(settings.validate().unwrap_err()), "interval_secs");
        settings.validate_with_min_interval(1).unwrap();
        let edge = WatchSettings {
            interval_secs: MIN_INTERVAL_SECS,
            ..WatchSettings::default()
        };
        edge.validate().unwrap();
    }

    #[test]
    fn quiet_hours_windows() {
        let overnight = QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
        };
        let daytime = QuietHours {
            start: "12:00".into(),
            end: "13:30".into(),
        };
        let utc = FixedOffset::east_opt(0).unwrap();
        let plus2 = FixedOffset::east_opt(2 * 3600).unwrap();
        let minus5 = FixedOffset::west_opt(5 * 3600).unwrap();
        // (window, now UTC, offset, expected end UTC)
        let cases = [
            (&overnight, "2026-11-23T21:59:59Z", utc, None),
            (
                &overnight,
                "2026-11-23T22:00:00Z",
                utc,
                Some("2026-11-24T07:00:00Z"),
            ),
            (
                &overnight,
                "2026-11-24T03:00:00Z",
                utc,
                Some("2026-11-24T07:00:00Z"),
            ),
            (&overnight, "2026-11-24T07:00:00Z", utc, None),
            // 21:30 UTC is 23:30 at +02:00: inside; ends at 07:00 local = 05:00 UTC.
            (
                &overnight,
                "2026-11-23T21:30:00Z",
                plus2,
                Some("2026-11-24T05:00:00Z"),
            ),
            // 02:00 UTC is 21:00 the day before at -05:00: outside.
            (&overnight, "2026-11-24T02:00:00Z", minus5, None),
            (
                &overnight,
                "2026-11-24T03:00:00Z",
                minus5,
                Some("2026-11-24T12:00:00Z"),
            ),
            (
                &daytime,
                "2026-11-23T12:00:00Z",
                utc,
                Some("2026-11-23T13:30:00Z"),
            ),
            (&daytime, "2026-11-23T13:30:00Z", utc, None),
            (&daytime, "2026-11-23T11:59:00Z", utc, None),
        ];
        for (window, now, offset, expected) in cases {
            assert_eq!(
                window.active_until(at(now), offset),
                expected.map(at),
                "{window:?} {now} {offset}"
            );
        }
    }
}
