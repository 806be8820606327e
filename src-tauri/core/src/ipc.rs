//! The desktop IPC surface: the argument and result types of commands, and event payloads, that
//! exist only for the UI. Domain types the UI also shows (`ApiKey`, `Profile`, `Credits`,
//! `LimitReset`, `SecretIndexEntry`, `AppError`, alerts, usage, rotation) derive `ts_rs::TS` where
//! they are defined; the shell generates `ui/src/lib/bindings` from both. Secrets appear in exactly two
//! places: arguments the person typed (`SecretString`, redacted in Debug) and `CreatedKey::secret`,
//! the one-shot result of a create.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::{ApiKey, CurrentKey, LimitReset, Patch};
use crate::error::AppError;
use crate::metadata::KeyMetadata;
use crate::store::{Profile, SecretIndexEntry};

mod workspaces;
pub use workspaces::*;
mod csv_files;
pub use csv_files::*;

// --- Profiles and app state -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppState {
    /// By name.
    pub profiles: Vec<Profile>,
    /// `None` (with no profiles) means: show the welcome screen.
    pub active_profile_id: Option<String>,
    /// Every held secret, pending ones (to resolve) and kept ones (to copy again), oldest first.
    pub pending_secrets: Vec<SecretIndexEntry>,
}

// --- Keys -----------------------------------------------------------------------------------------

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

/// A row of the key list: an `ApiKey` plus its status, flattened into one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyRow {
    #[serde(flatten)]
    #[ts(flatten)]
    pub key: ApiKey,
    pub status: KeyStatus,
    /// Keyward's local tags, environment, project, owner and notes (never sent to OpenRouter).
    #[serde(default)]
    pub metadata: KeyMetadata,
    /// The latest use Keyward knows of (API `last_used_at`, usage snapshots, GET /activity; see
    /// [`crate::idle`]); `null` when none was seen.
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    /// Whole UTC days without use (a lower bound; since creation for a never-used key); `null` when
    /// nothing can be said.
    #[serde(default)]
    pub idle_days: Option<u32>,
}

impl KeyRow {
    /// A row with no local metadata; [`KeyRow::with_metadata`] adds it.
    pub fn new(key: &ApiKey, now: DateTime<Utc>) -> KeyRow {
        KeyRow {
            key: key.clone(),
            status: KeyStatus::of(key, now),
            metadata: KeyMetadata::default(),
            last_used: key.last_used_at,
            idle_days: None,
        }
    }

    /// Adds when the key was last used and how long it has been idle.
    pub fn with_idle(mut self, idle: crate::idle::KeyIdle) -> KeyRow {
        self.last_used = idle.last_used;
        self.idle_days = idle.idle_days;
        self
    }

    pub fn with_metadata(mut self, metadata: KeyMetadata) -> KeyRow {
        self.metadata = metadata;
        self
    }
}

/// Replaces a key's local metadata (`metadata_set`): the whole of it, validated by the core's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyMetadataSetArgs {
    pub profile_id: String,
    pub hash: String,
    pub metadata: KeyMetadata,
}

/// Deletes a saved filter of the key list by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SavedFilterDeleteArgs {
    pub name: String,
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

/// What GET /key says about a pasted key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CheckedKey {
    pub label: String,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<LimitReset>,
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
            limit_reset: key.limit_reset.clone(),
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

/// The result of `key_create` (after Keyward has held the secret; `api::NewKey` is OpenRouter's
/// answer): the only value that ever carries a created key's secret to the UI, once.
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

/// A created key's secret on its one trip to a front end, outside `CreatedKey` (a bulk-create row
/// whose secret the keychain refused). A string on the wire; `Debug` never prints it, so a result
/// logged or shown by a failing assertion does not carry it.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(transparent)]
#[ts(type = "string")]
pub struct ShownSecret(String);

impl ShownSecret {
    pub fn new(secret: String) -> Self {
        ShownSecret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ShownSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[REDACTED]\"")
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
    /// The workspace the key goes to (one of `workspaces_list`); absent = the profile's own
    /// workspace, else the account's default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub workspace_id: Option<String>,
}

