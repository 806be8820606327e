//! Daily spend of a key over the last 30 UTC days, from the watcher's usage snapshots and
//! GET /activity. Activity is authoritative for the completed days it covers; snapshots fill in
//! today and any day the last activity answer does not cover.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use super::DailySpend;
use super::period::utc_midnight;
use crate::api::ActivityItem;

/// How many UTC days a series covers, today included.
pub const HISTORY_DAYS: u64 = 30;

/// One observation of a key's lifetime `usage` counter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsagePoint {
    pub at: DateTime<Utc>,
    /// The key's lifetime `usage` (USD) at `at`.
    pub usage: f64,
    /// The key's `usage_daily` at `at` (spend since that day's UTC midnight), when known: it splits
    /// the spend between two snapshots days apart exactly instead of by time.
    pub usage_daily: Option<f64>,
}

/// A GET /activity answer for one key, summed per day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityDays {
    /// The UTC day the answer was fetched on: it covers the [`HISTORY_DAYS`] completed days before.
    pub fetched_on: NaiveDate,
    /// Spend per day; a covered day that is absent had no spend.
    pub days: BTreeMap<NaiveDate, f64>,
}

impl ActivityDays {
    /// Sums the per-model rows of one answer by date (rows with an unreadable date are skipped).
    pub fn from_items(items: &[ActivityItem], fetched_on: NaiveDate) -> ActivityDays {
        let mut days = BTreeMap::new();
        for item in items {
            if let Some(day) = item.day() {
                *days.entry(day).or_insert(0.0) += finite_or_zero(item.usage);
            }
        }
        ActivityDays { fetched_on, days }
    }

    /// From already summed `(day, spend)` pairs (as the store keeps them).
    pub fn from_days(days: &[(NaiveDate, f64)], fetched_on: NaiveDate) -> ActivityDays {
        let mut summed = BTreeMap::new();
        for (day, spend) in days {
            *summed.entry(*day).or_insert(0.0) += finite_or_zero(*spend);
        }
        ActivityDays {
            fetched_on,
            days: summed,
        }
    }

    /// True when this answer speaks for `day` (so a missing day there means no spend).
    pub fn covers(&self, day: NaiveDate) -> bool {
        let first = self.fetched_on.checked_sub_days(Days::new(HISTORY_DAYS));
        day < self.fetched_on && first.is_none_or(|first| day >= first)
    }
}

/// The first day of the series ending today: `today - 29`.
pub fn first_day(now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    today
        .checked_sub_days(Days::new(HISTORY_DAYS - 1))
        .unwrap_or(today)
}

/// Spend per UTC day over the [`HISTORY_DAYS`] days ending today: oldest first, today last,
/// zero-filled.
///
/// From snapshots (any order), the spend between two consecutive snapshots is their counter
/// difference; when they are on different days, the later one's `usage_daily` is that day's part
/// and the rest is spread over the days in between by time (so a laptop asleep for three days does
/// not book three days on the morning it wakes). The first snapshot contributes its own
/// `usage_daily`. A counter that goes down (a clock moved back reordering the snapshots, a key
/// recreated under the same hash) books nothing for that step and restarts from the lower value:
/// undercounting once is better than inventing an anomaly. Snapshots after `now` are ignored.
///
/// Days `activity` covers take its figure instead, except today (activity only knows completed
/// days).
pub fn daily_spend(
    points: &[UsagePoint],
    activity: Option<&ActivityDays>,
    now: DateTime<Utc>,
) -> Vec<DailySpend> {
    let today = now.date_naive();
    let first = first_day(now);
    let from_snapshots = spend_from_snapshots(points, first, now);
    day_range(first, today)
        .map(|date| {
            let spend = match activity {
                Some(activity) if date < today && activity.covers(date) => {
                    activity.days.get(&date).copied().unwrap_or(0.0)
                }
                _ => from_snapshots.get(&date).copied().unwrap_or(0.0),
            };
            DailySpend { date, spend }
        })
        .collect()
}

