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
    ACCOUNT_USER_ID, ByokKey, DEFAULT_WORKSPACE_ID, DailyUsage, Destination, Guardrail, KeyRecord,
    LimitReset, ModelUsage, State, label_for, new_secret, sha256_hex,
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
    if workspace == DEFAULT_WORKSPACE_ID {
        seed_attachments(state, &hashes, now);
        seed_guardrails(state, &mut rng, &hashes);
    }
    hashes
}

/// The demo account's BYOK credentials (OpenAI, Anthropic) and log destination (Langfuse), each
/// naming a few usable demo keys, newest first: OpenAI the first three, Anthropic the next two, the
/// destination the first, fourth and sixth. Only once: an account that has any keeps them.
fn seed_attachments(state: &mut State, newest_first: &[String], now: DateTime<Utc>) {
    if !state.byok.keys.is_empty() || !state.byok.destinations.is_empty() {
        return;
    }
    let usable: Vec<String> = newest_first
        .iter()
        .filter(|hash| {
            state
                .get(hash)
                .is_some_and(|key| !key.disabled && !key.is_expired(now))
        })
        .cloned()
        .collect();
    let pick = |indexes: &[usize]| -> Vec<String> {
        indexes
            .iter()
            .filter_map(|&i| usable.get(i).cloned())
            .collect()
    };
    let credential =
        |id: &str, provider: &str, name: &str, label: &str, hashes: Vec<String>| ByokKey {
            id: id.to_owned(),
            provider: provider.to_owned(),
            workspace_id: Some(DEFAULT_WORKSPACE_ID.to_owned()),
            name: Some(name.to_owned()),
            label: label.to_owned(),
            disabled: false,
            is_fallback: false,
            is_byok_only: false,
            is_required: false,
            declared_region: None,
            declared_zdr: None,
            allowed_models: None,
            allowed_api_key_hashes: Some(hashes),
            allowed_user_ids: None,
            sort_order: 0,
            created_at: whole_seconds(now - TimeDelta::days(90)),
        };
    for (id, provider, name, label, hashes) in [
        (
            "5e0b7c1a-8f2d-4c3e-9a61-0d4b2f7e8c11",
            "openai",
            "Production OpenAI key",
            "sk-...Qx7f",
            pick(&[0, 1, 2]),
        ),
        (
            "7a9d3e52-1b6c-4f08-b2e4-6c8f0a1d3e22",
            "anthropic",
            "Anthropic (team account)",
            "sk-...m4Zk",
            pick(&[3, 4]),
        ),
    ] {
        if !hashes.is_empty() {
            state
                .byok
                .keys
                .push(credential(id, provider, name, label, hashes));
        }
    }
    let logged = pick(&[0, 3, 5]);
    if !logged.is_empty() {
        let mut config = serde_json::Map::new();
        config.insert("publicKey".into(), "pk-lf-demo-0000".into());
        config.insert("secretKey".into(), "****9f3a".into());
        config.insert("baseUrl".into(), "https://cloud.langfuse.com".into());
        state.byok.destinations.push(Destination {
            id: "c3f1a2b4-5d6e-4f70-8a9b-0c1d2e3f4a33".to_owned(),
            workspace_id: DEFAULT_WORKSPACE_ID.to_owned(),
            kind: "langfuse".to_owned(),
            name: Some("Langfuse traces".to_owned()),
            enabled: true,
            privacy_mode: false,
            broadcast_generation_cost: true,
            broadcast_generation_cost_allocation: false,
            broadcast_generation_identity: false,
            broadcast_generation_request_context: false,
            sampling_rate: 1.0,
            api_key_hashes: Some(logged),
            filter_rules: serde_json::Value::Null,
            regions: vec!["global".to_owned()],
            config,
            created_at: whole_seconds(now - TimeDelta::days(60)),
            updated_at: whole_seconds(now - TimeDelta::days(60)),
        });
    }
}

