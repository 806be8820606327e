//! The vault: where Keyward keeps secrets — management keys per profile, created keys' secrets until
//! the person has stored them elsewhere, and entries the person names for deploying rotated secrets.
//! It owns entry naming and the checks that keep secrets out of names; the keychain itself sits
//! behind [`KeychainBackend`]: the OS keychain ([`OsKeychain`], the real app and CLI) or an
//! in-memory one ([`MemoryKeychain`], tests of logic, with injectable faults). A secret is only ever
//! persisted by the OS keychain; there is deliberately no file fallback.
//!
//! Every call may block (D-Bus round trips, and on a locked keychain possibly an OS unlock prompt).
//! From async code use [`Vault::run`], which moves the call onto tokio's blocking pool; never call
//! these methods on a UI thread.
//!
//! The keychain cannot enumerate our entries, so which pending or kept secrets exist is indexed in the
//! store (`store::Store::secret_index`), never here.

mod memory;
mod os;

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;

pub use memory::{Fault, KeychainFailure, KeychainOp, MemoryKeychain};
pub use os::OsKeychain;

/// The keychain service name all of Keyward's own entries live under.
pub const DEFAULT_SERVICE: &str = "keyward";

/// An identifier used inside an account name may be at most this long.
const MAX_ID_LEN: usize = 128;

/// One keychain entry, named by service and account (the Secret Service stores these as the
/// `service` and `username` attributes). Neither part is secret; both are shown in keychain UIs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeychainEntry {
    pub service: String,
    pub account: String,
}

impl KeychainEntry {
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            account: account.into(),
        }
    }
}

/// A keychain the vault stores secrets in: one secret per [`KeychainEntry`]. `what` names the entry
/// in errors ("The management key of profile …"); no error may ever contain a secret.
pub trait KeychainBackend: Send + Sync + fmt::Debug {
    /// The entry's secret; [`Error::SecretNotFound`] naming `what` when there is none.
    fn get(&self, entry: &KeychainEntry, what: &str) -> Result<SecretString, Error>;
    /// Saves the secret, replacing any the entry held.
    fn set(&self, entry: &KeychainEntry, secret: &SecretString, what: &str) -> Result<(), Error>;
    /// Removes the entry; `Ok(false)` when there was none.
    fn delete(&self, entry: &KeychainEntry, what: &str) -> Result<bool, Error>;
}

/// Keyward's view of the keychain. Cheap to clone (clones share the backend); holds no secret and,
/// with the OS keychain, no connection (each call opens its own, so a keychain unlocked or started
/// later is picked up without restarting).
#[derive(Clone)]
pub struct Vault {
    service: String,
    backend: Arc<dyn KeychainBackend>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("service", &self.service)
            .field("backend", &self.backend)
            .finish()
    }
}

impl Default for Vault {
    fn default() -> Self {
        Self::new()
    }
}

impl Vault {
    /// The vault of the real app: the OS keychain, under [`DEFAULT_SERVICE`].
    pub fn new() -> Self {
        Self::with_service(DEFAULT_SERVICE)
    }

    /// The OS keychain under another service name: tests of the keychain use a unique one each so
    /// they never touch the person's real entries or each other's.
    pub fn with_service(service: impl Into<String>) -> Self {
        Self::with_backend(service, OsKeychain)
    }

    /// A vault over a fresh [`MemoryKeychain`] of its own (tests of logic that need no faults).
    pub fn in_memory(service: impl Into<String>) -> Self {
        Self::with_backend(service, MemoryKeychain::new())
    }

