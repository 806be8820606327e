//! Guardrails (reference §10, `/guardrails`): typed answers, the create/update bodies and their
//! validation. A guardrail names keys by hash (a key holds at most
//! one guardrail; assigning another replaces it) and members by user id. PATCH replaces whole
//! arrays, so an update sends each list it changes in full. The client methods are in
//! `client/guardrails.rs`; the model list's types are in `catalog.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::models::{LimitReset, lenient_datetime};
use super::requests::Patch;
use super::validation::{validate_hash, validate_uuid};
use crate::Error;

/// One guardrail: model/provider allowlists, a budget with its reset, ZDR and training switches.
/// Model lists hold canonical slugs (`Model::canonical_slug`), whatever form was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Guardrail {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Budget in USD shared by everything the guardrail applies to; `None` = no budget.
    #[serde(default)]
    pub limit_usd: Option<f64>,
    #[serde(default)]
    pub reset_interval: Option<LimitReset>,
    /// `None` = every model allowed.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    #[serde(default)]
    pub ignored_models: Option<Vec<String>>,
    /// `None` = every provider allowed.
    #[serde(default)]
    pub allowed_providers: Option<Vec<String>>,
    #[serde(default)]
    pub ignored_providers: Option<Vec<String>>,
    /// Deprecated by the per-provider fields; kept because older servers may still answer with it.
    #[serde(default)]
    pub enforce_zdr: Option<bool>,
    #[serde(default)]
    pub enforce_zdr_anthropic: Option<bool>,
    #[serde(default)]
    pub enforce_zdr_google: Option<bool>,
    #[serde(default)]
    pub enforce_zdr_openai: Option<bool>,
    #[serde(default)]
    pub enforce_zdr_other: Option<bool>,
    #[serde(default)]
    pub enforce_zdr_xai: Option<bool>,
    #[serde(default)]
    pub enable_free_model_publication: Option<bool>,
    #[serde(default)]
    pub enable_free_model_training: Option<bool>,
    #[serde(default)]
    pub enable_paid_model_training: Option<bool>,
    #[serde(default)]
    pub include_byok_in_budgets: bool,
    /// Content filters are shown, never edited by Keyward (an update leaves them alone).
    #[serde(default)]
    #[ts(type = "unknown")]
    pub content_filters: Option<serde_json::Value>,
    #[serde(default)]
    #[ts(type = "unknown")]
    pub content_filter_builtins: Option<serde_json::Value>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Guardrail {
    /// Whether zero data retention is enforced for any provider.
    pub fn enforces_zdr(&self) -> bool {
        [
            self.enforce_zdr,
            self.enforce_zdr_anthropic,
            self.enforce_zdr_google,
            self.enforce_zdr_openai,
            self.enforce_zdr_other,
            self.enforce_zdr_xai,
        ]
        .contains(&Some(true))
    }
}

/// A key's guardrail assignment (`GET /guardrails/{id}/assignments/keys`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyAssignment {
    pub id: String,
    pub key_hash: String,
    pub guardrail_id: String,
    #[serde(default)]
    pub key_name: String,
    #[serde(default)]
    pub key_label: String,
    #[serde(default)]
    pub assigned_by: Option<String>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
}

/// An organization member's guardrail assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MemberAssignment {
    pub id: String,
    pub user_id: String,
    #[serde(default)]
    pub organization_id: Option<String>,
    pub guardrail_id: String,
    #[serde(default)]
    pub assigned_by: Option<String>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
pub(crate) struct AssignedCount {
    pub assigned_count: u64,
}

#[derive(Deserialize)]
pub(crate) struct UnassignedCount {
    pub unassigned_count: u64,
}

/// Body of `POST /guardrails`. Only `name` is required; unset fields are not sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct CreateGuardrailRequest {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_interval: Option<LimitReset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_providers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_providers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_anthropic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_google: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_openai: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_other: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_xai: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_free_model_publication: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_free_model_training: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_paid_model_training: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_byok_in_budgets: Option<bool>,
    /// The workspace the guardrail belongs to (the default workspace if unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

impl CreateGuardrailRequest {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        validate_guardrail_name(&self.name)?;
        if let Some(description) = &self.description {
            validate_description(description)?;
        }
        if let Some(limit) = self.limit_usd {
            validate_limit_usd(limit)?;
        }
        if let Some(reset) = &self.reset_interval {
            validate_reset_interval(reset)?;
        }
        validate_models("allowed_models", self.allowed_models.as_deref())?;
        validate_models("ignored_models", self.ignored_models.as_deref())?;
        validate_providers("allowed_providers", self.allowed_providers.as_deref())?;
        validate_providers("ignored_providers", self.ignored_providers.as_deref())?;
        if let Some(workspace_id) = &self.workspace_id {
            validate_uuid("workspace_id", workspace_id, "workspace id")?;
        }
        Ok(())
    }
}

