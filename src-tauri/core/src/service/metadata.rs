//! Local key metadata through the service: validate, set (which the key list then carries), and the
//! helpers the rest of the service uses to keep it with its key (a rotation hands it to the new key).

use super::Keyward;
use crate::audit::{AuditAction, AuditValue, NewAuditEntry};
use crate::ipc::{KeyMetadataSetArgs, KeyRow};
use crate::metadata::{KeyMetadata, KeyMetadataEdit, TagCount, tag_counts};
use crate::{AppError, Error};

impl Keyward {
    /// The core's validation of a metadata form, one error per bad field; empty = valid.
    pub fn key_metadata_validate(&self, metadata: &KeyMetadata) -> Vec<AppError> {
        metadata.errors().iter().map(AppError::from).collect()
    }

    /// Replaces a key's metadata (normalized first; a bad field changes nothing) and answers the key's
    /// row as the list shows it. The key must be in the profile's cached list, so a typo in a hash is
    /// an error rather than metadata nobody sees.
    /// Every call is recorded in the audit log (before → after, or the failure).
    pub async fn key_metadata_set(&self, args: KeyMetadataSetArgs) -> Result<KeyRow, Error> {
        let before = self
            .inner
            .store()
            .key_metadata(&args.profile_id, &args.hash)
            .ok();
        let name = self
            .cached_settings(&args.profile_id, &args.hash)
            .map(|key| key.name);
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::MetadataSet)
            .key(Some(&args.hash), name.as_deref())
            .before(before.map(AuditValue::Labels));
        let result = self.set_metadata(args).await;
        let entry = match &result {
            Ok(row) => entry.after(AuditValue::Labels(row.metadata.clone())),
            Err(_) => entry,
        };
        self.audited(entry, result)
    }

    async fn set_metadata(&self, args: KeyMetadataSetArgs) -> Result<KeyRow, Error> {
        let metadata = args.metadata.normalized()?;
        let profile = self.require_profile(&args.profile_id)?;
        let now = self.now();
        let row = self
            .blocking(move |inner| {
                let store = inner.store();
                let key = store
                    .cached_keys::<crate::api::ApiKey>(&profile.id)?
                    .into_iter()
                    .find(|cached| cached.key.hash == args.hash)
                    .ok_or_else(|| Error::NotFound {
                        message: format!(
                            "no key with hash {} in this profile's list; refresh and try again",
                            args.hash
                        ),
                    })?;
                store.set_key_metadata(&profile.id, &args.hash, &metadata)?;
                let idle = Keyward::idle_by_key(&store, &profile.id, &[&key.key], now)?;
                let row = KeyRow::new(&key.key, now).with_metadata(metadata);
                Ok(match idle.into_values().next() {
                    Some(idle) => row.with_idle(idle),
                    None => row,
                })
            })
            .await?;
        self.emit_keys_changed(&args.profile_id);
        Ok(row)
    }

    /// Applies an edit (tags added/removed, fields set) to a key's current metadata and saves the
    /// result through [`Keyward::key_metadata_set`], the one place metadata changes.
    pub async fn key_metadata_edit(
        &self,
        profile_id: &str,
        hash: &str,
        edit: &KeyMetadataEdit,
    ) -> Result<KeyRow, Error> {
        let profile = self.require_profile(profile_id)?;
        let current = self.inner.store().key_metadata(&profile.id, hash)?;
        let metadata = edit.apply_to(&current)?;
        self.key_metadata_set(KeyMetadataSetArgs {
            profile_id: profile.id,
            hash: hash.to_owned(),
            metadata,
        })
        .await
    }

    /// The tags of a profile's listed keys with their key counts, most used first (metadata of
    /// keys no longer in the list is not counted).
    pub fn key_tags(&self, profile_id: &str) -> Result<Vec<TagCount>, Error> {
        let profile = self.require_profile(profile_id)?;
        let store = self.inner.store();
        let listed: std::collections::HashSet<String> = store
            .cached_keys::<crate::api::ApiKey>(&profile.id)?
            .into_iter()
            .map(|cached| cached.key.hash)
            .collect();
        let all = store.profile_key_metadata(&profile.id)?;
        Ok(tag_counts(
            all.iter()
                .filter(|(hash, _)| listed.contains(*hash))
                .map(|(_, metadata)| metadata),
        ))
    }

    /// A key's metadata, or the default when it has none or the store can't be read (a row is still
    /// worth showing without its tags; the failure is logged).
    pub(super) fn metadata_of(&self, profile_id: &str, key_hash: &str) -> KeyMetadata {
        self.inner
            .store()
            .key_metadata(profile_id, key_hash)
            .unwrap_or_else(|error| {
                tracing::warn!(profile = %profile_id, error = %error, "could not read a key's metadata");
                KeyMetadata::default()
            })
    }
}
