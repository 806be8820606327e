//! The emulated account: API keys, management keys, per-UTC-day usage buckets, credits and the
//! emulator clock, plus the JSON shapes (KeyObject, CurrentKey) the API renders from them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The workspace every key lands in unless a `workspace_id` is given (the reference's example UUID).
pub const DEFAULT_WORKSPACE_ID: &str = "0df9e665-d932-5740-b2c7-b52af166bc11";
/// The user the emulated account belongs to; `creator_user_id` of keys created without one.
pub const ACCOUNT_USER_ID: &str = "user_2dHFtVWx2n56w6HkM0000000000";
/// Credits the account starts with; seeding adds enough to stay above the seeded spend.
pub const INITIAL_CREDITS: f64 = 100.0;
/// Per-day buckets older than this (relative to the day of the latest recording) are folded away; lifetime
/// totals keep their spend. 62 days covers every window (≤ 31 days) and `/activity` (30 days).
const BUCKET_RETENTION_DAYS: u64 = 62;

/// The most API keys the emulator holds (memory stays bounded whatever a client does).
pub const MAX_KEYS: usize = 200_000;
/// The most management keys it holds.
pub const MAX_MANAGEMENT_KEYS: usize = 1_000;

/// `limit_reset` values, named in lowercase on the wire (serde) and in text (strum) alike.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum LimitReset {
    Daily,
    Weekly,
    Monthly,
}

impl LimitReset {
    /// First UTC day of the window containing `today`.
    pub fn window_start(self, today: NaiveDate) -> NaiveDate {
        match self {
            Self::Daily => today,
            Self::Weekly => today
                .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
                .unwrap_or(today),
            Self::Monthly => today.with_day(1).unwrap_or(today),
        }
    }

    /// The next UTC midnight at which this window resets.
    pub fn next_reset(self, today: NaiveDate) -> Option<DateTime<Utc>> {
        let day = match self {
            Self::Daily => today.checked_add_days(Days::new(1)),
            Self::Weekly => self.window_start(today).checked_add_days(Days::new(7)),
            Self::Monthly => self.window_start(today).checked_add_months(Months::new(1)),
        }?;
        Some(day.and_hms_opt(0, 0, 0)?.and_utc())
    }
}

/// Spend of one key on one model on one UTC day.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelUsage {
    pub model: String,
    pub usage: f64,
    pub byok_usage: f64,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub reasoning_tokens: u64,
    pub cached_tokens: u64,
}

impl ModelUsage {
    /// A record of `requests` requests costing `usage` (+ `byok_usage`) with plausible token counts.
    pub fn synthetic(model: &str, usage: f64, byok_usage: f64, requests: u64) -> Self {
        // Token counts follow from the spend at a blended $3 per million tokens, 35% of it output.
        let tokens = ((usage + byok_usage) / 3.0e-6).round().clamp(0.0, 1.0e15) as u64;
        let completion_tokens = tokens * 35 / 100;
        let prompt_tokens = tokens - completion_tokens;
        let reasoning_tokens =
            if model.contains("o3") || model.contains("r1") || model.contains("thinking") {
                completion_tokens / 3
            } else {
                0
            };
        Self {
            model: model.to_owned(),
            usage,
            byok_usage,
            requests,
            prompt_tokens,
            completion_tokens,
            reasoning_tokens,
            cached_tokens: prompt_tokens / 5,
        }
    }

    pub fn absorb(&mut self, other: &ModelUsage) {
        self.usage += other.usage;
        self.byok_usage += other.byok_usage;
        self.requests = self.requests.saturating_add(other.requests);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
    }
}

/// One day's usage buckets (one per model), kept small: a key uses a handful of models a day.
pub type DayBuckets = Vec<ModelUsage>;

fn add_to_day(day: &mut DayBuckets, usage: &ModelUsage) {
    match day.iter_mut().find(|bucket| bucket.model == usage.model) {
        Some(bucket) => bucket.absorb(usage),
        None => day.push(usage.clone()),
    }
}

