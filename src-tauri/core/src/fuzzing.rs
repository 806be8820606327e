//! What the fuzz harness (`src-tauri/fuzz`, see `src-tauri/docs/fuzzing.md`) drives, and nothing
//! else: thin doors onto the code Keyward runs, never a copy of it. Not an API for front ends.
//!
//! - answers of every endpoint: `api::fuzzing` (the client's own `decode` and models);
//! - Retry-After: `api::retry::server_hint` (already public);
//! - request validation: the public `validate` methods of the request types;
//! - the `.env` editor: `dotenv_*` below.

pub use crate::api::fuzzing::{Endpoint, error_answer, parse_answer};

use crate::deploy::env_file::dotenv;

/// The `.env` edit a deploy makes: `content` with `variable` set to `value`, and whether an
/// existing line was replaced (else one was appended).
pub fn dotenv_edit(content: &[u8], variable: &str, value: &str) -> Result<(Vec<u8>, bool), String> {
    dotenv::edit(content, variable, value).map(|edit| (edit.content, edit.replaced))
}

/// The `.env` undo: `current` with `variable`'s line as `backup` had it.
pub fn dotenv_restore(
    current: &[u8],
    backup: Option<&[u8]>,
    variable: &str,
) -> Result<Vec<u8>, String> {
    dotenv::restore_variable(current, backup, variable)
}

/// Every value `variable` is assigned in `content`, as written, as the editor reads the file.
pub fn dotenv_values<'a>(content: &'a [u8], variable: &str) -> Result<Vec<&'a [u8]>, String> {
    dotenv::written_values(content, variable)
}
