//! Demo data: realistic, varied keys with limits, resets, BYOK, expiries, disabled ones and usage
//! history over the last 30 days, for the sandbox, tests and benchmarks.

mod account;

pub use account::{RESEARCH_WORKSPACE_ID, ensure_workspace, seed_account, spread_targets};

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::models::CATALOG;
use crate::state::{
    ACCOUNT_USER_ID, DEFAULT_WORKSPACE_ID, DailyUsage, KeyRecord, LimitReset, ModelUsage, State,
    label_for, new_secret, sha256_hex,
};

const ENVIRONMENTS: &[&str] = &["prod", "staging", "dev", "qa", "sandbox", "preview"];
const SERVICES: &[&str] = &[
    "api",
    "worker",
    "web",
    "batch",
    "ingest",
    "chatbot",
    "search",
    "summarizer",
    "agent",
    "backend",
    "cron",
    "etl",
];
const COMPANIES: &[&str] = &[
    "acme-corp",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark-industries",
    "wayne-ent",
    "soylent",
    "cyberdyne",
    "tyrell",
];
const PEOPLE: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
];
const TOOLS: &[&str] = &[
    "ci-pipeline",
    "github-actions",
    "eval-harness",
    "playground",
    "notebook",
    "load-test",
    "mobile-app",
    "browser-extension",
    "discord-bot",
    "slack-bot",
    "zapier",
    "n8n-workflow",
    "data-labeling",
    "red-team",
];
const LIMITS: &[f64] = &[
    1.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
];
const TEAM_USERS: &[&str] = &[
    ACCOUNT_USER_ID,
    "user_2eKq8ZtR4nW1xYb7cD3fG5hJ9kL",
    "user_2fMn6PqS8tV0wXz2aB4cE6gI8jK",
    "user_2gHj3KlM5nP7qRs9tUv1wXy3zAb",
];

fn demo_name(rng: &mut StdRng) -> String {
    let pick = |rng: &mut StdRng, list: &[&'static str]| -> &'static str {
        list.choose(rng).copied().unwrap_or("key")
    };
    match rng.random_range(0..8) {
        0 => format!("{}-{}", pick(rng, ENVIRONMENTS), pick(rng, SERVICES)),
        1 => format!(
            "{}-{}-{:02}",
            pick(rng, ENVIRONMENTS),
            pick(rng, SERVICES),
            rng.random_range(1..20)
        ),
        2 => format!("{} customer", pick(rng, COMPANIES)),
        3 => format!("{}'s laptop", pick(rng, PEOPLE)),
        4 => format!("{}-dev", pick(rng, PEOPLE)),
        5 => pick(rng, TOOLS).to_owned(),
        6 => format!("{}-{}", pick(rng, TOOLS), rng.random_range(1..10)),
        _ => format!("{}-{}", pick(rng, COMPANIES), pick(rng, ENVIRONMENTS)),
    }
}

fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

fn seconds(rng: &mut StdRng, from: i64, to: i64) -> TimeDelta {
    TimeDelta::seconds(if from < to {
        rng.random_range(from..to)
    } else {
        from
    })
}

const DAY: i64 = 86_400;

/// Seeds `count` demo keys into `workspace` (default workspace if none); returns their hashes,
/// newest first. The same `seed` gives the same keys relative to the emulator's clock.
pub fn seed_demo(
    state: &mut State,
    count: usize,
    seed: Option<u64>,
    workspace: Option<&str>,
) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed.unwrap_or_else(rand::random));
    let now = state.now();
    let workspace = workspace.unwrap_or(DEFAULT_WORKSPACE_ID);
    let mut created: Vec<DateTime<Utc>> = (0..count)
        .map(|_| whole_seconds(now - seconds(&mut rng, 120, 365 * DAY)))
        .collect();
    created.sort();
    let mut hashes = Vec::with_capacity(count);
    let mut seeded_usage = 0.0;
    for created_at in created {
        let seq = state.next_seq();
        let record = demo_key(&mut rng, seq, created_at, now, workspace);
        seeded_usage += record.total_usage;
        hashes.push(record.hash.clone());
        state.insert(record);
    }
    // Keep the account solvent: the real one could not have spent more than it bought.
    state.total_credits += (seeded_usage * 1.25 / 10.0).ceil() * 10.0;
    hashes.reverse();
    hashes
}

