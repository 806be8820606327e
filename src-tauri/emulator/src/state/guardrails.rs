//! Guardrails and their key and member assignments. A key (by hash) holds at most one guardrail and so
//! does a member: assigning another replaces the old assignment. Deleting a guardrail drops its
//! assignments; deleting a key drops its assignment (`State::remove` calls [`Guardrails::forget_key`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{LimitReset, State, wire_time};
use crate::models;

/// The organization the emulated account belongs to (member assignments name it).
pub const ORGANIZATION_ID: &str = "org_2dHFtVWx2n56w6HkM0000000000";

/// One guardrail as stored. Model lists hold canonical slugs (what the API answers with).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Guardrail {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub limit_usd: Option<f64>,
    pub reset_interval: Option<LimitReset>,
    pub allowed_models: Option<Vec<String>>,
    pub ignored_models: Option<Vec<String>>,
    pub allowed_providers: Option<Vec<String>>,
    pub ignored_providers: Option<Vec<String>>,
    pub enforce_zdr_anthropic: Option<bool>,
    pub enforce_zdr_google: Option<bool>,
    pub enforce_zdr_openai: Option<bool>,
    pub enforce_zdr_other: Option<bool>,
    pub enforce_zdr_xai: Option<bool>,
    pub enable_free_model_publication: Option<bool>,
    pub enable_free_model_training: Option<bool>,
    pub enable_paid_model_training: Option<bool>,
    pub include_byok_in_budgets: bool,
    /// Kept as sent (validated to be arrays of objects); the emulator does not filter content.
    pub content_filters: Option<Value>,
    pub content_filter_builtins: Option<Value>,
    pub workspace_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Guardrail {
    /// The API's Guardrail object (every documented field present, `null` when unset).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "limit_usd": self.limit_usd,
            "reset_interval": self.reset_interval.map(<&'static str>::from),
            "allowed_models": self.allowed_models,
            "ignored_models": self.ignored_models,
            "allowed_providers": self.allowed_providers,
            "ignored_providers": self.ignored_providers,
            // Deprecated in favour of the per-provider fields; the real API answers null.
            "enforce_zdr": null,
            "enforce_zdr_anthropic": self.enforce_zdr_anthropic,
            "enforce_zdr_google": self.enforce_zdr_google,
            "enforce_zdr_openai": self.enforce_zdr_openai,
            "enforce_zdr_other": self.enforce_zdr_other,
            "enforce_zdr_xai": self.enforce_zdr_xai,
            "enable_free_model_publication": self.enable_free_model_publication,
            "enable_free_model_training": self.enable_free_model_training,
            "enable_paid_model_training": self.enable_paid_model_training,
            "include_byok_in_budgets": self.include_byok_in_budgets,
            "content_filters": self.content_filters,
            "content_filter_builtins": self.content_filter_builtins,
            "workspace_id": self.workspace_id,
            "created_at": wire_time(self.created_at),
            "updated_at": self.updated_at.map(wire_time),
        })
    }

    /// Whether a request for `model` (slug or canonical slug) passes the model lists: not ignored,
    /// and allowed when an allowlist exists (`POST /chat/completions` enforces it).
    pub fn allows_model(&self, model: &str) -> bool {
        let canonical =
            models::find_model(model).map_or_else(|| model.to_owned(), |m| m.canonical_slug.into());
        let named = |list: &Option<Vec<String>>| {
            list.as_ref().is_some_and(|list| list.contains(&canonical))
        };
        !named(&self.ignored_models)
            && (self.allowed_models.is_none() || named(&self.allowed_models))
    }

    /// Whether `provider` (a provider slug, e.g. `openai`) passes the provider lists.
    pub fn allows_provider(&self, provider: &str) -> bool {
        let named = |list: &Option<Vec<String>>| {
            list.as_ref()
                .is_some_and(|list| list.iter().any(|entry| entry == provider))
        };
        !named(&self.ignored_providers)
            && (self.allowed_providers.is_none() || named(&self.allowed_providers))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyAssignment {
    pub id: String,
    pub key_hash: String,
    pub guardrail_id: String,
    pub assigned_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemberAssignment {
    pub id: String,
    pub user_id: String,
    pub guardrail_id: String,
    pub assigned_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl MemberAssignment {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "user_id": self.user_id,
            "organization_id": ORGANIZATION_ID,
            "guardrail_id": self.guardrail_id,
            "assigned_by": self.assigned_by,
            "created_at": wire_time(self.created_at),
        })
    }
}

