//! The fuzz targets (src/lib.rs), one test each. `cargo test` (and so `cargo xtask test`) runs each
//! over its kept corpus (tests/__fuzz__/<name>/corpus) and a few thousand random inputs;
//! `cargo bolero test -p keyward-fuzz <name>` runs it under libFuzzer (src-tauri/docs/fuzzing.md).

use bolero::check;

#[test]
fn answers() {
    check!().for_each(keyward_fuzz::answers);
}

#[test]
fn requests() {
    check!().for_each(keyward_fuzz::requests);
}

#[test]
fn dotenv() {
    check!().for_each(keyward_fuzz::dotenv);
}

#[test]
fn retry_after() {
    check!().for_each(keyward_fuzz::retry_after);
}
