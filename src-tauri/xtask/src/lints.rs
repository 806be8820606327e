//! Clippy without a second compile. `cargo clippy` checks every dependency again in its own mode
//! (about 6 of a cold CI run's minutes); instead every cargo build and test run by `cargo xtask
//! test` compiles the workspace's own crates through clippy-driver (`RUSTC_WORKSPACE_WRAPPER`), so
//! the lints come out of the one build, and the `clippy` suite asks cargo to replay them: the same
//! build, fresh, with its diagnostics as JSON. Dependencies are compiled by plain rustc either way,
//! and cargo keeps the wrapped and plain builds of our crates apart, so a hand-run `cargo build`
//! never hides a lint from the next `cargo xtask test`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};

use crate::Workspace;
use crate::junit::Counts;

/// clippy-driver of the toolchain running `cargo xtask`: cargo names itself in $CARGO.
fn clippy_driver() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").context("no $CARGO: run this as `cargo xtask`")?;
    let driver = PathBuf::from(cargo).with_file_name("clippy-driver");
    ensure!(
        driver.is_file(),
        "no {} (rustup component add clippy)",
        driver.display()
    );
    Ok(driver)
}

/// Makes `command` (a cargo build or test run, or a script that runs one) compile the workspace's
/// crates through clippy-driver. Every cargo run of one `cargo xtask test` must get this, or our
/// crates compile twice.
pub fn with_clippy(command: &mut Command) -> anyhow::Result<&mut Command> {
    Ok(command
        .env("RUSTC_WORKSPACE_WRAPPER", clippy_driver()?)
        // The lints' levels are the workspace's ([workspace.lints], .clippy.toml); any warning
        // fails the clippy suite below, as `-D warnings` did.
        .env_remove("CLIPPY_ARGS"))
}

/// The `clippy` suite: replays the workspace build's diagnostics (compiling whatever is not built
/// yet) and prints each warning or error of our crates once: one pass when there are none, else
/// one failure per diagnostic.
pub fn suite(workspace: &Workspace) -> anyhow::Result<Counts> {
    let mut command = workspace.command("cargo");
    let args = "build --workspace --all-targets --message-format=json-diagnostic-rendered-ansi";
    println!("$ cargo {args}");
    with_clippy(&mut command)?.args(args.split(' '));
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut child = command.spawn().context("starting cargo build")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut diagnostics = BTreeSet::new();
    for line in BufReader::new(stdout).lines() {
        if let Some(rendered) = own_diagnostic(&line.context("reading cargo's output")?)
            && diagnostics.insert(rendered.clone())
        {
            print!("{rendered}");
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    let found = diagnostics.len() as u64;
    if !status.success() && found == 0 {
        bail!("cargo build failed ({status})");
    }
    println!("{found} warnings or errors in the workspace's crates");
    Ok(Counts::new(u64::from(found == 0), found))
}

/// The rendered text of a warning or error about one of the workspace's crates (a path package;
/// dependencies come from the registry), from one line of cargo's JSON messages.
fn own_diagnostic(line: &str) -> Option<String> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    let ours = message["reason"] == "compiler-message"
        && message["package_id"].as_str()?.starts_with("path+file://");
    let diagnostic = &message["message"];
    match diagnostic["level"].as_str()? {
        "warning" | "error" if ours => Some(diagnostic["rendered"].as_str()?.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::own_diagnostic;

    #[test]
    fn only_warnings_and_errors_of_path_packages_count() {
        let ours = r#"{"reason":"compiler-message","package_id":"path+file:///w/src-tauri/core#keyward-core@0.1.0","message":{"level":"warning","rendered":"warning: used `unwrap()`\n"}}"#;
        let theirs = r#"{"reason":"compiler-message","package_id":"registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0","message":{"level":"warning","rendered":"warning: x\n"}}"#;
        let note = r#"{"reason":"compiler-message","package_id":"path+file:///w#keyward@0.1.0","message":{"level":"note","rendered":"note: y\n"}}"#;
        let artifact =
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w#keyward@0.1.0"}"#;
        assert_eq!(
            own_diagnostic(ours).as_deref(),
            Some("warning: used `unwrap()`\n")
        );
        for other in [theirs, note, artifact, "not json", "   Compiling x"] {
            assert_eq!(own_diagnostic(other), None, "{other}");
        }
    }
}
