//! A management key pasted on a terminal: `profile-add` reads it from the terminal with echo off,
//! so it never shows on the screen. The CLI runs on a real pseudo-terminal (util-linux `script`,
//! which gives it a controlling terminal); everything the terminal shows comes back on `script`'s
//! standard output, where the key must not be.
// util-linux `script` gives the CLI its pseudo-terminal: Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");
const KEY: &str = "sk-or-v1-5ec2e7000000000000000000000000000000000000000000000000000000e40";

#[test]
fn a_management_key_pasted_on_a_terminal_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    // An unusable base URL: the command fails right after reading the key, without a request.
    let command = format!(
        "{CLI} --data-dir {} --keychain-service keyward-test-terminal profile-add --name echo --base-url=not-a-url",
        dir.path().display()
    );
    let mut script = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_remove("KEYWARD_MANAGEMENT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("util-linux `script` runs the CLI on a pseudo-terminal");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let shown = Arc::clone(&shown);
        let mut stdout = script.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                shown.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let screen = || String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    // Type only once the CLI asks: the terminal echoes input as it arrives, so a key typed before
    // the CLI turned echo off would show whatever the CLI does.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !screen().to_lowercase().contains("management key") {
        assert!(
            Instant::now() < deadline,
            "no prompt; the terminal shows: {}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = script.stdin.take().unwrap();
    // The key and Enter, then Ctrl-D (which ended the old read-to-end prompt).
    stdin.write_all(format!("{KEY}\n\x04").as_bytes()).unwrap();
    drop(stdin);
    let status = script.wait().unwrap();
    reader.join().unwrap();
    let screen = screen();
    assert!(
        !screen.contains(KEY) && !screen.contains(&KEY[12..40]),
        "the pasted key was echoed on the terminal:\n{screen}"
    );
    // It was read (and refused for the base URL, not for a missing key).
    assert!(!status.success(), "{screen}");
    assert!(!screen.contains("no management key"), "{screen}");
    assert!(
        screen.contains("base"),
        "expected a base URL error:\n{screen}"
    );
}
