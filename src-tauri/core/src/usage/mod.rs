//! Usage maths, pure: reset periods and where a key stands against its limit, daily spend from
//! snapshots and GET /activity, burn rates, forecasts and anomalies, and the usage views the UI
//! charts. No I/O and no clock: `now` is always a parameter.

mod daily;
mod forecast;
mod period;
mod stops;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::{ApiKey, LimitReset};

pub use daily::{ActivityDays, HISTORY_DAYS, UsagePoint, daily_spend, first_day, total_by_day};
pub use forecast::{
    BASELINE_DAYS, BURN_WINDOW_DAYS, DEFAULT_HORIZON, MIN_BASELINE_DAYS, MIN_BURN_HISTORY,
    SpendAnomaly, burn_per_day, spend_anomaly, spend_forecast,
};
pub use period::{
    LimitStanding, NO_PERIOD, counted_spend, limit_standing, next_reset, period_label,
    period_start, utc_midnight,
};
pub use stops::{Budget, SpendStop, StopScope, key_limit, key_period_spend, what_stops_first};

/// What a key (or all keys) spent on one UTC day, in USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct DailySpend {
    #[ts(type = "string")]
    pub date: NaiveDate,
    pub spend: f64,
}

/// Where a key's spend is heading at its current burn rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct SpendForecast {
    /// USD per day over the last 7 days and today so far.
    pub burn_per_day: f64,
    /// Spend counted against the limit (or, without a limit, the period's spend) projected to
    /// `projected_until`.
    pub projected_period_spend: f64,
    /// When the limit is hit at this rate, if before `projected_until`.
    pub hits_limit_at: Option<DateTime<Utc>>,
    /// The next reset; `null` when the limit never resets.
    pub period_end: Option<DateTime<Utc>>,
    /// The end of the projection: the next reset, or for a limit that never resets the key's
    /// expiry or 30 days from now, whichever is first.
    pub projected_until: DateTime<Utc>,
}

/// One key's spend over the last 30 UTC days, with its limit and forecast (the per-key chart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageHistory {
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    /// 30 UTC days, oldest first, today last.
    pub days: Vec<DailySpend>,
    pub limit: Option<f64>,
    /// `null` without a reset, or for a reset kind Keyward does not know.
    pub limit_reset: Option<LimitReset>,
    /// Spend counted against the limit in the current period (lifetime usage without a reset).
    pub period_spend: f64,
    /// `null` while there is too little history for a burn rate.
    pub forecast: Option<SpendForecast>,
}

/// A key's share of the profile's spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeySpend {
    pub key_hash: String,
    pub key_name: String,
    pub spend_30d: f64,
}

/// The whole profile's spend over the last 30 UTC days (the total chart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageOverview {
    pub profile_id: String,
    /// Total across keys; 30 UTC days, oldest first, today last.
    pub days: Vec<DailySpend>,
    /// The biggest spenders over the 30 days, biggest first.
    pub top_keys: Vec<KeySpend>,
}

/// One key's daily series, input of [`usage_overview`].
#[derive(Debug, Clone, PartialEq)]
pub struct KeySeries {
    pub key_hash: String,
    pub key_name: String,
    /// A [`daily_spend`] result.
    pub days: Vec<DailySpend>,
}

