//! After an interrupted create: the keys it may have made are found on the server by the token
//! their name carries until their secret is safe (`⟨kw:…⟩`, unique to the rotation); one whose
//! secret reached the keychain is adopted, every other deleted. A key of the same name without the
//! token (another install, a teammate, a batch) is never touched.

use std::collections::HashSet;

use super::Rotations;
use crate::Error;
use crate::api::{ApiKey, ListKeysQuery, OpenRouterClient};
use crate::rotation::{
    CreateReconcile, JournalEntry, JournalOutcome, JournalPhase, NewKey, Rotation,
    RotationStepName, carries_token,
};
use crate::store::NewSecretIndexEntry;

impl Rotations {
    /// Finds keys this rotation's interrupted create made (their name carries the rotation's token,
    /// not known to any rotation): the first whose secret reached the keychain is adopted (unless
    /// `discard_all`), every other one deleted — nobody ever had its secret. A rotation from before
    /// tokens finds nothing (it cannot tell its keys from anyone else's).
    pub(super) async fn reconcile_create(
        &self,
        rotation: &mut Rotation,
        client: &OpenRouterClient,
        discard_all: bool,
    ) -> Result<CreateReconcile, Error> {
        let mut found = CreateReconcile {
            found: Vec::new(),
            adopted: None,
            deleted: Vec::new(),
        };
        if rotation.create_window_start.is_none() {
            return Ok(found);
        }
        let Some(token) = rotation.create_token.clone() else {
            tracing::warn!(rotation = %rotation.id, "an interrupted create of a rotation without a token: no key is adopted or deleted");
            return Ok(found);
        };
        let keys = client
            .list_all(&ListKeysQuery {
                include_disabled: true,
                include_expired: true,
                workspace_id: rotation.old.workspace_id.clone(),
            })
            .await?;
        let known: HashSet<String> = self
            .store()
            .rotation_new_key_hashes(&rotation.profile_id)?
            .into_iter()
            .collect();
        let mut candidates: Vec<ApiKey> = keys
            .into_iter()
            .filter(|key| carries_token(&key.name, &token) && key.hash != rotation.old.hash)
            .filter(|key| !known.contains(&key.hash))
            .collect();
        candidates.sort_by_key(|key| key.created_at);
        for key in candidates {
            found.found.push(key.hash.clone());
            if !discard_all && found.adopted.is_none() && self.keychain_holds(rotation, &key).await
            {
                rotation.new_key = Some(NewKey {
                    hash: key.hash.clone(),
                    label: key.label.clone(),
                    created_at: key.created_at,
                });
                found.adopted = Some(key.hash.clone());
                continue;
            }
            match client.delete_key(&key.hash).await {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
            self.forget_secret(&rotation.profile_id, &key.hash).await?;
            self.forget_cached_key(&rotation.profile_id, &key.hash);
            found.deleted.push(key.hash.clone());
        }
        let note = JournalEntry::new(
            self.now(),
            RotationStepName::Create,
            JournalPhase::Note,
            Some(JournalOutcome::Reconciled),
            serde_json::json!(found),
        );
        self.save_rotation(rotation, vec![note])?;
        tracing::info!(rotation = %rotation.id, found = found.found.len(), deleted = found.deleted.len(), adopted = found.adopted.is_some(), "reconciled an interrupted create");
        Ok(found)
    }

    /// Whether the keychain holds `key`'s secret as pending; restores its index row if missing.
    pub(super) async fn keychain_holds(&self, rotation: &Rotation, key: &ApiKey) -> bool {
        let entry = NewSecretIndexEntry::for_key(&rotation.profile_id, key);
        self.blocking(move |shared| {
            shared
                .vault
                .pending_secret(&entry.profile_id, &entry.key_hash)?;
            let store = shared.store();
            if store
                .secret_index_entry(&entry.profile_id, &entry.key_hash)?
                .is_none()
            {
                store.record_pending_secret(&entry)?;
            }
            Ok(())
        })
        .await
        .is_ok()
    }
}
