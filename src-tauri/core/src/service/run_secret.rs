//! Which secret `keyward-cli run --key NAME` starts its command with: a secret Keyward holds in the
//! keychain (kept, or pending), found by the key's hash or name, and followed through rotations, so
//! that after a rotation the next `run` gets the new key with nothing to edit.
//!
//! A name matches a key of that name and the keys rotated from it (`prod-api · rotated 2026-12-07`,
//! and a rotation's new key while it still carries its `⟨kw:…⟩` mark). A rotation is followed once
//! its new secret has been deployed (`secret_deployed`) and it was neither rolled back nor
//! abandoned. Among what matches, the newest secret wins.

use std::collections::HashSet;

use secrecy::SecretString;

use super::Keyward;
use crate::Error;
use crate::rotation::RotationStatus;
use crate::store::{ProfileManager, SecretIndexEntry};

/// The name a key was given before any rotation renamed it (or marked it).
pub fn base_key_name(name: &str) -> &str {
    let name = name.split(" \u{27e8}kw:").next().unwrap_or(name);
    name.split(" · rotated ").next().unwrap_or(name).trim()
}

/// The held secret `run` uses, and which key it belongs to. Debug never shows the secret.
pub struct RunSecret {
    pub key_hash: String,
    pub key_name: String,
    pub secret: SecretString,
}

impl Keyward {
    /// The index entry of the secret `run --key wanted` uses in `profile_id` (no secret read).
    pub fn run_secret_entry(
        &self,
        profile_id: &str,
        wanted: &str,
    ) -> Result<SecretIndexEntry, Error> {
        let wanted = wanted.trim();
        if wanted.is_empty() {
            return Err(Error::invalid("key", "must not be empty"));
        }
        let entries = {
            let store = self.inner.store();
            store.require_profile(profile_id)?;
            store.secret_index(Some(profile_id), None)?
        };
        let mut hashes: HashSet<String> = entries
            .iter()
            .filter(|entry| {
                entry.key_hash == wanted
                    || entry.key_name == wanted
                    || base_key_name(&entry.key_name) == base_key_name(wanted)
            })
            .map(|entry| entry.key_hash.clone())
            .collect();
        // A hash whose own secret Keyward never held can still lead to a rotated key it holds.
        hashes.insert(wanted.to_owned());
        let rotations = self.rotations(Some(profile_id), false)?;
        loop {
            let before = hashes.len();
            for rotation in &rotations {
                if hashes.contains(&rotation.old_key_hash)
                    && rotation.secret_deployed
                    && !matches!(
                        rotation.status,
                        RotationStatus::RolledBack | RotationStatus::Abandoned
                    )
                    && let Some(new_hash) = &rotation.new_key_hash
                {
                    hashes.insert(new_hash.clone());
                }
            }
            if hashes.len() == before {
                break;
            }
        }
        entries
            .into_iter()
            .filter(|entry| hashes.contains(&entry.key_hash))
            .max_by_key(|entry| entry.created_at)
            .ok_or_else(|| Error::SecretNotFound {
                what: format!(
                    "A secret of key \"{wanted}\" (Keyward holds only the secrets of keys it \
                     created; rotate the key with the \"keyward run\" deploy target, or create it \
                     with Keyward)"
                ),
            })
    }

    /// The secret `run --key wanted` starts its command with, read from the keychain.
    pub async fn run_secret(&self, profile_id: &str, wanted: &str) -> Result<RunSecret, Error> {
        let entry = self.run_secret_entry(profile_id, wanted)?;
        let (profile, hash) = (profile_id.to_owned(), entry.key_hash.clone());
        let secret = self
            .blocking(move |inner| {
                let store = inner.store();
                ProfileManager::new(&store, &inner.vault).held_secret(&profile, &hash)
            })
            .await?;
        Ok(RunSecret {
            key_hash: entry.key_hash,
            key_name: entry.key_name,
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};

    use super::base_key_name;
    use crate::deploy::{self, DeployContext, DeployTarget};
    use crate::store::{NewProfile, NewSecretIndexEntry, ProfileManager, Store};
    use crate::vault::Vault;
    use crate::{ErrorKind, Keyward, ServiceConfig};

    #[test]
    fn rotated_and_marked_names_share_their_base() {
        assert_eq!(base_key_name("prod-api"), "prod-api");
        assert_eq!(base_key_name("prod-api · rotated 2026-12-07"), "prod-api");
        assert_eq!(
            base_key_name("prod-api · rotated 2026-12-07 \u{27e8}kw:abc123\u{27e9}"),
            "prod-api"
        );
        assert_eq!(
            base_key_name("prod-api \u{27e8}kw:abc123\u{27e9}"),
            "prod-api"
        );
    }

    fn secret(n: u8) -> SecretString {
        SecretString::from(format!("sk-or-v1-{}", format!("{n:x}").repeat(64)))
    }

    #[tokio::test]
    async fn the_newest_held_secret_of_the_name_or_hash_wins() {
        let store = Store::open_in_memory().unwrap();
        let vault = Vault::in_memory("keyward-test-run-secret");
        let profile = ProfileManager::new(&store, &vault)
            .add(
                &NewProfile {
                    name: "p".into(),
                    base_url: None,
                    workspace_id: None,
                    is_sandbox: false,
                },
                &secret(15),
            )
            .unwrap();
        let hold = |hash: &str, name: &str, n: u8| {
            let entry = NewSecretIndexEntry {
                profile_id: profile.id.clone(),
                key_hash: hash.into(),
                key_name: name.into(),
                label: None,
            };
            ProfileManager::new(&store, &vault)
                .hold_created_secret(&entry, &secret(n))
                .unwrap();
        };
        hold("h-old", "prod-api", 1);
        hold("h-new", "prod-api · rotated 2026-12-07", 2);
        hold("h-other", "staging", 3);
        let service = Keyward::new(store, ServiceConfig::new(vault));

        let by_name = service.run_secret(&profile.id, "prod-api").await.unwrap();
        assert_eq!(by_name.key_hash, "h-new");
        assert_eq!(by_name.secret.expose_secret(), secret(2).expose_secret());
        let by_hash = service.run_secret(&profile.id, "h-other").await.unwrap();
        assert_eq!(by_hash.key_name, "staging");
        let missing = service.run_secret(&profile.id, "nope").await.err().unwrap();
        assert_eq!(missing.kind(), ErrorKind::SecretNotFound);
        let empty = service.run_secret(&profile.id, " ").await.err().unwrap();
        assert_eq!(empty.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn the_keyward_run_target_writes_nothing_and_has_nothing_to_undo() {
        let target = DeployTarget::KeywardRun;
        assert_eq!(
            serde_json::to_value(&target).unwrap(),
            serde_json::json!({"kind": "keyward_run"})
        );
        deploy::validate_target(&target).unwrap();
        let ctx = DeployContext::new();
        let outcome = deploy::deploy(&target, &secret(4), &ctx).await;
        assert!(outcome.ok, "{}", outcome.message);
        assert!(outcome.undo.is_none() && outcome.backup_path.is_none());
        assert!(!outcome.message.contains(secret(4).expose_secret()));
        let since = std::time::SystemTime::now();
        assert_eq!(
            deploy::undo_interrupted(&target, &secret(4), since, &ctx)
                .await
                .unwrap(),
            None
        );
    }
}
