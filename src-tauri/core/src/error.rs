//! The one error type of keyward-core, and its shape for front ends. Every variant's Display is the
//! sentence a person reads (front ends add hints, never a second headline); `kind()` is its
//! `ErrorKind`, derived from the variants themselves so the list of kinds is written once. Variants
//! built from another error keep it as their `source()`.

use std::time::Duration;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

/// Where management keys are created; shown when a call needs one and got something else.
pub const MANAGEMENT_KEYS_URL: &str = "https://openrouter.ai/settings/management-keys";

/// The underlying error a variant keeps as its `source()` (reqwest, serde_json, rusqlite, keyring, io,
/// a join error), so logs and debuggers can walk the cause chain. The sentence a person reads stays
/// the variant's Display; never a source whose text or Debug could hold a secret.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `ErrorKind` is the variant without its data: a closed set, serialized (serde, TypeScript via ts-rs)
/// and named (strum) in snake_case, that front ends switch on. A new variant is a new kind; a tag
/// once shipped is never reused.
#[derive(Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(ErrorKind),
    derive(
        Hash,
        Serialize,
        Deserialize,
        ts_rs::TS,
        strum::Display,
        strum::AsRefStr,
        strum::IntoStaticStr,
        strum::EnumString,
        strum::VariantArray
    ),
    serde(rename_all = "snake_case"),
    strum(serialize_all = "snake_case")
)]
pub enum Error {
    /// 401: no key, or a key OpenRouter does not know (revoked, mistyped).
    #[error(
        "OpenRouter rejected the key ({message}). Check the key Keyward uses, or paste a new one."
    )]
    Unauthorized { message: String },

    /// 403: the key is valid but may not do this — in practice an inference key used for management.
    #[error("This is not a management key: {message}. Create one at {MANAGEMENT_KEYS_URL}")]
    Forbidden { message: String },

    #[error("Not found on OpenRouter: {message}. The key may have been deleted; refresh the list.")]
    NotFound { message: String },

    #[error("OpenRouter refused the change because of a conflict: {message}")]
    Conflict { message: String },

    /// 429. `retry_after` is the server's hint (or Keyward's last backoff) so the UI can count down.
    #[error("Rate limited{} ({message})", retry_after_text(*.retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },

    /// 5xx, or a status OpenRouter does not document for this call.
    #[error("OpenRouter answered with HTTP {status}: {message}")]
    Server { status: u16, message: String },

    /// The request never got an HTTP answer: DNS, refused or dropped connection, TLS.
    #[error("Can't reach OpenRouter at {host}: {message}")]
    Network {
        host: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    #[error("OpenRouter at {host} did not answer within {} s{}", format_seconds(*.after), format_note(.note))]
    Timeout {
        host: String,
        after: Duration,
        /// What the person should know about this call's outcome (e.g. that a create may have
        /// landed); empty when there is nothing to add.
        note: String,
        #[source]
        source: Option<BoxError>,
    },

    /// An answer arrived but is not what the API reference describes.
    #[error("Unexpected answer from OpenRouter: {message}")]
    Decode {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// Rejected before sending (client-side validation, `field` names the input), or a 400 from the
    /// server (`field` is `None`: the server names the problem only in its message).
    #[error("{}{message}", field.as_deref().map(|f| format!("Invalid {f}: ")).unwrap_or_default())]
    InvalidInput {
        field: Option<String>,
        message: String,
    },

    // --- OS keychain (vault) and local store -----------------------------------------------------
    /// No keychain to talk to: no D-Bus session, no Secret Service, no default keyring.
    #[error("The system keychain is unavailable: {message}")]
    KeychainUnavailable {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// The keychain is there but locked, or its unlock prompt was dismissed.
    #[error("The system keychain is locked: {message}")]
    KeychainLocked {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    #[error("The system keychain refused access: {message}")]
    KeychainDenied {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// `what` names the entry, e.g. "The management key of profile …".
    #[error("{what} is not in the system keychain")]
    SecretNotFound { what: String },

    /// Any other keychain failure.
    #[error("The system keychain failed: {message}")]
    Keychain {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// Keyward's local SQLite store failed.
    #[error("Keyward's local data failed: {message}")]
    Store {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    #[error("A profile named \"{name}\" already exists: choose another name")]
    ProfileNameTaken { name: String },

    #[error("No profile with id {id}: it may have been removed; choose another profile")]
    ProfileNotFound { id: String },

    /// Removing the profile would hide secrets of keys it created that are still in the keychain.
    #[error(
        "Profile \"{name}\" still holds {pending} unresolved and {kept} kept key secret(s) in the \
         keychain: mark them stored elsewhere or delete them first, then remove the profile"
    )]
    ProfileHoldsSecrets {
        name: String,
        pending: usize,
        kept: usize,
    },

    /// A valid key that is not a management key, offered where Keyward needs one (GET /key said
    /// `is_management_key: false`). `label` is the masked key, never the secret.
    #[error(
        "{label} is an inference key: it can call models but cannot manage keys. Keyward needs a \
         management key, which manages keys but cannot call models. Create one at {MANAGEMENT_KEYS_URL}"
    )]
    NotManagementKey { label: String },

    /// An update could not be checked, downloaded or installed: the release server, a download
    /// whose signature does not match (nothing is installed), no consent to that version.
    #[error("{message}")]
    Update {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// An update was not installed because a key rotation is running (or the other way round); it
    /// can be tried again once that has finished.
    #[error("{message}")]
    UpdateBlocked { message: String },

    /// A failure inside Keyward itself (a task that died, the sandbox that would not start).
    #[error("Keyward failed internally: {message}")]
    Internal {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" — retry after {} s", format_seconds(wait)),
        None => " — wait a moment and retry".to_owned(),
    }
}

/// "3", "0.5", "1.25": whole seconds without a fraction, otherwise up to two decimals.
fn format_note(note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        format!(" ({note})")
    }
}

fn format_seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if duration.subsec_millis() == 0 {
        format!("{}", duration.as_secs())
    } else {
        let text = format!("{secs:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

impl Error {
    /// What kind of failure this is (`unauthorized` → ask for the key again, `rate_limited` → count
    /// down, `network` → offline banner).
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::from(self)
    }

    /// How long to wait before trying again, when the error says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Keeps `cause` as this error's `source()` on the variants built from an underlying error; the
    /// others are returned as they are.
    pub fn with_source(mut self, cause: impl Into<BoxError>) -> Self {
        match &mut self {
            Error::Network { source, .. }
            | Error::Timeout { source, .. }
            | Error::Decode { source, .. }
            | Error::KeychainUnavailable { source, .. }
            | Error::KeychainLocked { source, .. }
            | Error::KeychainDenied { source, .. }
            | Error::Keychain { source, .. }
            | Error::Store { source, .. }
            | Error::Internal { source, .. }
            | Error::Update { source, .. } => *source = Some(cause.into()),
            _ => {}
        }
        self
    }

    /// An update failure, as the sentence the person reads.
    pub fn update(message: impl Into<String>) -> Self {
        Error::Update {
            message: message.into(),
            source: None,
        }
    }

    /// Client-side validation failure for `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

/// `{kind, message, retry_after_ms?, status?, field?}` — the shape errors cross to the UI in.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let retry_after_ms = self
            .retry_after()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        let status = match self {
            Error::Server { status, .. } => Some(*status),
            _ => None,
        };
        let field = match self {
            Error::InvalidInput { field, .. } => field.as_deref(),
            _ => None,
        };
        let len = 2
            + usize::from(retry_after_ms.is_some())
            + usize::from(status.is_some())
            + usize::from(field.is_some());
        let mut out = serializer.serialize_struct("Error", len)?;
        out.serialize_field("kind", &self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        if let Some(ms) = retry_after_ms {
            out.serialize_field("retry_after_ms", &ms)?;
        } else {
            out.skip_field("retry_after_ms")?;
        }
        if let Some(status) = status {
            out.serialize_field("status", &status)?;
        } else {
            out.skip_field("status")?;
        }
        if let Some(field) = field {
            out.serialize_field("field", field)?;
        } else {
            out.skip_field("field")?;
        }
        out.end()
    }
}

/// Lets tests and callers compare a kind with its wire name: `assert_eq!(err.kind(), "store")`.
impl PartialEq<&str> for ErrorKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_ref() == *other
    }
}

