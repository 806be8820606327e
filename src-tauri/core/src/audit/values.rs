//! The typed before/after values of audit entries. Each is built from a domain type by picking
//! the fields worth showing; none has a field a secret could go in (no secret, no management key,
//! no deployed value, no command arguments), so a log entry can't carry one by construction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{ApiKey, BudgetInterval, Guardrail};
use crate::store::Profile;

/// One before or after value, tagged by `type` in its JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuditValue {
    Key(KeySettings),
    Guardrail(GuardrailSettings),
    Assignment(AssignmentChange),
    Budget(BudgetChange),
    Profile(ProfileSettings),
    Rotation(RotationChange),
    Deploy(DeployChange),
    Secret(SecretResolution),
    /// A key's local labels (tags, environment, project, owner, notes).
    Labels(crate::metadata::KeyMetadata),
    /// A batch run or an emergency revoke as a whole (each key has its own entry too).
    Batch(BatchSummary),
}

/// What a batch run or an emergency revoke did, in counts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchSummary {
    /// The batch run's id, or the revoke's.
    pub id: String,
    /// `disable`, `enable`, `set_limit`, `clear_limit`, `assign_guardrail`, `delete`, `revoke`, `reenable`.
    pub operation: String,
    /// The filter expression or "selection of N keys" (revokes).
    pub selection: Option<String>,
    pub total: u32,
    pub done: u32,
    pub failed: u32,
    pub not_run: u32,
    pub cancelled: bool,
}

/// A key's settings (what an update can change, and what identifies it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KeySettings {
    pub name: String,
    pub disabled: bool,
    pub limit: Option<f64>,
    pub limit_reset: Option<String>,
    pub include_byok_in_limit: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub workspace_id: Option<String>,
}

impl From<&ApiKey> for KeySettings {
    fn from(key: &ApiKey) -> Self {
        KeySettings {
            name: key.name.clone(),
            disabled: key.disabled,
            limit: key.limit,
            limit_reset: key.limit_reset.as_ref().map(ToString::to_string),
            include_byok_in_limit: key.include_byok_in_limit,
            expires_at: key.expires_at,
            workspace_id: key.workspace_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GuardrailSettings {
    pub id: String,
    pub name: String,
    pub limit_usd: Option<f64>,
    pub reset_interval: Option<String>,
    pub allowed_models: Option<Vec<String>>,
    pub allowed_providers: Option<Vec<String>>,
}

impl From<&Guardrail> for GuardrailSettings {
    fn from(guardrail: &Guardrail) -> Self {
        GuardrailSettings {
            id: guardrail.id.clone(),
            name: guardrail.name.clone(),
            limit_usd: guardrail.limit_usd,
            reset_interval: guardrail.reset_interval.as_ref().map(ToString::to_string),
            allowed_models: guardrail.allowed_models.clone(),
            allowed_providers: guardrail.allowed_providers.clone(),
        }
    }
}

/// Keys and members given to (or taken from) a guardrail.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AssignmentChange {
    pub guardrail_id: String,
    pub key_hashes: Vec<String>,
    pub member_user_ids: Vec<String>,
}

/// A workspace budget: `limit_usd: None` after a removal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetChange {
    pub workspace_id: String,
    pub interval: BudgetInterval,
    pub limit_usd: Option<f64>,
}

/// A profile as people see it (never its management key).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProfileSettings {
    pub name: String,
    pub base_url: String,
    pub workspace_id: Option<String>,
}

impl From<&Profile> for ProfileSettings {
    fn from(profile: &Profile) -> Self {
        ProfileSettings {
            name: profile.name.clone(),
            base_url: profile.base_url.clone(),
            workspace_id: profile.workspace_id.clone(),
        }
    }
}

/// A rotation event: its status, the step and what the step or action said.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RotationChange {
    pub rotation_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_name: Option<String>,
}

/// Where a secret was deployed: the target's kind and a description of where (a path and variable,
/// a keychain service and account, a program) — never the value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeployChange {
    pub rotation_id: String,
    pub target_kind: String,
    pub target: String,
}

/// What the person did with a held secret: `keep` or `forget`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SecretResolution {
    pub resolution: String,
}

