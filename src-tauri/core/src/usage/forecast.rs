//! Burn rate, limit forecasts and spend anomalies from a key's daily spend series.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use super::period::{counted_spend, limit_standing, next_reset, utc_midnight};
use super::{DailySpend, SpendForecast};
use crate::api::ApiKey;

/// The burn rate is the spend of the last this-many completed days plus today so far.
pub const BURN_WINDOW_DAYS: u64 = 7;
/// Less history than this gives no burn rate: a few minutes of data would forecast wildly.
pub const MIN_BURN_HISTORY: TimeDelta = TimeDelta::hours(6);
/// How far ahead a limit that never resets is forecast (unless the key expires sooner).
pub const DEFAULT_HORIZON: TimeDelta = TimeDelta::days(30);
/// The anomaly baseline is the average of up to this many completed days before today...
pub const BASELINE_DAYS: u64 = 7;
/// ... and needs at least this many, or there is no telling what is usual.
pub const MIN_BASELINE_DAYS: usize = 3;

/// USD per day over the last [`BURN_WINDOW_DAYS`] completed days plus today so far.
///
/// `days` is a [`super::daily_spend`] series; `history_start` is when the data starts to mean
/// something (the key's creation, or the first snapshot when no activity was fetched): earlier days
/// are not counted as zero-spend days. It counts from that day's UTC midnight, matching the
/// series' day granularity. `None` means the whole series is real. No rate with less than
/// [`MIN_BURN_HISTORY`] of history.
pub fn burn_per_day(
    days: &[DailySpend],
    history_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<f64> {
    let today = now.date_naive();
    let window_first = today.checked_sub_days(Days::new(BURN_WINDOW_DAYS))?;
    let first = match history_start {
        Some(start) => start.date_naive().max(window_first),
        None => window_first,
    };
    let elapsed = now - utc_midnight(first);
    if elapsed < MIN_BURN_HISTORY {
        return None;
    }
    let spend: f64 = days
        .iter()
        .filter(|day| day.date >= first && day.date <= today)
        .map(|day| day.spend)
        .sum();
    Some(spend / days_in(elapsed))
}

/// Where the key's spend is heading: the burn rate, the spend counted against the limit projected
/// to the end of the period, and when the limit is hit if that is before the period ends. A limit
/// that never resets is projected to [`SpendForecast::projected_until`]: the key's expiry, or
/// `now + horizon`, whichever is first. `None` without a burn rate (see [`burn_per_day`]).
pub fn spend_forecast(
    key: &ApiKey,
    days: &[DailySpend],
    history_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    horizon: TimeDelta,
) -> Option<SpendForecast> {
    let burn = burn_per_day(days, history_start, now)?;
    let standing = limit_standing(key, now);
    let period_end = key
        .limit_reset
        .as_ref()
        .and_then(|reset| next_reset(reset, now));
    let projected_until = period_end.unwrap_or_else(|| {
        let horizon_end = now + horizon;
        key.expires_at
            .filter(|expiry| *expiry > now)
            .map_or(horizon_end, |expiry| expiry.min(horizon_end))
    });
    let counted_now = standing
        .as_ref()
        .map(|standing| standing.used)
        .or_else(|| counted_spend(key))
        .unwrap_or(0.0);
    let hits_limit_at = standing.as_ref().and_then(|standing| {
        if burn <= 0.0 || standing.remaining <= 0.0 {
            return None;
        }
        let at = now + duration_of_days(standing.remaining / burn)?;
        (at < projected_until).then_some(at)
    });
    Some(SpendForecast {
        burn_per_day: burn,
        projected_period_spend: counted_now + burn * days_in(projected_until - now),
        hits_limit_at,
        period_end,
        projected_until,
    })
}

/// Today's spend against the usual.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendAnomaly {
    /// Spend today (UTC) so far.
    pub today: f64,
    /// Average spend of the completed days of the baseline.
    pub baseline: f64,
    /// How many completed days the baseline averages.
    pub baseline_days: usize,
}

