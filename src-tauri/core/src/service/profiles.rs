//! Profiles: adding one (after GET /key proves the key is a management key), replacing its key,
//! renaming, removing (with its keychain entry) and switching.

use secrecy::SecretString;

use super::{Keyward, rename_field};
use crate::Error;
use crate::api::DEFAULT_BASE_URL;
use crate::api::endpoint::{check_base_url, check_key_shape};
use crate::audit::{AuditAction, AuditValue, NewAuditEntry, ProfileSettings};
use crate::ipc::{
    AppState, ProfileAddArgs, ProfileIdArgs, ProfileRenameArgs, ProfileReplaceKeyArgs,
};
use crate::store::{NewProfile, Profile, ProfileManager, SecretState};

/// The store and client name fields in prose; the UI needs the arguments' names.
const PROFILE_FIELDS: &[(&str, &str)] = &[
    ("profile name", "name"),
    ("base URL", "base_url"),
    ("api_key", "management_key"),
];

impl Keyward {
    /// GET /key with `key` against `base_url`: only a management key passes. Before any request, the
    /// key must be shaped like an OpenRouter key and the URL https (or loopback http).
    async fn check_management_key(&self, base_url: &str, key: SecretString) -> Result<(), Error> {
        check_key_shape("management_key", &key)?;
        check_base_url(base_url).map_err(|why| Error::invalid("base_url", why))?;
        let client = self
            .build_client(base_url, key)
            .map_err(|err| rename_field(err, PROFILE_FIELDS))?;
        let current = client.current_key().await?;
        if current.can_manage_keys() {
            Ok(())
        } else {
            Err(Error::NotManagementKey {
                label: current.label,
            })
        }
    }

    /// Adds a profile once its key proved to be a management key; the key goes only to the OS
    /// keychain. The new profile becomes the active one.
    pub async fn profile_add(&self, args: ProfileAddArgs) -> Result<Profile, Error> {
        let name = args.name.trim().to_owned();
        let result = self.add_profile(args).await;
        let entry = match &result {
            Ok(profile) => NewAuditEntry::new(&profile.id, AuditAction::ProfileAdd)
                .profile_name(&profile.name)
                .after(AuditValue::Profile(ProfileSettings::from(profile))),
            Err(_) => NewAuditEntry::new("", AuditAction::ProfileAdd).profile_name(name),
        };
        self.audited(entry, result)
    }

    async fn add_profile(&self, args: ProfileAddArgs) -> Result<Profile, Error> {
        let name = args.name.trim().to_owned();
        if name.is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if self.inner.store().profile_by_name(&name)?.is_some() {
            return Err(Error::ProfileNameTaken { name });
        }
        let base_url = args
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .to_owned();
        self.check_management_key(&base_url, args.management_key.clone())
            .await?;
        let new = NewProfile {
            name,
            base_url: Some(base_url),
            workspace_id: args.workspace_id,
            is_sandbox: false,
        };
        let key = args.management_key;
        let profile = self
            .blocking(move |inner| {
                let store = inner.store();
                let profile = ProfileManager::new(&store, &inner.vault).add(&new, &key)?;
                store.set_active_profile(Some(&profile.id))?;
                store.require_profile(&profile.id)
            })
            .await
            .map_err(|err| rename_field(err, PROFILE_FIELDS))?;
        tracing::info!(profile = %profile.id, "added profile");
        Ok(profile)
    }

    /// Replaces a profile's management key (e.g. after `unauthorized`), with the same checks.
    /// Recorded without any key material: only that the profile's key was replaced.
    pub async fn profile_replace_key(&self, args: ProfileReplaceKeyArgs) -> Result<Profile, Error> {
        let entry = NewAuditEntry::new(&args.id, AuditAction::ProfileReplaceKey);
        let result = self.replace_profile_key(args).await;
        self.audited(entry, result)
    }