/// A key's usage per UTC day, sorted by date (a flat vector: cheap to scan and to append to).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DailyUsage(Vec<(NaiveDate, DayBuckets)>);

impl DailyUsage {
    /// The days `from..=to`.
    pub fn range(&self, from: NaiveDate, to: NaiveDate) -> &[(NaiveDate, DayBuckets)] {
        let start = self.0.partition_point(|(date, _)| *date < from);
        let end = self.0.partition_point(|(date, _)| *date <= to);
        self.0.get(start..end.max(start)).unwrap_or(&[])
    }

    pub fn day(&self, date: NaiveDate) -> Option<&DayBuckets> {
        self.range(date, date).first().map(|(_, day)| day)
    }

    /// The buckets of `date`, created (in order) if missing.
    pub fn day_mut(&mut self, date: NaiveDate) -> &mut DayBuckets {
        let index = match self.0.binary_search_by_key(&date, |(day, _)| *day) {
            Ok(index) => index,
            Err(index) => {
                self.0.insert(index, (date, DayBuckets::new()));
                index
            }
        };
        &mut self.0[index].1
    }

    pub fn add(&mut self, date: NaiveDate, usage: &ModelUsage) {
        add_to_day(self.day_mut(date), usage);
    }

    /// Drops the days before `cutoff`.
    pub fn prune_before(&mut self, cutoff: NaiveDate) {
        let keep_from = self.0.partition_point(|(date, _)| *date < cutoff);
        self.0.drain(..keep_from);
    }

    pub fn iter(&self) -> impl Iterator<Item = &(NaiveDate, DayBuckets)> {
        self.0.iter()
    }
}

/// One API key. The plaintext secret is never kept: `hash` (SHA-256 of it) identifies the key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRecord {
    pub hash: String,
    /// Creation order; breaks ties between equal `created_at`.
    pub seq: u64,
    pub name: String,
    pub label: String,
    pub disabled: bool,
    pub limit: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    pub include_byok_in_limit: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub creator_user_id: Option<String>,
    pub external_user: Option<String>,
    /// SHA-256 of `external.api_key`, never returned.
    pub external_api_key_sha256: Option<String>,
    pub workspace_id: String,
    /// Lifetime spend, including days whose buckets were folded away.
    pub total_usage: f64,
    pub total_byok_usage: f64,
    pub days: DailyUsage,
}

/// The API's KeyObject, in the reference's field order. `Option`s serialise as `null`, so every
/// required key is always present.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KeyObject<'a> {
    pub hash: &'a str,
    pub name: &'a str,
    pub label: &'a str,
    pub disabled: bool,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<&'static str>,
    pub include_byok_in_limit: bool,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_weekly: f64,
    pub usage_monthly: f64,
    pub byok_usage: f64,
    pub byok_usage_daily: f64,
    pub byok_usage_weekly: f64,
    pub byok_usage_monthly: f64,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub creator_user_id: Option<&'a str>,
    pub external_user: Option<&'a str>,
    pub workspace_id: &'a str,
}

/// Spend in one window: OpenRouter credits and BYOK.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spend {
    pub usage: f64,
    pub byok: f64,
}

impl Spend {
    fn counted(self, include_byok: bool) -> f64 {
        if include_byok {
            self.usage + self.byok
        } else {
            self.usage
        }
    }
}

/// Rounds away float noise such as 0.1 + 0.2 = 0.30000000000000004 before values go on the wire.
pub fn money(value: f64) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    let rounded = (value * 1e9).round() / 1e9;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Datetimes on the wire: RFC 3339 in UTC with `Z`; milliseconds only when the time has any.
pub fn wire_time(at: DateTime<Utc>) -> String {
    let format = if at.timestamp_subsec_millis() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    at.to_rfc3339_opts(format, true)
}

