//! Guardrails of a profile's account for the app's Guardrails view and the key list's Guardrail
//! column: list (with the keys and members each applies to), get, create, update, delete, bulk
//! assign and remove, the model list for the picker, and field-by-field validation of the form.
//!
//! Guardrails belong to a workspace, so the list covers every workspace the profile sees. The map
//! key hash → guardrail the key list shows is cached per profile: it is dropped whenever the key list
//! changes (`emit_keys_changed`), so a refresh or a guardrail change is shown on the next read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{EventSink, Keyward};
use crate::Error;
use crate::api::{
    CreateGuardrailRequest, Guardrail, KeyAssignment, MemberAssignment, Model, OpenRouterClient,
    UpdateGuardrailRequest,
};
use crate::audit::{AssignmentChange, AuditAction, AuditValue, GuardrailSettings, NewAuditEntry};
use crate::error::AppError;
use crate::ipc::{ConnectivityEvent, KeysChangedEvent, ProfileScopedArgs, WorkspacesListArgs};

// --- IPC types ------------------------------------------------------------------------------------

/// Arguments of `guardrails_list` and `key_guardrails`: `refresh` asks OpenRouter instead of
/// answering the cached map (the list itself is always fetched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GuardrailsListArgs {
    pub profile_id: String,
    #[serde(default)]
    pub refresh: bool,
}

/// One guardrail with the keys and members it applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GuardrailEntry {
    pub guardrail: Guardrail,
    pub keys: Vec<KeyAssignment>,
    pub members: Vec<MemberAssignment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GuardrailArgs {
    pub profile_id: String,
    pub guardrail_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GuardrailCreateArgs {
    pub profile_id: String,
    pub request: CreateGuardrailRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GuardrailUpdateArgs {
    pub profile_id: String,
    pub guardrail_id: String,
    pub request: UpdateGuardrailRequest,
}

/// Keys (by hash) and members (by user id) to assign to or remove from one guardrail; either list
/// may be empty, not both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GuardrailAssignArgs {
    pub profile_id: String,
    pub guardrail_id: String,
    #[serde(default)]
    pub key_hashes: Vec<String>,
    #[serde(default)]
    pub member_user_ids: Vec<String>,
}

/// How many keys and members an assign (newly assigned) or remove (unassigned) changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AssignmentCounts {
    pub keys: u64,
    pub members: u64,
}

/// The guardrail a key holds, as the key list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GuardrailRef {
    pub id: String,
    pub name: String,
}

/// Key hash → its guardrail; keys without one are absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct KeyGuardrails {
    pub by_key: HashMap<String, GuardrailRef>,
}

// --- Cache ----------------------------------------------------------------------------------------

/// The key → guardrail map of each profile, by profile id.
#[derive(Default)]
pub(super) struct KeyGuardrailCache(Mutex<HashMap<String, KeyGuardrails>>);

impl KeyGuardrailCache {
    fn get(&self, profile_id: &str) -> Option<KeyGuardrails> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(profile_id)
            .cloned()
    }

    fn set(&self, profile_id: &str, map: KeyGuardrails) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(profile_id.to_owned(), map);
    }

    pub(super) fn forget(&self, profile_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(profile_id);
    }
}

/// An [`EventSink`] that drops a profile's key → guardrail map whenever its key list changes, then
/// passes the event on (the rotation runner reports its changes through it).
pub(super) struct ForgetOnKeysChanged {
    pub events: Arc<dyn EventSink>,
    pub cache: Arc<KeyGuardrailCache>,
}

impl EventSink for ForgetOnKeysChanged {
    fn keys_changed(&self, event: KeysChangedEvent) {
        self.cache.forget(&event.profile_id);
        self.events.keys_changed(event);
    }

    fn connectivity(&self, event: ConnectivityEvent) {
        self.events.connectivity(event);
    }

    fn rotation_changed(&self, rotation: crate::rotation::RotationView) {
        self.events.rotation_changed(rotation);
    }
}