    /// A vault over any keychain, e.g. a [`MemoryKeychain`] the test keeps a handle on to inject
    /// faults and look at the entries.
    pub fn with_backend(
        service: impl Into<String>,
        backend: impl KeychainBackend + 'static,
    ) -> Self {
        Self {
            service: service.into(),
            backend: Arc::new(backend),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Runs blocking vault calls on tokio's blocking pool, e.g.
    /// `vault.run(move |v| v.management_key(&id)).await`.
    pub async fn run<T, F>(&self, call: F) -> Result<T, Error>
    where
        F: FnOnce(&Vault) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let vault = self.clone();
        tokio::task::spawn_blocking(move || call(&vault))
            .await
            .map_err(|join| Error::Keychain {
                message: format!("the keychain call did not finish ({join})"),
                source: Some(join.into()),
            })?
    }

    // --- Management keys: one per profile ---------------------------------------------------------

    /// The entry holding the management key of `profile_id`.
    pub fn management_key_entry(&self, profile_id: &str) -> Result<KeychainEntry, Error> {
        Ok(self.own_entry(format!(
            "management-key/{}",
            checked_id("profile id", profile_id)?
        )))
    }

    /// Saves (or replaces) the management key of a profile.
    pub fn set_management_key(&self, profile_id: &str, key: &SecretString) -> Result<(), Error> {
        let entry = self.management_key_entry(profile_id)?;
        self.set_secret(&entry, key, &management_key_what(profile_id))
    }

    pub fn management_key(&self, profile_id: &str) -> Result<SecretString, Error> {
        let entry = self.management_key_entry(profile_id)?;
        self.get_secret(&entry, &management_key_what(profile_id))
    }

    /// Removes a profile's management key; removing one that is not there is not an error.
    pub fn delete_management_key(&self, profile_id: &str) -> Result<(), Error> {
        let entry = self.management_key_entry(profile_id)?;
        self.delete_secret(&entry, &management_key_what(profile_id))
            .map(|_| ())
    }

    pub fn has_management_key(&self, profile_id: &str) -> Result<bool, Error> {
        let entry = self.management_key_entry(profile_id)?;
        self.exists(&entry, &management_key_what(profile_id))
    }

    // --- Secrets of created keys, until resolved -------------------------------------------------

    /// The entry holding a just-created key's secret until the person says they stored it.
    pub fn pending_secret_entry(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<KeychainEntry, Error> {
        Ok(self.own_entry(format!(
            "pending/{}/{}",
            checked_id("profile id", profile_id)?,
            checked_id("key hash", key_hash)?
        )))
    }

    /// Saves a created key's secret the moment it arrives, before anything else can fail.
    pub fn set_pending_secret(
        &self,
        profile_id: &str,
        key_hash: &str,
        secret: &SecretString,
    ) -> Result<(), Error> {
        let entry = self.pending_secret_entry(profile_id, key_hash)?;
        self.set_secret(&entry, secret, &pending_what(key_hash))
    }

    pub fn pending_secret(&self, profile_id: &str, key_hash: &str) -> Result<SecretString, Error> {
        let entry = self.pending_secret_entry(profile_id, key_hash)?;
        self.get_secret(&entry, &pending_what(key_hash))
    }

    /// Removes a pending secret once resolved; returns whether there was one.
    pub fn delete_pending_secret(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        let entry = self.pending_secret_entry(profile_id, key_hash)?;
        self.delete_secret(&entry, &pending_what(key_hash))
    }

    // --- Secrets of created keys the person chose to keep in the keychain -------------------------

    pub fn kept_secret_entry(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<KeychainEntry, Error> {
        Ok(self.own_entry(format!(
            "kept/{}/{}",
            checked_id("profile id", profile_id)?,
            checked_id("key hash", key_hash)?
        )))
    }

    pub fn set_kept_secret(
        &self,
        profile_id: &str,
        key_hash: &str,
        secret: &SecretString,
    ) -> Result<(), Error> {
        let entry = self.kept_secret_entry(profile_id, key_hash)?;
        self.set_secret(&entry, secret, &kept_what(key_hash))
    }

    pub fn kept_secret(&self, profile_id: &str, key_hash: &str) -> Result<SecretString, Error> {
        let entry = self.kept_secret_entry(profile_id, key_hash)?;
        self.get_secret(&entry, &kept_what(key_hash))
    }

    /// Removes a kept secret; returns whether there was one.
    pub fn delete_kept_secret(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        let entry = self.kept_secret_entry(profile_id, key_hash)?;
        self.delete_secret(&entry, &kept_what(key_hash))
    }

    /// Moves a pending secret to its kept entry: written to the new entry first, so a failure in
    /// between leaves the secret in at least one place.
    pub fn keep_pending_secret(&self, profile_id: &str, key_hash: &str) -> Result<(), Error> {
        let secret = self.pending_secret(profile_id, key_hash)?;
        self.set_kept_secret(profile_id, key_hash, &secret)?;
        self.delete_pending_secret(profile_id, key_hash).map(|_| ())
    }

    // --- Any entry (deploy targets chosen by the person) ------------------------------------------

    pub fn set_entry(&self, entry: &KeychainEntry, secret: &SecretString) -> Result<(), Error> {
        check_entry(entry)?;
        self.set_secret(entry, secret, &entry_what(entry))
    }

    pub fn entry(&self, entry: &KeychainEntry) -> Result<SecretString, Error> {
        check_entry(entry)?;
        self.get_secret(entry, &entry_what(entry))
    }

    /// Removes any entry; returns whether there was one.
    pub fn delete_entry(&self, entry: &KeychainEntry) -> Result<bool, Error> {
        check_entry(entry)?;
        self.delete_secret(entry, &entry_what(entry))
    }

    fn own_entry(&self, account: String) -> KeychainEntry {
        KeychainEntry::new(self.service.clone(), account)
    }

    fn set_secret(
        &self,
        entry: &KeychainEntry,
        secret: &SecretString,
        what: &str,
    ) -> Result<(), Error> {
        if secret.expose_secret().is_empty() {
            return Err(Error::invalid("secret", "is empty; nothing to save"));
        }
        self.backend.set(entry, secret, what)?;
        tracing::debug!(service = %entry.service, account = %entry.account, "saved keychain entry");
        Ok(())
    }

    fn get_secret(&self, entry: &KeychainEntry, what: &str) -> Result<SecretString, Error> {
        self.backend.get(entry, what)
    }

    fn exists(&self, entry: &KeychainEntry, what: &str) -> Result<bool, Error> {
        match self.get_secret(entry, what) {
            Ok(_) => Ok(true),
            Err(Error::SecretNotFound { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn delete_secret(&self, entry: &KeychainEntry, what: &str) -> Result<bool, Error> {
        let deleted = self.backend.delete(entry, what)?;
        if deleted {
            tracing::debug!(service = %entry.service, account = %entry.account, "deleted keychain entry");
        }
        Ok(deleted)
    }
}

fn management_key_what(profile_id: &str) -> String {
    format!("The management key of profile {profile_id}")
}

fn pending_what(key_hash: &str) -> String {
    format!("The pending secret of key {key_hash}")
}

fn kept_what(key_hash: &str) -> String {
    format!("The kept secret of key {key_hash}")
}

fn entry_what(entry: &KeychainEntry) -> String {
    format!(
        "The entry service \"{}\", account \"{}\"",
        entry.service, entry.account
    )
}

/// Identifiers become part of account names, which keychain UIs show and which are not encrypted:
/// allow only plain identifier characters, and refuse anything shaped like an OpenRouter secret.
fn checked_id<'a>(field: &str, id: &'a str) -> Result<&'a str, Error> {
    let plain = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if id.is_empty() || id.len() > MAX_ID_LEN || !plain {
        return Err(Error::invalid(
            field,
            format!(
                "must be 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.' to name a keychain entry"
            ),
        ));
    }
    if id.starts_with("sk-or-") {
        return Err(Error::invalid(
            field,
            "looks like an OpenRouter secret; a secret must never be part of a keychain entry's name",
        ));
    }
    Ok(id)
}

fn check_entry(entry: &KeychainEntry) -> Result<(), Error> {
    if entry.service.trim().is_empty() {
        return Err(Error::invalid("keychain service", "must not be empty"));
    }
    if entry.account.trim().is_empty() {
        return Err(Error::invalid("keychain account", "must not be empty"));
    }
    if entry.account.contains("sk-or-") || entry.service.contains("sk-or-") {
        return Err(Error::invalid(
            "keychain entry",
            "its name contains what looks like an OpenRouter secret; name it without the secret",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_plain_identifiers() {
        let vault = Vault::in_memory("svc");
        let entry = vault.pending_secret_entry("p1", "abc123").unwrap();
        assert_eq!(entry, KeychainEntry::new("svc", "pending/p1/abc123"));
        assert_eq!(
            vault.management_key_entry("p1").unwrap().account,
            "management-key/p1"
        );
        assert_eq!(
            vault.kept_secret_entry("p1", "h").unwrap().account,
            "kept/p1/h"
        );
        for bad in ["", "a/b", "has space", "sk-or-v1-abcdef", &"x".repeat(129)] {
            let err = vault.management_key_entry(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_input", "{bad:?}");
        }
        let err = vault
            .set_entry(
                &KeychainEntry::new("deploy", "sk-or-v1-0123456789abcdef"),
                &SecretString::from("x"),
            )
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
    }
}