fn wire_time_opt(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(wire_time(at)))
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `sk-or-v1-` + the first 3 and last 3 characters of the secret part, as OpenRouter masks keys.
pub fn label_for(secret: &str) -> String {
    let body = secret.strip_prefix("sk-or-v1-").unwrap_or(secret);
    let chars: Vec<char> = body.chars().collect();
    if chars.len() < 6 {
        return "sk-or-v1-...".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("sk-or-v1-{head}...{tail}")
}

/// A fresh `sk-or-v1-` + 64 lowercase hex secret.
pub fn new_secret(rng: &mut impl rand::Rng) -> String {
    let bytes: [u8; 32] = rng.random();
    format!("sk-or-v1-{}", hex::encode(bytes))
}

impl KeyRecord {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Spend on the days `from..=to`.
    pub fn spend_between(&self, from: NaiveDate, to: NaiveDate) -> Spend {
        let mut spend = Spend::default();
        if from > to {
            return spend;
        }
        for (_, buckets) in self.days.range(from, to) {
            for bucket in buckets {
                spend.usage += bucket.usage;
                spend.byok += bucket.byok_usage;
            }
        }
        spend
    }

    pub fn lifetime_spend(&self) -> Spend {
        Spend {
            usage: self.total_usage,
            byok: self.total_byok_usage,
        }
    }

    fn window_spend(&self, window: Option<LimitReset>, today: NaiveDate) -> Spend {
        match window {
            Some(reset) => self.spend_between(reset.window_start(today), today),
            None => self.lifetime_spend(),
        }
    }

    /// Spend that counts against `limit` in the current `limit_reset` window.
    pub fn limit_spend(&self, now: DateTime<Utc>) -> f64 {
        self.window_spend(self.limit_reset, now.date_naive())
            .counted(self.include_byok_in_limit)
    }

    pub fn limit_remaining(&self, now: DateTime<Utc>) -> Option<f64> {
        self.limit
            .map(|limit| money((limit - self.limit_spend(now)).max(0.0)))
    }

    /// Records spend at `now`: every window, `/activity` and `last_used_at` follow.
    pub fn record(&mut self, now: DateTime<Utc>, usage: &ModelUsage) {
        let today = now.date_naive();
        self.total_usage += usage.usage;
        self.total_byok_usage += usage.byok_usage;
        self.days.add(today, usage);
        if self.last_used_at.is_none_or(|last| last < now) {
            self.last_used_at = Some(now);
        }
        self.prune_days(today);
    }

    /// Keeps memory bounded: drops buckets far older than `today` (their spend stays in the
    /// lifetime totals). Buckets after `today` (the clock was moved back) are kept.
    pub fn prune_days(&mut self, today: NaiveDate) {
        if let Some(cutoff) = today.checked_sub_days(Days::new(BUCKET_RETENTION_DAYS)) {
            self.days.prune_before(cutoff);
        }
    }

    fn usage_fields(&self, now: DateTime<Utc>) -> serde_json::Map<String, Value> {
        let today = now.date_naive();
        let daily = self.window_spend(Some(LimitReset::Daily), today);
        let weekly = self.window_spend(Some(LimitReset::Weekly), today);
        let monthly = self.window_spend(Some(LimitReset::Monthly), today);
        let lifetime = self.lifetime_spend();
        let mut map = serde_json::Map::new();
        map.insert("label".into(), json!(self.label));
        map.insert("limit".into(), json!(self.limit.map(money)));
        map.insert("limit_remaining".into(), json!(self.limit_remaining(now)));
        map.insert(
            "limit_reset".into(),
            json!(self.limit_reset.map(<&str>::from)),
        );
        map.insert(
            "include_byok_in_limit".into(),
            json!(self.include_byok_in_limit),
        );
        map.insert("usage".into(), json!(money(lifetime.usage)));
        map.insert("usage_daily".into(), json!(money(daily.usage)));
        map.insert("usage_weekly".into(), json!(money(weekly.usage)));
        map.insert("usage_monthly".into(), json!(money(monthly.usage)));
        map.insert("byok_usage".into(), json!(money(lifetime.byok)));
        map.insert("byok_usage_daily".into(), json!(money(daily.byok)));
        map.insert("byok_usage_weekly".into(), json!(money(weekly.byok)));
        map.insert("byok_usage_monthly".into(), json!(money(monthly.byok)));
        map
    }

    /// The KeyObject of list/get/create/update (the Python 1.3.84 superset of fields).
    pub fn key_object(&self, now: DateTime<Utc>) -> KeyObject<'_> {
        let today = now.date_naive();
        let daily = self.window_spend(Some(LimitReset::Daily), today);
        let weekly = self.window_spend(Some(LimitReset::Weekly), today);
        let monthly = self.window_spend(Some(LimitReset::Monthly), today);
        let lifetime = self.lifetime_spend();
        KeyObject {
            hash: &self.hash,
            name: &self.name,
            label: &self.label,
            disabled: self.disabled,
            limit: self.limit.map(money),
            limit_remaining: self.limit_remaining(now),
            limit_reset: self.limit_reset.map(<&str>::from),
            include_byok_in_limit: self.include_byok_in_limit,
            usage: money(lifetime.usage),
            usage_daily: money(daily.usage),
            usage_weekly: money(weekly.usage),
            usage_monthly: money(monthly.usage),
            byok_usage: money(lifetime.byok),
            byok_usage_daily: money(daily.byok),
            byok_usage_weekly: money(weekly.byok),
            byok_usage_monthly: money(monthly.byok),
            created_at: wire_time(self.created_at),
            updated_at: self.updated_at.map(wire_time),
            expires_at: self.expires_at.map(wire_time),
            last_used_at: self.last_used_at.map(wire_time),
            creator_user_id: self.creator_user_id.as_deref(),
            external_user: self.external_user.as_deref(),
            workspace_id: &self.workspace_id,
        }
    }

    /// The `data` of `GET /key` for this (inference) key.
    pub fn current_key(&self, now: DateTime<Utc>) -> Value {
        let today = now.date_naive();
        let free_used: u64 = self
            .days
            .day(today)
            .map(|day| {
                day.iter()
                    .filter(|bucket| bucket.model.ends_with(":free"))
                    .map(|bucket| bucket.requests)
                    .sum()
            })
            .unwrap_or(0);
        let budget = self.limit.map(|limit| {
            let spend = self.limit_spend(now);
            json!({
                "scope": "key_limit",
                "budget_id": null,
                "guardrail_id": null,
                "include_byok": self.include_byok_in_limit,
                "limit_usd": money(limit),
                "spend_usd": money(spend),
                "remaining_usd": money((limit - spend).max(0.0)),
                "reset_interval": self.limit_reset.map(<&str>::from),
                "resets_at": wire_time_opt(self.limit_reset.and_then(|reset| reset.next_reset(today))),
            })
        });
        let mut map = self.usage_fields(now);
        map.extend(common_current_key_fields(false));
        map.insert("expires_at".into(), wire_time_opt(self.expires_at));
        map.insert("creator_user_id".into(), json!(self.creator_user_id));
        map.insert("workspace_id".into(), json!(self.workspace_id));
        map.insert(
            "free_model_daily_requests".into(),
            free_model_requests(free_used),
        );
        map.insert(
            "budgets".into(),
            Value::Array(budget.iter().cloned().collect()),
        );
        map.insert("effective_budget".into(), budget.unwrap_or(Value::Null));
        Value::Object(map)
    }
}

