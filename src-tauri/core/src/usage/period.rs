//! Reset periods of key limits and what counts against a limit in the current one. OpenRouter resets
//! limits at UTC midnight; weekly periods run Monday–Sunday (ISO weeks), monthly ones from the 1st.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};

use crate::api::{ApiKey, LimitReset};

/// The label of a period that never resets (no `limit_reset`, or one Keyward does not know).
pub const NO_PERIOD: &str = "none";

/// 00:00 UTC of `day`.
pub fn utc_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// When the period containing `now` started; `None` for a reset Keyward does not know.
pub fn period_start(reset: &LimitReset, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let today = now.date_naive();
    let start = match reset {
        LimitReset::Daily => today,
        LimitReset::Weekly => {
            today.checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))?
        }
        LimitReset::Monthly => today.with_day(1)?,
        LimitReset::Other(_) => return None,
    };
    Some(utc_midnight(start))
}

/// When the period containing `now` ends and the limit starts over: the next UTC midnight, the
/// next Monday 00:00 UTC, or the next 1st of a month 00:00 UTC.
pub fn next_reset(reset: &LimitReset, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = period_start(reset, now)?.date_naive();
    let end = match reset {
        LimitReset::Daily => start.checked_add_days(Days::new(1))?,
        LimitReset::Weekly => start.checked_add_days(Days::new(7))?,
        LimitReset::Monthly => start.checked_add_months(Months::new(1))?,
        LimitReset::Other(_) => return None,
    };
    Some(utc_midnight(end))
}

/// The period containing `now` as alert ids spell it: `2026-11-23` (daily), `2026-W48` (ISO week,
/// weekly), `2026-11` (monthly), `none` (no reset, or an unknown one: its boundaries are unknown, so
/// such an alert never re-arms by itself).
pub fn period_label(reset: Option<&LimitReset>, now: DateTime<Utc>) -> String {
    match reset {
        Some(LimitReset::Daily) => now.format("%Y-%m-%d").to_string(),
        Some(LimitReset::Weekly) => {
            let week = now.date_naive().iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        Some(LimitReset::Monthly) => now.format("%Y-%m").to_string(),
        Some(LimitReset::Other(_)) | None => NO_PERIOD.to_owned(),
    }
}

/// Where a key stands against its limit in the current reset period.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitStanding {
    pub limit: f64,
    /// USD counted against the limit in the current period (may exceed `limit` slightly: requests
    /// in flight when the limit was reached still count).
    pub used: f64,
    /// USD left, never negative.
    pub remaining: f64,
    /// `used / limit`.
    pub fraction: f64,
    pub reset: Option<LimitReset>,
    /// See [`period_label`].
    pub period: String,
    /// The next reset; `None` when the limit never resets.
    pub period_end: Option<DateTime<Utc>>,
}

/// What the key's own counters say was spent against its limit in the current period: the
/// `usage_daily/weekly/monthly` matching `limit_reset` (lifetime `usage` without a reset), plus the
/// matching BYOK counter when `include_byok_in_limit`. `None` for an unknown reset.
pub fn counted_spend(key: &ApiKey) -> Option<f64> {
    let (credits, byok) = match &key.limit_reset {
        None => (key.usage, key.byok_usage),
        Some(LimitReset::Daily) => (key.usage_daily, key.byok_usage_daily),
        Some(LimitReset::Weekly) => (key.usage_weekly, key.byok_usage_weekly),
        Some(LimitReset::Monthly) => (key.usage_monthly, key.byok_usage_monthly),
        Some(LimitReset::Other(_)) => return None,
    };
    let byok = if key.include_byok_in_limit { byok } else { 0.0 };
    Some(finite_or_zero(credits) + finite_or_zero(byok))
}