    async fn replace_profile_key(&self, args: ProfileReplaceKeyArgs) -> Result<Profile, Error> {
        let profile = self.require_profile(&args.id)?;
        if profile.is_sandbox {
            return Err(Error::invalid(
                "id",
                "the sandbox's key is Keyward's own and changes on every start; it can't be replaced",
            ));
        }
        self.check_management_key(&profile.base_url, args.management_key.clone())
            .await?;
        let (id, key) = (profile.id.clone(), args.management_key);
        self.blocking(move |inner| {
            let store = inner.store();
            ProfileManager::new(&store, &inner.vault).set_management_key(&id, &key)
        })
        .await?;
        self.forget_client(&profile.id);
        tracing::info!(profile = %profile.id, "replaced the management key");
        Ok(profile)
    }

    pub async fn profile_rename(&self, args: ProfileRenameArgs) -> Result<Profile, Error> {
        let before = self.inner.store().profile(&args.id).ok().flatten();
        let result = self
            .inner
            .store()
            .rename_profile(&args.id, &args.name)
            .map_err(|err| rename_field(err, PROFILE_FIELDS));
        let mut entry = NewAuditEntry::new(&args.id, AuditAction::ProfileRename).before(
            before
                .as_ref()
                .map(|p| AuditValue::Profile(ProfileSettings::from(p))),
        );
        if let Ok(profile) = &result {
            entry = entry.after(AuditValue::Profile(ProfileSettings::from(profile)));
        }
        self.audited(entry, result)
    }

    /// Removes a profile, its keychain entry, cache and state. Refused while it holds secrets of
    /// created keys (resolve them first). If it was active, the first remaining profile becomes
    /// active.
    pub async fn profile_remove(&self, args: ProfileIdArgs) -> Result<AppState, Error> {
        let before = self.inner.store().profile(&args.id).ok().flatten();
        let mut entry = NewAuditEntry::new(&args.id, AuditAction::ProfileRemove);
        if let Some(profile) = &before {
            // The profile is gone when the entry is written: its name goes in now.
            entry = entry
                .profile_name(&profile.name)
                .before(AuditValue::Profile(ProfileSettings::from(profile)));
        }
        let result = self.remove_profile(args).await;
        self.audited(entry, result)
    }

    async fn remove_profile(&self, args: ProfileIdArgs) -> Result<AppState, Error> {
        let profile = self.require_profile(&args.id)?;
        if profile.is_sandbox {
            self.remove_sandbox_profile(&profile).await?;
        } else {
            let id = profile.id.clone();
            self.blocking(move |inner| {
                let store = inner.store();
                ProfileManager::new(&store, &inner.vault).remove(&id)
            })
            .await?;
        }
        self.forget_client(&profile.id);
        self.cancel_recovery(&profile.id);
        self.inner
            .connectivity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&profile.id);
        {
            let store = self.inner.store();
            if store.active_profile_id()?.is_none()
                && let Some(next) = store.profiles()?.first()
            {
                store.set_active_profile(Some(&next.id))?;
            }
        }
        tracing::info!(profile = %profile.id, "removed profile");
        self.app_state()
    }

    /// The sandbox has no keychain entry; its emulator stops with it.
    async fn remove_sandbox_profile(&self, profile: &crate::store::Profile) -> Result<(), Error> {
        {
            let store = self.inner.store();
            let held = store.secret_index(Some(&profile.id), None)?;
            if !held.is_empty() {
                let pending = held
                    .iter()
                    .filter(|entry| entry.state == SecretState::Pending)
                    .count();
                return Err(Error::ProfileHoldsSecrets {
                    name: profile.name.clone(),
                    pending,
                    kept: held.len() - pending,
                });
            }
            store.remove_profile(&profile.id)?;
        }
        self.sandbox_stop().await;
        Ok(())
    }

    /// Makes a profile the active one (starting the sandbox's emulator if it is the sandbox).
    pub async fn profile_switch(&self, args: ProfileIdArgs) -> Result<AppState, Error> {
        let profile = self.require_profile(&args.id)?;
        if profile.is_sandbox {
            self.sandbox_endpoint().await?;
        }
        self.inner.store().set_active_profile(Some(&profile.id))?;
        self.app_state()
    }
}