const FREE_MODEL_DAILY_LIMIT: u64 = 1000;

fn free_model_requests(used: u64) -> Value {
    let used = used.min(FREE_MODEL_DAILY_LIMIT);
    json!({"limit": FREE_MODEL_DAILY_LIMIT, "remaining": FREE_MODEL_DAILY_LIMIT - used, "used": used})
}

fn common_current_key_fields(management: bool) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("is_free_tier".into(), json!(false));
    map.insert("is_management_key".into(), json!(management));
    map.insert("is_provisioning_key".into(), json!(management));
    map.insert(
        "rate_limit".into(),
        json!({"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."}),
    );
    map.insert("organization_id".into(), Value::Null);
    map.insert(
        "allowed_data_regions".into(),
        json!(["global", "europe", "us"]),
    );
    map
}

/// A management key, known only by its hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManagementKey {
    pub hash: String,
    pub label: String,
}

impl ManagementKey {
    pub fn from_secret(secret: &str) -> Self {
        Self {
            hash: sha256_hex(secret),
            label: label_for(secret),
        }
    }

    /// The `data` of `GET /key` for a management key: no spend, no limit, no budget.
    pub fn current_key(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("label".into(), json!(self.label));
        map.insert("limit".into(), Value::Null);
        map.insert("limit_remaining".into(), Value::Null);
        map.insert("limit_reset".into(), Value::Null);
        map.insert("include_byok_in_limit".into(), json!(false));
        for field in [
            "usage",
            "usage_daily",
            "usage_weekly",
            "usage_monthly",
            "byok_usage",
            "byok_usage_daily",
            "byok_usage_weekly",
            "byok_usage_monthly",
        ] {
            map.insert(field.into(), json!(0.0));
        }
        map.extend(common_current_key_fields(true));
        map.insert("expires_at".into(), Value::Null);
        map.insert("creator_user_id".into(), json!(ACCOUNT_USER_ID));
        map.insert("workspace_id".into(), json!(DEFAULT_WORKSPACE_ID));
        map.insert("free_model_daily_requests".into(), free_model_requests(0));
        map.insert("budgets".into(), json!([]));
        map.insert("effective_budget".into(), Value::Null);
        Value::Object(map)
    }
}

