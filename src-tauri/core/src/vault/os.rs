//! The OS keychain behind the vault (macOS Keychain, Windows Credential Manager, the Secret Service
//! on Linux) through the `keyring` crate, and the mapping of its errors to ones a person can act on.

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use super::{KeychainBackend, KeychainEntry};
use crate::Error;

/// The platform's keychain. Holds nothing: each call opens its own connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeychain;

impl KeychainBackend for OsKeychain {
    fn get(&self, entry: &KeychainEntry, what: &str) -> Result<SecretString, Error> {
        open(entry, what)?
            .get_password()
            .map(SecretString::from)
            .map_err(|err| keychain_error(err, what))
    }

    fn set(&self, entry: &KeychainEntry, secret: &SecretString, what: &str) -> Result<(), Error> {
        open(entry, what)?
            .set_password(secret.expose_secret())
            .map_err(|err| keychain_error(err, what))
    }

    fn delete(&self, entry: &KeychainEntry, what: &str) -> Result<bool, Error> {
        match open(entry, what)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(keychain_error(err, what)),
        }
    }
}

fn open(entry: &KeychainEntry, what: &str) -> Result<keyring::Entry, Error> {
    keyring::Entry::new(&entry.service, &entry.account).map_err(|err| keychain_error(err, what))
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
pub(super) const FIX_LOCKED: &str =
    "unlock it (e.g. with Seahorse or by logging in again) and try again";
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(super) const FIX_LOCKED: &str = "unlock it in Keychain Access (or log in again), allow Keyward when macOS \
     asks, and try again";
#[cfg(target_os = "windows")]
pub(super) const FIX_LOCKED: &str = "sign in to Windows again (Credential Manager opens with your session) and \
     try again";
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
const FIX_PROMPT: &str = "the unlock prompt was dismissed or could not be shown: unlock the keyring \
     (e.g. with Seahorse or by logging in again) and try again";

/// What to do when no keychain answers at all; the in-memory keychain's injected faults say it too.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
pub(super) const FIX_UNAVAILABLE: &str = FIX_NO_SECRET_SERVICE;
#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
pub(super) const FIX_UNAVAILABLE: &str =
    "its service is not running: sign in to your desktop session again and try again";

/// Maps a keyring error to one a person can act on, keeping it as the `source()`. `what` names the
/// entry ("The management key of profile …"); no message built here ever contains a secret.
fn keychain_error(err: keyring::Error, what: &str) -> Error {
    let mapped = match &err {
        keyring::Error::NoEntry => Error::SecretNotFound {
            what: what.to_owned(),
        },
        keyring::Error::BadEncoding(_) => Error::Keychain {
            message: format!("{what} is not valid UTF-8 text; remove it and save it again"),
            source: None,
        },
        keyring::Error::Ambiguous(credentials) => Error::Keychain {
            message: format!(
                "{what} matches {} keychain items; remove the duplicates (e.g. in Seahorse) and try again",
                credentials.len()
            ),
            source: None,
        },
        keyring::Error::TooLong(attribute, limit) => Error::Keychain {
            message: format!(
                "{what}: its {attribute} is longer than this keychain's limit of {limit}"
            ),
            source: None,
        },
        keyring::Error::Invalid(attribute, reason) => Error::Keychain {
            message: format!("{what}: invalid {attribute} ({reason})"),
            source: None,
        },
        keyring::Error::NoStorageAccess(source) => no_storage_access(source.as_ref()),
        keyring::Error::PlatformFailure(source) => platform_failure(source.as_ref()),
        other => Error::Keychain {
            message: other.to_string(),
            source: None,
        },
    };
    match err {
        keyring::Error::BadEncoding(mut bytes) => {
            // These bytes are the stored secret itself: wipe them, and never keep them as a source.
            bytes.zeroize();
            mapped
        }
        // Not a failure to chain: the caller reads it as "absent".
        keyring::Error::NoEntry => mapped,
        err => mapped.with_source(err),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn secret_service_error(source: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<Error> {
    use dbus_secret_service::Error as Ss;
    let ss = source.downcast_ref::<Ss>()?;
    let mapped = match ss {
        Ss::Locked => Error::KeychainLocked {
            message: FIX_LOCKED.to_owned(),
            source: None,
        },
        Ss::Prompt => Error::KeychainLocked {
            message: FIX_PROMPT.to_owned(),
            source: None,
        },
        Ss::NoResult => Error::KeychainUnavailable {
            message: FIX_NO_DEFAULT_KEYRING.to_owned(),
            source: None,
        },
        Ss::Unavailable => Error::KeychainUnavailable {
            message: FIX_NO_SECRET_SERVICE.to_owned(),
            source: None,
        },
        Ss::Dbus(dbus) => dbus_error(dbus.name().unwrap_or_default(), dbus.message()),
        other => Error::Keychain {
            message: format!("the Secret Service reported: {other}"),
            source: None,
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
            source: None,
        };
    }
    let short = name.rsplit('.').next().unwrap_or(name);
    match short {
        // Nothing owns org.freedesktop.secrets and it cannot be activated.
        "ServiceUnknown" | "NameHasNoOwner" => Error::KeychainUnavailable {
            message: FIX_NO_SECRET_SERVICE.to_owned(),
            source: None,
        },
        // The session bus itself could not be reached.
        "NoServer" | "FileNotFound" | "BadAddress" | "NotSupported" | "Disconnected"
        | "NoNetwork" | "IOError" => Error::KeychainUnavailable {
            message: FIX_NO_DBUS.to_owned(),
            source: None,
        },
        "AccessDenied" | "AuthFailed" => Error::KeychainDenied {
            message: format!(
                "D-Bus denied access to the Secret Service ({}); allow Keyward in your keyring or sandbox settings",
                message.unwrap_or(name)
            ),
            source: None,
        },
        "IsLocked" => Error::KeychainLocked {
            message: FIX_LOCKED.to_owned(),
            source: None,
        },
        "NoReply" | "Timeout" | "TimedOut" => Error::KeychainUnavailable {
            message: "the Secret Service did not answer in time: check that gnome-keyring (or \
                      KeePassXC) is running and responsive, then try again"
                .to_owned(),
            source: None,
        },
        _ => Error::Keychain {
            message: format!(
                "the Secret Service answered over D-Bus with {name}: {}",
                message.unwrap_or("no details")
            ),
            source: None,
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
        source: None,
    }
}

fn platform_failure(source: &(dyn std::error::Error + Send + Sync + 'static)) -> Error {
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    if let Some(mapped) = secret_service_error(source) {
        return mapped;
    }
    Error::Keychain {
        message: source.to_string(),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_encoding_never_shows_the_secret() {
        let secret = b"sk-or-v1-\xff-secret-bytes".to_vec();
        let err = keychain_error(keyring::Error::BadEncoding(secret), "The entry x");
        let text = err.to_string();
        assert!(!text.contains("secret-bytes"), "{text}");
        assert!(!format!("{err:?}").contains("secret-bytes"));
        assert_eq!(err.kind(), "keychain");
        // keyring's error holds the bytes, so it is not kept as the source.
        assert!(std::error::Error::source(&err).is_none());
        for cause in crate::error::causes(&err) {
            let text = format!("{cause} {cause:?}");
            assert!(!text.contains("secret-bytes"), "{text}");
        }
    }

    #[test]
    fn keychain_errors_keep_keyrings_error_as_their_source() {
        let err = keychain_error(
            keyring::Error::PlatformFailure(Box::new(std::io::Error::other("the bus went away"))),
            "The entry",
        );
        assert_eq!(err.kind(), "keychain");
        assert_eq!(
            err.to_string(),
            "The system keychain failed: the bus went away"
        );
        let causes = crate::error::causes(&err);
        assert!(
            matches!(
                causes[0].downcast_ref::<keyring::Error>(),
                Some(keyring::Error::PlatformFailure(_))
            ),
            "{err:?}"
        );
        let io = causes
            .iter()
            .find_map(|cause| cause.downcast_ref::<std::io::Error>())
            .expect("the platform's error is in the chain");
        assert_eq!(io.to_string(), "the bus went away");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn secret_service_errors_keep_the_secret_service_error() {
        use dbus_secret_service::Error as Ss;
        let locked = keychain_error(
            keyring::Error::NoStorageAccess(Box::new(Ss::Locked)),
            "The entry",
        );
        assert_eq!(locked.kind(), "keychain_locked");
        assert!(
            crate::error::causes(&locked)
                .iter()
                .any(|cause| matches!(cause.downcast_ref::<Ss>(), Some(Ss::Locked))),
            "{locked:?}"
        );
    }

    /// Each mapped keychain error says its headline once (the variant's Display owns it).
    #[test]
    fn keychain_errors_say_their_headline_once() {
        let mut errors = vec![
            keyring::Error::PlatformFailure(Box::new(std::io::Error::other("the bus went away"))),
            keyring::Error::NoStorageAccess(Box::new(std::io::Error::other("denied"))),
            keyring::Error::BadEncoding(b"x".to_vec()),
            keyring::Error::Ambiguous(Vec::new()),
            keyring::Error::TooLong("account".to_owned(), 255),
            keyring::Error::Invalid("service".to_owned(), "empty".to_owned()),
            keyring::Error::NoEntry,
        ];
        #[cfg(target_os = "linux")]
        {
            use dbus_secret_service::Error as Ss;
            errors.extend(
                [Ss::Locked, Ss::Prompt, Ss::NoResult, Ss::Unavailable]
                    .map(|ss| keyring::Error::NoStorageAccess(Box::new(ss))),
            );
            for name in [
                "ServiceUnknown",
                "NoServer",
                "AccessDenied",
                "IsLocked",
                "NoReply",
                "UnknownMethod",
                "Spawn.ExecFailed",
            ] {
                let dbus =
                    dbus::Error::new_custom(format!("org.freedesktop.DBus.Error.{name}"), "no");
                errors.push(keyring::Error::PlatformFailure(Box::new(Ss::Dbus(dbus))));
            }
            errors.push(keyring::Error::PlatformFailure(Box::new(Ss::Parse)));
        }
        for err in errors {
            let sentence = keychain_error(err, "The management key of profile p").to_string();
            assert!(!crate::error::repeats_its_headline(&sentence), "{sentence}");
        }
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