/// Adds series of several keys day by day (the overview's total). Each series is expected to be a
/// [`daily_spend`] result for the same `now`; days missing from a series count as zero.
pub fn total_by_day(series: &[&[DailySpend]], now: DateTime<Utc>) -> Vec<DailySpend> {
    let mut totals: BTreeMap<NaiveDate, f64> = day_range(first_day(now), now.date_naive())
        .map(|date| (date, 0.0))
        .collect();
    for days in series {
        for day in *days {
            if let Some(total) = totals.get_mut(&day.date) {
                *total += day.spend;
            }
        }
    }
    totals
        .into_iter()
        .map(|(date, spend)| DailySpend { date, spend })
        .collect()
}

fn day_range(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    first.iter_days().take_while(move |day| *day <= last)
}

fn spend_from_snapshots(
    points: &[UsagePoint],
    first: NaiveDate,
    now: DateTime<Utc>,
) -> BTreeMap<NaiveDate, f64> {
    let mut sorted: Vec<UsagePoint> = points
        .iter()
        .copied()
        .filter(|point| point.at <= now && point.usage.is_finite())
        .collect();
    sorted.sort_by_key(|point| point.at);
    let mut spend = BTreeMap::new();
    let mut book = |day: NaiveDate, amount: f64| {
        if day >= first && amount > 0.0 {
            *spend.entry(day).or_insert(0.0) += amount;
        }
    };
    if let Some(point) = sorted.first() {
        book(point.at.date_naive(), daily_of(point));
    }
    for pair in sorted.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        let delta = later.usage - earlier.usage;
        if delta <= 0.0 {
            continue;
        }
        let later_day = later.at.date_naive();
        if earlier.at.date_naive() == later_day {
            book(later_day, delta);
            continue;
        }
        let later_midnight = utc_midnight(later_day);
        let on_later_day = match later.usage_daily.filter(|daily| daily.is_finite()) {
            Some(daily) => daily.clamp(0.0, delta),
            None => delta * share(later_midnight, later.at, earlier.at, later.at),
        };
        book(later_day, on_later_day);
        spread(
            delta - on_later_day,
            earlier.at,
            later_midnight,
            first,
            &mut book,
        );
    }
    spend
}

fn daily_of(point: &UsagePoint) -> f64 {
    point
        .usage_daily
        .filter(|daily| daily.is_finite())
        .unwrap_or(0.0)
}

/// Books `amount`, spent evenly over `[from, to)`, to the days it touches (from `first` on).
fn spread(
    amount: f64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    first: NaiveDate,
    book: &mut impl FnMut(NaiveDate, f64),
) {
    if amount <= 0.0 {
        return;
    }
    if to <= from {
        book(from.date_naive(), amount);
        return;
    }
    // Days before `first` get their share computed but not booked; skip straight to `first`.
    let mut cursor = from.max(utc_midnight(first));
    while cursor < to {
        let day = cursor.date_naive();
        let day_end = day.succ_opt().map_or(to, |next| utc_midnight(next).min(to));
        book(day, amount * share(cursor, day_end, from, to));
        cursor = day_end;
    }
}

/// The fraction of `[from, to)` that `[start, end)` is.
fn share(start: DateTime<Utc>, end: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let whole = seconds(to - from);
    if whole <= 0.0 {
        return 1.0;
    }
    (seconds(end - start) / whole).clamp(0.0, 1.0)
}

