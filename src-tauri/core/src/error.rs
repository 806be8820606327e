//! The one error type of keyward-core. Every variant's Display is a sentence a person can act on, and
//! `kind()` is a stable snake_case tag the desktop UI and the CLI switch on.

use std::time::Duration;

use serde::ser::SerializeStruct;

/// Where management keys are created; shown when a call needs one and got something else.
pub const MANAGEMENT_KEYS_URL: &str = "https://openrouter.ai/settings/management-keys";

#[derive(Debug, thiserror::Error)]
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
    Network { host: String, message: String },

    #[error("OpenRouter at {host} did not answer within {} s", format_seconds(*.after))]
    Timeout { host: String, after: Duration },

    /// An answer arrived but is not what the API reference describes.
    #[error("Unexpected answer from OpenRouter: {message}")]
    Decode { message: String },

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
    KeychainUnavailable { message: String },

    /// The keychain is there but locked, or its unlock prompt was dismissed.
    #[error("The system keychain is locked: {message}")]
    KeychainLocked { message: String },

    #[error("The system keychain refused access: {message}")]
    KeychainDenied { message: String },

    /// `what` names the entry, e.g. "The management key of profile …".
    #[error("{what} is not in the system keychain")]
    SecretNotFound { what: String },

    /// Any other keychain failure.
    #[error("The system keychain failed: {message}")]
    Keychain { message: String },

    /// Keyward's local SQLite store failed.
    #[error("Keyward's local data failed: {message}")]
    Store { message: String },

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

    /// A failure inside Keyward itself (a task that died, the sandbox that would not start).
    #[error("Keyward failed internally: {message}")]
    Internal { message: String },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" — retry after {} s", format_seconds(wait)),
        None => " — wait a moment and retry".to_owned(),
    }
}

/// "3", "0.5", "1.25": whole seconds without a fraction, otherwise up to two decimals.
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
    /// A stable snake_case tag for front ends (`unauthorized` → ask for the key again, `rate_limited`
    /// → count down, `network` → offline banner). New variants must get a new, never reused, tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Unauthorized { .. } => "unauthorized",
            Error::Forbidden { .. } => "forbidden",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::RateLimited { .. } => "rate_limited",
            Error::Server { .. } => "server",
            Error::Network { .. } => "network",
            Error::Timeout { .. } => "timeout",
            Error::Decode { .. } => "decode",
            Error::InvalidInput { .. } => "invalid_input",
            Error::KeychainUnavailable { .. } => "keychain_unavailable",
            Error::KeychainLocked { .. } => "keychain_locked",
            Error::KeychainDenied { .. } => "keychain_denied",
            Error::SecretNotFound { .. } => "secret_not_found",
            Error::Keychain { .. } => "keychain",
            Error::Store { .. } => "store",
            Error::ProfileNameTaken { .. } => "profile_name_taken",
            Error::ProfileNotFound { .. } => "profile_not_found",
            Error::ProfileHoldsSecrets { .. } => "profile_holds_secrets",
            Error::NotManagementKey { .. } => "not_management_key",
            Error::Internal { .. } => "internal",
        }
    }

    /// How long to wait before trying again, when the error says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
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
        out.serialize_field("kind", self.kind())?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        assert_eq!(
            err.to_string(),
            "Can't reach OpenRouter at 127.0.0.1:9: connection refused"
        );
        let err = Error::Timeout {
            host: "openrouter.ai".into(),
            after: Duration::from_millis(250),
        };
        assert_eq!(
            err.to_string(),
            "OpenRouter at openrouter.ai did not answer within 0.25 s"
        );
        assert_eq!(serde_json::to_value(&err).unwrap()["kind"], "timeout");
    }
}
