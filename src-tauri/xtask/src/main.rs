//! `cargo xtask <task>`: project tasks.
fn main() {}
