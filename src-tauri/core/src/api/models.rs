//! Typed answers of the keys API (reference §3, §4.6–4.8). Every model ignores unknown fields and
//! defaults the fields one of the two SDKs lacks, so a newer or older server still parses.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use ts_rs::TS;

use crate::Error;

/// When a key's spending limit starts over (UTC midnight; weeks run Monday–Sunday).
///
/// The server types this as a plain string, so a value Keyward does not know is kept as `Other`
/// (serialized back as the server's word) instead of failing the whole list; requests refuse `Other`
/// in validation. serde and strum both name the known values in snake_case.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum LimitReset {
    Daily,
    Weekly,
    Monthly,
    #[serde(untagged)]
    #[strum(default)]
    Other(String),
}

impl LimitReset {
    /// Parses what a person typed (CLI flag, UI field): case and surrounding blanks don't matter;
    /// anything but daily/weekly/monthly is an `InvalidInput` naming `limit_reset`.
    pub fn from_input(input: &str) -> Result<Self, Error> {
        match input.trim().parse() {
            Ok(LimitReset::Other(_)) | Err(_) => Err(Error::invalid(
                "limit_reset",
                format!("\"{}\" is not one of daily, weekly, monthly", input.trim()),
            )),
            Ok(known) => Ok(known),
        }
    }
}

/// One API key as the management endpoints describe it (reference §3), and as the UI lists it (see
/// `ipc::KeyRow`). Never holds the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ApiKey {
    pub hash: String,
    pub name: String,
    /// A masked form of the key, e.g. `sk-or-v1-d35...55d`.
    pub label: String,
    pub disabled: bool,
    /// Spending cap in USD; `None` = no cap.
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    #[serde(default)]
    pub include_byok_in_limit: bool,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_weekly: f64,
    pub usage_monthly: f64,
    pub byok_usage: f64,
    pub byok_usage_daily: f64,
    pub byok_usage_weekly: f64,
    pub byok_usage_monthly: f64,
    /// A plain string in both SDKs: parsed leniently, `None` when absent or in a format Keyward
    /// can't read (the key itself still lists).
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub creator_user_id: Option<String>,
    #[serde(default)]
    pub external_user: Option<String>,
    /// Required by the SDKs, absent from the older docs spec.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Python SDK 1.3.84 only.
    #[serde(default, deserialize_with = "zoned_datetime")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// `None` = never expires.
    #[serde(default, deserialize_with = "zoned_datetime")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The answer to `POST /keys`: the plaintext key (shown once, only ever as a `SecretString`) and the
/// new key's metadata. Debug prints `[REDACTED]` for the secret. (`ipc::CreatedKey` is what the UI
/// receives after Keyward has held the secret.)
#[derive(Debug)]
pub struct NewKey {
    pub secret: SecretString,
    pub key: ApiKey,
}

/// `GET /key`: what the calling key is (any key, management or inference). Reference §4.6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentKey {
    pub label: String,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    #[serde(default)]
    pub include_byok_in_limit: bool,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_weekly: f64,
    pub usage_monthly: f64,
    pub byok_usage: f64,
    pub byok_usage_daily: f64,
    pub byok_usage_weekly: f64,
    pub byok_usage_monthly: f64,
    #[serde(default)]
    pub is_free_tier: bool,
    #[serde(default)]
    pub is_management_key: bool,
    /// Deprecated alias of `is_management_key`.
    #[serde(default)]
    pub is_provisioning_key: bool,
    /// Deprecated by OpenRouter ("always returns -1").
    #[serde(default)]
    pub rate_limit: Option<RateLimitInfo>,
    #[serde(default)]
    pub creator_user_id: Option<String>,
    /// `None` = a personal account.
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Open enum on the server (`global`, `europe`, `us`, …): kept as text.
    #[serde(default)]
    pub allowed_data_regions: Vec<String>,
    #[serde(default)]
    pub free_model_daily_requests: Option<FreeModelDailyRequests>,
    /// Python SDK 1.3.84 only.
    #[serde(default)]
    pub budgets: Vec<KeyBudget>,
    #[serde(default)]
    pub effective_budget: Option<KeyBudget>,
    #[serde(default, deserialize_with = "zoned_datetime")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl CurrentKey {
    /// True for management keys under either the current or the deprecated flag name.
    pub fn can_manage_keys(&self) -> bool {
        self.is_management_key || self.is_provisioning_key
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitInfo {
    pub requests: i64,
    pub interval: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreeModelDailyRequests {
    pub limit: i64,
    pub remaining: i64,
    pub used: i64,
}

/// One budget that applies to the calling key (`GET /key`, Python SDK 1.3.84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyBudget {
    /// `workspace_default_member`, `workspace_default_key`, `member`, `api_key`, `workspace`,
    /// `key_limit`, or a newer scope: kept as text.
    pub scope: String,
    #[serde(default)]
    pub budget_id: Option<String>,
    #[serde(default)]
    pub guardrail_id: Option<String>,
    #[serde(default)]
    pub include_byok: bool,
    pub limit_usd: f64,
    pub spend_usd: f64,
    pub remaining_usd: f64,
    #[serde(default)]
    pub reset_interval: Option<LimitReset>,
    #[serde(default, deserialize_with = "zoned_datetime")]
    pub resets_at: Option<DateTime<Utc>>,
}

/// `GET /credits`, both in USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct Credits {
    pub total_credits: f64,
    pub total_usage: f64,
}

