//! `delete` on a terminal asks `[y/N]` first: anything but yes keeps the key (exit 2), `y` deletes
//! it. The CLI runs on a real pseudo-terminal (util-linux `script`), in the ad-hoc mode against the
//! emulator (the management key in the environment, never on the command line).
// util-linux `script` gives the CLI its pseudo-terminal: Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Bench, CLI};

/// Runs `keyward-cli delete KEY` on a pseudo-terminal, answers `answer` once asked; the exit code.
fn delete_answering(bench: &Bench, key: &str, answer: &str) -> (Option<i32>, String) {
    let command = format!("{CLI} delete {key}");
    let mut script = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("KEYWARD_MANAGEMENT_KEY", bench.emulator.management_key())
        .env("KEYWARD_BASE_URL", bench.emulator.base_url())
        .env("KEYWARD_DATA_DIR", bench.dir.path().join("data"))
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
    // Answer only once asked (a bound on waiting for the prompt, not a timing assumption).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !screen().contains("[y/N]") {
        assert!(Instant::now() < deadline, "no question: {}", screen());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = script.stdin.take().unwrap();
    stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    drop(stdin);
    let status = script.wait().unwrap();
    reader.join().unwrap();
    (status.code(), screen())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_asks_on_a_terminal() {
    let bench = Bench::start().await;
    let hash = bench.create_key(json!({"name": "asked"})).await;
    let (code, screen) = delete_answering(&bench, "asked", "n");
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("\"asked\""), "{screen}");
    assert_eq!(
        bench.emulator_keys().await.len(),
        1,
        "deleted without a yes"
    );

    let (code, screen) = delete_answering(&bench, &hash, "y");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        bench.emulator_keys().await.is_empty(),
        "not deleted: {screen}"
    );
}
