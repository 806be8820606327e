//! The OS keychain (macOS Keychain, Windows Credential Manager, the Secret Service on Linux) through
//! the `keyring` crate: management keys per profile, created keys' secrets until the person has stored
//! them elsewhere, and arbitrary entries for deploying rotated secrets. It is the only place a secret
//! is ever persisted; there is deliberately no file fallback.
//!
//! Every call blocks (D-Bus round trips, and on a locked keychain possibly an OS unlock prompt). From
//! async code use [`Vault::run`], which moves the call onto tokio's blocking pool; never call these
//! methods on a UI thread.
//!
//! The keychain cannot enumerate our entries, so which pending or kept secrets exist is indexed in the
//! store (`store::Store::secret_index`), never here.

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::Error;

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

/// Keyward's view of the OS keychain. Cheap to clone; holds no secret and no connection (each call
/// opens its own, so a keychain unlocked or started later is picked up without restarting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    service: String,
}

impl Default for Vault {
    fn default() -> Self {
        Self::new()
    }
}

impl Vault {
    /// The vault of the real app, under [`DEFAULT_SERVICE`].
    pub fn new() -> Self {
        Self::with_service(DEFAULT_SERVICE)
    }

    /// A vault under another service name: tests use a unique one each so they never touch the
    /// person's real entries or each other's.
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
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
        set_secret(&entry, key, &management_key_what(profile_id))
    }

    pub fn management_key(&self, profile_id: &str) -> Result<SecretString, Error> {
        let entry = self.management_key_entry(profile_id)?;
        get_secret(&entry, &management_key_what(profile_id))
    }

    /// Removes a profile's management key; removing one that is not there is not an error.
    pub fn delete_management_key(&self, profile_id: &str) -> Result<(), Error> {
        let entry = self.management_key_entry(profile_id)?;
        delete_secret_if_present(&entry, &management_key_what(profile_id)).map(|_| ())
    }

    pub fn has_management_key(&self, profile_id: &str) -> Result<bool, Error> {
        let entry = self.management_key_entry(profile_id)?;
        exists(&entry, &management_key_what(profile_id))
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
        set_secret(&entry, secret, &pending_what(key_hash))
    }

    pub fn pending_secret(&self, profile_id: &str, key_hash: &str) -> Result<SecretString, Error> {
        let entry = self.pending_secret_entry(profile_id, key_hash)?;
        get_secret(&entry, &pending_what(key_hash))
    }

    /// Removes a pending secret once resolved; returns whether there was one.
    pub fn delete_pending_secret(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        let entry = self.pending_secret_entry(profile_id, key_hash)?;
        delete_secret_if_present(&entry, &pending_what(key_hash))
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
        set_secret(&entry, secret, &kept_what(key_hash))
    }

    pub fn kept_secret(&self, profile_id: &str, key_hash: &str) -> Result<SecretString, Error> {
        let entry = self.kept_secret_entry(profile_id, key_hash)?;
        get_secret(&entry, &kept_what(key_hash))
    }

    /// Removes a kept secret; returns whether there was one.
    pub fn delete_kept_secret(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        let entry = self.kept_secret_entry(profile_id, key_hash)?;
        delete_secret_if_present(&entry, &kept_what(key_hash))
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
        set_secret(entry, secret, &entry_what(entry))
    }

    pub fn entry(&self, entry: &KeychainEntry) -> Result<SecretString, Error> {
        check_entry(entry)?;
        get_secret(entry, &entry_what(entry))
    }

    /// Removes any entry; returns whether there was one.
    pub fn delete_entry(&self, entry: &KeychainEntry) -> Result<bool, Error> {
        check_entry(entry)?;
        delete_secret_if_present(entry, &entry_what(entry))
    }

    fn own_entry(&self, account: String) -> KeychainEntry {
        KeychainEntry::new(self.service.clone(), account)
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

fn open(entry: &KeychainEntry, what: &str) -> Result<keyring::Entry, Error> {
    keyring::Entry::new(&entry.service, &entry.account).map_err(|err| keychain_error(err, what))
}

fn set_secret(entry: &KeychainEntry, secret: &SecretString, what: &str) -> Result<(), Error> {
    if secret.expose_secret().is_empty() {
        return Err(Error::invalid("secret", "is empty; nothing to save"));
    }
    open(entry, what)?
        .set_password(secret.expose_secret())
        .map_err(|err| keychain_error(err, what))?;
    tracing::debug!(service = %entry.service, account = %entry.account, "saved keychain entry");
    Ok(())
}

fn get_secret(entry: &KeychainEntry, what: &str) -> Result<SecretString, Error> {
    open(entry, what)?
        .get_password()
        .map(SecretString::from)
        .map_err(|err| keychain_error(err, what))
}

fn exists(entry: &KeychainEntry, what: &str) -> Result<bool, Error> {
    match get_secret(entry, what) {
        Ok(_) => Ok(true),
        Err(Error::SecretNotFound { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}

fn delete_secret_if_present(entry: &KeychainEntry, what: &str) -> Result<bool, Error> {
    match open(entry, what)?.delete_credential() {
        Ok(()) => {
            tracing::debug!(service = %entry.service, account = %entry.account, "deleted keychain entry");
            Ok(true)
        }
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(err) => Err(keychain_error(err, what)),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
const FIX_NO_DBUS: &str = "no D-Bus session bus is reachable (DBUS_SESSION_BUS_ADDRESS is unset or \
     points nowhere): run Keyward inside a desktop session, or start one with `dbus-run-session`";
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
const FIX_NO_SECRET_SERVICE: &str = "no Secret Service is running: install and start gnome-keyring \
     or KeePassXC's Secret Service integration, then try again";
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
const FIX_NO_DEFAULT_KEYRING: &str = "there is no default keyring to save into: create one (e.g. in \
     Seahorse, \"Passwords and Keys\": New → Password Keyring, then set it as default) and try again";
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
const FIX_LOCKED: &str = "unlock it (e.g. with Seahorse or by logging in again) and try again";
#[cfg(any(target_os = "macos", target_os = "ios"))]
const FIX_LOCKED: &str = "unlock it in Keychain Access (or log in again), allow Keyward when macOS \
     asks, and try again";
#[cfg(target_os = "windows")]
const FIX_LOCKED: &str = "sign in to Windows again (Credential Manager opens with your session) and \
     try again";
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
const FIX_PROMPT: &str = "the unlock prompt was dismissed or could not be shown: unlock the keyring \
     (e.g. with Seahorse or by logging in again) and try again";

/// Maps a keyring error to one a person can act on. `what` names the entry ("The management key of
/// profile …"); no message built here ever contains a secret.
pub(crate) fn keychain_error(err: keyring::Error, what: &str) -> Error {
    match err {
        keyring::Error::NoEntry => Error::SecretNotFound {
            what: what.to_owned(),
        },
        keyring::Error::BadEncoding(mut bytes) => {
            // These bytes are the stored secret itself: wipe them, never show them.
            bytes.zeroize();
            Error::Keychain {
                message: format!("{what} is not valid UTF-8 text; remove it and save it again"),
            }
        }
        keyring::Error::Ambiguous(credentials) => Error::Keychain {
            message: format!(
                "{what} matches {} keychain items; remove the duplicates (e.g. in Seahorse) and try again",
                credentials.len()
            ),
        },
        keyring::Error::TooLong(attribute, limit) => Error::Keychain {
            message: format!(
                "{what}: its {attribute} is longer than this keychain's limit of {limit}"
            ),
        },
        keyring::Error::Invalid(attribute, reason) => Error::Keychain {
            message: format!("{what}: invalid {attribute} ({reason})"),
        },
        keyring::Error::NoStorageAccess(source) => no_storage_access(source.as_ref()),
        keyring::Error::PlatformFailure(source) => platform_failure(source.as_ref()),
        other => Error::Keychain {
            message: other.to_string(),
        },
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn secret_service_error(source: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<Error> {
    use dbus_secret_service::Error as Ss;
    let ss = source.downcast_ref::<Ss>()?;
    let mapped = match ss {
        Ss::Locked => Error::KeychainLocked {
            message: FIX_LOCKED.to_owned(),
        },
        Ss::Prompt => Error::KeychainLocked {
            message: FIX_PROMPT.to_owned(),
        },
        Ss::NoResult => Error::KeychainUnavailable {
            message: FIX_NO_DEFAULT_KEYRING.to_owned(),
        },
        Ss::Unavailable => Error::KeychainUnavailable {
            message: FIX_NO_SECRET_SERVICE.to_owned(),
        },
        Ss::Dbus(dbus) => dbus_error(dbus.name().unwrap_or_default(), dbus.message()),
        other => Error::Keychain {
            message: format!("the Secret Service failed: {other}"),
        },
    };
    Some(mapped)
}

/// Classifies a D-Bus error by its well-known name (`org.freedesktop.DBus.Error.*`).
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn dbus_error(name: &str, message: Option<&str>) -> Error {
    // Activation failures (`org.freedesktop.DBus.Error.Spawn.*`): the provider exists but won't start.
    if name.contains(".Spawn.") {
        return Error::KeychainUnavailable {
            message: FIX_NO_SECRET_SERVICE.to_owned(),
        };
    }
    let short = name.rsplit('.').next().unwrap_or(name);
    match short {
        // Nothing owns org.freedesktop.secrets and it cannot be activated.
        "ServiceUnknown" | "NameHasNoOwner" => Error::KeychainUnavailable {
            message: FIX_NO_SECRET_SERVICE.to_owned(),
        },
        // The session bus itself could not be reached.
        "NoServer" | "FileNotFound" | "BadAddress" | "NotSupported" | "Disconnected"
        | "NoNetwork" | "IOError" => Error::KeychainUnavailable {
            message: FIX_NO_DBUS.to_owned(),
        },
        "AccessDenied" | "AuthFailed" => Error::KeychainDenied {
            message: format!(
                "D-Bus denied access to the Secret Service ({}); allow Keyward in your keyring or sandbox settings",
                message.unwrap_or(name)
            ),
        },
        "IsLocked" => Error::KeychainLocked {
            message: FIX_LOCKED.to_owned(),
        },
        "NoReply" | "Timeout" | "TimedOut" => Error::KeychainUnavailable {
            message: "the Secret Service did not answer in time: check that gnome-keyring (or \
                      KeePassXC) is running and responsive, then try again"
                .to_owned(),
        },
        _ => Error::Keychain {
            message: format!(
                "the Secret Service failed over D-Bus ({name}: {})",
                message.unwrap_or("no details")
            ),
        },
    }
}

fn no_storage_access(source: &(dyn std::error::Error + Send + Sync + 'static)) -> Error {
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    if let Some(mapped) = secret_service_error(source) {
        return mapped;
    }
    // keyring's own category: the store exists but refused or is locked (macOS: the person clicked
    // Deny or the keychain is locked; Windows: credential access blocked).
    Error::KeychainLocked {
        message: format!("access was refused ({source}): {FIX_LOCKED}"),
    }
}

fn platform_failure(source: &(dyn std::error::Error + Send + Sync + 'static)) -> Error {
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    if let Some(mapped) = secret_service_error(source) {
        return mapped;
    }
    Error::Keychain {
        message: format!("the system keychain failed: {source}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_plain_identifiers() {
        let vault = Vault::with_service("svc");
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

    #[test]
    fn bad_encoding_never_shows_the_secret() {
        let secret = b"sk-or-v1-\xff-secret-bytes".to_vec();
        let err = keychain_error(keyring::Error::BadEncoding(secret), "The entry x");
        let text = err.to_string();
        assert!(!text.contains("secret-bytes"), "{text}");
        assert!(!format!("{err:?}").contains("secret-bytes"));
        assert_eq!(err.kind(), "keychain");
    }

    #[test]
    fn missing_entry_is_secret_not_found() {
        let err = keychain_error(keyring::Error::NoEntry, "The management key of profile p");
        assert_eq!(err.kind(), "secret_not_found");
        assert!(err.to_string().contains("The management key of profile p"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn secret_service_errors_are_classified() {
        use dbus_secret_service::Error as Ss;
        let locked = keychain_error(
            keyring::Error::NoStorageAccess(Box::new(Ss::Locked)),
            "The entry",
        );
        assert_eq!(locked.kind(), "keychain_locked");
        assert!(locked.to_string().contains("Seahorse"), "{locked}");

        let prompt = keychain_error(
            keyring::Error::NoStorageAccess(Box::new(Ss::Prompt)),
            "The entry",
        );
        assert_eq!(prompt.kind(), "keychain_locked");

        let no_keyring = keychain_error(
            keyring::Error::NoStorageAccess(Box::new(Ss::NoResult)),
            "The entry",
        );
        assert_eq!(no_keyring.kind(), "keychain_unavailable");
        assert!(no_keyring.to_string().contains("default keyring"));

        let unknown = dbus::Error::new_custom(
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "The name org.freedesktop.secrets was not provided by any .service files",
        );
        let no_service = keychain_error(
            keyring::Error::PlatformFailure(Box::new(Ss::Dbus(unknown))),
            "The entry",
        );
        assert_eq!(no_service.kind(), "keychain_unavailable");
        assert!(
            no_service.to_string().contains("gnome-keyring"),
            "{no_service}"
        );

        let no_bus = dbus::Error::new_custom("org.freedesktop.DBus.Error.NoServer", "refused");
        let no_bus = keychain_error(
            keyring::Error::PlatformFailure(Box::new(Ss::Dbus(no_bus))),
            "The entry",
        );
        assert_eq!(no_bus.kind(), "keychain_unavailable");
        assert!(no_bus.to_string().contains("D-Bus session"), "{no_bus}");

        let denied = dbus::Error::new_custom("org.freedesktop.DBus.Error.AccessDenied", "nope");
        let denied = keychain_error(
            keyring::Error::PlatformFailure(Box::new(Ss::Dbus(denied))),
            "The entry",
        );
        assert_eq!(denied.kind(), "keychain_denied");
    }
}
