//! The CLI's one error type and the process exit code each error maps to. A script switches on the
//! exit code, so the table lives here, in one place, derived from `keyward_core::ErrorKind`.

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Core(#[from] keyward_core::Error),
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot read the management key from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}
