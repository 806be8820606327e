//! Idle keys: when a key was last used, and for how many whole UTC days it has not been. One rule,
//! pure (no I/O, `now` is a parameter), fed from three sources:
//! - the API's `last_used_at` (a timestamp, when OpenRouter sends it);
//! - the usage snapshots Keyward takes on each refresh (a rising `usage` counter or a non-zero
//!   `usage_daily` means spend on that UTC day);
//! - GET /activity as last stored (a day with spend).
//!
//! Snapshots are kept about 35 days and activity covers 30, so for a key used before that Keyward
//! may not know the day. `idle_days` is therefore a lower bound: it never calls a key idle for longer
//! than the evidence shows (a filter "unused for 30+ days" never catches a key in use).

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::usage::{ActivityDays, UsagePoint};

/// Spend below this (USD) is rounding noise, not use.
const SPEND_EPSILON: f64 = 1e-9;

/// What Keyward knows about a key's use.
#[derive(Debug, Clone, Copy)]
pub struct UseEvidence<'a> {
    /// The API's `last_used_at`.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The key's creation (an unused key is idle since then).
    pub created_at: Option<DateTime<Utc>>,
    /// The key's lifetime `usage` now: zero means it was never used at all.
    pub lifetime_usage: f64,
    /// The key's usage snapshots, any order.
    pub snapshots: &'a [UsagePoint],
    /// The key's stored GET /activity answer.
    pub activity: Option<&'a ActivityDays>,
}

/// When a key was last used and how long it has been idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyIdle {
    /// The latest use Keyward knows of: the API's timestamp, or the UTC midnight starting the last
    /// day with spend (snapshots, activity), whichever is later. `None`: no use seen.
    pub last_used: Option<DateTime<Utc>>,
    /// Whole UTC days since `last_used` (0 = used today); for a key never used, since its creation;
    /// for a key used before anything Keyward observed, since the start of what it observed (a lower
    /// bound). `None` when nothing can be said.
    pub idle_days: Option<u32>,
}

/// The one rule: see the module header.
pub fn key_idle(evidence: &UseEvidence<'_>, now: DateTime<Utc>) -> KeyIdle {
    let spend_day = [
        last_spend_day_from_snapshots(evidence.snapshots),
        evidence.activity.and_then(last_spend_day_from_activity),
    ]
    .into_iter()
    .flatten()
    .max();
    let last_used = [evidence.last_used_at, spend_day.map(midnight)]
        .into_iter()
        .flatten()
        .max();
    let since = match last_used {
        Some(at) => Some(at),
        None if evidence.lifetime_usage <= SPEND_EPSILON => evidence.created_at,
        None => observed_since(evidence),
    };
    KeyIdle {
        last_used,
        idle_days: since.map(|since| days_between(since.date_naive(), now.date_naive())),
    }
}

/// The latest UTC day the snapshots show spend on. Two consecutive snapshots whose counter rose
/// mean spend between them: on the later one's day when its `usage_daily` is non-zero, else by the
/// day before it at the latest (never before the earlier snapshot's day).
fn last_spend_day_from_snapshots(points: &[UsagePoint]) -> Option<NaiveDate> {
    let mut sorted: Vec<&UsagePoint> = points.iter().collect();
    sorted.sort_by_key(|point| point.at);
    let mut latest: Option<NaiveDate> = None;
    let mut note = |day: NaiveDate| latest = Some(latest.map_or(day, |seen| seen.max(day)));
    for (index, point) in sorted.iter().enumerate() {
        let day = point.at.date_naive();
        if point.usage_daily.is_some_and(|daily| daily > SPEND_EPSILON) {
            note(day);
            continue;
        }
        if let Some(previous) = index.checked_sub(1).and_then(|i| sorted.get(i))
            && point.usage > previous.usage + SPEND_EPSILON
        {
            let before = day.checked_sub_days(Days::new(1)).unwrap_or(day);
            note(if point.usage_daily.is_some() {
                before.max(previous.at.date_naive())
            } else {
                day
            });
        }
    }
    latest
}

fn last_spend_day_from_activity(activity: &ActivityDays) -> Option<NaiveDate> {
    activity
        .days
        .iter()
        .filter(|(_, spend)| **spend > SPEND_EPSILON)
        .map(|(day, _)| *day)
        .max()
}