/// Builds a key's [`UsageHistory`] from its [`daily_spend`] series. `history_start`: see
/// [`burn_per_day`].
pub fn usage_history(
    profile_id: &str,
    key: &ApiKey,
    days: Vec<DailySpend>,
    history_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> UsageHistory {
    let period_spend = limit_standing(key, now)
        .map(|standing| standing.used)
        .or_else(|| counted_spend(key))
        .unwrap_or(0.0);
    let forecast = spend_forecast(key, &days, history_start, now, DEFAULT_HORIZON);
    UsageHistory {
        profile_id: profile_id.to_owned(),
        key_hash: key.hash.clone(),
        key_name: key.name.clone(),
        limit: key.limit,
        // A reset Keyward does not know has no period to chart.
        limit_reset: key
            .limit_reset
            .clone()
            .filter(|reset| !matches!(reset, LimitReset::Other(_))),
        period_spend,
        forecast,
        days,
    }
}

/// Builds a profile's [`UsageOverview`]: the day-by-day total of `keys` and the `top` biggest
/// spenders (keys that spent nothing are left out).
pub fn usage_overview(
    profile_id: &str,
    keys: &[KeySeries],
    top: usize,
    now: DateTime<Utc>,
) -> UsageOverview {
    let series: Vec<&[DailySpend]> = keys.iter().map(|key| key.days.as_slice()).collect();
    let first = first_day(now);
    let mut top_keys: Vec<KeySpend> = keys
        .iter()
        .map(|key| KeySpend {
            key_hash: key.key_hash.clone(),
            key_name: key.key_name.clone(),
            spend_30d: key
                .days
                .iter()
                .filter(|day| day.date >= first && day.date <= now.date_naive())
                .map(|day| day.spend)
                .sum(),
        })
        .filter(|key| key.spend_30d > 0.0)
        .collect();
    top_keys.sort_by(|a, b| {
        b.spend_30d
            .total_cmp(&a.spend_30d)
            .then_with(|| a.key_name.cmp(&b.key_name))
    });
    top_keys.truncate(top);
    UsageOverview {
        profile_id: profile_id.to_owned(),
        days: total_by_day(&series, now),
        top_keys,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builders shared by the usage and alerts tests.

    use chrono::{DateTime, Days, NaiveDate, Utc};

    use super::DailySpend;
    use crate::api::ApiKey;

    pub fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|_| panic!("bad time {text}"))
            .with_timezone(&Utc)
    }

    pub fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// A key with no limit, no spend, no expiry.
    pub fn key(name: &str) -> ApiKey {
        ApiKey {
            hash: format!("hash-{name}"),
            name: name.to_owned(),
            label: "sk-or-v1-abc...def".to_owned(),
            disabled: false,
            limit: None,
            limit_remaining: None,
            limit_reset: None,
            include_byok_in_limit: false,
            usage: 0.0,
            usage_daily: 0.0,
            usage_weekly: 0.0,
            usage_monthly: 0.0,
            byok_usage: 0.0,
            byok_usage_daily: 0.0,
            byok_usage_weekly: 0.0,
            byok_usage_monthly: 0.0,
            created_at: None,
            updated_at: None,
            creator_user_id: None,
            external_user: None,
            workspace_id: None,
            last_used_at: None,
            expires_at: None,
        }
    }

    /// A 30-day series ending on `now`'s day whose last `values.len()` days are `values` (oldest
    /// first) and earlier days zero.
    pub fn series(now: DateTime<Utc>, values: &[f64]) -> Vec<DailySpend> {
        let today = now.date_naive();
        (0..30u64)
            .rev()
            .map(|back| {
                let date = today.checked_sub_days(Days::new(back)).unwrap();
                let from_end = usize::try_from(back).unwrap();
                let spend = if from_end < values.len() {
                    values[values.len() - 1 - from_end]
                } else {
                    0.0
                };
                DailySpend { date, spend }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{at, key, series};
    use super::*;

    #[test]
    fn history_of_a_monthly_key() {
        let now = at("2026-11-23T00:00:00Z");
        let mut k = key("prod");
        k.limit = Some(50.0);
        k.limit_remaining = Some(20.0);
        k.limit_reset = Some(LimitReset::Monthly);
        let mut days = series(now, &[5.0; 30]);
        days.last_mut().unwrap().spend = 0.0;
        let history = usage_history("p1", &k, days.clone(), None, now);
        assert_eq!(history.key_hash, "hash-prod");
        assert_eq!(history.limit_reset, Some(LimitReset::Monthly));
        assert_eq!(history.period_spend, 30.0);
        assert_eq!(history.days, days);
        assert_eq!(
            history.forecast.unwrap().hits_limit_at,
            Some(at("2026-11-27T00:00:00Z"))
        );
        let json = serde_json::to_value(&history).unwrap();
        assert_eq!(json["days"][0]["date"], "2026-10-25");
        assert_eq!(json["limit_reset"], "monthly");
    }

    #[test]
    fn history_of_a_key_with_an_unknown_reset_and_no_data() {
        let now = at("2026-11-23T00:00:00Z");
        let mut k = key("odd");
        k.limit_reset = Some(LimitReset::Other("quarterly".into()));
        let history = usage_history("p1", &k, series(now, &[]), Some(now), now);
        assert_eq!(history.limit_reset, None);
        assert_eq!(history.period_spend, 0.0);
        assert_eq!(history.forecast, None);
    }

    #[test]
    fn overview_totals_and_ranks_keys() {
        let now = at("2026-11-23T10:00:00Z");
        let keys = [
            KeySeries {
                key_hash: "a".into(),
                key_name: "alpha".into(),
                days: series(now, &[1.0, 1.0]),
            },
            KeySeries {
                key_hash: "b".into(),
                key_name: "beta".into(),
                days: series(now, &[5.0]),
            },
            KeySeries {
                key_hash: "c".into(),
                key_name: "idle".into(),
                days: series(now, &[]),
            },
            KeySeries {
                key_hash: "d".into(),
                key_name: "delta".into(),
                days: series(now, &[0.5]),
            },
        ];
        let overview = usage_overview("p1", &keys, 2, now);
        assert_eq!(overview.days.len(), 30);
        assert_eq!(overview.days[29].spend, 6.5);
        assert_eq!(overview.days[28].spend, 1.0);
        let names: Vec<&str> = overview
            .top_keys
            .iter()
            .map(|k| k.key_name.as_str())
            .collect();
        assert_eq!(names, ["beta", "alpha"]);
        assert_eq!(overview.top_keys[1].spend_30d, 2.0);
    }
}
