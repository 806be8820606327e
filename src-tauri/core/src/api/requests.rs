//! What Keyward sends: create/update bodies and list/activity queries, with their validation. Fields
//! left unset are not sent at all, and a PATCH keeps "clear this" (`null`) apart from "leave it".

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::models::LimitReset;
use super::validation::{
    format_expiry, validate_expiry, validate_hash, validate_limit, validate_name,
    validate_workspace_id,
};
use crate::Error;

/// A field of a partial update: leave it as it is (not sent), clear it (sent as `null`), or set it.
///
/// Deserializes the same way (absent → `Keep` with `#[serde(default)]`, `null` → `Clear`), so the
/// UI's `key_update` arguments and the PATCH body are the same type end to end. In TypeScript a
/// `Patch<T>` field is `field?: T | null` (`#[ts(as = "Option<Option<T>>", optional)]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears (use `Patch::Keep` to leave a field alone).
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Clear, Patch::Set)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reachable without `skip_serializing_if = "Patch::is_keep"`; `null` would clear,
            // which is the opposite of keeping, so refuse instead of guessing.
            Patch::Keep => Err(serde::ser::Error::custom(
                "Patch::Keep must be skipped, not serialized",
            )),
            Patch::Clear => serializer.serialize_none(),
            Patch::Set(value) => serializer.serialize_some(value),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Patch::from)
    }
}

/// Body of `POST /keys`. Only `name` is required; unset fields are not sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateKeyRequest {
    pub name: String,
    /// Spending cap in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_reset: Option<LimitReset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_byok_in_limit: Option<bool>,
    /// Sent as UTC with whole seconds and `Z`, the form the API requires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_expiry"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_user_id: Option<String>,
}

impl CreateKeyRequest {
    pub fn new(name: impl Into<String>) -> Self {
        CreateKeyRequest {
            name: name.into(),
            ..CreateKeyRequest::default()
        }
    }

    /// Everything the server would reject and Keyward can know in advance; `now` decides whether
    /// `expires_at` is in the past.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), Error> {
        validate_name(&self.name)?;
        if let Some(limit) = self.limit {
            validate_limit(limit)?;
        }
        if let Some(reset) = &self.limit_reset {
            validate_limit_reset(reset)?;
        }
        if let Some(expires_at) = self.expires_at {
            validate_expiry(expires_at, now)?;
        }
        if let Some(workspace_id) = &self.workspace_id {
            validate_workspace_id(workspace_id)?;
        }
        if let Some(creator) = &self.creator_user_id
            && creator.trim().is_empty()
        {
            return Err(Error::invalid("creator_user_id", "must not be empty"));
        }
        Ok(())
    }
}

fn serialize_expiry<S: Serializer>(
    expires_at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match expires_at {
        Some(at) => serializer.serialize_str(&format_expiry(*at)),
        None => serializer.serialize_none(),
    }
}

/// Body of `PATCH /keys/{hash}`. `limit` and `limit_reset` are three-way (`Patch`): `Clear` sends
/// `null` (removes the cap / the reset), `Keep` sends nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UpdateKeyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub limit: Patch<f64>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub limit_reset: Patch<LimitReset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_byok_in_limit: Option<bool>,
    /// Moves the key to another workspace (Python SDK only); the key's secret stays the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

impl UpdateKeyRequest {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.disabled.is_none()
            && self.limit.is_keep()
            && self.limit_reset.is_keep()
            && self.include_byok_in_limit.is_none()
            && self.workspace_id.is_none()
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.is_empty() {
            return Err(Error::invalid(
                "update",
                "nothing to change (set at least one of name, disabled, limit, limit_reset, \
                 include_byok_in_limit, workspace_id)",
            ));
        }
        if let Some(name) = &self.name {
            validate_name(name)?;
        }
        if let Patch::Set(limit) = self.limit {
            validate_limit(limit)?;
        }
        if let Patch::Set(reset) = &self.limit_reset {
            validate_limit_reset(reset)?;
        }
        if let Some(workspace_id) = &self.workspace_id {
            validate_workspace_id(workspace_id)?;
        }
        Ok(())
    }
}

fn validate_limit_reset(reset: &LimitReset) -> Result<(), Error> {
    match reset {
        LimitReset::Other(other) => Err(Error::invalid(
            "limit_reset",
            format!("\"{other}\" is not one of daily, weekly, monthly"),
        )),
        _ => Ok(()),
    }
}

/// Filters of `GET /keys`. By default the server leaves out disabled and expired keys and lists only
/// the default workspace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListKeysQuery {
    #[serde(default)]
    pub include_disabled: bool,
    #[serde(default)]
    pub include_expired: bool,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

impl ListKeysQuery {
    /// Every key of the default workspace, disabled and expired ones included.
    pub fn everything() -> Self {
        ListKeysQuery {
            include_disabled: true,
            include_expired: true,
            workspace_id: None,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        match &self.workspace_id {
            Some(workspace_id) => validate_workspace_id(workspace_id),
            None => Ok(()),
        }
    }

    pub(crate) fn pairs(&self, offset: u64) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("include_disabled", self.include_disabled.to_string()),
            ("include_expired", self.include_expired.to_string()),
            ("offset", offset.to_string()),
        ];
        if let Some(workspace_id) = &self.workspace_id {
            pairs.push(("workspace_id", workspace_id.clone()));
        }
        pairs
    }
}

/// Filters of `GET /activity` (the last 30 completed UTC days).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActivityQuery {
    /// One UTC day; `None` = all 30.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// One key; `None` = every key.
    #[serde(default)]
    pub api_key_hash: Option<String>,
}

