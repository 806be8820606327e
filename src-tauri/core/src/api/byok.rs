//! BYOK provider credentials (`/byok`) and observability destinations
//! (`/observability/destinations`): the models Keyward reads, the updates it sends (which API keys,
//! by hash, a credential or destination names) and the client methods. Keyward never sets or shows
//! a provider key or a destination's secrets: no request here has a field for them, and the models
//! keep neither the masked key material nor a destination's `config`.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::client::{Call, OpenRouterClient, encode};
use super::models::{DataEnvelope, lenient_datetime};
use super::requests::Patch;
use super::retry::Replay;
use super::validation::{validate_hash, validate_uuid};
use crate::Error;

/// A BYOK provider credential: which provider, where, and which API keys may use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ByokKey {
    pub id: String,
    /// Provider slug, e.g. `openai`, `anthropic`, `amazon-bedrock`.
    pub provider: String,
    /// `None`: global, usable from every workspace (not the default workspace).
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Masked snippet of the provider key, e.g. `sk-...AbCd` (all the API ever shows of it).
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub is_fallback: bool,
    /// `None`: any model.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// `None`: any API key of the account may use it.
    #[serde(default)]
    pub allowed_api_key_hashes: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_user_ids: Option<Vec<String>>,
    #[serde(default)]
    pub sort_order: u32,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
}

impl ByokKey {
    /// Whether the allowlist names the key `hash` (an unrestricted credential names no key).
    pub fn names_key(&self, hash: &str) -> bool {
        names(self.allowed_api_key_hashes.as_deref(), hash)
    }

    /// The allowlist to send so that `new_hash` may use the credential too; `None` when nothing needs
    /// sending (unrestricted, or already named). See [`list_adding`].
    pub fn allowlist_adding(&self, new_hash: &str) -> Option<Vec<String>> {
        list_adding(self.allowed_api_key_hashes.as_deref(), new_hash)
    }

    /// The allowlist to send so that `old_hash` may no longer use it; see [`list_removing`].
    pub fn allowlist_removing(&self, old_hash: &str) -> Option<Vec<String>> {
        list_removing(self.allowed_api_key_hashes.as_deref(), old_hash)
    }
}

/// An observability destination (where request logs go) and which API keys' traffic it receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ObservabilityDestination {
    pub id: String,
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// `langfuse`, `datadog`, `webhook`, … (kept as the server's word).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub privacy_mode: bool,
    #[serde(default)]
    pub sampling_rate: Option<f64>,
    /// `None`: every key's traffic.
    #[serde(default)]
    pub api_key_hashes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl ObservabilityDestination {
    /// Whether `api_key_hashes` names the key `hash` (a destination for all keys names none).
    pub fn names_key(&self, hash: &str) -> bool {
        names(self.api_key_hashes.as_deref(), hash)
    }

    /// The `api_key_hashes` to send so that `new_hash`'s traffic is logged too; see [`list_adding`].
    pub fn key_hashes_adding(&self, new_hash: &str) -> Option<Vec<String>> {
        list_adding(self.api_key_hashes.as_deref(), new_hash)
    }

    /// The `api_key_hashes` to send to stop logging `old_hash`; see [`list_removing`].
    pub fn key_hashes_removing(&self, old_hash: &str) -> Option<Vec<String>> {
        list_removing(self.api_key_hashes.as_deref(), old_hash)
    }
}

fn names(list: Option<&[String]>, hash: &str) -> bool {
    list.is_some_and(|hashes| hashes.iter().any(|named| named.eq_ignore_ascii_case(hash)))
}

/// A key list (BYOK allowlist, destination key hashes) with `new_hash` added, for a replacement key
/// to get what the old one had. `None` when nothing needs sending: a `null` list already covers
/// every key, and a list naming `new_hash` has it. A full list (100) is returned longer than the API
/// takes, so sending it fails visibly rather than silently leaving the key out.
pub fn list_adding(list: Option<&[String]>, new_hash: &str) -> Option<Vec<String>> {
    let list = list?;
    if names(Some(list), new_hash) {
        return None;
    }
    let mut hashes = list.to_vec();
    hashes.push(new_hash.to_owned());
    Some(hashes)
}