/// Usage of deleted keys: still part of `/credits` and `/activity`, as on the real account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RetiredUsage {
    pub total_usage: f64,
    /// Per day: (workspace_id, creator_user_id, usage).
    pub days: BTreeMap<NaiveDate, Vec<(String, Option<String>, ModelUsage)>>,
}

/// Who called: the caller's role decides what it may do.
#[derive(Clone, Debug)]
pub enum Caller {
    Management(String),
    Inference(String),
}

/// Position of a key in the newest-first order: (created_at in ms, creation sequence).
type OrderKey = (i64, u64);

/// What listing needs to know about a key, kept in one flat, sorted vector so that skipping
/// thousands of keys to reach an `offset` is a quick scan.
#[derive(Clone, Debug)]
struct ListEntry {
    order: OrderKey,
    /// `i64::MAX` for keys that never expire.
    expires_ms: i64,
    disabled: bool,
    workspace_id: String,
    hash: String,
}

impl ListEntry {
    fn of(record: &KeyRecord) -> Self {
        Self {
            order: (record.created_at.timestamp_millis(), record.seq),
            expires_ms: record
                .expires_at
                .map_or(i64::MAX, |at| at.timestamp_millis()),
            disabled: record.disabled,
            workspace_id: record.workspace_id.clone(),
            hash: record.hash.clone(),
        }
    }
}

/// Everything the emulator knows. Guarded by one mutex in [`crate::app::App`].
#[derive(Debug, Default)]
pub struct State {
    keys: HashMap<String, KeyRecord>,
    /// Every key, oldest first.
    listing: Vec<ListEntry>,
    next_seq: u64,
    management: HashMap<String, ManagementKey>,
    pub clock_offset_ms: i64,
    pub total_credits: f64,
    pub retired: RetiredUsage,
}

/// What `--state FILE` holds.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub keys: Vec<KeyRecord>,
    pub next_seq: u64,
    pub management_keys: Vec<ManagementKey>,
    pub clock_offset_ms: i64,
    pub total_credits: f64,
    #[serde(default)]
    pub retired: RetiredUsage,
}

/// Filters of `GET /keys`.
#[derive(Clone, Debug)]
pub struct ListFilter<'a> {
    pub include_disabled: bool,
    pub include_expired: bool,
    pub workspace_id: &'a str,
}

pub const PAGE_SIZE: usize = 100;

