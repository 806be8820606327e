//! Operations that touch both the store and the keychain, ordered so that a failure halfway never
//! loses a secret nor leaves a profile without its key: profiles with their management keys, and
//! created keys' secrets (pending → kept or resolved) with their index rows.

use secrecy::SecretString;

use super::{NewProfile, NewSecretIndexEntry, Profile, SecretIndexEntry, SecretState, Store};
use crate::Error;
use crate::vault::Vault;

/// Profiles and created-key secrets over one [`Store`] and one [`Vault`]. Every call may block on the
/// keychain: call it off the UI thread (e.g. inside `tokio::task::spawn_blocking`).
#[derive(Debug, Clone, Copy)]
pub struct ProfileManager<'a> {
    store: &'a Store,
    vault: &'a Vault,
}

impl<'a> ProfileManager<'a> {
    pub fn new(store: &'a Store, vault: &'a Vault) -> Self {
        Self { store, vault }
    }

    /// Creates a profile and saves its management key in the keychain. The caller has checked the key
    /// (GET /key) first. If the keychain refuses, the profile is not kept and the keychain's error is
    /// returned as is.
    pub fn add(&self, new: &NewProfile, management_key: &SecretString) -> Result<Profile, Error> {
        let profile = self.store.create_profile(new)?;
        if let Err(err) = self.vault.set_management_key(&profile.id, management_key) {
            if let Err(cleanup) = self.store.remove_profile(&profile.id) {
                tracing::warn!(profile = %profile.id, error = %cleanup, "could not undo a profile whose key was not saved");
            }
            return Err(err);
        }
        Ok(profile)
    }

    /// Replaces a profile's management key (after the caller checked the new one).
    pub fn set_management_key(
        &self,
        profile_id: &str,
        management_key: &SecretString,
    ) -> Result<(), Error> {
        self.store.require_profile(profile_id)?;
        self.vault.set_management_key(profile_id, management_key)
    }

    /// The management key, for keyward-core's API client only: it never goes to the UI.
    pub fn management_key(&self, profile_id: &str) -> Result<SecretString, Error> {
        self.store.require_profile(profile_id)?;
        self.vault.management_key(profile_id)
    }

    pub fn has_management_key(&self, profile_id: &str) -> Result<bool, Error> {
        self.store.require_profile(profile_id)?;
        self.vault.has_management_key(profile_id)
    }

    pub fn rename(&self, profile_id: &str, new_name: &str) -> Result<Profile, Error> {
        self.store.rename_profile(profile_id, new_name)
    }

    /// Removes a profile: its keychain entry first (so a locked keychain leaves everything as it was),
    /// then its row, cached keys and cache state. Refused while secrets of keys it created are still
    /// in the keychain (pending or kept), since removing their index would hide them.
    pub fn remove(&self, profile_id: &str) -> Result<(), Error> {
        let profile = self.store.require_profile(profile_id)?;
        let held = self.store.secret_index(Some(profile_id), None)?;
        if !held.is_empty() {
            let pending = held
                .iter()
                .filter(|entry| entry.state == SecretState::Pending)
                .count();
            return Err(Error::ProfileHoldsSecrets {
                name: profile.name,
                pending,
                kept: held.len() - pending,
            });
        }
        self.vault.delete_management_key(profile_id)?;
        self.store.remove_profile(profile_id)?;
        Ok(())
    }

    /// Holds a just-created key's secret: into the keychain first, the moment it arrives, then into
    /// the index so it is listed until resolved. If this fails, still show the secret to the person:
    /// OpenRouter will never give it again.
    pub fn hold_created_secret(
        &self,
        new: &NewSecretIndexEntry,
        secret: &SecretString,
    ) -> Result<SecretIndexEntry, Error> {
        self.vault
            .set_pending_secret(&new.profile_id, &new.key_hash, secret)?;
        self.store.record_pending_secret(new)
    }

    /// A held secret (pending or kept), e.g. to show it again while unresolved.
    pub fn held_secret(&self, profile_id: &str, key_hash: &str) -> Result<SecretString, Error> {
        let entry = self
            .store
            .secret_index_entry(profile_id, key_hash)?
            .ok_or_else(|| Error::SecretNotFound {
                what: format!("A held secret of key {key_hash}"),
            })?;
        match entry.state {
            SecretState::Pending => self.vault.pending_secret(profile_id, key_hash),
            SecretState::Kept => self.vault.kept_secret(profile_id, key_hash),
        }
    }

    /// The person chose to keep the secret in the keychain.
    pub fn keep_secret(&self, profile_id: &str, key_hash: &str) -> Result<(), Error> {
        self.vault.keep_pending_secret(profile_id, key_hash)?;
        self.store.mark_secret_kept(profile_id, key_hash)?;
        Ok(())
    }

    /// The person has stored the secret elsewhere (or no longer wants it kept): remove it from the
    /// keychain, then from the index.
    pub fn release_secret(&self, profile_id: &str, key_hash: &str) -> Result<(), Error> {
        self.vault.delete_pending_secret(profile_id, key_hash)?;
        self.vault.delete_kept_secret(profile_id, key_hash)?;
        self.store.remove_secret_index_entry(profile_id, key_hash)?;
        Ok(())
    }
}