fn key_map(guardrails: &[Guardrail], assignments: &[KeyAssignment]) -> KeyGuardrails {
    let names: HashMap<&str, &str> = guardrails
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let by_key = assignments
        .iter()
        .map(|a| {
            let name = names.get(a.guardrail_id.as_str()).copied().unwrap_or("");
            (
                a.key_hash.clone(),
                GuardrailRef {
                    id: a.guardrail_id.clone(),
                    name: name.to_owned(),
                },
            )
        })
        .collect();
    KeyGuardrails { by_key }
}

// --- Service --------------------------------------------------------------------------------------

impl Keyward {
    async fn guardrail_client(&self, profile_id: &str) -> Result<OpenRouterClient, Error> {
        let profile = self.require_profile(profile_id)?;
        self.client_for(&profile).await
    }

    /// Every guardrail of every workspace the profile sees (the default one's alone when the
    /// account has no workspace list), by name.
    async fn all_guardrails(
        &self,
        client: &OpenRouterClient,
        profile_id: &str,
    ) -> Result<Vec<Guardrail>, Error> {
        let workspaces = self
            .workspaces_list(WorkspacesListArgs {
                profile_id: profile_id.to_owned(),
                refresh: false,
            })
            .await?;
        let mut guardrails = if workspaces.is_empty() {
            client.list_guardrails().await?
        } else {
            try_join_all(
                workspaces
                    .iter()
                    .map(|workspace| client.list_guardrails_in(&workspace.id)),
            )
            .await?
            .into_iter()
            .flatten()
            .collect()
        };
        guardrails.sort_by_key(|g| (g.name.to_lowercase(), g.id.clone()));
        guardrails.dedup_by(|a, b| a.id == b.id);
        Ok(guardrails)
    }

    /// Every guardrail with its key and member assignments; refreshes the key → guardrail map.
    pub async fn guardrails_list(
        &self,
        args: GuardrailsListArgs,
    ) -> Result<Vec<GuardrailEntry>, Error> {
        let client = self.guardrail_client(&args.profile_id).await?;
        let guardrails = self.all_guardrails(&client, &args.profile_id).await?;
        let (keys, members) = tokio::try_join!(
            try_join_all(
                guardrails
                    .iter()
                    .map(|g| client.guardrail_key_assignments(&g.id))
            ),
            try_join_all(
                guardrails
                    .iter()
                    .map(|g| client.guardrail_member_assignments(&g.id))
            ),
        )?;
        let all_keys: Vec<KeyAssignment> = keys.iter().flatten().cloned().collect();
        self.inner
            .key_guardrails
            .set(&args.profile_id, key_map(&guardrails, &all_keys));
        Ok(guardrails
            .into_iter()
            .zip(keys)
            .zip(members)
            .map(|((guardrail, keys), members)| GuardrailEntry {
                guardrail,
                keys,
                members,
            })
            .collect())
    }

    /// One guardrail with its assignments.
    pub async fn guardrail_get(&self, args: GuardrailArgs) -> Result<GuardrailEntry, Error> {
        let client = self.guardrail_client(&args.profile_id).await?;
        let (guardrail, keys, members) = tokio::try_join!(
            client.get_guardrail(&args.guardrail_id),
            client.guardrail_key_assignments(&args.guardrail_id),
            client.guardrail_member_assignments(&args.guardrail_id),
        )?;
        Ok(GuardrailEntry {
            guardrail,
            keys,
            members,
        })
    }