impl State {
    pub fn new() -> Self {
        Self {
            total_credits: INITIAL_CREDITS,
            ..Self::default()
        }
    }

    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let mut state = Self {
            next_seq: snapshot.next_seq,
            clock_offset_ms: snapshot.clock_offset_ms,
            total_credits: snapshot.total_credits,
            retired: snapshot.retired,
            ..Self::default()
        };
        for key in snapshot.management_keys {
            state.management.insert(key.hash.clone(), key);
        }
        for key in snapshot.keys {
            state.next_seq = state.next_seq.max(key.seq.saturating_add(1));
            state.insert(key);
        }
        state
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: 1,
            keys: self.all_newest_first().cloned().collect(),
            next_seq: self.next_seq,
            management_keys: self.management.values().cloned().collect(),
            clock_offset_ms: self.clock_offset_ms,
            total_credits: self.total_credits,
            retired: self.retired.clone(),
        }
    }

    /// The emulator's "now": real time shifted by the clock offset.
    pub fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        TimeDelta::try_milliseconds(self.clock_offset_ms)
            .and_then(|offset| real.checked_add_signed(offset))
            .unwrap_or(real)
    }

    /// Forgets keys, usage, credits and the clock offset; management keys stay.
    pub fn reset(&mut self) {
        let management = std::mem::take(&mut self.management);
        *self = Self::new();
        self.management = management;
    }

    /// Adds a management key; false when the emulator already holds the most it keeps.
    pub fn add_management_key(&mut self, secret: &str) -> bool {
        let key = ManagementKey::from_secret(secret);
        if self.management.len() >= MAX_MANAGEMENT_KEYS && !self.management.contains_key(&key.hash)
        {
            return false;
        }
        self.management.insert(key.hash.clone(), key);
        true
    }

    pub fn management_key(&self, hash: &str) -> Option<&ManagementKey> {
        self.management.get(hash)
    }

    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let hash = sha256_hex(token);
        if self.management.contains_key(&hash) {
            Some(Caller::Management(hash))
        } else if self.keys.contains_key(&hash) {
            Some(Caller::Inference(hash))
        } else {
            None
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    pub fn insert(&mut self, record: KeyRecord) {
        self.detach(&record.hash);
        let entry = ListEntry::of(&record);
        let position = self
            .listing
            .partition_point(|existing| existing.order < entry.order);
        self.listing.insert(position, entry);
        self.keys.insert(record.hash.clone(), record);
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn get(&self, hash: &str) -> Option<&KeyRecord> {
        self.keys.get(hash)
    }

    /// For changes that do not affect listing (usage); use [`State::patch`] for the others.
    pub fn get_mut(&mut self, hash: &str) -> Option<&mut KeyRecord> {
        self.keys.get_mut(hash)
    }

    /// Changes a key and keeps the listing in step (disabled, workspace).
    pub fn patch<R>(&mut self, hash: &str, change: impl FnOnce(&mut KeyRecord) -> R) -> Option<R> {
        let record = self.keys.get_mut(hash)?;
        let result = change(record);
        let entry = ListEntry::of(record);
        if let Ok(position) = self
            .listing
            .binary_search_by(|existing| existing.order.cmp(&entry.order))
        {
            self.listing[position] = entry;
        }
        Some(result)
    }

    /// Takes a key out of the map and the listing.
    fn detach(&mut self, hash: &str) -> Option<KeyRecord> {
        let record = self.keys.remove(hash)?;
        let order = ListEntry::of(&record).order;
        if let Ok(position) = self
            .listing
            .binary_search_by(|existing| existing.order.cmp(&order))
        {
            self.listing.remove(position);
        }
        Some(record)
    }

    /// Deletes a key; its spend stays in the account's credits and activity.
    pub fn remove(&mut self, hash: &str, today: NaiveDate) -> Option<KeyRecord> {
        let record = self.detach(hash)?;
        self.retired.total_usage += record.total_usage;
        for (date, buckets) in record.days.iter() {
            let day = self.retired.days.entry(*date).or_default();
            for bucket in buckets {
                match day.iter_mut().find(|(workspace, creator, existing)| {
                    *workspace == record.workspace_id
                        && *creator == record.creator_user_id
                        && existing.model == bucket.model
                }) {
                    Some((_, _, existing)) => existing.absorb(bucket),
                    None => day.push((
                        record.workspace_id.clone(),
                        record.creator_user_id.clone(),
                        bucket.clone(),
                    )),
                }
            }
        }
        if let Some(cutoff) = today.checked_sub_days(Days::new(BUCKET_RETENTION_DAYS))
            && self
                .retired
                .days
                .first_key_value()
                .is_some_and(|(oldest, _)| *oldest < cutoff)
        {
            self.retired.days = self.retired.days.split_off(&cutoff);
        }
        Some(record)
    }

    /// Every key, newest first.
    pub fn all_newest_first(&self) -> impl Iterator<Item = &KeyRecord> {
        self.listing
            .iter()
            .rev()
            .filter_map(|entry| self.keys.get(&entry.hash))
    }

    /// One page of `GET /keys`: up to 100 keys from `offset`, newest first. A plain loop over the
    /// flat listing: it stays fast even unoptimised, with 10,000 keys and a large offset.
    pub fn list_page(
        &self,
        filter: &ListFilter<'_>,
        offset: usize,
        now: DateTime<Utc>,
    ) -> Vec<&KeyRecord> {
        let now_ms = now.timestamp_millis();
        let mut page = Vec::with_capacity(PAGE_SIZE);
        let mut skipped = 0;
        for entry in self.listing.iter().rev() {
            if (!filter.include_disabled && entry.disabled)
                || (!filter.include_expired && entry.expires_ms <= now_ms)
                || entry.workspace_id != filter.workspace_id
            {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if let Some(record) = self.keys.get(&entry.hash) {
                page.push(record);
            }
            if page.len() == PAGE_SIZE {
                break;
            }
        }
        page
    }

    /// Lifetime credit spend of the account (BYOK excluded: it is not paid with credits).
    pub fn total_usage(&self) -> f64 {
        self.retired.total_usage + self.keys.values().map(|key| key.total_usage).sum::<f64>()
    }

    pub fn retired(&self) -> &RetiredUsage {
        &self.retired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn limit_reset_names_agree_in_serde_and_strum() {
        for &reset in LimitReset::VARIANTS {
            let name: &'static str = reset.into();
            assert_eq!(serde_json::to_value(reset).unwrap(), name);
            assert_eq!(name.parse::<LimitReset>().unwrap(), reset);
        }
        assert!("Daily".parse::<LimitReset>().is_err());
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekly_window_runs_monday_to_sunday() {
        // 2026-11-23 is a Monday.
        assert_eq!(
            LimitReset::Weekly.window_start(date("2026-11-23")),
            date("2026-11-23")
        );
        assert_eq!(
            LimitReset::Weekly.window_start(date("2026-11-29")),
            date("2026-11-23")
        );
        assert_eq!(
            LimitReset::Weekly.window_start(date("2026-11-30")),
            date("2026-11-30")
        );
        assert_eq!(
            LimitReset::Weekly
                .next_reset(date("2026-11-29"))
                .map(wire_time)
                .as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
    }

    #[test]
    fn monthly_and_daily_resets() {
        assert_eq!(
            LimitReset::Monthly
                .next_reset(date("2026-12-31"))
                .map(wire_time)
                .as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            LimitReset::Daily
                .next_reset(date("2026-02-28"))
                .map(wire_time)
                .as_deref(),
            Some("2026-03-01T00:00:00Z")
        );
    }

    #[test]
    fn label_masks_the_secret() {
        let secret = "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";
        assert_eq!(label_for(secret), "sk-or-v1-d35...55d");
    }

    #[test]
    fn money_removes_float_noise() {
        assert_eq!(money(0.1 + 0.2), 0.3);
        assert_eq!(money(f64::NAN), 0.0);
    }
}