impl AuditValue {
    /// The value as `field → text` pairs, for the human summary of a change.
    fn fields(&self) -> Vec<(&'static str, String)> {
        fn opt<T: ToString>(value: Option<&T>) -> String {
            value.map_or_else(|| "none".to_owned(), ToString::to_string)
        }
        fn list(value: Option<&Vec<String>>) -> String {
            value.map_or_else(|| "any".to_owned(), |items| items.join(", "))
        }
        match self {
            AuditValue::Key(key) => vec![
                ("name", key.name.clone()),
                ("disabled", key.disabled.to_string()),
                ("limit", opt(key.limit.as_ref())),
                ("limit_reset", opt(key.limit_reset.as_ref())),
                (
                    "include_byok_in_limit",
                    key.include_byok_in_limit.to_string(),
                ),
                ("expires_at", opt(key.expires_at.as_ref())),
                ("workspace", opt(key.workspace_id.as_ref())),
            ],
            AuditValue::Guardrail(guardrail) => vec![
                ("guardrail", guardrail.id.clone()),
                ("name", guardrail.name.clone()),
                ("limit_usd", opt(guardrail.limit_usd.as_ref())),
                ("reset_interval", opt(guardrail.reset_interval.as_ref())),
                ("allowed_models", list(guardrail.allowed_models.as_ref())),
                (
                    "allowed_providers",
                    list(guardrail.allowed_providers.as_ref()),
                ),
            ],
            AuditValue::Assignment(change) => vec![
                ("guardrail", change.guardrail_id.clone()),
                ("keys", change.key_hashes.join(", ")),
                ("members", change.member_user_ids.join(", ")),
            ],
            AuditValue::Budget(budget) => vec![
                ("workspace", budget.workspace_id.clone()),
                ("interval", budget.interval.to_string()),
                ("limit_usd", opt(budget.limit_usd.as_ref())),
            ],
            AuditValue::Profile(profile) => vec![
                ("name", profile.name.clone()),
                ("base_url", profile.base_url.clone()),
                ("workspace", opt(profile.workspace_id.as_ref())),
            ],
            AuditValue::Rotation(rotation) => {
                let mut fields = vec![("status", rotation.status.clone())];
                for (name, value) in [
                    ("step", &rotation.step),
                    ("outcome", &rotation.outcome),
                    ("action", &rotation.action),
                    ("new_key", &rotation.new_key_hash),
                ] {
                    if let Some(value) = value {
                        fields.push((name, value.clone()));
                    }
                }
                fields
            }
            AuditValue::Deploy(deploy) => vec![
                ("target_kind", deploy.target_kind.clone()),
                ("target", deploy.target.clone()),
            ],
            AuditValue::Secret(secret) => vec![("resolution", secret.resolution.clone())],
            AuditValue::Batch(batch) => {
                let mut fields = vec![
                    ("operation", batch.operation.clone()),
                    ("id", batch.id.clone()),
                ];
                if let Some(selection) = &batch.selection {
                    fields.push(("selection", selection.clone()));
                }
                fields.extend([
                    ("total", batch.total.to_string()),
                    ("done", batch.done.to_string()),
                    ("failed", batch.failed.to_string()),
                    ("not_run", batch.not_run.to_string()),
                    ("cancelled", batch.cancelled.to_string()),
                ]);
                fields
            }
            AuditValue::Labels(labels) => vec![
                ("tags", labels.tags.join(", ")),
                ("environment", opt(labels.environment.as_ref())),
                ("project", opt(labels.project.as_ref())),
                ("owner", opt(labels.owner.as_ref())),
                ("notes", opt(labels.notes.as_ref())),
            ],
        }
    }
}

/// `field: before → after` for every field that differs; with only one side, its fields as
/// `field: value`.
pub(crate) fn summarize(before: Option<&AuditValue>, after: Option<&AuditValue>) -> String {
    match (before, after) {
        (Some(before), Some(after)) => {
            let old = before.fields();
            let new = after.fields();
            let changed: Vec<String> = new
                .iter()
                .filter_map(|(field, value)| {
                    let was = old.iter().find(|(name, _)| name == field).map(|(_, v)| v);
                    (was != Some(value)).then(|| {
                        format!("{field}: {} → {value}", was.map_or("none", String::as_str))
                    })
                })
                .collect();
            if changed.is_empty() {
                "no change".to_owned()
            } else {
                changed.join("; ")
            }
        }
        (Some(only), None) | (None, Some(only)) => only
            .fields()
            .into_iter()
            .map(|(field, value)| format!("{field}: {value}"))
            .collect::<Vec<_>>()
            .join("; "),
        (None, None) => String::new(),
    }
}

/// The summary of stored JSON values (entries written by newer versions may not parse: shown raw).
pub(crate) fn summarize_json(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |json: Option<&str>| json.map(serde_json::from_str::<AuditValue>);
    match (parse(before), parse(after)) {
        (Some(Err(_)), _) | (_, Some(Err(_))) => {
            format!("{} → {}", before.unwrap_or("none"), after.unwrap_or("none"))
        }
        (before, after) => summarize(
            before.and_then(Result::ok).as_ref(),
            after.and_then(Result::ok).as_ref(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_only_what_changed() {
        let before = AuditValue::Key(KeySettings {
            name: "prod".into(),
            limit: Some(10.0),
            ..KeySettings::default()
        });
        let after = AuditValue::Key(KeySettings {
            name: "prod".into(),
            limit: Some(20.0),
            disabled: true,
            ..KeySettings::default()
        });
        assert_eq!(
            summarize(Some(&before), Some(&after)),
            "disabled: false → true; limit: 10 → 20"
        );
        assert_eq!(summarize(Some(&before), Some(&before)), "no change");
    }
}
