//! Keyward's fuzz targets: each a function of raw bytes that runs the code Keyward ships (through
//! `keyward_core::fuzzing` and the public API) and panics when a property fails. `tests/fuzz.rs`
//! drives them with bolero: under `cargo test` over the kept corpus plus random inputs, under
//! `cargo bolero test` with libFuzzer (src-tauri/docs/fuzzing.md).
//!
//! - `answers`: the body of a 2xx answer of every endpoint, and of an error answer;
//! - `requests`: validation of every request Keyward sends, and of the strings people type;
//! - `dotenv`: the `.env` editor's edit, re-read, idempotence and undo, byte for byte;
//! - `retry_after`: `Retry-After` / `retry-after-ms` and the retry plan built on them.

// `cargo bolero test <target>` also builds this lib's own (empty) test binary, instrumented for the
// coverage hooks libFuzzer provides: naming bolero links them in (`[lib] test = false` does not stop
// a build given a test name).
#[cfg(test)]
use bolero as _;

mod answers;
mod dotenv;
mod requests;
mod retry_after;

pub use answers::answers;
pub use dotenv::dotenv;
pub use requests::requests;
pub use retry_after::retry_after;

/// Splits `input` at its first `0xFF` byte (never in UTF-8): (before, after). Without one, all of
/// it is `before`.
pub(crate) fn split(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|&b| b == 0xFF) {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, &[]),
    }
}
