//! "What stops this key first": every spend limit a request with the key is checked against — its
//! own limit, its guardrail's per-key budget, its workspace's pooled budgets, the account's credits —
//! with what is left of each and when, at the current burn rate, it runs out. The forecast alert
//! uses the earliest.
//!
//! OpenRouter checks workspace budgets first, then guardrail budgets, then the key's own limit, and
//! refuses with 402 at the first one reached; which layer that will be is what a person asks.
//! Guardrail budgets are per entity (each assigned key has its own), workspace budgets are pooled.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::period::{counted_spend, limit_standing, next_reset};
use crate::api::{ApiKey, LimitReset};

/// Which layer a spend limit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StopScope {
    KeyLimit,
    Guardrail,
    Workspace,
    Credits,
}

/// One limit in the way of the key's requests, as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SpendStop {
    pub scope: StopScope,
    /// What a person calls it: "Key limit", the guardrail's or workspace's name, "Account credits".
    pub name: String,
    /// USD the limit allows in its period (the credits bought, for the account).
    pub limit: f64,
    /// USD counted against it in the current period.
    pub spent: f64,
    /// USD left, never negative.
    pub remaining: f64,
    /// `null` for a limit that never resets (lifetime budgets, the account's credits).
    pub reset: Option<LimitReset>,
    /// When the period ends and the limit starts over.
    pub resets_at: Option<DateTime<Utc>>,
    /// USD per day counted against this limit (the key's burn rate, or the pool's).
    pub burn_per_day: Option<f64>,
    /// When it runs out at that rate, if before it resets. Already run out: `spent ≥ limit`.
    pub runs_out_at: Option<DateTime<Utc>>,
    /// The limit is reached: requests are refused (402) until it resets or is raised.
    pub exhausted: bool,
}

/// A budget that applies to the key, described by whoever knows it (guardrail, workspace).
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub scope: StopScope,
    pub name: String,
    pub limit: f64,
    /// `None`: lifetime (never resets).
    pub reset: Option<LimitReset>,
    /// Spent against it in the current period.
    pub spent: f64,
    /// USD per day counted against it.
    pub burn_per_day: Option<f64>,
}

/// The key's own limit; `None` without one.
pub fn key_limit(key: &ApiKey, burn_per_day: Option<f64>, now: DateTime<Utc>) -> Option<Budget> {
    let standing = limit_standing(key, now)?;
    Some(Budget {
        scope: StopScope::KeyLimit,
        name: "Key limit".to_owned(),
        limit: standing.limit,
        reset: standing.reset,
        spent: standing.used,
        burn_per_day,
    })
}

/// What the key spent in the current `reset` period by its own counters (lifetime without a reset),
/// BYOK spend included when `include_byok`. Guardrail budgets are per key, so this is what counts
/// against the key's guardrail.
pub fn key_period_spend(key: &ApiKey, reset: Option<&LimitReset>, include_byok: bool) -> f64 {
    let probe = ApiKey {
        limit_reset: reset.cloned(),
        include_byok_in_limit: include_byok,
        ..key.clone()
    };
    counted_spend(&probe).unwrap_or(0.0)
}