/// A key list with `old_hash` taken out. `None` when nothing needs sending: a `null` list names no
/// key, a list without `old_hash` has nothing to remove, and a list naming only `old_hash` can't be
/// emptied (the API refuses `[]`, and `null` would open the credential or log to every key): there
/// the stale hash stays, harmless once its key is deleted.
pub fn list_removing(list: Option<&[String]>, old_hash: &str) -> Option<Vec<String>> {
    let list = list?;
    if !names(Some(list), old_hash) {
        return None;
    }
    let kept: Vec<String> = list
        .iter()
        .filter(|named| !named.eq_ignore_ascii_case(old_hash))
        .cloned()
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// Body of `PATCH /byok/{id}`: deliberately without `key` (Keyward never sets a provider key).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateByokKeyRequest {
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub name: Patch<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// `Clear` removes the restriction (any key may use the credential).
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub allowed_api_key_hashes: Patch<Vec<String>>,
}

impl UpdateByokKeyRequest {
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.is_keep() && self.disabled.is_none() && self.allowed_api_key_hashes.is_keep() {
            return Err(Error::invalid("update", "nothing to change"));
        }
        if let Patch::Set(name) = &self.name
            && name.chars().count() > 255
        {
            return Err(Error::invalid("name", "must be at most 255 characters"));
        }
        validate_hash_list("allowed_api_key_hashes", &self.allowed_api_key_hashes)
    }
}

/// Body of `PATCH /observability/destinations/{id}`: without `config` (Keyward never sets or reads
/// a destination's credentials).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateDestinationRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `Clear` sends every key's traffic.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub api_key_hashes: Patch<Vec<String>>,
}

impl UpdateDestinationRequest {
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.is_none() && self.enabled.is_none() && self.api_key_hashes.is_keep() {
            return Err(Error::invalid("update", "nothing to change"));
        }
        if self
            .name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(Error::invalid("name", "must not be empty"));
        }
        validate_hash_list("api_key_hashes", &self.api_key_hashes)
    }
}

/// The most hashes an allowlist holds (the API's `maxItems`).
pub const MAX_ALLOWED_KEY_HASHES: usize = 100;

/// A list of key hashes to send: 1–100 valid hashes (an empty list is refused by the API; `Clear`
/// is how "no restriction" is said).
fn validate_hash_list(field: &str, list: &Patch<Vec<String>>) -> Result<(), Error> {
    let Patch::Set(hashes) = list else {
        return Ok(());
    };
    if hashes.is_empty() {
        return Err(Error::invalid(
            field,
            "must name at least one key (clear it to allow every key)",
        ));
    }
    if hashes.len() > MAX_ALLOWED_KEY_HASHES {
        return Err(Error::invalid(
            field,
            format!("can name at most {MAX_ALLOWED_KEY_HASHES} keys"),
        ));
    }
    for hash in hashes {
        validate_hash(hash).map_err(|err| match err {
            Error::InvalidInput { message, .. } => Error::invalid(field, message),
            other => other,
        })?;
    }
    Ok(())
}

/// An id of a BYOK credential or destination: a UUID.
fn validate_id(id: &str) -> Result<(), Error> {
    validate_uuid("id", id, "BYOK credential or destination id")
}

