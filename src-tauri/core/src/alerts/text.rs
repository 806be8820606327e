//! Wording of alerts: money, percentages, dates and spans the way a notification says them. Dates
//! are UTC (limits reset at UTC midnight) and say so where a time of day is shown.

use chrono::{DateTime, Datelike, TimeDelta, Utc};

/// `$50`, `$40.12`, `$0.01`; `less than $0.01` for a tiny positive amount.
pub fn money(amount: f64) -> String {
    let cents = (amount * 100.0).round();
    if amount > 0.0 && cents < 1.0 {
        return "less than $0.01".to_owned();
    }
    if cents % 100.0 == 0.0 {
        format!("${:.0}", cents / 100.0)
    } else {
        format!("${:.2}", cents / 100.0)
    }
}

/// Whole percent of `fraction`, rounded down (`0.999` is 99 %, not a premature 100 %).
pub fn percent(fraction: f64) -> u64 {
    let value = (fraction * 100.0 + 1e-6).floor();
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

/// `Dec 1`, or `Dec 1, 2027` outside `now`'s year.
pub fn day(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at.year() == now.year() {
        at.format("%b %-d").to_string()
    } else {
        at.format("%b %-d, %Y").to_string()
    }
}

/// `Dec 1 at 14:05 UTC`.
pub fn day_time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} at {} UTC", day(at, now), at.format("%H:%M"))
}

/// `4 days`, `1 day`, `20 hours`, `1 hour`, `12 minutes`, `1 minute` (rounded down, at least a
/// minute).
pub fn span(delta: TimeDelta) -> String {
    let minutes = delta.num_minutes().max(1);
    let (count, unit) = if minutes >= 24 * 60 {
        (minutes / (24 * 60), "day")
    } else if minutes >= 60 {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// `a`, `a and b`, `a, b and c`, `a, b, c and 3 more` (at most `shown` names).
pub fn name_list(names: &[&str], shown: usize) -> String {
    let shown = shown.max(1);
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        _ if names.len() <= shown => {
            let (last, rest) = names.split_last().map_or((&"", names), |(l, r)| (l, r));
            format!("{} and {last}", rest.join(", "))
        }
        _ => format!(
            "{} and {} more",
            names[..shown].join(", "),
            names.len() - shown
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::test_support::at;

    #[test]
    fn money_amounts() {
        let cases = [
            (50.0, "$50"),
            (40.123, "$40.12"),
            (3.1, "$3.10"),
            (0.0, "$0"),
            (0.004, "less than $0.01"),
            (0.005, "$0.01"),
            (1234.5, "$1234.50"),
            (49.999, "$50"),
        ];
        for (amount, text) in cases {
            assert_eq!(money(amount), text, "{amount}");
        }
    }

    #[test]
    fn percents_round_down() {
        assert_eq!(percent(0.8), 80);
        assert_eq!(percent(0.7999999999), 80);
        assert_eq!(percent(0.999), 99);
        assert_eq!(percent(1.04), 104);
        assert_eq!(percent(-0.1), 0);
        assert_eq!(percent(f64::NAN), 0);
    }

    #[test]
    fn dates_and_spans() {
        let now = at("2026-11-23T10:00:00Z");
        assert_eq!(day(at("2026-12-01T00:00:00Z"), now), "Dec 1");
        assert_eq!(day(at("2027-01-04T00:00:00Z"), now), "Jan 4, 2027");
        assert_eq!(
            day_time(at("2026-11-30T14:05:00Z"), now),
            "Nov 30 at 14:05 UTC"
        );
        assert_eq!(span(TimeDelta::days(4) + TimeDelta::hours(23)), "4 days");
        assert_eq!(span(TimeDelta::hours(24)), "1 day");
        assert_eq!(span(TimeDelta::hours(20)), "20 hours");
        assert_eq!(span(TimeDelta::minutes(60)), "1 hour");
        assert_eq!(span(TimeDelta::minutes(12)), "12 minutes");
        assert_eq!(span(TimeDelta::seconds(5)), "1 minute");
    }

    #[test]
    fn name_lists() {
        assert_eq!(name_list(&[], 3), "");
        assert_eq!(name_list(&["a"], 3), "a");
        assert_eq!(name_list(&["a", "b"], 3), "a and b");
        assert_eq!(name_list(&["a", "b", "c"], 3), "a, b and c");
        assert_eq!(
            name_list(&["a", "b", "c", "d", "e"], 3),
            "a, b, c and 2 more"
        );
    }
}
