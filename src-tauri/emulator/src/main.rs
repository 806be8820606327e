//! The `openrouter-emulator` binary.
fn main() {}