    /// Every problem of a guardrail form, one error per field (`field` set); empty = valid.
    pub fn guardrail_validate(&self, request: &CreateGuardrailRequest) -> Vec<AppError> {
        // `validate` stops at the first problem; checking each field alone (beside a valid name)
        // finds them all with the one set of rules.
        let name_only = CreateGuardrailRequest::new(request.name.clone());
        let base = || CreateGuardrailRequest::new("field check");
        let singles = [
            name_only,
            CreateGuardrailRequest {
                description: request.description.clone(),
                ..base()
            },
            CreateGuardrailRequest {
                limit_usd: request.limit_usd,
                ..base()
            },
            CreateGuardrailRequest {
                reset_interval: request.reset_interval.clone(),
                ..base()
            },
            CreateGuardrailRequest {
                allowed_models: request.allowed_models.clone(),
                ..base()
            },
            CreateGuardrailRequest {
                ignored_models: request.ignored_models.clone(),
                ..base()
            },
            CreateGuardrailRequest {
                allowed_providers: request.allowed_providers.clone(),
                ..base()
            },
            CreateGuardrailRequest {
                ignored_providers: request.ignored_providers.clone(),
                ..base()
            },
            CreateGuardrailRequest {
                workspace_id: request.workspace_id.clone(),
                ..base()
            },
        ];
        singles
            .iter()
            .filter_map(|single| single.validate().err())
            .map(|error| AppError::from(&error))
            .collect()
    }