/// Body of `PATCH /guardrails/{id}`. Nullable fields are three-way (`Patch`): `Clear` sends `null`
/// (no budget, every model allowed…), `Keep` sends nothing. A list that is set replaces the old one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct UpdateGuardrailRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<String>>", optional)]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<f64>>", optional)]
    pub limit_usd: Patch<f64>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<LimitReset>>", optional)]
    pub reset_interval: Patch<LimitReset>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<Vec<String>>>", optional)]
    pub allowed_models: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<Vec<String>>>", optional)]
    pub ignored_models: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<Vec<String>>>", optional)]
    pub allowed_providers: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[ts(as = "Option<Option<Vec<String>>>", optional)]
    pub ignored_providers: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_anthropic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_google: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_openai: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_other: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_zdr_xai: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_free_model_publication: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_free_model_training: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_paid_model_training: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_byok_in_budgets: Option<bool>,
}

impl UpdateGuardrailRequest {
    pub fn is_empty(&self) -> bool {
        // Serializing is the one place that knows every field; an empty object changes nothing.
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_object().map(serde_json::Map::is_empty))
            .unwrap_or(true)
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.is_empty() {
            return Err(Error::invalid(
                "update",
                "nothing to change (set at least one field of the guardrail)",
            ));
        }
        if let Some(name) = &self.name {
            validate_guardrail_name(name)?;
        }
        if let Patch::Set(description) = &self.description {
            validate_description(description)?;
        }
        if let Patch::Set(limit) = self.limit_usd {
            validate_limit_usd(limit)?;
        }
        if let Patch::Set(reset) = &self.reset_interval {
            validate_reset_interval(reset)?;
        }
        let set = |patch: &Patch<Vec<String>>| match patch {
            Patch::Set(list) => Some(list.clone()),
            _ => None,
        };
        validate_models("allowed_models", set(&self.allowed_models).as_deref())?;
        validate_models("ignored_models", set(&self.ignored_models).as_deref())?;
        validate_providers("allowed_providers", set(&self.allowed_providers).as_deref())?;
        validate_providers("ignored_providers", set(&self.ignored_providers).as_deref())?;
        Ok(())
    }
}

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 1000;

fn validate_guardrail_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        Err(Error::invalid("name", "must not be empty"))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(Error::invalid("name", "must be at most 200 characters"))
    } else {
        Ok(())
    }
}

fn validate_description(description: &str) -> Result<(), Error> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        Err(Error::invalid(
            "description",
            "must be at most 1000 characters",
        ))
    } else {
        Ok(())
    }
}

fn validate_limit_usd(limit: f64) -> Result<(), Error> {
    if !limit.is_finite() {
        Err(Error::invalid(
            "limit_usd",
            "must be a number of US dollars (not NaN or infinite)",
        ))
    } else if limit < 0.0 {
        Err(Error::invalid("limit_usd", "must not be negative"))
    } else {
        Ok(())
    }
}

fn validate_reset_interval(reset: &LimitReset) -> Result<(), Error> {
    match reset {
        LimitReset::Other(other) => Err(Error::invalid(
            "reset_interval",
            format!("\"{other}\" is not one of daily, weekly, monthly"),
        )),
        _ => Ok(()),
    }
}

/// A set list is non-empty (the API refuses `[]`: clear it with `null` instead).
fn validate_list(field: &str, list: Option<&[String]>) -> Result<(), Error> {
    match list {
        Some([]) => Err(Error::invalid(
            field,
            "must name at least one entry (clear the list to allow everything)",
        )),
        _ => Ok(()),
    }
}

/// Model slugs look like `author/model[:variant]`.
fn validate_models(field: &str, models: Option<&[String]>) -> Result<(), Error> {
    validate_list(field, models)?;
    for model in models.unwrap_or_default() {
        let well_formed = model
            .split_once('/')
            .is_some_and(|(author, name)| !author.is_empty() && !name.is_empty())
            && !model.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(Error::invalid(
                field,
                format!("\"{model}\" is not a model slug (e.g. openai/gpt-4.1)"),
            ));
        }
    }
    Ok(())
}