fn seconds(delta: TimeDelta) -> f64 {
    delta.num_milliseconds() as f64 / 1000.0
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::test_support::{at, day};

    fn point(time: &str, usage: f64, daily: Option<f64>) -> UsagePoint {
        UsagePoint {
            at: at(time),
            usage,
            usage_daily: daily,
        }
    }

    fn spend_on(days: &[DailySpend], date: &str) -> f64 {
        days.iter()
            .find(|d| d.date == day(date))
            .map(|d| d.spend)
            .unwrap_or_else(|| panic!("{date} not in the series"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn series_is_thirty_days_oldest_first_today_last_zero_filled() {
        let now = at("2026-03-01T05:00:00Z");
        let days = daily_spend(&[], None, now);
        assert_eq!(days.len(), 30);
        assert_eq!(days[0].date, day("2026-01-31"));
        assert_eq!(days[29].date, day("2026-03-01"));
        assert!(
            days.windows(2)
                .all(|w| w[0].date.succ_opt() == Some(w[1].date))
        );
        assert!(days.iter().all(|d| d.spend == 0.0));
        // Leap year: Feb 29 is in the series.
        let days = daily_spend(&[], None, at("2028-03-01T00:00:00Z"));
        assert!(days.iter().any(|d| d.date == day("2028-02-29")));
    }

    #[test]
    fn snapshots_on_one_day_add_up() {
        let now = at("2026-11-23T18:00:00Z");
        let points = [
            point("2026-11-23T08:00:00Z", 10.0, None),
            point("2026-11-23T09:00:00Z", 12.5, None),
            point("2026-11-23T12:00:00Z", 12.5, None),
            point("2026-11-23T17:00:00Z", 14.0, None),
        ];
        let days = daily_spend(&points, None, now);
        assert!(close(spend_on(&days, "2026-11-23"), 4.0));
        assert!(close(days.iter().map(|d| d.spend).sum::<f64>(), 4.0));
    }

    #[test]
    fn first_snapshot_contributes_its_usage_daily_and_order_does_not_matter() {
        let now = at("2026-11-23T18:00:00Z");
        let points = [
            point("2026-11-23T17:00:00Z", 14.0, Some(5.0)),
            point("2026-11-23T08:00:00Z", 10.0, Some(1.0)),
        ];
        let days = daily_spend(&points, None, now);
        assert!(close(spend_on(&days, "2026-11-23"), 5.0));
    }

    #[test]
    fn gap_over_midnight_splits_by_usage_daily() {
        let now = at("2026-11-24T12:00:00Z");
        let points = [
            point("2026-11-23T20:00:00Z", 10.0, Some(3.0)),
            point("2026-11-24T10:00:00Z", 16.0, Some(2.0)),
        ];
        let days = daily_spend(&points, None, now);
        assert!(close(spend_on(&days, "2026-11-23"), 3.0 + 4.0));
        assert!(close(spend_on(&days, "2026-11-24"), 2.0));
    }

    #[test]
    fn gap_over_several_days_without_usage_daily_spreads_by_time() {
        let now = at("2026-11-26T12:00:00Z");
        // 72 h from Nov 23 12:00 to Nov 26 12:00: 12 h, 24 h, 24 h, 12 h.
        let points = [
            point("2026-11-23T12:00:00Z", 0.0, None),
            point("2026-11-26T12:00:00Z", 72.0, None),
        ];
        let days = daily_spend(&points, None, now);
        assert!(close(spend_on(&days, "2026-11-23"), 12.0));
        assert!(close(spend_on(&days, "2026-11-24"), 24.0));
        assert!(close(spend_on(&days, "2026-11-25"), 24.0));
        assert!(close(spend_on(&days, "2026-11-26"), 12.0));
    }

    #[test]
    fn asleep_for_days_with_usage_daily_books_only_today_on_today() {
        let now = at("2026-11-27T09:00:00Z");
        let points = [
            point("2026-11-24T00:00:00Z", 100.0, Some(0.0)),
            point("2026-11-27T08:00:00Z", 131.0, Some(1.0)),
        ];
        let days = daily_spend(&points, None, now);
        assert!(close(spend_on(&days, "2026-11-27"), 1.0));
        for date in ["2026-11-24", "2026-11-25", "2026-11-26"] {
            assert!(close(spend_on(&days, date), 10.0), "{date}");
        }
    }

    #[test]
    fn counter_going_down_books_nothing_and_restarts() {
        let now = at("2026-11-23T18:00:00Z");
        let points = [
            point("2026-11-23T08:00:00Z", 50.0, None),
            point("2026-11-23T09:00:00Z", 2.0, None), // recreated / reordered
            point("2026-11-23T10:00:00Z", 5.0, None),
        ];
        let days = daily_spend(&points, None, now);
        assert!(close(spend_on(&days, "2026-11-23"), 3.0));
    }

    #[test]
    fn snapshots_in_the_future_and_before_the_window_are_ignored() {
        let now = at("2026-11-23T12:00:00Z");
        let points = [
            point("2026-09-01T12:00:00Z", 0.0, Some(0.0)),
            // 83 days later: only the days inside the window are booked.
            point("2026-11-23T12:00:00Z", 83.0, None),
            // After a clock jump back: "later" than now.
            point("2026-11-25T12:00:00Z", 500.0, None),
        ];
        let days = daily_spend(&points, None, now);
        assert_eq!(days.len(), 30);
        let total: f64 = days.iter().map(|d| d.spend).sum();
        // 29.5 days of the 83 fall inside the window.
        assert!(close(total, 29.5), "{total}");
        assert!(close(spend_on(&days, "2026-11-23"), 0.5));
    }

    #[test]
    fn activity_wins_for_completed_days_it_covers() {
        let now = at("2026-11-23T12:00:00Z");
        let mut rows = Vec::new();
        for (date, usage) in [
            ("2026-11-20", 1.0),
            ("2026-11-20", 0.5),
            ("2026-11-22", 7.0),
        ] {
            rows.push(ActivityItem {
                date: date.to_owned(),
                model: "m".into(),
                model_permaslug: String::new(),
                endpoint_id: String::new(),
                provider_name: String::new(),
                usage,
                byok_usage_inference: 0.0,
                requests: 1,
                prompt_tokens: 0,
                completion_tokens: 0,
                reasoning_tokens: 0,
                cached_tokens: 0,
                workspace_id: None,
            });
        }
        // Fetched yesterday: covers up to Nov 21; Nov 22 comes from snapshots.
        let activity = ActivityDays::from_items(&rows, day("2026-11-22"));
        let points = [
            point("2026-11-20T10:00:00Z", 0.0, Some(0.0)),
            point("2026-11-20T11:00:00Z", 9.0, None), // activity says 1.5
            point("2026-11-21T11:00:00Z", 9.0, None), // activity says 0 (absent)
            point("2026-11-22T11:00:00Z", 11.0, Some(2.0)),
            point("2026-11-23T11:00:00Z", 14.0, Some(1.0)),
        ];
        let days = daily_spend(&points, Some(&activity), now);
        assert!(close(spend_on(&days, "2026-11-20"), 1.5));
        assert!(close(spend_on(&days, "2026-11-21"), 0.0));
        // Not covered (fetched on the 22nd): the snapshots' 2 + 2, not activity's 7.
        assert!(close(spend_on(&days, "2026-11-22"), 4.0));
        assert!(close(spend_on(&days, "2026-11-23"), 1.0));
    }

    #[test]
    fn activity_never_speaks_for_today_even_after_a_clock_jump_back() {
        let now = at("2026-11-23T12:00:00Z");
        let activity = ActivityDays::from_days(&[(day("2026-11-23"), 99.0)], day("2026-11-25"));
        let days = daily_spend(&[], Some(&activity), now);
        assert_eq!(spend_on(&days, "2026-11-23"), 0.0);
        assert!(activity.covers(day("2026-11-24")));
        assert!(activity.covers(day("2026-10-26")));
        assert!(!activity.covers(day("2026-10-25")));
        assert!(!activity.covers(day("2026-11-25")));
    }

    #[test]
    fn totals_add_series_day_by_day() {
        let now = at("2026-11-23T12:00:00Z");
        let a = daily_spend(&[point("2026-11-23T10:00:00Z", 5.0, Some(2.0))], None, now);
        let b = daily_spend(
            &[
                point("2026-11-22T10:00:00Z", 5.0, Some(1.0)),
                point("2026-11-23T10:00:00Z", 8.0, Some(0.5)),
            ],
            None,
            now,
        );
        let total = total_by_day(&[&a, &b], now);
        assert_eq!(total.len(), 30);
        assert!(close(spend_on(&total, "2026-11-23"), 2.5));
        assert!(close(spend_on(&total, "2026-11-22"), 1.0 + 2.5));
    }
}