fn demo_key(
    rng: &mut StdRng,
    seq: u64,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    workspace: &str,
) -> KeyRecord {
    let secret = new_secret(rng);
    let age = (now - created_at).num_seconds().max(1);
    let limit = if rng.random_bool(1.0 / 3.0) {
        None
    } else {
        LIMITS.choose(rng).copied()
    };
    let limit_reset = match (limit, rng.random_range(0..100)) {
        (None, _) => None,
        (Some(_), 0..25) => None,
        (Some(_), 25..45) => Some(LimitReset::Daily),
        (Some(_), 45..65) => Some(LimitReset::Weekly),
        _ => Some(LimitReset::Monthly),
    };
    let expiry_roll: f64 = rng.random();
    let expires_at = if expiry_roll < 0.05 {
        // Expired some time between its creation and now.
        Some(created_at + TimeDelta::seconds((age as f64 * rng.random_range(0.5..0.99)) as i64))
    } else if expiry_roll < 0.13 {
        Some(now + seconds(rng, DAY, 7 * DAY))
    } else if expiry_roll < 0.30 {
        Some(now + seconds(rng, 30 * DAY, 365 * DAY))
    } else {
        None
    }
    .map(whole_seconds);
    let byok_user = rng.random_bool(0.25);
    let external_user = rng
        .random_bool(0.1)
        .then(|| format!("customer_{:05}", rng.random_range(1..100_000)));
    let mut record = KeyRecord {
        hash: sha256_hex(&secret),
        seq,
        name: demo_name(rng),
        label: label_for(&secret),
        disabled: rng.random_bool(0.1),
        limit,
        limit_reset,
        include_byok_in_limit: rng.random_bool(if byok_user { 0.5 } else { 0.1 }),
        created_at,
        updated_at: rng.random_bool(0.3).then(|| {
            whole_seconds(
                created_at + TimeDelta::seconds((age as f64 * rng.random::<f64>()) as i64),
            )
        }),
        expires_at,
        last_used_at: None,
        creator_user_id: TEAM_USERS.choose(rng).map(|user| (*user).to_owned()),
        external_user,
        external_api_key_sha256: None,
        workspace_id: workspace.to_owned(),
        total_usage: 0.0,
        total_byok_usage: 0.0,
        days: DailyUsage::default(),
    };
    if rng.random_bool(0.75) {
        add_history(rng, &mut record, now, byok_user);
    }
    record
}

/// Daily spend scale: limited keys stay mostly under their limit in every window.
fn daily_scale(rng: &mut StdRng, record: &KeyRecord) -> f64 {
    match (record.limit, record.limit_reset) {
        (Some(limit), Some(LimitReset::Daily)) => limit * rng.random_range(0.05..0.5),
        (Some(limit), Some(LimitReset::Weekly)) => limit * rng.random_range(0.01..0.07),
        (Some(limit), Some(LimitReset::Monthly)) => limit * rng.random_range(0.003..0.02),
        (Some(limit), None) => limit * rng.random_range(0.001..0.01),
        (None, _) => {
            let base: f64 = rng.random_range(0.05..1.8);
            base * base
        }
    }
}

