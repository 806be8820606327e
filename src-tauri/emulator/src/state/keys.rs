//! The keys: an API key's record and the JSON shapes it renders as (KeyObject, `/key`), management
//! keys, and the wire helpers (money rounding, timestamps, hashing, labels, new secrets).

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::usage::{DailyUsage, LimitReset, ModelUsage, Spend};
use super::{ACCOUNT_USER_ID, BUCKET_RETENTION_DAYS, DEFAULT_WORKSPACE_ID};

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

    pub fn window_spend(&self, window: Option<LimitReset>, today: NaiveDate) -> Spend {
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