    pub async fn guardrail_create(&self, args: GuardrailCreateArgs) -> Result<Guardrail, Error> {
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::GuardrailCreate);
        let result = self.create_guardrail(args).await;
        let entry = match &result {
            Ok(created) => entry.after(AuditValue::Guardrail(GuardrailSettings::from(created))),
            Err(_) => entry,
        };
        self.audited(entry, result)
    }

    async fn create_guardrail(&self, args: GuardrailCreateArgs) -> Result<Guardrail, Error> {
        args.request.validate()?;
        let client = self.guardrail_client(&args.profile_id).await?;
        let created = client.create_guardrail(&args.request).await?;
        tracing::info!(profile = %args.profile_id, guardrail = %created.id, "guardrail created");
        self.emit_keys_changed(&args.profile_id);
        Ok(created)
    }

    pub async fn guardrail_update(&self, args: GuardrailUpdateArgs) -> Result<Guardrail, Error> {
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::GuardrailUpdate);
        let id = args.guardrail_id.clone();
        let result = self.update_guardrail(args).await;
        let after = match &result {
            Ok(updated) => GuardrailSettings::from(updated),
            Err(_) => GuardrailSettings {
                id,
                ..GuardrailSettings::default()
            },
        };
        self.audited(entry.after(AuditValue::Guardrail(after)), result)
    }

    async fn update_guardrail(&self, args: GuardrailUpdateArgs) -> Result<Guardrail, Error> {
        args.request.validate()?;
        let client = self.guardrail_client(&args.profile_id).await?;
        let updated = client
            .update_guardrail(&args.guardrail_id, &args.request)
            .await?;
        tracing::info!(profile = %args.profile_id, guardrail = %updated.id, "guardrail updated");
        self.emit_keys_changed(&args.profile_id);
        Ok(updated)
    }

    /// Deletes a guardrail; the keys and members it applied to lose it.
    pub async fn guardrail_delete(&self, args: GuardrailArgs) -> Result<(), Error> {
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::GuardrailDelete).before(
            AuditValue::Guardrail(GuardrailSettings {
                id: args.guardrail_id.clone(),
                ..GuardrailSettings::default()
            }),
        );
        let result = self.delete_guardrail(args).await;
        self.audited(entry, result)
    }

    async fn delete_guardrail(&self, args: GuardrailArgs) -> Result<(), Error> {
        let client = self.guardrail_client(&args.profile_id).await?;
        client.delete_guardrail(&args.guardrail_id).await?;
        tracing::info!(profile = %args.profile_id, guardrail = %args.guardrail_id, "guardrail deleted");
        self.emit_keys_changed(&args.profile_id);
        Ok(())
    }

    /// Assigns keys and members in one request each (a key's previous guardrail is replaced).
    pub async fn guardrail_assign(
        &self,
        args: GuardrailAssignArgs,
    ) -> Result<AssignmentCounts, Error> {
        self.change_assignments(args, true).await
    }

    /// Removes keys and members from a guardrail.
    pub async fn guardrail_unassign(
        &self,
        args: GuardrailAssignArgs,
    ) -> Result<AssignmentCounts, Error> {
        self.change_assignments(args, false).await
    }

    async fn change_assignments(
        &self,
        args: GuardrailAssignArgs,
        assign: bool,
    ) -> Result<AssignmentCounts, Error> {
        let action = if assign {
            AuditAction::GuardrailAssign
        } else {
            AuditAction::GuardrailUnassign
        };
        let change = AuditValue::Assignment(AssignmentChange {
            guardrail_id: args.guardrail_id.clone(),
            key_hashes: args.key_hashes.clone(),
            member_user_ids: args.member_user_ids.clone(),
        });
        let mut entry = NewAuditEntry::new(&args.profile_id, action);
        // One key: the entry names it (and shows up when filtering by that key).
        if let [hash] = args.key_hashes.as_slice() {
            let name = self
                .cached_settings(&args.profile_id, hash)
                .map(|key| key.name);
            entry = entry.key(Some(hash), name.as_deref());
        }
        entry = if assign {
            entry.after(change)
        } else {
            entry.before(change)
        };
        let result = self.send_assignments(args, assign).await;
        self.audited(entry, result)
    }

    async fn send_assignments(
        &self,
        args: GuardrailAssignArgs,
        assign: bool,
    ) -> Result<AssignmentCounts, Error> {
        if args.key_hashes.is_empty() && args.member_user_ids.is_empty() {
            return Err(Error::invalid(
                "key_hashes",
                "name at least one key or member",
            ));
        }
        let client = self.guardrail_client(&args.profile_id).await?;
        let id = args.guardrail_id.as_str();
        let keys = match (args.key_hashes.is_empty(), assign) {
            (true, _) => 0,
            (false, true) => client.assign_keys(id, &args.key_hashes).await?,
            (false, false) => client.unassign_keys(id, &args.key_hashes).await?,
        };
        let members = match (args.member_user_ids.is_empty(), assign) {
            (true, _) => 0,
            (false, true) => client.assign_members(id, &args.member_user_ids).await?,
            (false, false) => client.unassign_members(id, &args.member_user_ids).await?,
        };
        tracing::info!(profile = %args.profile_id, guardrail = %id, assign, keys, members, "guardrail assignments changed");
        self.emit_keys_changed(&args.profile_id);
        Ok(AssignmentCounts { keys, members })
    }

    /// OpenRouter's model list for the picker (cached by the client).
    pub async fn models(&self, args: ProfileScopedArgs) -> Result<Vec<Model>, Error> {
        let client = self.guardrail_client(&args.profile_id).await?;
        Ok(client.models().await?.as_ref().clone())
    }

    /// Key hash → guardrail for the key list: the cached map unless `refresh` or none is cached.
    pub async fn key_guardrails(&self, args: GuardrailsListArgs) -> Result<KeyGuardrails, Error> {
        if !args.refresh
            && let Some(known) = self.inner.key_guardrails.get(&args.profile_id)
        {
            return Ok(known);
        }
        let client = self.guardrail_client(&args.profile_id).await?;
        let (guardrails, assignments) = tokio::try_join!(
            self.all_guardrails(&client, &args.profile_id),
            client.all_key_assignments(),
        )?;
        let map = key_map(&guardrails, &assignments);
        self.inner.key_guardrails.set(&args.profile_id, map.clone());
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guardrail(id: &str, name: &str) -> Guardrail {
        serde_json::from_value(serde_json::json!({"id": id, "name": name})).unwrap()
    }

    fn assignment(hash: &str, guardrail_id: &str) -> KeyAssignment {
        serde_json::from_value(serde_json::json!({
            "id": "a", "key_hash": hash, "guardrail_id": guardrail_id
        }))
        .unwrap()
    }

    #[test]
    fn key_map_names_each_keys_guardrail() {
        let map = key_map(
            &[guardrail("g1", "Prod"), guardrail("g2", "Dev")],
            &[assignment("h1", "g1"), assignment("h2", "g2")],
        );
        assert_eq!(map.by_key.len(), 2);
        assert_eq!(map.by_key["h1"].name, "Prod");
        assert_eq!(map.by_key["h2"].id, "g2");
    }
}