fn add_history(rng: &mut StdRng, record: &mut KeyRecord, now: DateTime<Utc>, byok_user: bool) {
    let today = now.date_naive();
    let window_start = today.checked_sub_days(Days::new(29)).unwrap_or(today);
    let first = record.created_at.date_naive().max(window_start);
    let last = match record.expires_at {
        Some(expiry) if expiry <= now => expiry.date_naive(),
        _ => today,
    };
    let scale = daily_scale(rng, record);
    let activity: f64 = rng.random_range(0.2..0.9);
    let favourite_count = rng.random_range(1..4);
    let favourites: Vec<&str> = CATALOG
        .choose_multiple(rng, favourite_count)
        .map(|m| m.0)
        .collect();

    // Spend before the bucketed window goes into the lifetime totals only.
    let older_days = (window_start - record.created_at.date_naive())
        .num_days()
        .clamp(0, 120) as f64;
    let mut older = scale * older_days * activity * rng.random_range(0.2..0.8);
    if let (Some(limit), None) = (record.limit, record.limit_reset) {
        older = older.min(limit * rng.random_range(0.1..0.5));
    }
    if byok_user {
        record.total_byok_usage += older * rng.random_range(0.5..2.0);
        record.total_usage += older * 0.05;
    } else {
        record.total_usage += older;
    }

    let mut day = first;
    let mut last_day_used: Option<NaiveDate> = None;
    while day <= last {
        if rng.random_bool(activity) {
            let models = rng.random_range(1..=favourites.len().min(2));
            for model in favourites.iter().take(models) {
                let spend = scale * rng.random_range(0.3..1.7) / models as f64;
                let (usage, byok) = if byok_user {
                    (spend * 0.05, spend)
                } else {
                    (spend, 0.0)
                };
                let requests = ((spend / rng.random_range(0.002..0.02)).round() as u64).max(1);
                let bucket = ModelUsage::synthetic(model, usage, byok, requests);
                record.total_usage += usage;
                record.total_byok_usage += byok;
                record.days.add(day, &bucket);
            }
            last_day_used = Some(day);
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }

    // About one limited key in ten sits at or near its limit right now.
    if let Some(limit) = record.limit
        && rng.random_bool(0.1)
        && record.expires_at.is_none_or(|expiry| expiry > now)
    {
        let target = if rng.random_bool(0.3) {
            limit
        } else {
            limit * rng.random_range(0.85..1.0)
        };
        let missing = target - record.limit_spend(now);
        if missing > 0.0 {
            let model = favourites.first().copied().unwrap_or(CATALOG[0].0);
            let (usage, byok) = if record.include_byok_in_limit && byok_user {
                (0.0, missing)
            } else {
                (missing, 0.0)
            };
            let bucket =
                ModelUsage::synthetic(model, usage, byok, ((missing / 0.01).round() as u64).max(1));
            record.total_usage += usage;
            record.total_byok_usage += byok;
            record.days.add(today, &bucket);
            last_day_used = Some(today);
        }
    }

    // Spend only from before the 30-day window (e.g. a key that expired long ago) still had a
    // last use: some day before the window (and before the expiry), after creation.
    if last_day_used.is_none() && older > 0.0 {
        let latest = window_start.min(last);
        let back = Days::new(rng.random_range(1..=20));
        let day = latest.checked_sub_days(back).unwrap_or(latest);
        last_day_used = Some(day.max(record.created_at.date_naive()));
    }

    record.last_used_at = last_day_used.map(|day| {
        if day == today {
            let since_midnight =
                (now - today.and_time(chrono::NaiveTime::MIN).and_utc()).num_seconds();
            now - seconds(rng, 1, since_midnight.clamp(2, 6 * 3600))
        } else {
            day.and_time(chrono::NaiveTime::MIN).and_utc() + seconds(rng, 8 * 3600, 22 * 3600)
        }
    });
    // A key is used between its creation and its expiry (or now).
    let latest_use = record
        .expires_at
        .map_or(now, |expiry| expiry.min(now) - TimeDelta::seconds(60));
    record.last_used_at = record
        .last_used_at
        .map(|used| whole_seconds(used.min(latest_use).max(record.created_at)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_varied_and_repeatable() {
        let mut state = State::new();
        let hashes = seed_demo(&mut state, 2000, Some(42), None);
        assert_eq!(hashes.len(), 2000);
        let now = state.now();
        let keys: Vec<&KeyRecord> = state.all_newest_first().collect();
        assert_eq!(
            keys.first().map(|key| key.hash.clone()),
            hashes.first().cloned()
        );
        let share = |predicate: &dyn Fn(&KeyRecord) -> bool| {
            keys.iter().filter(|key| predicate(key)).count() as f64 / keys.len() as f64
        };
        let unlimited = share(&|key| key.limit.is_none());
        assert!((0.25..0.42).contains(&unlimited), "{unlimited}");
        let disabled = share(&|key| key.disabled);
        assert!((0.06..0.14).contains(&disabled), "{disabled}");
        let expired = share(&|key| key.is_expired(now));
        assert!((0.03..0.08).contains(&expired), "{expired}");
        let soon = share(&|key| {
            key.expires_at
                .is_some_and(|at| at > now && at < now + TimeDelta::days(8))
        });
        assert!(soon > 0.04, "{soon}");
        let at_limit = share(&|key| {
            key.limit_remaining(now)
                .is_some_and(|left| left <= 0.15 * key.limit.unwrap_or(0.0))
        });
        assert!(at_limit > 0.02, "{at_limit}");
        assert!(share(&|key| key.total_byok_usage > 0.0) > 0.1);
        assert!(share(&|key| key.days.iter().next().is_some()) > 0.5);
        for key in &keys {
            let spent = key.total_usage + key.total_byok_usage > 0.0;
            assert_eq!(spent, key.last_used_at.is_some(), "{key:?}");
            if let Some(used) = key.last_used_at {
                assert!(used >= key.created_at && used <= now, "{key:?}");
            }
        }
        let mut again = State::new();
        let same = seed_demo(&mut again, 2000, Some(42), None);
        assert_eq!(same.len(), hashes.len());
        assert_eq!(same, hashes);
    }
}