/// The key's standing against its limit at `now`; `None` without a positive limit, or when neither
/// `limit_remaining` nor the counters say anything usable.
///
/// `limit_remaining` wins when present: it is OpenRouter's own accounting, the number that actually
/// lets requests through or refuses them, with the server's period boundaries and BYOK rule applied
/// (Keyward's counters could disagree, e.g. right after a reset or for a reset kind Keyward does not
/// know). The counters ([`counted_spend`]) fill in when it is absent, and above the limit, where the
/// server clamps `limit_remaining` at 0 and only the counters show by how much it was exceeded.
pub fn limit_standing(key: &ApiKey, now: DateTime<Utc>) -> Option<LimitStanding> {
    let limit = key
        .limit
        .filter(|limit| limit.is_finite() && *limit > 0.0)?;
    let counted = counted_spend(key);
    let used = match key
        .limit_remaining
        .filter(|remaining| remaining.is_finite())
    {
        Some(remaining) if remaining > 0.0 => (limit - remaining).max(0.0),
        Some(_) => counted.map_or(limit, |counted| counted.max(limit)),
        None => counted?,
    };
    let reset = key.limit_reset.clone();
    Some(LimitStanding {
        limit,
        used,
        remaining: (limit - used).max(0.0),
        fraction: used / limit,
        period: period_label(reset.as_ref(), now),
        period_end: reset.as_ref().and_then(|reset| next_reset(reset, now)),
        reset,
    })
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::test_support::{at, key};

    #[test]
    fn period_boundaries() {
        // (now, reset, expected start, expected next reset, expected label)
        let cases = [
            // Daily: midnight belongs to the new day.
            (
                "2026-11-23T00:00:00Z",
                LimitReset::Daily,
                "2026-11-23T00:00:00Z",
                "2026-11-24T00:00:00Z",
                "2026-11-23",
            ),
            (
                "2026-11-22T23:59:59Z",
                LimitReset::Daily,
                "2026-11-22T00:00:00Z",
                "2026-11-23T00:00:00Z",
                "2026-11-22",
            ),
            (
                "2026-12-31T12:00:00Z",
                LimitReset::Daily,
                "2026-12-31T00:00:00Z",
                "2027-01-01T00:00:00Z",
                "2026-12-31",
            ),
            // Weekly: Monday 00:00 UTC; Sunday night is still the old week.
            (
                "2026-11-23T00:00:00Z",
                LimitReset::Weekly,
                "2026-11-23T00:00:00Z",
                "2026-11-30T00:00:00Z",
                "2026-W48",
            ),
            (
                "2026-11-22T23:59:59Z",
                LimitReset::Weekly,
                "2026-11-16T00:00:00Z",
                "2026-11-23T00:00:00Z",
                "2026-W47",
            ),
            (
                "2026-11-29T23:59:59Z",
                LimitReset::Weekly,
                "2026-11-23T00:00:00Z",
                "2026-11-30T00:00:00Z",
                "2026-W48",
            ),
            // ISO week years: 2027-01-01 is a Friday in 2026-W53; 2024-12-30 is 2025-W01.
            (
                "2027-01-01T10:00:00Z",
                LimitReset::Weekly,
                "2026-12-28T00:00:00Z",
                "2027-01-04T00:00:00Z",
                "2026-W53",
            ),
            (
                "2024-12-31T10:00:00Z",
                LimitReset::Weekly,
                "2024-12-30T00:00:00Z",
                "2025-01-06T00:00:00Z",
                "2025-W01",
            ),
            // Monthly: 31 → 1, February in leap and common years, December → January.
            (
                "2026-10-31T23:59:59Z",
                LimitReset::Monthly,
                "2026-10-01T00:00:00Z",
                "2026-11-01T00:00:00Z",
                "2026-10",
            ),
            (
                "2026-11-01T00:00:00Z",
                LimitReset::Monthly,
                "2026-11-01T00:00:00Z",
                "2026-12-01T00:00:00Z",
                "2026-11",
            ),
            (
                "2028-02-29T12:00:00Z",
                LimitReset::Monthly,
                "2028-02-01T00:00:00Z",
                "2028-03-01T00:00:00Z",
                "2028-02",
            ),
            (
                "2027-02-28T23:59:59Z",
                LimitReset::Monthly,
                "2027-02-01T00:00:00Z",
                "2027-03-01T00:00:00Z",
                "2027-02",
            ),
            (
                "2026-12-31T23:00:00Z",
                LimitReset::Monthly,
                "2026-12-01T00:00:00Z",
                "2027-01-01T00:00:00Z",
                "2026-12",
            ),
            (
                "2027-01-31T08:00:00Z",
                LimitReset::Monthly,
                "2027-01-01T00:00:00Z",
                "2027-02-01T00:00:00Z",
                "2027-01",
            ),
        ];
        for (now, reset, start, end, label) in cases {
            let now = at(now);
            assert_eq!(
                period_start(&reset, now),
                Some(at(start)),
                "start {now} {reset}"
            );
            assert_eq!(next_reset(&reset, now), Some(at(end)), "end {now} {reset}");
            assert_eq!(
                period_label(Some(&reset), now),
                label,
                "label {now} {reset}"
            );
        }
    }

    #[test]
    fn unknown_and_missing_resets_have_no_period() {
        let now = at("2026-11-23T10:00:00Z");
        let other = LimitReset::Other("quarterly".into());
        assert_eq!(period_start(&other, now), None);
        assert_eq!(next_reset(&other, now), None);
        assert_eq!(period_label(Some(&other), now), NO_PERIOD);
        assert_eq!(period_label(None, now), NO_PERIOD);
    }

    #[test]
    fn counted_spend_follows_the_reset_and_byok_rule() {
        let mut k = key("k");
        k.usage = 100.0;
        k.usage_daily = 1.0;
        k.usage_weekly = 5.0;
        k.usage_monthly = 20.0;
        k.byok_usage = 50.0;
        k.byok_usage_daily = 0.5;
        k.byok_usage_weekly = 2.5;
        k.byok_usage_monthly = 10.0;
        let cases = [
            (None, false, Some(100.0)),
            (None, true, Some(150.0)),
            (Some(LimitReset::Daily), false, Some(1.0)),
            (Some(LimitReset::Daily), true, Some(1.5)),
            (Some(LimitReset::Weekly), true, Some(7.5)),
            (Some(LimitReset::Monthly), false, Some(20.0)),
            (Some(LimitReset::Monthly), true, Some(30.0)),
            (Some(LimitReset::Other("x".into())), true, None),
        ];
        for (reset, byok, expected) in cases {
            k.limit_reset = reset.clone();
            k.include_byok_in_limit = byok;
            assert_eq!(counted_spend(&k), expected, "{reset:?} byok={byok}");
        }
    }

    #[test]
    fn limit_standing_trusts_limit_remaining_then_counters() {
        let now = at("2026-11-23T10:00:00Z");
        let mut k = key("k");
        k.limit_reset = Some(LimitReset::Monthly);
        k.usage_monthly = 30.0;
        // No limit, zero limit, NaN limit: nothing to stand against.
        for limit in [None, Some(0.0), Some(-5.0), Some(f64::NAN)] {
            k.limit = limit;
            assert_eq!(limit_standing(&k, now), None, "{limit:?}");
        }
        k.limit = Some(50.0);
        // Server says 10 left although the counters say 30 used: the server wins.
        k.limit_remaining = Some(10.0);
        let standing = limit_standing(&k, now).unwrap();
        assert_eq!(standing.used, 40.0);
        assert_eq!(standing.remaining, 10.0);
        assert_eq!(standing.fraction, 0.8);
        assert_eq!(standing.period, "2026-11");
        assert_eq!(standing.period_end, Some(at("2026-12-01T00:00:00Z")));
        // Without limit_remaining the counters decide.
        k.limit_remaining = None;
        assert_eq!(limit_standing(&k, now).unwrap().used, 30.0);
        // Clamped at 0 by the server: the counters show the overshoot.
        k.limit_remaining = Some(0.0);
        k.usage_monthly = 52.0;
        let standing = limit_standing(&k, now).unwrap();
        assert_eq!(standing.used, 52.0);
        assert_eq!(standing.remaining, 0.0);
        // ... but never less than the limit when the server says nothing is left.
        k.usage_monthly = 3.0;
        assert_eq!(limit_standing(&k, now).unwrap().used, 50.0);
        // Unknown reset, no limit_remaining: no standing; with it, no period.
        k.limit_reset = Some(LimitReset::Other("quarterly".into()));
        k.limit_remaining = None;
        assert_eq!(limit_standing(&k, now), None);
        k.limit_remaining = Some(20.0);
        let standing = limit_standing(&k, now).unwrap();
        assert_eq!(standing.used, 30.0);
        assert_eq!(standing.period, NO_PERIOD);
        assert_eq!(standing.period_end, None);
        // More remaining than the limit (the limit was just lowered? a refund?): 0 used, not negative.
        k.limit_remaining = Some(80.0);
        assert_eq!(limit_standing(&k, now).unwrap().used, 0.0);
    }
}
