//! BYOK provider credentials and observability destinations: what they are and which API keys (by
//! hash) they name. The provider key and a destination's secrets are never kept: only their masked
//! forms, which is all the API ever returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{State, wire_time};

/// One BYOK credential (`BYOKKey` in the spec, with the Python 1.3.84 superset of fields).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ByokKey {
    pub id: String,
    pub provider: String,
    /// `None` = global (usable from every workspace); the API only creates scoped ones.
    pub workspace_id: Option<String>,
    pub name: Option<String>,
    /// Masked provider key, e.g. `sk-...AbCd`.
    pub label: String,
    pub disabled: bool,
    pub is_fallback: bool,
    pub is_byok_only: bool,
    pub is_required: bool,
    pub declared_region: Option<String>,
    pub declared_zdr: Option<bool>,
    pub allowed_models: Option<Vec<String>>,
    pub allowed_api_key_hashes: Option<Vec<String>>,
    pub allowed_user_ids: Option<Vec<String>>,
    pub sort_order: i64,
    pub created_at: DateTime<Utc>,
}

impl ByokKey {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "provider": self.provider,
            "workspace_id": self.workspace_id,
            "name": self.name,
            "label": self.label,
            "disabled": self.disabled,
            "is_fallback": self.is_fallback,
            "is_byok_only": self.is_byok_only,
            "is_required": self.is_required,
            "declared_region": self.declared_region,
            "declared_zdr": self.declared_zdr,
            "allowed_models": self.allowed_models,
            "allowed_api_key_hashes": self.allowed_api_key_hashes,
            "allowed_user_ids": self.allowed_user_ids,
            "sort_order": self.sort_order,
            "created_at": wire_time(self.created_at),
        })
    }

    /// Whether a request by the key `hash` (created by `user`) may use this credential for `model`.
    pub fn admits(&self, hash: &str, user: Option<&str>, model: &str) -> bool {
        !self.disabled
            && self
                .allowed_api_key_hashes
                .as_ref()
                .is_none_or(|hashes| hashes.iter().any(|allowed| allowed == hash))
            && self
                .allowed_user_ids
                .as_ref()
                .is_none_or(|users| user.is_some_and(|user| users.iter().any(|id| id == user)))
            && self
                .allowed_models
                .as_ref()
                .is_none_or(|models| models.iter().any(|allowed| allowed == model))
    }
}

/// The masked label of a provider key: its first 3 and last 4 characters (`sk-...AbCd`).
pub fn byok_label(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 8 {
        return "...".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}...{tail}")
}

/// One observability destination (the spec's per-type `Observability*Destination`, Python 1.3.84
/// superset). `config` holds the secrets masked (see [`mask_config`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Destination {
    pub id: String,
    pub workspace_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub enabled: bool,
    pub privacy_mode: bool,
    pub broadcast_generation_cost: bool,
    pub broadcast_generation_cost_allocation: bool,
    pub broadcast_generation_identity: bool,
    pub broadcast_generation_request_context: bool,
    pub sampling_rate: f64,
    pub api_key_hashes: Option<Vec<String>>,
    pub filter_rules: Value,
    pub regions: Vec<String>,
    pub config: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Destination {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "workspace_id": self.workspace_id,
            "type": self.kind,
            "name": self.name,
            "enabled": self.enabled,
            "privacy_mode": self.privacy_mode,
            "broadcast_generation_cost": self.broadcast_generation_cost,
            "broadcast_generation_cost_allocation": self.broadcast_generation_cost_allocation,
            "broadcast_generation_identity": self.broadcast_generation_identity,
            "broadcast_generation_request_context": self.broadcast_generation_request_context,
            "sampling_rate": self.sampling_rate,
            "api_key_hashes": self.api_key_hashes,
            "filter_rules": self.filter_rules,
            "regions": self.regions,
            "config": self.config,
            "created_at": wire_time(self.created_at),
            "updated_at": wire_time(self.updated_at),
        })
    }
}

/// Config fields that hold a secret: answered (and kept) masked.
pub const SECRET_CONFIG_FIELDS: &[&str] = &[
    "apiKey",
    "secretKey",
    "password",
    "token",
    "secretAccessKey",
    "sessionToken",
    "licenseKey",
];