/// Provider slugs: lowercase letters, digits, `-`, `.`, `_` (e.g. `openai`, `google-vertex`).
fn validate_providers(field: &str, providers: Option<&[String]>) -> Result<(), Error> {
    validate_list(field, providers)?;
    for provider in providers.unwrap_or_default() {
        let well_formed = !provider.is_empty()
            && provider
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c));
        if !well_formed {
            return Err(Error::invalid(
                field,
                format!("\"{provider}\" is not a provider slug (e.g. openai, google-vertex)"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn validate_guardrail_id(id: &str) -> Result<(), Error> {
    validate_uuid("guardrail_id", id, "guardrail id")
}

/// Key hashes to assign or remove: at least one, each a key hash.
pub(crate) fn validate_key_hashes(hashes: &[String]) -> Result<(), Error> {
    if hashes.is_empty() {
        return Err(Error::invalid("key_hashes", "name at least one key"));
    }
    hashes.iter().try_for_each(|hash| validate_hash(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::validation::validate_user_ids;
    use serde_json::json;

    fn field_of(err: Error) -> Option<String> {
        match err {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not invalid input: {other:?}"),
        }
    }

    #[test]
    fn create_sends_only_what_is_set() {
        let mut request = CreateGuardrailRequest::new("Prod");
        request.allowed_models = Some(vec!["openai/gpt-4.1".into()]);
        request.limit_usd = Some(10.0);
        request.reset_interval = Some(LimitReset::Monthly);
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"name": "Prod", "allowed_models": ["openai/gpt-4.1"], "limit_usd": 10.0,
                   "reset_interval": "monthly"})
        );
        request.validate().unwrap();
    }

    #[test]
    fn update_keeps_null_apart_from_absent() {
        let request = UpdateGuardrailRequest {
            allowed_models: Patch::Clear,
            allowed_providers: Patch::Set(vec!["openai".into()]),
            limit_usd: Patch::Set(5.0),
            ..UpdateGuardrailRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"allowed_models": null, "allowed_providers": ["openai"], "limit_usd": 5.0})
        );
        request.validate().unwrap();
        assert!(UpdateGuardrailRequest::default().is_empty());
        let err = UpdateGuardrailRequest::default().validate().unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("update"));
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(CreateGuardrailRequest, &str)> = vec![
            (CreateGuardrailRequest::new(" "), "name"),
            (CreateGuardrailRequest::new("x".repeat(201)), "name"),
            (
                CreateGuardrailRequest {
                    description: Some("d".repeat(1001)),
                    ..CreateGuardrailRequest::new("g")
                },
                "description",
            ),
            (
                CreateGuardrailRequest {
                    limit_usd: Some(-1.0),
                    ..CreateGuardrailRequest::new("g")
                },
                "limit_usd",
            ),
            (
                CreateGuardrailRequest {
                    limit_usd: Some(f64::NAN),
                    ..CreateGuardrailRequest::new("g")
                },
                "limit_usd",
            ),
            (
                CreateGuardrailRequest {
                    reset_interval: Some(LimitReset::Other("yearly".into())),
                    ..CreateGuardrailRequest::new("g")
                },
                "reset_interval",
            ),
            (
                CreateGuardrailRequest {
                    allowed_models: Some(vec![]),
                    ..CreateGuardrailRequest::new("g")
                },
                "allowed_models",
            ),
            (
                CreateGuardrailRequest {
                    ignored_models: Some(vec!["gpt-4".into()]),
                    ..CreateGuardrailRequest::new("g")
                },
                "ignored_models",
            ),
            (
                CreateGuardrailRequest {
                    allowed_providers: Some(vec!["Open AI".into()]),
                    ..CreateGuardrailRequest::new("g")
                },
                "allowed_providers",
            ),
            (
                CreateGuardrailRequest {
                    workspace_id: Some("default".into()),
                    ..CreateGuardrailRequest::new("g")
                },
                "workspace_id",
            ),
        ];
        for (request, field) in cases {
            assert_eq!(
                field_of(request.validate().unwrap_err()).as_deref(),
                Some(field)
            );
        }
        assert_eq!(
            field_of(validate_guardrail_id("../keys").unwrap_err()).as_deref(),
            Some("guardrail_id")
        );
        assert_eq!(
            field_of(validate_key_hashes(&[]).unwrap_err()).as_deref(),
            Some("key_hashes")
        );
        assert_eq!(
            field_of(validate_key_hashes(&["abc".into()]).unwrap_err()).as_deref(),
            Some("hash")
        );
        assert_eq!(
            field_of(validate_user_ids("member_user_ids", &["a b".into()]).unwrap_err()).as_deref(),
            Some("member_user_ids")
        );
    }

    #[test]
    fn spec_examples_parse() {
        let guardrail: Guardrail = serde_json::from_value(json!({
            "allowed_models": null, "allowed_providers": ["openai", "anthropic", "google"],
            "content_filter_builtins": [{"action": "redact", "label": "[EMAIL]", "slug": "email"}],
            "content_filters": null, "created_at": "2025-08-24T10:30:00Z",
            "description": "Guardrail for production environment", "enforce_zdr": null,
            "enforce_zdr_anthropic": true, "enforce_zdr_google": false, "enforce_zdr_openai": true,
            "enforce_zdr_other": false, "enforce_zdr_xai": false,
            "id": "550e8400-e29b-41d4-a716-446655440000", "ignored_models": null,
            "ignored_providers": null, "include_byok_in_budgets": false, "limit_usd": 100,
            "name": "Production Guardrail", "reset_interval": "monthly",
            "updated_at": "2025-08-24T15:45:00Z", "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11"
        }))
        .unwrap();
        assert!(guardrail.enforces_zdr());
        assert_eq!(guardrail.reset_interval, Some(LimitReset::Monthly));
        assert!(guardrail.created_at.is_some());
    }
}
