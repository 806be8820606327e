//! `keyward-cli completions SHELL` prints a completion script generated from the parser itself, for
//! every shell clap_complete knows; an unknown shell is a usage error. A bash script is also loaded
//! into bash to prove it parses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

fn completions(shell: &str) -> std::process::Output {
    Command::new(CLI)
        .args(["completions", shell])
        .env("KEYWARD_DATA_DIR", "/nonexistent/keyward-completions-test")
        .output()
        .unwrap()
}

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = completions(shell);
        assert!(output.status.success(), "{shell}: {output:?}");
        let script = String::from_utf8_lossy(&output.stdout);
        for command in ["list", "create", "run", "rotate", "credits"] {
            assert!(script.contains(command), "{shell} script lacks {command}");
        }
    }
    assert_eq!(completions("tcsh").status.code(), Some(2));
}

// bash is not a given on Windows runners (nor the same bash); the scripts are checked above.
#[cfg(unix)]
#[test]
fn the_bash_script_loads_in_bash() {
    let script = completions("bash").stdout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyward-cli.bash");
    std::fs::write(&path, script).unwrap();
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p keyward-cli",
            path.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
}