/// `Some` when today's spend is at least `min_usd` and at least `factor` times the average of up to
/// [`BASELINE_DAYS`] completed days before today (only days fully after `history_start`; at least
/// [`MIN_BASELINE_DAYS`] of them). Today is compared while still running, which errs towards
/// silence early in the day.
pub fn spend_anomaly(
    days: &[DailySpend],
    history_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    factor: f64,
    min_usd: f64,
) -> Option<SpendAnomaly> {
    let today = now.date_naive();
    let today_spend = days.iter().find(|day| day.date == today)?.spend;
    let window_first = today.checked_sub_days(Days::new(BASELINE_DAYS))?;
    let first_full_day = history_start.map(first_full_day_after);
    let baseline: Vec<f64> = days
        .iter()
        .filter(|day| day.date >= window_first && day.date < today)
        .filter(|day| first_full_day.is_none_or(|first| day.date >= first))
        .map(|day| day.spend)
        .collect();
    if baseline.len() < MIN_BASELINE_DAYS {
        return None;
    }
    let average = baseline.iter().sum::<f64>() / baseline.len() as f64;
    let anomalous =
        today_spend >= min_usd && today_spend > average && today_spend >= factor * average;
    anomalous.then_some(SpendAnomaly {
        today: today_spend,
        baseline: average,
        baseline_days: baseline.len(),
    })
}

/// The first UTC day that lies entirely after `start` (its own day when `start` is midnight).
fn first_full_day_after(start: DateTime<Utc>) -> NaiveDate {
    let day = start.date_naive();
    if utc_midnight(day) == start {
        day
    } else {
        day.succ_opt().unwrap_or(day)
    }
}

fn days_in(delta: TimeDelta) -> f64 {
    delta.num_milliseconds() as f64 / 86_400_000.0
}