/// Every limit in the key's way, earliest to stop it first: exhausted ones, then by the time they
/// run out, then those that don't run out before they reset (least left first).
pub fn what_stops_first(budgets: Vec<Budget>, now: DateTime<Utc>) -> Vec<SpendStop> {
    let mut stops: Vec<SpendStop> = budgets
        .into_iter()
        .filter(|budget| budget.limit.is_finite() && budget.limit >= 0.0)
        .map(|budget| stop_of(budget, now))
        .collect();
    stops.sort_by(|a, b| {
        b.exhausted
            .cmp(&a.exhausted)
            .then_with(|| match (a.runs_out_at, b.runs_out_at) {
                (Some(a), Some(b)) => a.cmp(&b),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.remaining.total_cmp(&b.remaining))
    });
    stops
}

fn stop_of(budget: Budget, now: DateTime<Utc>) -> SpendStop {
    let spent = if budget.spent.is_finite() {
        budget.spent.max(0.0)
    } else {
        0.0
    };
    let remaining = (budget.limit - spent).max(0.0);
    let exhausted = spent >= budget.limit;
    let resets_at = budget
        .reset
        .as_ref()
        .and_then(|reset| next_reset(reset, now));
    let burn = budget
        .burn_per_day
        .filter(|burn| burn.is_finite() && *burn >= 0.0);
    let runs_out_at = if exhausted {
        None
    } else {
        burn.filter(|burn| *burn > 0.0)
            .and_then(|burn| TimeDelta::try_seconds((remaining / burn * 86_400.0) as i64))
            .and_then(|left| now.checked_add_signed(left))
            .filter(|at| resets_at.is_none_or(|reset| *at < reset))
    };
    SpendStop {
        scope: budget.scope,
        name: budget.name,
        limit: budget.limit,
        spent,
        remaining,
        reset: budget.reset,
        resets_at,
        burn_per_day: burn,
        runs_out_at,
        exhausted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::test_support::{at, key};

    fn budget(scope: StopScope, limit: f64, reset: Option<LimitReset>, spent: f64) -> Budget {
        Budget {
            scope,
            name: format!("{scope:?}"),
            limit,
            reset,
            spent,
            burn_per_day: Some(10.0),
        }
    }

    #[test]
    fn earliest_to_run_out_comes_first() {
        let now = at("2026-11-23T12:00:00Z"); // a Monday
        let stops = what_stops_first(
            vec![
                // $50 left at $10/day: 5 days, after the daily reset → doesn't run out today.
                budget(StopScope::KeyLimit, 60.0, Some(LimitReset::Daily), 10.0),
                // $20 left of a weekly budget: 2 days, before Monday next → runs out Wednesday.
                budget(StopScope::Guardrail, 100.0, Some(LimitReset::Weekly), 80.0),
                // $5 left of the credits: half a day.
                budget(StopScope::Credits, 200.0, None, 195.0),
            ],
            now,
        );
        let order: Vec<StopScope> = stops.iter().map(|stop| stop.scope).collect();
        assert_eq!(
            order,
            [
                StopScope::Credits,
                StopScope::Guardrail,
                StopScope::KeyLimit
            ]
        );
        assert_eq!(stops[0].runs_out_at, Some(at("2026-11-24T00:00:00Z")));
        assert_eq!(stops[1].runs_out_at, Some(at("2026-11-25T12:00:00Z")));
        assert_eq!(stops[1].resets_at, Some(at("2026-11-30T00:00:00Z")));
        assert_eq!(stops[2].runs_out_at, None);
        assert_eq!(stops[2].remaining, 50.0);
    }

    #[test]
    fn an_exhausted_limit_stops_first_and_has_no_forecast() {
        let now = at("2026-11-23T12:00:00Z");
        let stops = what_stops_first(
            vec![
                budget(StopScope::Credits, 200.0, None, 195.0),
                budget(
                    StopScope::Workspace,
                    100.0,
                    Some(LimitReset::Monthly),
                    104.0,
                ),
            ],
            now,
        );
        assert_eq!(stops[0].scope, StopScope::Workspace);
        assert!(stops[0].exhausted);
        assert_eq!(stops[0].remaining, 0.0);
        assert_eq!(stops[0].runs_out_at, None);
        assert_eq!(stops[0].resets_at, Some(at("2026-12-01T00:00:00Z")));
    }

    #[test]
    fn no_burn_rate_means_no_forecast_and_least_left_first() {
        let now = at("2026-11-23T12:00:00Z");
        let mut a = budget(StopScope::KeyLimit, 10.0, None, 2.0);
        let mut b = budget(StopScope::Guardrail, 10.0, None, 9.0);
        a.burn_per_day = None;
        b.burn_per_day = Some(0.0);
        let stops = what_stops_first(vec![a, b], now);
        assert_eq!(stops[0].scope, StopScope::Guardrail);
        assert!(stops.iter().all(|stop| stop.runs_out_at.is_none()));
    }

    #[test]
    fn key_limit_uses_the_servers_remaining() {
        let now = at("2026-11-23T12:00:00Z");
        let mut k = key("prod");
        k.limit = Some(50.0);
        k.limit_remaining = Some(20.0);
        k.limit_reset = Some(LimitReset::Monthly);
        let budget = key_limit(&k, Some(3.0), now).expect("a limit");
        assert_eq!((budget.limit, budget.spent), (50.0, 30.0));
        assert_eq!(budget.reset, Some(LimitReset::Monthly));
        k.limit = None;
        assert!(key_limit(&k, Some(3.0), now).is_none());
    }

    #[test]
    fn guardrail_spend_is_the_keys_own_in_the_guardrails_period() {
        let mut k = key("prod");
        k.usage = 90.0;
        k.usage_daily = 1.0;
        k.usage_weekly = 5.0;
        k.usage_monthly = 20.0;
        k.byok_usage_weekly = 2.5;
        // The key's own reset must not leak into the guardrail's period.
        k.limit_reset = Some(LimitReset::Daily);
        assert_eq!(key_period_spend(&k, Some(&LimitReset::Weekly), false), 5.0);
        assert_eq!(key_period_spend(&k, Some(&LimitReset::Weekly), true), 7.5);
        assert_eq!(key_period_spend(&k, None, false), 90.0);
    }
}
