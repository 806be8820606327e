//! The fuzz targets (src/lib.rs), one test each, named so the corpus directory is the same under
//! every runner (libtest, nextest, cargo-bolero). `cargo test` (and so `cargo xtask test`) runs each
//! over its kept corpus (tests/__fuzz__/<name>/corpus) and a few thousand random inputs;
//! `cargo bolero test -p keyward-fuzz <name>` runs it under libFuzzer (src-tauri/docs/fuzzing.md).

use bolero::check;

#[test]
fn answers() {
    check!(name = "answers").for_each(keyward_fuzz::answers);
}

#[test]
fn requests() {
    check!(name = "requests").for_each(keyward_fuzz::requests);
}

#[test]
fn dotenv() {
    check!(name = "dotenv").for_each(keyward_fuzz::dotenv);
}

#[test]
fn retry_after() {
    check!(name = "retry_after").for_each(keyward_fuzz::retry_after);
}
