//! What crosses to a front end: the argument and result types of the service's operations (and so of
//! the desktop app's commands), its events and its error shape. Each derives `ts_rs::TS`, so the UI's
//! TypeScript types are generated from these and never written twice. Secrets appear in exactly two
//! places: arguments the person typed (`SecretString`, redacted in Debug) and `CreatedKey::secret`, the
//! one-shot result of a create.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use ts_rs::TS;

use crate::Error;
use crate::api::{self, ApiKey, CurrentKey};
use crate::store::{self, SecretIndexEntry, SecretState};

// --- Errors ---------------------------------------------------------------------------------------

/// Every `Error::kind()` tag, as a closed set the UI can switch on exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidInput,
    Unauthorized,
    Forbidden,
    NotManagementKey,
    NotFound,
    Conflict,
    RateLimited,
    Server,
    Network,
    Timeout,
    Decode,
    KeychainUnavailable,
    KeychainLocked,
    KeychainDenied,
    SecretNotFound,
    Keychain,
    Store,
    ProfileNameTaken,
    ProfileNotFound,
    ProfileHoldsSecrets,
    Internal,
}

impl ErrorKind {
    /// The kind of an `Error::kind()` tag; an unknown tag (a variant added without updating this
    /// enum, which a unit test catches) is `Internal`.
    pub fn from_tag(tag: &str) -> ErrorKind {
        serde_json::from_value(serde_json::Value::String(tag.to_owned()))
            .unwrap_or(ErrorKind::Internal)
    }
}

/// An error as the UI receives it: `kind` to react on, `message` to show, `field` naming the input
/// at fault (argument names: `name`, `limit`, `expires_at`, `base_url`, `management_key`, …), and
/// `retry_after_ms` when waiting helps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_ms: Option<u64>,
}