/// Since when Keyward has watched the key without seeing use: its first snapshot, or the first day
/// an activity answer covers, whichever is earlier.
fn observed_since(evidence: &UseEvidence<'_>) -> Option<DateTime<Utc>> {
    let first_snapshot = evidence.snapshots.iter().map(|point| point.at).min();
    let activity_start = evidence.activity.and_then(|activity| {
        activity
            .fetched_on
            .checked_sub_days(Days::new(crate::usage::HISTORY_DAYS))
            .map(midnight)
    });
    let observed = [first_snapshot, activity_start].into_iter().flatten().min();
    // Never before the key existed.
    match (observed, evidence.created_at) {
        (Some(observed), Some(created)) => Some(observed.max(created)),
        (observed, _) => observed,
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn point(day: u32, hour: u32, usage: f64, daily: f64) -> UsagePoint {
        UsagePoint {
            at: at(day, hour),
            usage,
            usage_daily: Some(daily),
        }
    }

    fn evidence<'a>(
        snapshots: &'a [UsagePoint],
        activity: Option<&'a ActivityDays>,
    ) -> UseEvidence<'a> {
        UseEvidence {
            last_used_at: None,
            created_at: Some(at(1, 0)),
            lifetime_usage: 5.0,
            snapshots,
            activity,
        }
    }

    const NOW_DAY: u32 = 31;

    fn now() -> DateTime<Utc> {
        at(NOW_DAY, 12)
    }

    #[test]
    fn the_api_timestamp_counts_when_it_is_the_latest() {
        let mut evidence = evidence(&[], None);
        evidence.last_used_at = Some(at(29, 23));
        let idle = key_idle(&evidence, now());
        assert_eq!(idle.last_used, Some(at(29, 23)));
        assert_eq!(idle.idle_days, Some(2));
    }

    #[test]
    fn a_rising_counter_between_snapshots_is_use() {
        // Day 10: 1.0; day 20 (usage_daily 0.5): 1.5, so used on day 20.
        let snapshots = [point(20, 8, 1.5, 0.5), point(10, 8, 1.0, 0.0)];
        let idle = key_idle(&evidence(&snapshots, None), now());
        assert_eq!(idle.last_used, Some(at(20, 0)));
        assert_eq!(idle.idle_days, Some(11));
        // Spend recorded before the later snapshot's day (usage_daily 0): the day before it at the latest.
        let snapshots = [point(10, 8, 1.0, 0.0), point(20, 8, 1.5, 0.0)];
        let idle = key_idle(&evidence(&snapshots, None), now());
        assert_eq!(idle.last_used, Some(at(19, 0)));
        // Same day, counter rose, usage_daily unknown: that day.
        let snapshots = [
            UsagePoint {
                at: at(12, 1),
                usage: 1.0,
                usage_daily: None,
            },
            UsagePoint {
                at: at(12, 9),
                usage: 2.0,
                usage_daily: None,
            },
        ];
        assert_eq!(
            key_idle(&evidence(&snapshots, None), now()).last_used,
            Some(at(12, 0))
        );
    }

    #[test]
    fn activity_days_with_spend_count_and_the_latest_source_wins() {
        let activity = ActivityDays {
            fetched_on: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            days: BTreeMap::from([
                (NaiveDate::from_ymd_opt(2026, 3, 25).unwrap(), 0.2),
                (NaiveDate::from_ymd_opt(2026, 3, 27).unwrap(), 0.0),
            ]),
        };
        let snapshots = [point(10, 8, 1.0, 0.3)];
        let mut evidence = evidence(&snapshots, Some(&activity));
        evidence.last_used_at = Some(at(5, 10));
        let idle = key_idle(&evidence, now());
        assert_eq!(idle.last_used, Some(at(25, 0)));
        assert_eq!(idle.idle_days, Some(6));
    }

    #[test]
    fn a_never_used_key_is_idle_since_its_creation() {
        let mut evidence = evidence(&[], None);
        evidence.lifetime_usage = 0.0;
        let idle = key_idle(&evidence, now());
        assert_eq!(idle.last_used, None);
        assert_eq!(idle.idle_days, Some(NOW_DAY - 1));
    }

    #[test]
    fn a_used_key_without_recent_evidence_is_idle_at_least_since_watching_began() {
        // Flat counter since day 15: used before, not since.
        let snapshots = [point(15, 8, 3.0, 0.0), point(28, 8, 3.0, 0.0)];
        let idle = key_idle(&evidence(&snapshots, None), now());
        assert_eq!(idle.last_used, None);
        assert_eq!(idle.idle_days, Some(16));
        // Nothing observed at all: unknown, never a guess.
        assert_eq!(key_idle(&evidence(&[], None), now()).idle_days, None);
    }

    #[test]
    fn a_use_in_the_future_of_the_clock_counts_as_today() {
        let mut evidence = evidence(&[], None);
        evidence.last_used_at = Some(at(NOW_DAY, 23));
        assert_eq!(key_idle(&evidence, now()).idle_days, Some(0));
    }
}