fn duration_of_days(days: f64) -> Option<TimeDelta> {
    let millis = days * 86_400_000.0;
    // Beyond any horizon we forecast: a rate so small it never matters.
    if !millis.is_finite() || millis > 1e15 {
        return None;
    }
    Some(TimeDelta::milliseconds(millis as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LimitReset;
    use crate::usage::test_support::{at, key, series};

    #[test]
    fn burn_rate_over_seven_days_plus_today() {
        // $7 every day; now is noon: 7 full days + half a day of $3.5 spent so far.
        let now = at("2026-11-23T12:00:00Z");
        let mut days = series(now, &[7.0; 30]);
        days.last_mut().unwrap().spend = 3.5;
        let burn = burn_per_day(&days, None, now).unwrap();
        assert!((burn - 7.0).abs() < 1e-9, "{burn}");
    }

    #[test]
    fn burn_rate_counts_from_history_start_not_zero_days() {
        let now = at("2026-11-23T12:00:00Z");
        // Only 1.5 days of data: $3 yesterday... at $2/day.
        let days = series(now, &[2.0, 1.0]);
        let start = at("2026-11-22T09:00:00Z");
        let burn = burn_per_day(&days, Some(start), now).unwrap();
        assert!((burn - 2.0).abs() < 1e-9, "{burn}");
        // Without history_start the zeros count: 3 / 7.5 days.
        let burn = burn_per_day(&days, None, now).unwrap();
        assert!((burn - 0.4).abs() < 1e-9, "{burn}");
    }

    #[test]
    fn too_little_history_gives_no_rate() {
        let now = at("2026-11-23T05:59:00Z");
        let days = series(now, &[5.0]);
        assert_eq!(
            burn_per_day(&days, Some(at("2026-11-23T01:00:00Z")), now),
            None
        );
        // A history start in the future (clock moved back) is no history either.
        assert_eq!(
            burn_per_day(&days, Some(at("2026-11-24T00:00:00Z")), now),
            None
        );
        let now = at("2026-11-23T06:00:00Z");
        assert_eq!(
            burn_per_day(&days, Some(at("2026-11-23T01:00:00Z")), now),
            Some(20.0)
        );
    }

    #[test]
    fn forecast_before_a_monthly_reset() {
        // $50 monthly, 30 used on Nov 23 at midnight, $5/day: hits on Nov 27, resets Dec 1.
        let now = at("2026-11-23T00:00:00Z");
        let mut k = key("prod");
        k.limit = Some(50.0);
        k.limit_remaining = Some(20.0);
        k.limit_reset = Some(LimitReset::Monthly);
        let days = series(now, &[5.0; 30]);
        let mut days = days;
        days.last_mut().unwrap().spend = 0.0;
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.burn_per_day, 5.0);
        assert_eq!(forecast.hits_limit_at, Some(at("2026-11-27T00:00:00Z")));
        assert_eq!(forecast.period_end, Some(at("2026-12-01T00:00:00Z")));
        assert_eq!(forecast.projected_until, at("2026-12-01T00:00:00Z"));
        assert!((forecast.projected_period_spend - 70.0).abs() < 1e-9);
    }

    #[test]
    fn forecast_after_the_reset_is_no_hit() {
        // Same key at $1/day: 20 left lasts 20 days, the reset comes first.
        let now = at("2026-11-23T00:00:00Z");
        let mut k = key("prod");
        k.limit = Some(50.0);
        k.limit_remaining = Some(20.0);
        k.limit_reset = Some(LimitReset::Monthly);
        let mut days = series(now, &[1.0; 30]);
        days.last_mut().unwrap().spend = 0.0;
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.hits_limit_at, None);
        assert!((forecast.projected_period_spend - 38.0).abs() < 1e-9);
    }

    #[test]
    fn forecast_of_a_limit_that_never_resets_uses_expiry_or_horizon() {
        let now = at("2026-11-23T00:00:00Z");
        let mut k = key("batch");
        k.limit = Some(100.0);
        k.limit_remaining = Some(40.0);
        let mut days = series(now, &[2.0; 30]);
        days.last_mut().unwrap().spend = 0.0;
        // 40 left at $2/day: 20 days, inside the 30-day horizon.
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.hits_limit_at, Some(at("2026-12-13T00:00:00Z")));
        assert_eq!(forecast.period_end, None);
        assert_eq!(forecast.projected_until, at("2026-12-23T00:00:00Z"));
        // The key expires in 10 days: it dies before it hits the limit.
        k.expires_at = Some(at("2026-12-03T00:00:00Z"));
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.hits_limit_at, None);
        assert_eq!(forecast.projected_until, at("2026-12-03T00:00:00Z"));
        // An expiry in the past does not shorten the horizon.
        k.expires_at = Some(at("2026-11-01T00:00:00Z"));
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.projected_until, at("2026-12-23T00:00:00Z"));
    }

    #[test]
    fn forecast_without_limit_or_spend() {
        let now = at("2026-11-23T12:00:00Z");
        let mut k = key("free");
        k.usage = 12.0;
        let days = series(now, &[1.0; 30]);
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.hits_limit_at, None);
        assert!(forecast.projected_period_spend > 12.0);
        // Nothing spent: no hit even with a limit.
        k.limit = Some(5.0);
        k.limit_remaining = Some(5.0);
        let idle = series(now, &[0.0; 30]);
        let forecast = spend_forecast(&k, &idle, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.burn_per_day, 0.0);
        assert_eq!(forecast.hits_limit_at, None);
        // Already at the limit: the limit rule speaks, not the forecast.
        k.limit_remaining = Some(0.0);
        let forecast = spend_forecast(&k, &days, None, now, DEFAULT_HORIZON).unwrap();
        assert_eq!(forecast.hits_limit_at, None);
    }

    #[test]
    fn anomaly_needs_history_factor_and_minimum() {
        let now = at("2026-11-23T15:00:00Z");
        let mut values = vec![1.0; 29];
        values.push(5.0);
        let days = series(now, &values);
        // (factor, min_usd, history_start, expected)
        let cases: [(f64, f64, Option<&str>, bool); 8] = [
            (3.0, 1.0, None, true),
            (5.0, 1.0, None, true),
            (5.1, 1.0, None, false),
            (3.0, 6.0, None, false),
            // History from Nov 20 00:00: Nov 20, 21, 22 are full days → enough.
            (3.0, 1.0, Some("2026-11-20T00:00:00Z"), true),
            // From Nov 20 00:01: only Nov 21 and 22 are full → not enough.
            (3.0, 1.0, Some("2026-11-20T00:01:00Z"), false),
            (3.0, 1.0, Some("2026-11-23T01:00:00Z"), false),
            (3.0, 1.0, Some("2026-01-01T00:00:00Z"), true),
        ];
        for (factor, min_usd, start, expected) in cases {
            let found = spend_anomaly(&days, start.map(at), now, factor, min_usd);
            assert_eq!(found.is_some(), expected, "{factor} {min_usd} {start:?}");
            if let Some(found) = found {
                assert_eq!(found.today, 5.0);
                assert_eq!(found.baseline, 1.0);
            }
        }
    }

    #[test]
    fn anomaly_on_a_quiet_key_and_baseline_of_seven_days() {
        let now = at("2026-11-23T15:00:00Z");
        // Busy a month ago, quiet the last 7 days, $2 today: far above a zero baseline.
        let mut values = vec![50.0; 22];
        values.extend([0.0; 7]);
        values.push(2.0);
        let days = series(now, &values);
        let found = spend_anomaly(&days, None, now, 3.0, 1.0).unwrap();
        assert_eq!(found.baseline, 0.0);
        assert_eq!(found.baseline_days, 7);
        // Under the minimum: silence, however large the factor.
        assert_eq!(spend_anomaly(&days, None, now, 3.0, 2.5), None);
        // Nothing today, nothing unusual.
        let idle = series(now, &[0.0; 30]);
        assert_eq!(spend_anomaly(&idle, None, now, 3.0, 0.0), None);
    }
}