impl From<&Error> for AppError {
    fn from(error: &Error) -> Self {
        let field = match error {
            Error::InvalidInput { field, .. } => field.clone(),
            // Shown beside the name input of the profile form.
            Error::ProfileNameTaken { .. } => Some("name".to_owned()),
            _ => None,
        };
        AppError {
            kind: ErrorKind::from_tag(error.kind()),
            message: error.to_string(),
            field,
            retry_after_ms: error
                .retry_after()
                .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        AppError::from(&error)
    }
}

// --- Profiles and app state -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub workspace_id: Option<String>,
    /// On the embedded emulator with demo keys: never a real account.
    pub is_sandbox: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<store::Profile> for Profile {
    fn from(profile: store::Profile) -> Self {
        Profile {
            id: profile.id,
            name: profile.name,
            base_url: profile.base_url,
            workspace_id: profile.workspace_id,
            is_sandbox: profile.is_sandbox,
            created_at: profile.created_at,
            last_used_at: profile.last_used_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PendingSecretState {
    /// Shown once, not yet confirmed as stored elsewhere.
    Pending,
    /// The person asked Keyward to keep it in the OS keychain.
    Kept,
}

/// A created key whose secret Keyward holds in the OS keychain. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PendingSecret {
    pub profile_id: String,
    pub key_hash: String,
    pub key_name: String,
    /// The masked key (`sk-or-v1-d35...55d`); empty if OpenRouter gave none.
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub state: PendingSecretState,
}

impl From<SecretIndexEntry> for PendingSecret {
    fn from(entry: SecretIndexEntry) -> Self {
        PendingSecret {
            profile_id: entry.profile_id,
            key_hash: entry.key_hash,
            key_name: entry.key_name,
            label: entry.label.unwrap_or_default(),
            created_at: entry.created_at,
            state: match entry.state {
                SecretState::Pending => PendingSecretState::Pending,
                SecretState::Kept => PendingSecretState::Kept,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppState {
    /// By name.
    pub profiles: Vec<Profile>,
    /// `None` (with no profiles) means: show the welcome screen.
    pub active_profile_id: Option<String>,
    /// Every held secret, pending ones (to resolve) and kept ones (to copy again), oldest first.
    pub pending_secrets: Vec<PendingSecret>,
}

// --- Keys -----------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LimitReset {
    Daily,
    Weekly,
    Monthly,
}

impl From<LimitReset> for api::LimitReset {
    fn from(reset: LimitReset) -> Self {
        match reset {
            LimitReset::Daily => api::LimitReset::Daily,
            LimitReset::Weekly => api::LimitReset::Weekly,
            LimitReset::Monthly => api::LimitReset::Monthly,
        }
    }
}

/// Derived from a key and the current time: `expired` wins over `disabled` (re-enabling an expired
/// key would not make it usable), `disabled` over `active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    Disabled,
    Expired,
}

impl KeyStatus {
    pub fn of(key: &ApiKey, now: DateTime<Utc>) -> KeyStatus {
        if key.is_expired(now) {
            KeyStatus::Expired
        } else if key.disabled {
            KeyStatus::Disabled
        } else {
            KeyStatus::Active
        }
    }
}

/// An OpenRouter key object as the UI sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyInfo {
    pub hash: String,
    pub name: String,
    pub label: String,
    pub disabled: bool,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    /// `daily`, `weekly`, `monthly`, or a newer value OpenRouter may add.
    pub limit_reset: Option<String>,
    pub include_byok_in_limit: bool,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_weekly: f64,
    pub usage_monthly: f64,
    pub byok_usage: f64,
    pub byok_usage_daily: f64,
    pub byok_usage_weekly: f64,
    pub byok_usage_monthly: f64,
    /// `null` only when OpenRouter sent a timestamp Keyward can't read.
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub creator_user_id: Option<String>,
    pub external_user: Option<String>,
    pub workspace_id: Option<String>,
}

impl From<&ApiKey> for KeyInfo {
    fn from(key: &ApiKey) -> Self {
        KeyInfo {
            hash: key.hash.clone(),
            name: key.name.clone(),
            label: key.label.clone(),
            disabled: key.disabled,
            limit: key.limit,
            limit_remaining: key.limit_remaining,
            limit_reset: key
                .limit_reset
                .as_ref()
                .map(|reset| reset.as_str().to_owned()),
            include_byok_in_limit: key.include_byok_in_limit,
            usage: key.usage,
            usage_daily: key.usage_daily,
            usage_weekly: key.usage_weekly,
            usage_monthly: key.usage_monthly,
            byok_usage: key.byok_usage,
            byok_usage_daily: key.byok_usage_daily,
            byok_usage_weekly: key.byok_usage_weekly,
            byok_usage_monthly: key.byok_usage_monthly,
            created_at: key.created_at,
            updated_at: key.updated_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            creator_user_id: key.creator_user_id.clone(),
            external_user: key.external_user.clone(),
            workspace_id: key.workspace_id.clone(),
        }
    }
}

/// A key plus its derived status, flattened into one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyRow {
    #[serde(flatten)]
    #[ts(flatten)]
    pub key: KeyInfo,
    pub status: KeyStatus,
}

impl KeyRow {
    pub fn new(key: &ApiKey, now: DateTime<Utc>) -> KeyRow {
        KeyRow {
            key: KeyInfo::from(key),
            status: KeyStatus::of(key, now),
        }
    }
}

/// Whether the last refresh of a profile reached OpenRouter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connectivity {
    Online,
    /// Unreachable (network, timeout, 5xx) since `since`: the list is the cached one, read-only.
    /// `next_retry_at`: when Keyward tries again by itself; `null` when it won't (no automatic
    /// recovery configured).
    Offline {
        error: AppError,
        since: DateTime<Utc>,
        next_retry_at: Option<DateTime<Utc>>,
    },
    /// OpenRouter asked to wait until `retry_at`: the list is the cached one, and Keyward tries
    /// again by itself then.
    RateLimited {
        retry_at: DateTime<Utc>,
        error: AppError,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeysSnapshot {
    pub profile_id: String,
    /// Newest first, filtered by the request's include flags.
    pub keys: Vec<KeyRow>,
    /// When the list was last fetched from OpenRouter; `null` if never.
    pub fetched_at: Option<DateTime<Utc>>,
    /// True when this is the stored list, not a fresh answer.
    pub from_cache: bool,
    pub connectivity: Connectivity,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct Credits {
    pub total_credits: f64,
    pub total_usage: f64,
}

impl From<api::Credits> for Credits {
    fn from(credits: api::Credits) -> Self {
        Credits {
            total_credits: credits.total_credits,
            total_usage: credits.total_usage,
        }
    }
}

/// What GET /key says about a pasted key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CheckedKey {
    pub label: String,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<String>,
    pub include_byok_in_limit: bool,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_weekly: f64,
    pub usage_monthly: f64,
    pub is_free_tier: bool,
    pub is_management_key: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&CurrentKey> for CheckedKey {
    fn from(key: &CurrentKey) -> Self {
        CheckedKey {
            label: key.label.clone(),
            limit: key.limit,
            limit_remaining: key.limit_remaining,
            limit_reset: key
                .limit_reset
                .as_ref()
                .map(|reset| reset.as_str().to_owned()),
            include_byok_in_limit: key.include_byok_in_limit,
            usage: key.usage,
            usage_daily: key.usage_daily,
            usage_weekly: key.usage_weekly,
            usage_monthly: key.usage_monthly,
            is_free_tier: key.is_free_tier,
            is_management_key: key.can_manage_keys(),
            expires_at: key.expires_at,
        }
    }
}

/// The result of a create: the only value that ever carries a created key's secret to the UI, once.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CreatedKey {
    pub key: KeyRow,
    pub secret: String,
    /// True when the secret is already in the OS keychain as pending.
    pub pending_saved: bool,
    /// Why it is not (the UI must then insist the person copies it now).
    pub keychain_error: Option<AppError>,
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &"[REDACTED]")
            .field("pending_saved", &self.pending_saved)
            .field("keychain_error", &self.keychain_error)
            .finish()
    }
}

// --- Arguments ------------------------------------------------------------------------------------

/// The arguments of commands that take none: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(type = "Record<string, never>")]
pub struct EmptyArgs {}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ProfileAddArgs {
    pub name: String,
    /// `null` = OpenRouter's API.
    pub base_url: Option<String>,
    pub workspace_id: Option<String>,
    #[ts(type = "string")]
    pub management_key: SecretString,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct ProfileReplaceKeyArgs {
    pub id: String,
    #[ts(type = "string")]
    pub management_key: SecretString,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfileRenameArgs {
    pub id: String,
    pub name: String,
}

/// Arguments of `profile_remove` and `profile_switch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfileIdArgs {
    pub id: String,
}

/// Arguments of commands about one profile as a whole (`credits_get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfileScopedArgs {
    pub profile_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KeysListArgs {
    pub profile_id: String,
    pub include_disabled: bool,
    pub include_expired: bool,
    /// False answers from the cache at once; true fetches from OpenRouter first.
    pub refresh: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CreateKeyArgs {
    pub profile_id: String,
    pub name: String,
    pub limit: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    pub include_byok_in_limit: bool,
    /// RFC 3339 with a zone (`2030-01-31T23:59:59Z`); `null` = never expires.
    pub expires_at: Option<String>,
}

/// A field left out = unchanged; `null` = clear (`limit`, `limit_reset`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
pub struct UpdateKeyArgs {
    pub profile_id: String,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub disabled: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[ts(optional)]
    pub limit: Option<Option<f64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[ts(optional)]
    pub limit_reset: Option<Option<LimitReset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub include_byok_in_limit: Option<bool>,
}

/// A field that is present (even as `null`) is `Some`; with `#[serde(default)]` an absent one is
/// `None`. That keeps "clear" (`null`) apart from "leave alone" (absent).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KeyDeleteArgs {
    pub profile_id: String,
    pub hash: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
pub struct KeyCheckArgs {
    #[ts(type = "string")]
    pub secret: SecretString,
    /// `null` = OpenRouter's API.
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SecretCopyArgs {
    pub profile_id: String,
    pub key_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PendingAction {
    /// The person stored the secret elsewhere: delete it from the keychain.
    Forget,
    /// Keep it in the OS keychain (it stays listed, as `kept`).
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PendingResolveArgs {
    pub profile_id: String,
    pub key_hash: String,
    pub action: PendingAction,
}

/// The result of `secret_copy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SecretCopied {
    /// When the clipboard is cleared (if it still holds the secret then).
    pub clears_at: DateTime<Utc>,
}

// --- Events ---------------------------------------------------------------------------------------

/// Payload of `keys-changed`: the cached key list of that profile changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KeysChangedEvent {
    pub profile_id: String,
}

/// Payload of `connectivity`: the result of the latest refresh of that profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectivityEvent {
    pub profile_id: String,
    pub connectivity: Connectivity,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_error_kind_has_a_variant() {
        let samples = [
            Error::Unauthorized {
                message: String::new(),
            },
            Error::Forbidden {
                message: String::new(),
            },
            Error::NotFound {
                message: String::new(),
            },
            Error::Conflict {
                message: String::new(),
            },
            Error::RateLimited {
                retry_after: Some(Duration::from_millis(1500)),
                message: String::new(),
            },
            Error::Server {
                status: 500,
                message: String::new(),
            },
            Error::Network {
                host: String::new(),
                message: String::new(),
            },
            Error::Timeout {
                host: String::new(),
                after: Duration::from_secs(1),
            },
            Error::Decode {
                message: String::new(),
            },
            Error::invalid("limit", "bad"),
            Error::KeychainUnavailable {
                message: String::new(),
            },
            Error::KeychainLocked {
                message: String::new(),
            },
            Error::KeychainDenied {
                message: String::new(),
            },
            Error::SecretNotFound {
                what: String::new(),
            },
            Error::Keychain {
                message: String::new(),
            },
            Error::Store {
                message: String::new(),
            },
            Error::ProfileNameTaken {
                name: String::new(),
            },
            Error::ProfileNotFound { id: String::new() },
            Error::ProfileHoldsSecrets {
                name: String::new(),
                pending: 1,
                kept: 0,
            },
            Error::NotManagementKey {
                label: "sk-or-v1-abc...def".into(),
            },
        ];
        for error in &samples {
            let app = AppError::from(error);
            assert_ne!(app.kind, ErrorKind::Internal, "{}", error.kind());
            assert_eq!(
                serde_json::to_value(app.kind).unwrap(),
                serde_json::Value::String(error.kind().to_owned())
            );
        }
        let internal = Error::Internal {
            message: "x".into(),
        };
        assert_eq!(AppError::from(&internal).kind, ErrorKind::Internal);
        let limited = AppError::from(&samples[4]);
        assert_eq!(limited.retry_after_ms, Some(1500));
        let invalid = AppError::from(&samples[9]);
        assert_eq!(invalid.field.as_deref(), Some("limit"));
        let taken = AppError::from(&samples[16]);
        assert_eq!(taken.field.as_deref(), Some("name"));
    }

    #[test]
    fn app_error_serializes_every_field() {
        let json = serde_json::to_value(AppError::from(&Error::Unauthorized {
            message: "Invalid API key".into(),
        }))
        .unwrap();
        assert_eq!(json["kind"], "unauthorized");
        assert!(json["field"].is_null());
        assert!(json["retry_after_ms"].is_null());
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("Invalid API key")
        );
    }

    #[test]
    fn update_args_keep_null_apart_from_absent() {
        let parsed: UpdateKeyArgs = serde_json::from_value(serde_json::json!({
            "profile_id": "p", "hash": "h", "limit": null, "disabled": true
        }))
        .unwrap();
        assert_eq!(parsed.limit, Some(None));
        assert_eq!(parsed.limit_reset, None);
        assert_eq!(parsed.disabled, Some(true));
        let set: UpdateKeyArgs = serde_json::from_value(serde_json::json!({
            "profile_id": "p", "hash": "h", "limit": 5.5, "limit_reset": "weekly"
        }))
        .unwrap();
        assert_eq!(set.limit, Some(Some(5.5)));
        assert_eq!(set.limit_reset, Some(Some(LimitReset::Weekly)));
    }

    #[test]
    fn connectivity_is_tagged_by_state() {
        let online = serde_json::to_value(Connectivity::Online).unwrap();
        assert_eq!(online, serde_json::json!({"state": "online"}));
        let at = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let limited = serde_json::to_value(Connectivity::RateLimited {
            retry_at: at,
            error: AppError::from(&Error::RateLimited {
                retry_after: None,
                message: "slow".into(),
            }),
        })
        .unwrap();
        assert_eq!(limited["state"], "rate_limited");
        assert_eq!(limited["retry_at"], "2030-01-01T00:00:00Z");
        let offline = serde_json::to_value(Connectivity::Offline {
            error: AppError::from(&Error::Network {
                host: "openrouter.ai".into(),
                message: "refused".into(),
            }),
            since: at,
            next_retry_at: None,
        })
        .unwrap();
        assert_eq!(offline["state"], "offline");
        assert_eq!(offline["next_retry_at"], serde_json::Value::Null);
    }

    #[test]
    fn created_key_debug_hides_the_secret() {
        let key: ApiKey = serde_json::from_value(serde_json::json!({
            "hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
            "name": "k", "label": "sk-or-v1-d35...55d", "disabled": false, "limit": null,
            "limit_remaining": null, "limit_reset": null, "include_byok_in_limit": false,
            "usage": 0, "usage_daily": 0, "usage_weekly": 0, "usage_monthly": 0, "byok_usage": 0,
            "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": null, "expires_at": null
        }))
        .unwrap();
        let created = CreatedKey {
            key: KeyRow::new(&key, Utc::now()),
            secret: "sk-or-v1-topsecret".into(),
            pending_saved: true,
            keychain_error: None,
        };
        assert!(!format!("{created:?}").contains("topsecret"));
        let row = serde_json::to_value(&created.key).unwrap();
        assert_eq!(row["status"], "active");
        assert_eq!(row["hash"], key.hash);
    }
}