impl ActivityQuery {
    pub fn validate(&self) -> Result<(), Error> {
        match &self.api_key_hash {
            Some(hash) => validate_hash(hash).map_err(|err| match err {
                Error::InvalidInput { message, .. } => Error::invalid("api_key_hash", message),
                other => other,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(date) = self.date {
            pairs.push(("date", date.format("%Y-%m-%d").to_string()));
        }
        if let Some(hash) = &self.api_key_hash {
            pairs.push(("api_key_hash", hash.clone()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn create_sends_only_what_is_set() {
        assert_eq!(
            serde_json::to_value(CreateKeyRequest::new("k1")).unwrap(),
            json!({"name": "k1"})
        );
        let full = CreateKeyRequest {
            name: "k1".into(),
            limit: Some(10.0),
            limit_reset: Some(LimitReset::Monthly),
            include_byok_in_limit: Some(false),
            expires_at: Some(
                Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
                    + chrono::Duration::milliseconds(500),
            ),
            workspace_id: Some("ws".into()),
            creator_user_id: Some("user_1".into()),
        };
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            json!({"name": "k1", "limit": 10.0, "limit_reset": "monthly",
                   "include_byok_in_limit": false, "expires_at": "2030-01-02T03:04:05Z",
                   "workspace_id": "ws", "creator_user_id": "user_1"})
        );
        assert!(full.validate(now()).is_ok());
    }

    #[test]
    fn create_validation_names_the_field() {
        let cases: Vec<(CreateKeyRequest, &str)> = vec![
            (CreateKeyRequest::new("  "), "name"),
            (
                CreateKeyRequest {
                    limit: Some(-1.0),
                    ..CreateKeyRequest::new("k")
                },
                "limit",
            ),
            (
                CreateKeyRequest {
                    limit: Some(f64::NAN),
                    ..CreateKeyRequest::new("k")
                },
                "limit",
            ),
            (
                CreateKeyRequest {
                    limit_reset: Some(LimitReset::Other("yearly".into())),
                    ..CreateKeyRequest::new("k")
                },
                "limit_reset",
            ),
            (
                CreateKeyRequest {
                    expires_at: Some(now() - chrono::Duration::seconds(1)),
                    ..CreateKeyRequest::new("k")
                },
                "expires_at",
            ),
            (
                CreateKeyRequest {
                    workspace_id: Some(String::new()),
                    ..CreateKeyRequest::new("k")
                },
                "workspace_id",
            ),
        ];
        for (request, field) in cases {
            match request.validate(now()) {
                Err(Error::InvalidInput { field: Some(f), .. }) => assert_eq!(f, field),
                other => panic!("{request:?} → {other:?}"),
            }
        }
    }

    #[test]
    fn patch_keeps_null_apart_from_absent() {
        let clear = UpdateKeyRequest {
            limit: Patch::Clear,
            ..UpdateKeyRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&clear).unwrap(),
            json!({"limit": null})
        );
        let set = UpdateKeyRequest {
            limit: Patch::Set(5.0),
            limit_reset: Patch::Set(LimitReset::Daily),
            ..UpdateKeyRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&set).unwrap(),
            json!({"limit": 5.0, "limit_reset": "daily"})
        );
        let rename = UpdateKeyRequest {
            name: Some("n".into()),
            ..UpdateKeyRequest::default()
        };
        assert_eq!(serde_json::to_value(&rename).unwrap(), json!({"name": "n"}));

        // And back: a UI form's JSON maps onto the same three states.
        let parsed: UpdateKeyRequest =
            serde_json::from_value(json!({"limit": null, "disabled": true})).unwrap();
        assert_eq!(parsed.limit, Patch::Clear);
        assert_eq!(parsed.limit_reset, Patch::Keep);
        assert_eq!(parsed.disabled, Some(true));
    }

    #[test]
    fn update_validation() {
        let empty = UpdateKeyRequest::default().validate().unwrap_err();
        assert!(matches!(empty, Error::InvalidInput { .. }));
        assert!(empty.to_string().contains("nothing to change"));
        let negative = UpdateKeyRequest {
            limit: Patch::Set(-3.0),
            ..UpdateKeyRequest::default()
        };
        assert!(negative.validate().is_err());
        let clear_only = UpdateKeyRequest {
            limit_reset: Patch::Clear,
            ..UpdateKeyRequest::default()
        };
        assert!(clear_only.validate().is_ok());
        let blank_name = UpdateKeyRequest {
            name: Some(" ".into()),
            ..UpdateKeyRequest::default()
        };
        assert!(blank_name.validate().is_err());
    }

    #[test]
    fn query_pairs() {
        let query = ListKeysQuery {
            include_disabled: true,
            include_expired: false,
            workspace_id: Some("ws".into()),
        };
        assert_eq!(
            query.pairs(99),
            vec![
                ("include_disabled", "true".to_string()),
                ("include_expired", "false".to_string()),
                ("offset", "99".to_string()),
                ("workspace_id", "ws".to_string()),
            ]
        );
        let activity = ActivityQuery {
            date: NaiveDate::from_ymd_opt(2026, 5, 30),
            api_key_hash: Some("x".into()),
        };
        assert_eq!(activity.pairs()[0], ("date", "2026-05-30".to_string()));
        match activity.validate() {
            Err(Error::InvalidInput { field: Some(f), .. }) => assert_eq!(f, "api_key_hash"),
            other => panic!("{other:?}"),
        }
    }
}
