//! `keyward-cli profile-add` refuses, before any request, a management key from
//! `KEYWARD_MANAGEMENT_KEY` that is not shaped like an OpenRouter key, and a plain-http base URL to
//! another machine. The base URL points at a local listener that counts connections: none arrive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Command, Output};

const CLI: &str = env!("CARGO_BIN_EXE_keyward-cli");

fn profile_add(data_dir: &std::path::Path, base_url: &str, key: &str) -> Output {
    Command::new(CLI)
        .arg("--data-dir")
        .arg(data_dir)
        // A service name nothing uses: a refused key never reaches the keychain.
        .args(["--keychain-service", "keyward-test-cli-key-shape"])
        .args(["profile-add", "--name", "work", "--base-url", base_url])
        .env("KEYWARD_MANAGEMENT_KEY", key)
        .env_remove("KEYWARD_ROTATION_PAUSE_AT")
        .output()
        .unwrap()
}

#[test]
fn a_misshapen_key_or_a_plain_http_url_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let local = format!("http://{}/api/v1", listener.local_addr().unwrap());

    let output = profile_add(dir.path(), &local, "hello world");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not an OpenRouter key"), "{stderr}");
    assert!(!stderr.contains("hello world"), "{stderr}");

    let output = profile_add(
        dir.path(),
        "http://192.0.2.1/api/v1",
        "sk-or-v1-cli-test-key",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("https://"), "{stderr}");
    assert!(!stderr.contains("sk-or-v1-cli-test-key"), "{stderr}");

    // Nothing connected to the local listener.
    assert!(listener.accept().is_err(), "the CLI sent a request");
}