/// A field left out = unchanged; `null` = clear (`limit`, `limit_reset`): the same `Patch` the PATCH
/// body carries.
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
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<f64>>", optional)]
    pub limit: Patch<f64>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<LimitReset>>", optional)]
    pub limit_reset: Patch<LimitReset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub include_byok_in_limit: Option<bool>,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AlertsListArgs {
    /// `null`: every profile.
    pub profile_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AlertsSnoozeArgs {
    pub profile_id: String,
    pub key_hash: String,
    /// Notifications about the key wait until then; `null` lifts the snooze.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AlertsPauseArgs {
    /// Pause every notification this many minutes from now; `null` resumes them.
    pub minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UsageHistoryArgs {
    pub profile_id: String,
    pub key_hash: String,
}

// --- Events ---------------------------------------------------------------------------------------

/// Payload of `keys-changed`: the cached key list of that profile changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KeysChangedEvent {
    pub profile_id: String,
}

/// Payload of `open-key`: a notification (or the tray) asks the window to select this key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OpenKeyEvent {
    pub profile_id: String,
    pub key_hash: String,
    /// What to open on the key besides its details (`null`: just the details).
    #[serde(default)]
    #[ts(optional)]
    pub action: Option<OpenKeyAction>,
}

/// An action a notification opens a key with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OpenKeyAction {
    /// The "Extend expiry" dialog (from an expiry alert).
    ExtendExpiry,
}

/// Payload of `connectivity`: the result of the latest refresh of that profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectivityEvent {
    pub profile_id: String,
    pub connectivity: Connectivity,
}

/// One workspace of a profile's account, as the key list's workspace column and filter show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceInfo {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// Arguments of `workspaces_list`: `refresh` asks OpenRouter instead of answering what the latest
/// key refresh found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspacesListArgs {
    pub profile_id: String,
    #[serde(default)]
    pub refresh: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn key() -> ApiKey {
        serde_json::from_value(serde_json::json!({
            "hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
            "name": "k", "label": "sk-or-v1-d35...55d", "disabled": false, "limit": null,
            "limit_remaining": null, "limit_reset": "quarterly", "include_byok_in_limit": false,
            "usage": 0, "usage_daily": 0, "usage_weekly": 0, "usage_monthly": 0, "byok_usage": 0,
            "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": null, "expires_at": null
        }))
        .unwrap()
    }

    #[test]
    fn update_args_keep_null_apart_from_absent() {
        let parsed: UpdateKeyArgs = serde_json::from_value(serde_json::json!({
            "profile_id": "p", "hash": "h", "limit": null, "disabled": true
        }))
        .unwrap();
        assert_eq!(parsed.limit, Patch::Clear);
        assert_eq!(parsed.limit_reset, Patch::Keep);
        assert_eq!(parsed.disabled, Some(true));
        let set: UpdateKeyArgs = serde_json::from_value(serde_json::json!({
            "profile_id": "p", "hash": "h", "limit": 5.5, "limit_reset": "weekly"
        }))
        .unwrap();
        assert_eq!(set.limit, Patch::Set(5.5));
        assert_eq!(set.limit_reset, Patch::Set(LimitReset::Weekly));
        // Back to JSON: kept fields are left out, cleared ones are `null`.
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(json["limit"], serde_json::Value::Null);
        assert!(json.get("limit_reset").is_none());
    }

    #[test]
    fn key_row_is_the_key_plus_its_status_in_one_object() {
        let row = KeyRow::new(&key(), Utc::now());
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["status"], "active");
        assert_eq!(json["hash"], row.key.hash);
        assert_eq!(json["limit_reset"], "quarterly");
        assert_eq!(json["created_at"], "2026-01-01T00:00:00Z");
        assert!(json.get("key").is_none());
        let back: KeyRow = serde_json::from_value(json).unwrap();
        assert_eq!(back, row);
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
                source: None,
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
        let created = CreatedKey {
            key: KeyRow::new(&key(), Utc::now()),
            secret: "sk-or-v1-topsecret".into(),
            pending_saved: true,
            keychain_error: None,
        };
        assert!(!format!("{created:?}").contains("topsecret"));
    }
}

// --- Start-up -------------------------------------------------------------------------------------

/// Arguments of `startup_painted`: the window painted its first key table, with this many keys,
/// and where the page's own time went (milliseconds on the page's clock, `performance.now()`, which
/// starts when the web view began loading the page): the UI's script started, the first key list
/// arrived from the shell, the rows were in the DOM, the frame with them was painted. The difference to the process's own clock is the time
/// before the page began (the shell's start, the window, the web process).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StartupPaintedArgs {
    pub rows: u32,
    pub script_ms: u32,
    pub keys_ms: u32,
    pub rows_ms: u32,
    pub painted_ms: u32,
}