impl Credits {
    pub fn remaining(&self) -> f64 {
        self.total_credits - self.total_usage
    }
}

/// One row of `GET /activity`: a day × model × endpoint aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub date: String,
    pub model: String,
    #[serde(default)]
    pub model_permaslug: String,
    #[serde(default)]
    pub endpoint_id: String,
    #[serde(default)]
    pub provider_name: String,
    pub usage: f64,
    #[serde(default)]
    pub byok_usage_inference: f64,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Python SDK 1.3.84 only.
    #[serde(default)]
    pub cached_tokens: u64,
    /// Only with `group_by=workspace`.
    #[serde(default)]
    pub workspace_id: Option<String>,
}

impl ActivityItem {
    /// The `date` column as a date, when it is `YYYY-MM-DD` (or starts with it).
    pub fn day(&self) -> Option<NaiveDate> {
        self.date
            .get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
    }
}

/// `{"data": …}`, the envelope of every successful answer but create and delete.
#[derive(Deserialize)]
pub(crate) struct DataEnvelope<T> {
    pub data: T,
}

#[derive(Deserialize)]
pub(crate) struct DeleteResponse {
    /// Python defaults a missing key to true; so do we. `false` is an error (reference §2.6).
    #[serde(default = "default_true")]
    pub deleted: bool,
}

fn default_true() -> bool {
    true
}

/// Parses the datetime forms a server might send, most specific first: RFC 3339 with `Z` or an offset
/// (fractional seconds optional), the same with a space instead of `T`, and zone-less forms taken as
/// UTC (the API only speaks UTC). `None` if nothing matches.
pub fn parse_server_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    for zoned in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(parsed) = DateTime::parse_from_str(text, zoned) {
            return Some(parsed.with_timezone(&Utc));
        }
    }
    let zoneless = text.trim_end_matches(['Z', 'z']);
    for naive in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(zoneless, naive) {
            return Some(parsed.and_utc());
        }
    }
    NaiveDate::parse_from_str(zoneless, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
}

/// For `created_at` / `updated_at` (plain strings in the SDKs): never fails; an unreadable value is
/// logged and becomes `None`.
pub(crate) fn lenient_datetime<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match raw {
        Some(serde_json::Value::String(text)) => {
            let parsed = parse_server_datetime(&text);
            if parsed.is_none() {
                tracing::warn!(value = %text, "unreadable timestamp from OpenRouter; ignoring it");
            }
            parsed
        }
        Some(serde_json::Value::Number(epoch)) => epoch
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0)),
        _ => None,
    })
}