/// An error as the UI receives it: `kind` to react on, `message` (the error's Display) to show as is,
/// `field` naming the input at fault (argument names: `name`, `limit`, `expires_at`, `base_url`,
/// `management_key`, …), and `retry_after_ms` when waiting helps. Kept in rotation journals and watch
/// state, so it is plain data (Clone, Deserialize), unlike `Error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_ms: Option<u64>,
}

impl From<&Error> for AppError {
    fn from(error: &Error) -> Self {
        let field = match error {
            Error::InvalidInput { field, .. } => field.clone(),
            // Shown beside the name input of the profile form.
            Error::ProfileNameTaken { .. } => Some("name".to_owned()),
            _ => None,
        };
        AppError {
            kind: error.kind(),
            message: error.to_string(),
            field,
            retry_after_ms: error
                .retry_after()
                .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        AppError::from(&error)
    }
}

/// Whether a sentence says its headline twice: its first three words come back later in it, as in
/// "The system keychain failed: the system keychain failed: …" (a constructor's message repeating
/// what the variant's Display already says).
#[cfg(test)]
pub(crate) fn repeats_its_headline(sentence: &str) -> bool {
    let words: Vec<String> = sentence
        .split_whitespace()
        .map(|word| {
            word.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|word| !word.is_empty())
        .collect();
    words.len() >= 6 && words.windows(3).skip(1).any(|three| three == &words[..3])
}

/// Every error below `error` in its `source()` chain, nearest first.
#[cfg(test)]
pub(crate) fn causes(error: &Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut found = Vec::new();
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        found.push(cause);
        next = cause.source();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn rate_limited_display_and_json_carry_the_wait() {
        let err = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            message: "Rate limit exceeded".into(),
        };
        assert_eq!(
            err.to_string(),
            "Rate limited — retry after 3 s (Rate limit exceeded)"
        );
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "rate_limited");
        assert_eq!(json["retry_after_ms"], 3000);
        assert!(json.get("status").is_none());

        let fractional = Error::RateLimited {
            retry_after: Some(Duration::from_millis(1500)),
            message: "slow down".into(),
        };
        assert!(fractional.to_string().contains("retry after 1.5 s"));
    }

