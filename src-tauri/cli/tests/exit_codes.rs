//! The documented exit codes (`src-tauri/docs/cli.md`), produced by the real binary against the
//! emulator: usage 2, not found 3, unauthorized 4, invalid input 5, rate limited 7, offline 8; and
//! with `--json` the error on standard error is one JSON object carrying the same code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{Bench, OutputText};

/// The error object: the last line of standard error (log lines may come before it).
fn json_error(out: &std::process::Output) -> Value {
    let stderr = out.stderr_text();
    let last = stderr.lines().last().unwrap_or_default();
    serde_json::from_str::<Value>(last).unwrap_or_else(|err| panic!("{err}: {stderr}"))["error"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_not_found_and_invalid() {
    let bench = Bench::start().await;
    // Unknown option: clap's usage error.
    assert_eq!(bench.cli(&["list", "--bogus"], None).status.code(), Some(2));
    // --base-url (ad-hoc) without the key in the environment.
    let out = bench
        .command(&["list", "--base-url", bench.emulator.base_url()], None)
        .env_remove("KEYWARD_MANAGEMENT_KEY")
        .env_remove("KEYWARD_BASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    // --profile always means a stored profile, whatever the environment holds.
    let out = bench.cli(&["list", "--profile", "nobody"], None);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    assert!(out.stderr_text().contains("no profile named `nobody`"));
    let out = bench.cli(&["--json", "get", "nothing-by-that-name"], None);
    assert_eq!(out.status.code(), Some(3));
    let error = json_error(&out);
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["exit_code"], 3);
    let out = bench.cli(&["--json", "create", "--name", "x", "--limit", "-1"], None);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(json_error(&out)["field"], "limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_management_key_is_4() {
    let bench = Bench::start().await;
    let wrong = format!("sk-or-v1-{}", "1".repeat(64));
    let out = bench
        .command(&["--json", "list"], None)
        .env("KEYWARD_MANAGEMENT_KEY", &wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_text());
    assert_eq!(json_error(&out)["kind"], "unauthorized");
    assert!(!out.stderr_text().contains(&wrong), "the key was echoed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_is_7_with_the_wait() {
    let bench = Bench::start().await;
    // A wait longer than the client's retry budget fails at once, carrying the wait.
    bench
        .control(
            "/faults",
            json!({"rate_limit": {"probability": 1.0, "retry_after_seconds": 600}}),
        )
        .await;
    let out = bench.cli(&["--json", "credits"], None);
    assert_eq!(out.status.code(), Some(7), "{}", out.stderr_text());
    let error = json_error(&out);
    assert_eq!(error["kind"], "rate_limited");
    assert_eq!(error["retry_after_ms"], 600_000);
    let out = bench.cli(&["--json", "list"], None);
    assert_eq!(out.status.code(), Some(7), "{}", out.stderr_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_is_8() {
    let bench = Bench::start().await;
    // A port nothing listens on (bound, then released).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/api/v1");
    let out = bench
        .command(&["--json", "list"], None)
        .env("KEYWARD_BASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", out.stderr_text());
    assert_eq!(json_error(&out)["kind"], "network");
}

#[test]
fn the_ad_hoc_mode_refuses_a_misshapen_key_or_plain_http_before_any_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let local = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let run = |key: &str, url: &str| {
        std::process::Command::new(support::CLI)
            .args(["--json", "list"])
            .env("KEYWARD_DATA_DIR", dir.path())
            .env("KEYWARD_MANAGEMENT_KEY", key)
            .env("KEYWARD_BASE_URL", url)
            .output()
            .unwrap()
    };
    let out = run("hello world", &local);
    assert_eq!(out.status.code(), Some(5), "{}", out.stderr_text());
    assert!(!out.stderr_text().contains("hello world"));
    let shaped = format!("sk-or-v1-{}", "a".repeat(64));
    let out = run(&shaped, "http://192.0.2.1/api/v1");
    assert_eq!(out.status.code(), Some(5), "{}", out.stderr_text());
    assert_eq!(json_error(&out)["field"], "base_url");
    assert!(listener.accept().is_err(), "the CLI sent a request");
}