/// Every guardrail and assignment, oldest first (the order the list endpoints page through).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Guardrails {
    pub guardrails: Vec<Guardrail>,
    pub key_assignments: Vec<KeyAssignment>,
    pub member_assignments: Vec<MemberAssignment>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Guardrails {
    pub fn get(&self, id: &str) -> Option<&Guardrail> {
        self.guardrails.iter().find(|guardrail| guardrail.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Guardrail> {
        self.guardrails
            .iter_mut()
            .find(|guardrail| guardrail.id == id)
    }

    pub fn insert(&mut self, guardrail: Guardrail) {
        self.guardrails.push(guardrail);
    }

    /// Deletes a guardrail and every assignment to it.
    pub fn remove(&mut self, id: &str) -> Option<Guardrail> {
        let position = self
            .guardrails
            .iter()
            .position(|guardrail| guardrail.id == id)?;
        self.key_assignments
            .retain(|assignment| assignment.guardrail_id != id);
        self.member_assignments
            .retain(|assignment| assignment.guardrail_id != id);
        Some(self.guardrails.remove(position))
    }

    /// Assigns a key; true when it was not already assigned to this guardrail (an assignment to
    /// another guardrail is replaced).
    pub fn assign_key(
        &mut self,
        guardrail_id: &str,
        hash: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> bool {
        if self
            .key_assignments
            .iter()
            .any(|a| a.key_hash == hash && a.guardrail_id == guardrail_id)
        {
            return false;
        }
        self.forget_key(hash);
        self.key_assignments.push(KeyAssignment {
            id: new_id(),
            key_hash: hash.to_owned(),
            guardrail_id: guardrail_id.to_owned(),
            assigned_by: by.map(str::to_owned),
            created_at: now,
        });
        true
    }

    /// Removes a key's assignment to this guardrail; true when there was one.
    pub fn unassign_key(&mut self, guardrail_id: &str, hash: &str) -> bool {
        let before = self.key_assignments.len();
        self.key_assignments
            .retain(|a| !(a.key_hash == hash && a.guardrail_id == guardrail_id));
        self.key_assignments.len() != before
    }

    /// Drops a key's assignment, whichever guardrail it names (the key is gone or moves).
    pub fn forget_key(&mut self, hash: &str) {
        self.key_assignments.retain(|a| a.key_hash != hash);
    }

    pub fn assign_member(
        &mut self,
        guardrail_id: &str,
        user_id: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> bool {
        if self
            .member_assignments
            .iter()
            .any(|a| a.user_id == user_id && a.guardrail_id == guardrail_id)
        {
            return false;
        }
        self.member_assignments.retain(|a| a.user_id != user_id);
        self.member_assignments.push(MemberAssignment {
            id: new_id(),
            user_id: user_id.to_owned(),
            guardrail_id: guardrail_id.to_owned(),
            assigned_by: by.map(str::to_owned),
            created_at: now,
        });
        true
    }

    pub fn unassign_member(&mut self, guardrail_id: &str, user_id: &str) -> bool {
        let before = self.member_assignments.len();
        self.member_assignments
            .retain(|a| !(a.user_id == user_id && a.guardrail_id == guardrail_id));
        self.member_assignments.len() != before
    }
}

impl State {
    pub fn guardrails(&self) -> &Guardrails {
        &self.guardrails
    }

    pub fn guardrails_mut(&mut self) -> &mut Guardrails {
        &mut self.guardrails
    }

    /// The guardrail a key (by hash) is assigned to, if any (`POST /chat/completions` enforces it).
    pub fn guardrail_of(&self, hash: &str) -> Option<&Guardrail> {
        let assignment = self
            .guardrails
            .key_assignments
            .iter()
            .find(|assignment| assignment.key_hash == hash)?;
        self.guardrails.get(&assignment.guardrail_id)
    }

    /// The guardrail a member (by user id) is assigned to, if any.
    #[allow(
        dead_code,
        reason = "the chat completions endpoint will read it; tested here"
    )]
    pub fn guardrail_of_member(&self, user_id: &str) -> Option<&Guardrail> {
        let assignment = self
            .guardrails
            .member_assignments
            .iter()
            .find(|assignment| assignment.user_id == user_id)?;
        self.guardrails.get(&assignment.guardrail_id)
    }

    /// Users a guardrail may be assigned to: the organization's members (the account's owner among
    /// them), and every key creator (a key's `creator_user_id` is free text on create, and such a
    /// user must stay assignable as before the registry existed).
    pub fn is_member(&self, user_id: &str) -> bool {
        user_id == super::ACCOUNT_USER_ID
            || self.workspaces.org_member(user_id).is_some()
            || self
                .all_newest_first()
                .any(|key| key.creator_user_id.as_deref() == Some(user_id))
    }

    /// The API's KeyAssignment object; the key's name and label are read live.
    pub fn key_assignment_json(&self, assignment: &KeyAssignment) -> Value {
        let key = self.get(&assignment.key_hash);
        json!({
            "id": assignment.id,
            "key_hash": assignment.key_hash,
            "guardrail_id": assignment.guardrail_id,
            "key_name": key.map_or("", |key| key.name.as_str()),
            "key_label": key.map_or("", |key| key.label.as_str()),
            "assigned_by": assignment.assigned_by,
            "created_at": wire_time(assignment.created_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::seed_demo;

    fn guardrail() -> Guardrail {
        Guardrail {
            id: "g".into(),
            name: "g".into(),
            description: None,
            limit_usd: None,
            reset_interval: None,
            allowed_models: Some(vec!["openai/gpt-4.1-2025-04-14".into()]),
            ignored_models: None,
            allowed_providers: None,
            ignored_providers: Some(vec!["deepinfra".into()]),
            enforce_zdr_anthropic: None,
            enforce_zdr_google: None,
            enforce_zdr_openai: None,
            enforce_zdr_other: None,
            enforce_zdr_xai: None,
            enable_free_model_publication: None,
            enable_free_model_training: None,
            enable_paid_model_training: None,
            include_byok_in_budgets: false,
            content_filters: None,
            content_filter_builtins: None,
            workspace_id: super::super::DEFAULT_WORKSPACE_ID.into(),
            created_at: Utc::now(),
            updated_at: None,
        }
    }

    #[test]
    fn model_and_provider_lists_decide() {
        let mut guard = guardrail();
        assert!(guard.allows_model("openai/gpt-4.1"));
        assert!(guard.allows_model("openai/gpt-4.1-2025-04-14"));
        assert!(!guard.allows_model("openai/o3"));
        assert!(guard.allows_provider("openai"));
        assert!(!guard.allows_provider("deepinfra"));
        guard.allowed_models = None;
        guard.ignored_models = Some(vec!["openai/o3-2025-04-16".into()]);
        assert!(!guard.allows_model("openai/o3"));
        assert!(guard.allows_model("anthropic/claude-sonnet-4"));
        guard.allowed_providers = Some(vec!["anthropic".into()]);
        assert!(!guard.allows_provider("openai"));
    }

    #[test]
    fn a_state_file_from_before_guardrails_still_loads() {
        let mut state = State::new();
        seed_demo(&mut state, 6, Some(1), None);
        let mut old = serde_json::to_value(state.snapshot()).unwrap();
        old.as_object_mut().unwrap().remove("guardrails");
        let loaded = State::from_snapshot(serde_json::from_value(old).unwrap());
        assert_eq!(loaded.key_count(), 6);
        assert!(loaded.guardrails().guardrails.is_empty());
        let round_trip = State::from_snapshot(state.snapshot());
        assert_eq!(round_trip.guardrails(), state.guardrails());
    }

    #[test]
    fn guardrail_of_follows_assignments_and_key_deletion() {
        let mut state = State::new();
        let hashes = seed_demo(&mut state, 8, Some(3), None);
        let guarded = state.guardrail_of(&hashes[0]).map(|g| g.name.clone());
        assert_eq!(guarded.as_deref(), Some("Production allowlist"));
        assert_eq!(
            state.guardrail_of(&hashes[3]).map(|g| g.name.as_str()),
            Some("No training")
        );
        assert!(state.guardrail_of(&hashes[6]).is_none());
        let member = state.guardrails().member_assignments[0].user_id.clone();
        assert!(state.guardrail_of_member(&member).is_some());
        let today = state.now().date_naive();
        state.remove(&hashes[0], today);
        assert!(state.guardrail_of(&hashes[0]).is_none());
        assert_eq!(state.guardrails().key_assignments.len(), 4);
    }
}
