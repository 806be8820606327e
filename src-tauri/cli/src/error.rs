//! The CLI's one error type and the process exit code each error maps to. A script switches on the
//! exit code, so the table lives here, in one place, derived from `keyward_core::ErrorKind` (an
//! exhaustive match: a new kind in the core does not compile until it has a code here). The table
//! is documented in `src-tauri/docs/cli.md`; `tests/exit_codes.rs` checks it.

use keyward_core::{AppError, ErrorKind};

/// What a script can tell apart by the exit status. `run` exits with its child's status instead
/// (126/127 when the program cannot be started, 128+N when it died of signal N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// Anything not listed below (Keyward's local data, an internal failure).
    Failure = 1,
    /// Bad command line: unknown option, missing argument, no profile, confirmation refused.
    Usage = 2,
    /// The key, profile or held secret does not exist.
    NotFound = 3,
    /// OpenRouter rejected the management key, or it is not one.
    Unauthorized = 4,
    /// A value was refused before or by OpenRouter (name, limit, expiry …).
    InvalidInput = 5,
    /// A conflict (e.g. a profile still holding secrets, a rotation in the way).
    Conflict = 6,
    /// OpenRouter answered 429: retry later.
    RateLimited = 7,
    /// OpenRouter could not be reached, timed out, failed (5xx) or answered nonsense.
    Offline = 8,
    /// The OS keychain is unavailable, locked or refused.
    Keychain = 9,
    /// A command over several keys finished with some of them failed.
    Partial = 10,
    /// `audit verify`: the audit log's hash chain is broken (an entry edited, removed, inserted,
    /// reordered, or the tail cut off).
    AuditBroken = 11,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit status of a core error kind.
    pub fn of_kind(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::NotFound | ErrorKind::ProfileNotFound | ErrorKind::SecretNotFound => {
                Exit::NotFound
            }
            ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::NotManagementKey => {
                Exit::Unauthorized
            }
            ErrorKind::InvalidInput | ErrorKind::ProfileNameTaken => Exit::InvalidInput,
            ErrorKind::Conflict | ErrorKind::ProfileHoldsSecrets | ErrorKind::UpdateBlocked => {
                Exit::Conflict
            }
            ErrorKind::RateLimited => Exit::RateLimited,
            ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Decode => {
                Exit::Offline
            }
            ErrorKind::KeychainUnavailable
            | ErrorKind::KeychainLocked
            | ErrorKind::KeychainDenied
            | ErrorKind::Keychain => Exit::Keychain,
            ErrorKind::Store | ErrorKind::Internal | ErrorKind::Update => Exit::Failure,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Core(#[from] keyward_core::Error),
    #[error("{0}")]
    Usage(String),
    /// A failure the core reported as data (a refresh that could not reach OpenRouter).
    #[error("{}", .0.message)]
    Remote(AppError),
    /// A key or profile named on the command line that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Several values refused before any request (e.g. every bad field of a create).
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<AppError>),
    /// Some of the keys a command acted on failed (each reported already): for the batch commands
    /// (`revoke`, `import`), which build on this table.
    #[error("{0}")]
    Partial(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot read the management key from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `audit verify` found the chain broken (the message names the first bad entry).
    #[error("{0}")]
    AuditBroken(String),
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Core(error) => Exit::of_kind(error.kind()),
            CliError::Remote(error) => Exit::of_kind(error.kind),
            CliError::Usage(_) => Exit::Usage,
            CliError::NotFound(_) => Exit::NotFound,
            CliError::Invalid(_) => Exit::InvalidInput,
            CliError::Partial(_) => Exit::Partial,
            CliError::AuditBroken(_) => Exit::AuditBroken,
            CliError::Runtime(_) | CliError::Stdin(_) | CliError::Io { .. } | CliError::Json(_) => {
                Exit::Failure
            }
        }
    }

    /// The error as `--json` prints it on standard error: `{"error": {kind, message, field, …}}`
    /// (the core's `AppError` shape; `kind` is `usage`/`partial`/`io` for the CLI's own errors).
    pub fn to_json(&self) -> serde_json::Value {
        let (kind, field, retry_after_ms): (String, Option<String>, Option<u64>) = match self {
            CliError::Core(error) => {
                let app = AppError::from(error);
                (app.kind.to_string(), app.field, app.retry_after_ms)
            }
            CliError::Remote(app) => (app.kind.to_string(), app.field.clone(), app.retry_after_ms),
            CliError::Usage(_) => ("usage".into(), None, None),
            CliError::NotFound(_) => ("not_found".into(), None, None),
            CliError::Invalid(errors) => (
                "invalid_input".into(),
                errors.first().and_then(|e| e.field.clone()),
                None,
            ),
            CliError::Partial(_) => ("partial".into(), None, None),
            CliError::AuditBroken(_) => ("audit_broken".into(), None, None),
            _ => ("io".into(), None, None),
        };
        let mut error = serde_json::json!({
            "kind": kind,
            "message": self.to_string(),
            "field": field,
            "retry_after_ms": retry_after_ms,
            "exit_code": self.exit().code(),
        });
        if let CliError::Invalid(errors) = self {
            error["errors"] = serde_json::to_value(errors).unwrap_or_default();
        }
        serde_json::json!({ "error": error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn every_core_kind_has_a_documented_code_and_only_known_ones() {
        let documented = include_str!("../../docs/cli.md");
        for kind in ErrorKind::VARIANTS {
            let code = Exit::of_kind(*kind).code();
            assert!(
                documented.contains(&format!("| {code} ")),
                "exit code {code} ({kind}) is not in docs/cli.md"
            );
            assert!(
                documented.contains(&format!("`{kind}`")),
                "kind {kind} is not in docs/cli.md's exit code table"
            );
        }
    }

    #[test]
    fn the_codes_a_script_relies_on() {
        assert_eq!(Exit::of_kind(ErrorKind::NotFound).code(), 3);
        assert_eq!(Exit::of_kind(ErrorKind::Unauthorized).code(), 4);
        assert_eq!(Exit::of_kind(ErrorKind::Forbidden).code(), 4);
        assert_eq!(Exit::of_kind(ErrorKind::InvalidInput).code(), 5);
        assert_eq!(Exit::of_kind(ErrorKind::RateLimited).code(), 7);
        assert_eq!(Exit::of_kind(ErrorKind::Server).code(), 8);
        assert_eq!(Exit::of_kind(ErrorKind::Network).code(), 8);
        assert_eq!(CliError::Usage(String::new()).exit().code(), 2);
        assert_eq!(CliError::Partial(String::new()).exit().code(), 10);
    }
}