    #[test]
    fn forbidden_points_to_management_keys() {
        let err = Error::Forbidden {
            message: "Only management keys can perform this operation".into(),
        };
        assert!(
            err.to_string()
                .starts_with("This is not a management key: Only")
        );
        assert!(err.to_string().contains(MANAGEMENT_KEYS_URL));
    }

    #[test]
    fn invalid_input_names_the_field() {
        let err = Error::invalid("limit", "must not be negative");
        assert_eq!(err.to_string(), "Invalid limit: must not be negative");
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["field"], "limit");
        assert_eq!(json["kind"], "invalid_input");

        let server = Error::InvalidInput {
            field: None,
            message: "No update fields provided".into(),
        };
        assert_eq!(server.to_string(), "No update fields provided");
    }

    #[test]
    fn network_and_timeout_name_the_host() {
        let err = Error::Network {
            host: "127.0.0.1:9".into(),
            message: "connection refused".into(),
            source: None,
        };
        assert_eq!(
            err.to_string(),
            "Can't reach OpenRouter at 127.0.0.1:9: connection refused"
        );
        let err = Error::Timeout {
            host: "openrouter.ai".into(),
            after: Duration::from_millis(250),
            note: String::new(),
            source: None,
        };
        assert_eq!(
            err.to_string(),
            "OpenRouter at openrouter.ai did not answer within 0.25 s"
        );
        assert_eq!(serde_json::to_value(&err).unwrap()["kind"], "timeout");
    }

    /// One sample of every variant; `VariantArray` makes forgetting a new one fail the test below.
    fn one_of_each() -> Vec<Error> {
        let text = String::new;
        vec![
            Error::Unauthorized { message: text() },
            Error::Forbidden { message: text() },
            Error::NotFound { message: text() },
            Error::Conflict { message: text() },
            Error::RateLimited {
                retry_after: Some(Duration::from_millis(1500)),
                message: text(),
            },
            Error::Server {
                status: 500,
                message: text(),
            },
            Error::Network {
                host: text(),
                message: text(),
                source: None,
            },
            Error::Timeout {
                host: text(),
                after: Duration::from_secs(1),
                note: text(),
                source: None,
            },
            Error::Decode {
                message: text(),
                source: None,
            },
            Error::invalid("limit", "bad"),
            Error::KeychainUnavailable {
                message: text(),
                source: None,
            },
            Error::KeychainLocked {
                message: text(),
                source: None,
            },
            Error::KeychainDenied {
                message: text(),
                source: None,
            },
            Error::SecretNotFound { what: text() },
            Error::Keychain {
                message: text(),
                source: None,
            },
            Error::Store {
                message: text(),
                source: None,
            },
            Error::ProfileNameTaken { name: text() },
            Error::ProfileNotFound { id: text() },
            Error::ProfileHoldsSecrets {
                name: text(),
                pending: 1,
                kept: 0,
            },
            Error::NotManagementKey {
                label: "sk-or-v1-abc...def".into(),
            },
            Error::Update {
                message: text(),
                source: None,
            },
            Error::UpdateBlocked { message: text() },
            Error::Internal {
                message: text(),
                source: None,
            },
        ]
    }

    #[test]
    fn every_kind_has_one_name_in_serde_strum_and_json() {
        let samples = one_of_each();
        let kinds: Vec<ErrorKind> = samples.iter().map(Error::kind).collect();
        assert_eq!(
            kinds,
            ErrorKind::VARIANTS,
            "one sample per variant, in order"
        );
        for (error, kind) in samples.iter().zip(kinds) {
            let name: &'static str = kind.into();
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(name.parse::<ErrorKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_value(error).unwrap()["kind"], name);
            assert_eq!(AppError::from(error).kind, kind);
        }
        assert_eq!(ErrorKind::NotManagementKey, "not_management_key");
    }

    #[test]
    fn app_error_carries_field_and_wait() {
        let samples = one_of_each();
        let limited = AppError::from(&samples[4]);
        assert_eq!(limited.retry_after_ms, Some(1500));
        let invalid = AppError::from(&samples[9]);
        assert_eq!(invalid.field.as_deref(), Some("limit"));
        let taken = AppError::from(&samples[16]);
        assert_eq!(taken.field.as_deref(), Some("name"));

        let json = serde_json::to_value(AppError::from(&Error::Unauthorized {
            message: "Invalid API key".into(),
        }))
        .unwrap();
        assert_eq!(json["kind"], "unauthorized");
        assert!(json["field"].is_null());
        assert!(json["retry_after_ms"].is_null());
        assert_eq!(
            json["message"],
            "OpenRouter rejected the key (Invalid API key). Check the key Keyward uses, or paste a new one."
        );
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back.kind, ErrorKind::Unauthorized);
    }

    #[test]
    fn the_headline_check_catches_a_repeat() {
        assert!(repeats_its_headline(
            "The system keychain failed: the system keychain failed: bus gone"
        ));
        assert!(repeats_its_headline(
            "The system keychain is unavailable: the system keychain service is not running"
        ));
        assert!(!repeats_its_headline(
            "The system keychain failed: the bus went away"
        ));
    }

    /// Walks `source()` of a network, a store and a join error built by the code that meets them, and
    /// checks that none of them says its headline twice or shows the management key.
    #[tokio::test]
    async fn errors_keep_their_sources() {
        use crate::api::{ClientConfig, OpenRouterClient, RetryPolicy};
        use secrecy::SecretString;

        // Network: a port nothing listens on.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let secret = format!("sk-or-v1-{}", "0123456789abcdef".repeat(4));
        let config = ClientConfig {
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            ..ClientConfig::new(
                format!("http://127.0.0.1:{port}/api/v1"),
                SecretString::from(secret.clone()),
            )
        };
        let network = OpenRouterClient::new(config)
            .unwrap()
            .current_key()
            .await
            .unwrap_err();
        assert_eq!(network.kind(), ErrorKind::Network, "{network}");
        let reqwest = causes(&network)
            .into_iter()
            .find_map(|cause| cause.downcast_ref::<reqwest::Error>())
            .expect("the reqwest error is in the chain");
        assert!(reqwest.is_connect(), "{reqwest:?}");

        // Store: a data directory that can't be created (its parent is a file), and a database file
        // that is not SQLite.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, vec![b'x'; 4096]).unwrap();
        let no_dir = crate::store::Store::open(&file.join("keyward.db")).unwrap_err();
        assert_eq!(no_dir.kind(), ErrorKind::Store, "{no_dir}");
        assert!(
            causes(&no_dir)
                .iter()
                .any(|cause| cause.downcast_ref::<std::io::Error>().is_some()),
            "{no_dir:?}"
        );
        let not_sqlite = crate::store::Store::open(&file).unwrap_err();
        assert_eq!(not_sqlite.kind(), ErrorKind::Store, "{not_sqlite}");
        assert!(
            causes(&not_sqlite)
                .iter()
                .any(|cause| cause.downcast_ref::<rusqlite::Error>().is_some()),
            "{not_sqlite:?}"
        );

        // A keychain task that died: the join error is the source.
        let vault = crate::vault::Vault::in_memory("errors-keep-their-sources");
        let died = vault
            .run(|_| -> Result<(), Error> { panic!("the keychain task died") })
            .await
            .unwrap_err();
        assert_eq!(died.kind(), ErrorKind::Keychain, "{died}");
        assert!(
            causes(&died)
                .iter()
                .any(|cause| cause.downcast_ref::<tokio::task::JoinError>().is_some()),
            "{died:?}"
        );

        for error in [&network, &no_dir, &not_sqlite, &died] {
            let sentence = error.to_string();
            assert!(!repeats_its_headline(&sentence), "{sentence}");
            let mut everything = format!("{sentence} {error:?}");
            for cause in causes(error) {
                everything.push_str(&format!(" {cause} {cause:?}"));
            }
            assert!(!everything.contains(&secret[9..]), "{everything}");
        }
    }

    /// The faults the in-memory keychain injects read like the real keychain's errors, once.
    #[test]
    fn injected_keychain_faults_say_their_headline_once() {
        use crate::vault::{Fault, KeychainFailure, MemoryKeychain, Vault};
        for failure in [
            KeychainFailure::Locked,
            KeychainFailure::Unavailable,
            KeychainFailure::Denied,
            KeychainFailure::Failed,
        ] {
            let keychain = MemoryKeychain::new();
            keychain.inject(Fault::new(failure));
            let vault = Vault::with_backend("headline", keychain);
            let error = vault.management_key("p1").unwrap_err();
            let sentence = error.to_string();
            assert!(!repeats_its_headline(&sentence), "{sentence}");
        }
    }
}