impl OpenRouterClient {
    async fn patch_json<T: DeserializeOwned>(
        &self,
        path: String,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        // Every field is an absolute value: sending it twice leaves what sending it once does.
        let call = Call::with_body(Method::PATCH, path, encode(body)?, Replay::Idempotent);
        let envelope: DataEnvelope<T> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `GET /byok` of the default workspace, every page.
    pub async fn list_byok_keys(&self) -> Result<Vec<ByokKey>, Error> {
        self.list_byok_keys_in(None).await
    }

    /// `GET /byok?workspace_id=…` (the default workspace when `None`), every page.
    pub async fn list_byok_keys_in(
        &self,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ByokKey>, Error> {
        let query = workspace_query(workspace_id)?;
        self.list_every_page("/byok", &query).await
    }

    /// `GET /byok/{id}`.
    pub async fn get_byok_key(&self, id: &str) -> Result<ByokKey, Error> {
        validate_id(id)?;
        let envelope: DataEnvelope<ByokKey> = self
            .json(&Call::get(&format!("/byok/{id}"), Vec::new()))
            .await?;
        Ok(envelope.data)
    }

    /// `PATCH /byok/{id}` (name, disabled, allowlist; never the provider key).
    pub async fn update_byok_key(
        &self,
        id: &str,
        update: &UpdateByokKeyRequest,
    ) -> Result<ByokKey, Error> {
        validate_id(id)?;
        update.validate()?;
        self.patch_json(format!("/byok/{id}"), update).await
    }

    /// Sets which API keys may use the credential `id`: `Some(hashes)` (1–100), or `None` for any key.
    pub async fn set_byok_allowed_key_hashes(
        &self,
        id: &str,
        hashes: Option<Vec<String>>,
    ) -> Result<ByokKey, Error> {
        let update = UpdateByokKeyRequest {
            allowed_api_key_hashes: Patch::from(hashes),
            ..UpdateByokKeyRequest::default()
        };
        self.update_byok_key(id, &update).await
    }

    /// `GET /observability/destinations` of the default workspace, every page.
    pub async fn list_destinations(&self) -> Result<Vec<ObservabilityDestination>, Error> {
        self.list_destinations_in(None).await
    }

    /// `GET /observability/destinations?workspace_id=…`, every page.
    pub async fn list_destinations_in(
        &self,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ObservabilityDestination>, Error> {
        let query = workspace_query(workspace_id)?;
        self.list_every_page("/observability/destinations", &query)
            .await
    }

    /// `GET /observability/destinations/{id}`.
    pub async fn get_destination(&self, id: &str) -> Result<ObservabilityDestination, Error> {
        validate_id(id)?;
        let call = Call::get(&format!("/observability/destinations/{id}"), Vec::new());
        let envelope: DataEnvelope<ObservabilityDestination> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `PATCH /observability/destinations/{id}` (name, enabled, key hashes; never its config).
    pub async fn update_destination(
        &self,
        id: &str,
        update: &UpdateDestinationRequest,
    ) -> Result<ObservabilityDestination, Error> {
        validate_id(id)?;
        update.validate()?;
        self.patch_json(format!("/observability/destinations/{id}"), update)
            .await
    }

    /// Sets whose traffic the destination `id` receives: `Some(hashes)` (1–100), or `None` for all.
    pub async fn set_destination_key_hashes(
        &self,
        id: &str,
        hashes: Option<Vec<String>>,
    ) -> Result<ObservabilityDestination, Error> {
        let update = UpdateDestinationRequest {
            api_key_hashes: Patch::from(hashes),
            ..UpdateDestinationRequest::default()
        };
        self.update_destination(id, &update).await
    }
}

fn workspace_query(workspace_id: Option<&str>) -> Result<Vec<(&'static str, String)>, Error> {
    match workspace_id {
        None => Ok(Vec::new()),
        Some(id) => validate_uuid("workspace_id", id, "workspace id")
            .map(|()| vec![("workspace_id", id.to_owned())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(err: Error) -> Option<String> {
        match err {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not invalid input: {other:?}"),
        }
    }

    #[test]
    fn updates_send_only_what_is_set_and_never_a_key() {
        let hash = "a".repeat(64);
        let set = UpdateByokKeyRequest {
            allowed_api_key_hashes: Patch::Set(vec![hash.clone()]),
            ..UpdateByokKeyRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&set).unwrap(),
            json!({"allowed_api_key_hashes": [hash]})
        );
        let clear = UpdateDestinationRequest {
            api_key_hashes: Patch::Clear,
            enabled: Some(true),
            ..UpdateDestinationRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&clear).unwrap(),
            json!({"api_key_hashes": null, "enabled": true})
        );
    }

    #[test]
    fn bad_updates_name_the_field() {
        let invalid = |update: UpdateByokKeyRequest| field_of(update.validate().unwrap_err());
        assert_eq!(
            invalid(UpdateByokKeyRequest::default()).as_deref(),
            Some("update")
        );
        let empty = UpdateByokKeyRequest {
            allowed_api_key_hashes: Patch::Set(Vec::new()),
            ..UpdateByokKeyRequest::default()
        };
        assert_eq!(invalid(empty).as_deref(), Some("allowed_api_key_hashes"));
        let bad_hash = UpdateByokKeyRequest {
            allowed_api_key_hashes: Patch::Set(vec!["xyz".into()]),
            ..UpdateByokKeyRequest::default()
        };
        assert_eq!(invalid(bad_hash).as_deref(), Some("allowed_api_key_hashes"));
        let too_many = UpdateDestinationRequest {
            api_key_hashes: Patch::Set(vec!["b".repeat(64); 101]),
            ..UpdateDestinationRequest::default()
        };
        assert_eq!(
            field_of(too_many.validate().unwrap_err()).as_deref(),
            Some("api_key_hashes")
        );
        let blank = UpdateDestinationRequest {
            name: Some(" ".into()),
            ..UpdateDestinationRequest::default()
        };
        assert_eq!(
            field_of(blank.validate().unwrap_err()).as_deref(),
            Some("name")
        );
        assert_eq!(
            field_of(validate_id("nope").unwrap_err()).as_deref(),
            Some("id")
        );
    }

    #[test]
    fn lists_gain_and_lose_a_hash_without_ever_opening_up() {
        let (old, new, other) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let list = vec![old.clone(), other.clone()];
        assert_eq!(
            list_adding(None, &new),
            None,
            "unrestricted already covers the new key"
        );
        assert_eq!(
            list_adding(Some(&list), &new),
            Some(vec![old.clone(), other.clone(), new.clone()])
        );
        assert_eq!(list_adding(Some(std::slice::from_ref(&new)), &new), None);
        assert_eq!(list_removing(None, &old), None);
        assert_eq!(list_removing(Some(&list), &old), Some(vec![other.clone()]));
        assert_eq!(list_removing(Some(&list), &new), None);
        assert_eq!(
            list_removing(Some(std::slice::from_ref(&old)), &old),
            None,
            "never emptied or cleared"
        );
    }

    #[test]
    fn models_read_the_spec_examples_and_know_whom_they_name() {
        let key: ByokKey = serde_json::from_value(json!({
            "allowed_api_key_hashes": ["F01D52606DC8F0A8303A7B5CC3FA07109C2E346CEC7C0A16B40DE462992CE943"],
            "allowed_models": null, "allowed_user_ids": null, "created_at": "2025-08-24T10:30:00Z",
            "disabled": false, "id": "11111111-2222-3333-4444-555555555555", "is_fallback": false,
            "label": "sk-...AbCd", "name": "Production OpenAI Key", "provider": "openai",
            "sort_order": 0, "workspace_id": "550e8400-e29b-41d4-a716-446655440000",
            "declared_zdr": null, "is_byok_only": false
        }))
        .unwrap();
        assert!(key.names_key("f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"));
        assert!(!key.names_key(&"0".repeat(64)));
        assert!(key.created_at.is_some());
        let dest: ObservabilityDestination = serde_json::from_value(json!({
            "id": "c3f1a2b4-5d6e-4f70-8a9b-0c1d2e3f4a33", "type": "langfuse", "name": null,
            "enabled": true, "api_key_hashes": null, "config": {"secretKey": "****1234"},
            "workspace_id": "550e8400-e29b-41d4-a716-446655440000", "sampling_rate": 1
        }))
        .unwrap();
        assert_eq!(dest.kind, "langfuse");
        assert!(
            !dest.names_key(&"0".repeat(64)),
            "all-keys destinations name no key"
        );
        assert!(!serde_json::to_string(&dest).unwrap().contains("secretKey"));
    }
}