/// For typed datetimes (`expires_at`, `last_used_at`, `resets_at`): lenient about the format, but an
/// unreadable value is an error — reading a garbled `expires_at` as "never expires" would hide an
/// expiry from the alerts.
fn zoned_datetime<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_server_datetime(&text).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("\"{text}\" is not an ISO 8601 datetime"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use secrecy::ExposeSecret;

    /// Reference examples (shared/reference/examples) inlined, so the tests run from a clean clone.
    const CURRENT_KEY_EXAMPLE: &str = r#"{"data": {"label": "sk-or-v1-au7...890", "limit": 100.0, "limit_remaining": 74.5, "limit_reset": "monthly", "include_byok_in_limit": false, "usage": 25.5, "usage_daily": 1.25, "usage_weekly": 5.0, "usage_monthly": 25.5, "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0, "is_free_tier": false, "is_management_key": false, "is_provisioning_key": false, "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."}, "expires_at": null, "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000", "organization_id": null, "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11", "allowed_data_regions": ["global", "europe", "us"], "free_model_daily_requests": {"limit": 1000, "remaining": 997, "used": 3}, "budgets": [{"scope": "key_limit", "budget_id": null, "guardrail_id": null, "include_byok": false, "limit_usd": 100.0, "spend_usd": 25.5, "remaining_usd": 74.5, "reset_interval": "monthly", "resets_at": "2025-09-01T00:00:00Z"}], "effective_budget": {"scope": "key_limit", "budget_id": null, "guardrail_id": null, "include_byok": false, "limit_usd": 100.0, "spend_usd": 25.5, "remaining_usd": 74.5, "reset_interval": "monthly", "resets_at": "2025-09-01T00:00:00Z"}}}"#;
    const ACTIVITY_EXAMPLE: &str = r#"{"data": [{"date": "2025-08-24", "model": "openai/gpt-4.1", "model_permaslug": "openai/gpt-4.1-2025-04-14", "endpoint_id": "550e8400-e29b-41d4-a716-446655440000", "provider_name": "OpenAI", "usage": 0.015, "byok_usage_inference": 0.0, "requests": 5, "prompt_tokens": 50, "completion_tokens": 125, "reasoning_tokens": 0, "cached_tokens": 0}]}"#;

    fn example(name: &str) -> serde_json::Value {
        let key = key_json();
        match name {
            "get.json" | "update.json" => serde_json::json!({ "data": key }),
            "list.json" => serde_json::json!({ "data": [key] }),
            "create.json" => serde_json::json!({
                "key": "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",
                "data": key
            }),
            "current_key.json" => serde_json::from_str(CURRENT_KEY_EXAMPLE).unwrap(),
            "activity.json" => serde_json::from_str(ACTIVITY_EXAMPLE).unwrap(),
            "credits.json" => {
                serde_json::json!({"data": {"total_credits": 100.5, "total_usage": 25.75}})
            }
            "delete.json" => serde_json::json!({"deleted": true}),
            other => panic!("no example {other}"),
        }
    }

    fn key_json() -> serde_json::Value {
        serde_json::json!({
            "hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
            "name": "Customer Key", "label": "sk-or-v1-d35...55d", "disabled": false,
            "limit": 100.0, "limit_remaining": 74.5, "limit_reset": "monthly",
            "include_byok_in_limit": false,
            "usage": 25.5, "usage_daily": 1.25, "usage_weekly": 5.0, "usage_monthly": 25.5,
            "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0,
            "byok_usage_monthly": 0.0,
            "created_at": "2025-08-24T10:30:00Z", "updated_at": "2025-08-24T15:45:00+00:00",
            "expires_at": "2027-12-31T23:59:59.250Z", "last_used_at": null,
            "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000", "external_user": null,
            "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11"
        })
    }

    #[test]
    fn key_object_parses_every_field() {
        let key: ApiKey = serde_json::from_value(key_json()).unwrap();
        assert_eq!(key.limit, Some(100.0));
        assert_eq!(key.limit_reset, Some(LimitReset::Monthly));
        assert_eq!(
            key.created_at,
            Some(Utc.with_ymd_and_hms(2025, 8, 24, 10, 30, 0).unwrap())
        );
        assert_eq!(
            key.updated_at,
            Some(Utc.with_ymd_and_hms(2025, 8, 24, 15, 45, 0).unwrap())
        );
        assert_eq!(
            key.expires_at.unwrap().timestamp_millis(),
            Utc.with_ymd_and_hms(2027, 12, 31, 23, 59, 59)
                .unwrap()
                .timestamp_millis()
                + 250
        );
        assert_eq!(key.last_used_at, None);
        assert!(!key.is_expired(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()));
        assert!(key.is_expired(Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap()));
    }

    #[test]
    fn reference_examples_parse() {
        let _: DataEnvelope<ApiKey> = serde_json::from_value(example("get.json")).unwrap();
        let list: DataEnvelope<Vec<ApiKey>> = serde_json::from_value(example("list.json")).unwrap();
        assert!(!list.data.is_empty());
        let created = super::super::created::parse_created(
            &serde_json::to_vec(&example("create.json")).unwrap(),
            &super::super::requests::CreateKeyRequest::new("x"),
        )
        .unwrap();
        assert!(created.secret.expose_secret().starts_with("sk-or-v1-"));
        let current: DataEnvelope<CurrentKey> =
            serde_json::from_value(example("current_key.json")).unwrap();
        assert_eq!(current.data.budgets.len(), 1);
        assert_eq!(
            current.data.effective_budget.unwrap().reset_interval,
            Some(LimitReset::Monthly)
        );
        let credits: DataEnvelope<Credits> =
            serde_json::from_value(example("credits.json")).unwrap();
        assert!(credits.data.total_credits > 0.0);
        let activity: DataEnvelope<Vec<ActivityItem>> =
            serde_json::from_value(example("activity.json")).unwrap();
        assert_eq!(activity.data[0].day(), NaiveDate::from_ymd_opt(2025, 8, 24));
        let deleted: DeleteResponse = serde_json::from_value(example("delete.json")).unwrap();
        assert!(deleted.deleted);
    }

    #[test]
    fn tolerates_unknown_fields_missing_optionals_and_unknown_reset() {
        let mut json = key_json();
        let object = json.as_object_mut().unwrap();
        object.insert("brand_new_field".into(), serde_json::json!({"x": 1}));
        object.remove("last_used_at");
        object.remove("expires_at");
        object.remove("external_user");
        object.insert("limit_reset".into(), "quarterly".into());
        let key: ApiKey = serde_json::from_value(json).unwrap();
        assert_eq!(key.expires_at, None);
        assert_eq!(key.limit_reset, Some(LimitReset::Other("quarterly".into())));
        // Serializing keeps the server's word, so nothing is lost on a round trip.
        assert_eq!(
            serde_json::to_value(&key).unwrap()["limit_reset"],
            "quarterly"
        );
    }

    #[test]
    fn created_at_in_another_format_does_not_fail_the_key() {
        let mut json = key_json();
        json["created_at"] = "yesterday-ish".into();
        json["updated_at"] = "2025-08-24 15:45:00".into();
        let key: ApiKey = serde_json::from_value(json).unwrap();
        assert_eq!(key.created_at, None);
        assert_eq!(
            key.updated_at,
            Some(Utc.with_ymd_and_hms(2025, 8, 24, 15, 45, 0).unwrap())
        );
    }

    #[test]
    fn garbled_expiry_is_an_error_not_never() {
        let mut json = key_json();
        json["expires_at"] = "soon".into();
        assert!(serde_json::from_value::<ApiKey>(json).is_err());
    }

    #[test]
    fn datetime_forms() {
        let expected = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        for text in [
            "2030-01-02T03:04:05Z",
            "2030-01-02T03:04:05+00:00",
            "2030-01-02T05:04:05+02:00",
            "2030-01-02T03:04:05.000Z",
            "2030-01-02 03:04:05Z",
            "2030-01-02 03:04:05+00:00",
            "2030-01-02T03:04:05",
        ] {
            assert_eq!(parse_server_datetime(text), Some(expected), "{text}");
        }
        assert_eq!(parse_server_datetime("not a date"), None);
    }

    #[test]
    fn limit_reset_from_user_text() {
        assert_eq!(
            LimitReset::from_input(" Weekly ").unwrap(),
            LimitReset::Weekly
        );
        let err = LimitReset::from_input("hourly").unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("limit_reset"));
    }

    #[test]
    fn limit_reset_names_agree_in_serde_and_strum() {
        for (reset, name) in [
            (LimitReset::Daily, "daily"),
            (LimitReset::Weekly, "weekly"),
            (LimitReset::Monthly, "monthly"),
            (LimitReset::Other("quarterly".into()), "quarterly"),
        ] {
            assert_eq!(serde_json::to_value(&reset).unwrap(), name);
            assert_eq!(reset.to_string(), name);
            assert_eq!(name.parse::<LimitReset>().unwrap(), reset);
            assert_eq!(
                serde_json::from_value::<LimitReset>(name.into()).unwrap(),
                reset
            );
        }
    }

    #[test]
    fn created_key_debug_hides_the_secret() {
        let created = super::super::created::parse_created(
            &serde_json::to_vec(&example("create.json")).unwrap(),
            &super::super::requests::CreateKeyRequest::new("x"),
        )
        .unwrap();
        let plaintext = created.secret.expose_secret().to_owned();
        let debug = format!("{created:?}");
        assert!(!debug.contains(&plaintext));
        assert!(debug.contains("REDACTED"));
    }
}