/// What a masked secret starts with; a PATCH sending a value like this leaves the secret alone.
pub const MASK_PREFIX: &str = "****";

/// `****` + the last 4 characters (all of it masked when shorter than 12).
pub fn mask_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return MASK_PREFIX.repeat(2);
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{MASK_PREFIX}{tail}")
}

/// Masks the secret fields of a destination's config (and every header value: they often carry
/// tokens).
pub fn mask_config(config: &mut Map<String, Value>) {
    for field in SECRET_CONFIG_FIELDS {
        if let Some(Value::String(secret)) = config.get_mut(*field)
            && !secret.starts_with(MASK_PREFIX)
        {
            *secret = mask_secret(secret);
        }
    }
    if let Some(Value::Object(headers)) = config.get_mut("headers") {
        for value in headers.values_mut() {
            if let Value::String(secret) = value
                && !secret.starts_with(MASK_PREFIX)
            {
                *secret = mask_secret(secret);
            }
        }
    }
}

/// BYOK credentials and destinations of the account, oldest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ByokState {
    pub keys: Vec<ByokKey>,
    pub destinations: Vec<Destination>,
}

impl State {
    /// The BYOK credentials a request through `provider` in `workspace` may use, in the order they
    /// are tried: scoped and global ones, non-fallback first, then by `sort_order`. Disabled ones
    /// are left out; allowlists are for the caller to check ([`ByokKey::admits`]).
    pub fn byok_for(&self, provider: &str, workspace: &str) -> Vec<&ByokKey> {
        let mut keys: Vec<&ByokKey> = self
            .byok
            .keys
            .iter()
            .filter(|key| {
                !key.disabled
                    && key.provider == provider
                    && key
                        .workspace_id
                        .as_deref()
                        .is_none_or(|scope| scope == workspace)
            })
            .collect();
        keys.sort_by_key(|key| (key.is_fallback, key.sort_order));
        keys
    }

    pub fn byok_key(&self, id: &str) -> Option<&ByokKey> {
        self.byok.keys.iter().find(|key| key.id == id)
    }

    pub fn byok_key_mut(&mut self, id: &str) -> Option<&mut ByokKey> {
        self.byok.keys.iter_mut().find(|key| key.id == id)
    }

    pub fn destination(&self, id: &str) -> Option<&Destination> {
        self.byok.destinations.iter().find(|dest| dest.id == id)
    }

    pub fn destination_mut(&mut self, id: &str) -> Option<&mut Destination> {
        self.byok.destinations.iter_mut().find(|dest| dest.id == id)
    }

    #[allow(dead_code)] // for `POST /chat/completions` (issue 11)
    /// The destinations that receive the traffic of the key `hash` in `workspace` (enabled ones
    /// whose `api_key_hashes` is `null` or names it).
    pub fn destinations_for(&self, hash: &str, workspace: &str) -> Vec<&Destination> {
        self.byok
            .destinations
            .iter()
            .filter(|dest| {
                dest.enabled
                    && dest.workspace_id == workspace
                    && dest
                        .api_key_hashes
                        .as_ref()
                        .is_none_or(|hashes| hashes.iter().any(|named| named == hash))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_masks_hide_the_secret() {
        assert_eq!(byok_label("sk-proj-abcdefgh1234AbCd"), "sk-...AbCd");
        assert_eq!(byok_label("short"), "...");
        assert_eq!(mask_secret("sk-lf-0123456789abcdef"), "****cdef");
        assert_eq!(mask_secret("tiny"), "********");
        let mut config = serde_json::from_value::<Map<String, Value>>(json!({
            "publicKey": "pk-lf-visible", "secretKey": "sk-lf-0123456789abcdef",
            "headers": {"X-Token": "abcdefghijklmnop"}
        }))
        .unwrap();
        mask_config(&mut config);
        assert_eq!(config["publicKey"], "pk-lf-visible");
        assert_eq!(config["secretKey"], "****cdef");
        assert_eq!(config["headers"]["X-Token"], "****mnop");
    }
}