/// The demo account's guardrails, once (re-seeding adds keys, not guardrails): "Production allowlist"
/// (three models, a monthly budget) on the three newest keys, "No training" (ZDR everywhere, no
/// training endpoints) on the next two and on a team member. Ids come from `rng`, after the keys.
fn seed_guardrails(state: &mut State, rng: &mut StdRng, hashes: &[String]) {
    if !state.guardrails().guardrails.is_empty() || hashes.is_empty() {
        return;
    }
    let now = whole_seconds(state.now());
    let mut id = || {
        uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string()
    };
    let strings = |items: &[&str]| Some(items.iter().map(|item| (*item).to_owned()).collect());
    let base = Guardrail {
        id: String::new(),
        name: String::new(),
        description: None,
        limit_usd: None,
        reset_interval: None,
        allowed_models: None,
        ignored_models: None,
        allowed_providers: None,
        ignored_providers: None,
        enforce_zdr_anthropic: None,
        enforce_zdr_google: None,
        enforce_zdr_openai: None,
        enforce_zdr_other: None,
        enforce_zdr_xai: None,
        enable_free_model_publication: None,
        enable_free_model_training: None,
        enable_paid_model_training: None,
        include_byok_in_budgets: false,
        content_filters: None,
        content_filter_builtins: None,
        workspace_id: DEFAULT_WORKSPACE_ID.to_owned(),
        created_at: now - TimeDelta::days(40),
        updated_at: None,
    };
    let production = Guardrail {
        id: id(),
        name: "Production allowlist".to_owned(),
        description: Some("Production services may only call the approved models".to_owned()),
        limit_usd: Some(250.0),
        reset_interval: Some(LimitReset::Monthly),
        allowed_models: strings(&[
            "openai/gpt-4.1-mini-2025-04-14",
            "anthropic/claude-4-sonnet-20250522",
            "google/gemini-2.5-flash",
        ]),
        allowed_providers: strings(&["openai", "anthropic", "google-ai-studio"]),
        updated_at: Some(now - TimeDelta::days(3)),
        ..base.clone()
    };
    let zdr = Some(true);
    let no_training = Guardrail {
        id: id(),
        name: "No training".to_owned(),
        description: Some("Zero data retention; no endpoint may train on requests".to_owned()),
        enforce_zdr_anthropic: zdr,
        enforce_zdr_google: zdr,
        enforce_zdr_openai: zdr,
        enforce_zdr_other: zdr,
        enforce_zdr_xai: zdr,
        enable_free_model_publication: Some(false),
        enable_free_model_training: Some(false),
        enable_paid_model_training: Some(false),
        created_at: now - TimeDelta::days(25),
        ..base
    };
    let guardrails = state.guardrails_mut();
    for (hash, guardrail) in hashes.iter().take(3).map(|hash| (hash, &production)).chain(
        hashes
            .iter()
            .skip(3)
            .take(2)
            .map(|hash| (hash, &no_training)),
    ) {
        guardrails.assign_key(&guardrail.id, hash, Some(ACCOUNT_USER_ID), now);
    }
    guardrails.assign_member(&no_training.id, TEAM_USERS[1], Some(ACCOUNT_USER_ID), now);
    guardrails.insert(production);
    guardrails.insert(no_training);
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

        // The demo account's BYOK credentials and destination name usable demo keys.
        let openai = state.byok_for("openai", DEFAULT_WORKSPACE_ID);
        let anthropic = state.byok_for("anthropic", DEFAULT_WORKSPACE_ID);
        assert_eq!((openai.len(), anthropic.len()), (1, 1));
        let allowed = openai[0].allowed_api_key_hashes.clone().unwrap();
        assert_eq!(allowed.len(), 3);
        let usable = |hash: &String| {
            state
                .get(hash)
                .is_some_and(|k| !k.disabled && !k.is_expired(now))
        };
        assert!(allowed.iter().all(usable));
        assert!(openai[0].admits(&allowed[0], None, "openai/gpt-4.1"));
        let other = hashes.iter().find(|hash| !allowed.contains(hash)).unwrap();
        assert!(!openai[0].admits(other, None, "openai/gpt-4.1"));
        assert_eq!(
            state
                .destinations_for(&allowed[0], DEFAULT_WORKSPACE_ID)
                .len(),
            1
        );
        assert!(
            state
                .destinations_for(&allowed[1], DEFAULT_WORKSPACE_ID)
                .is_empty()
        );
        // Seeding again leaves them as they are.
        seed_demo(&mut state, 3, Some(1), None);
        assert_eq!(state.byok.keys.len(), 2);
        assert_eq!(state.byok.destinations.len(), 1);
    }
}
