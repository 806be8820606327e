//! Every key command of `keyward-cli` against the emulator over real HTTP on 127.0.0.1, in the
//! ad-hoc mode (management key in `KEYWARD_MANAGEMENT_KEY`, `--base-url`/`KEYWARD_BASE_URL`; no
//! keychain needed): the real binary, `--json` output parsed, exit codes checked, and what each
//! command changed read back from the emulator itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{Bench, OutputText};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_prints_only_the_secret_on_stdout() {
    let bench = Bench::start().await;
    let out = bench.cli(
        &[
            "create",
            "--name",
            "ci-1",
            "--limit",
            "5",
            "--limit-reset",
            "daily",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let secret = out.stdout_text();
    let secret = secret.trim();
    assert!(secret.starts_with("sk-or-v1-"), "{secret}");
    assert_eq!(
        out.stdout_text().lines().count(),
        1,
        "stdout holds the secret only"
    );
    assert!(
        out.stderr_text().contains("Created key"),
        "{}",
        out.stderr_text()
    );
    assert!(
        !out.stderr_text().contains(secret),
        "the secret reached stderr"
    );
    // The printed secret is the created key's: OpenRouter's hash is its SHA-256.
    let keys = bench.emulator_keys().await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["hash"], hex(secret));
    assert_eq!(keys[0]["limit"], 5.0);
    assert_eq!(keys[0]["limit_reset"], "daily");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_json_and_secret_file() {
    let bench = Bench::start().await;
    let out = bench.cli(&["--json", "create", "--name", "ci-json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(created["key"]["hash"], hex(secret));
    assert_eq!(created["key"]["name"], "ci-json");

    let path = bench.dir.path().join("ci.key");
    let out = bench.cli(
        &[
            "create",
            "--name",
            "ci-file",
            "--secret-file",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout_text());
    let written = std::fs::read_to_string(&path).unwrap();
    #[cfg(unix)]
    {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
    let hash = hex(written.trim());
    assert!(
        bench
            .emulator_keys()
            .await
            .iter()
            .any(|key| key["hash"] == hash)
    );

    // An existing file is refused before any key is created, and left as it was.
    let before = bench.emulator_keys().await.len();
    let out = bench.cli(
        &[
            "create",
            "--name",
            "ci-again",
            "--secret-file",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    assert!(out.stderr_text().contains("cannot create the secret file"));
    assert_eq!(bench.emulator_keys().await.len(), before);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_create_and_update_are_refused_before_any_request() {
    let bench = Bench::start().await;
    bench.clear_requests().await;
    let out = bench.cli(
        &[
            "--json",
            "create",
            "--name",
            "  ",
            "--limit",
            "-3",
            "--expires-at",
            "soon",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(5), "{}", out.stderr_text());
    let error: Value = serde_json::from_str(out.stderr_text().lines().last().unwrap()).unwrap();
    assert_eq!(error["error"]["kind"], "invalid_input");
    assert_eq!(error["error"]["exit_code"], 5);
    let fields: Vec<&str> = error["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(fields.contains(&"name"), "{fields:?}");
    assert!(fields.contains(&"limit"), "{fields:?}");
    assert!(fields.contains(&"expires_at"), "{fields:?}");
    assert!(bench.requests().await.is_empty(), "a request was sent");

    bench.create_key(json!({"name": "svc"})).await;
    bench.clear_requests().await;
    let out = bench.cli(&["update", "svc", "--limit", "-1"], None);
    assert_eq!(out.status.code(), Some(5), "{}", out.stderr_text());
    assert!(bench.requests().await.is_empty(), "a request was sent");
    let out = bench.cli(&["update", "svc"], None);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_json_csv_and_table() {
    let bench = Bench::start().await;
    let near = bench
        .create_key(json!({"name": "prod-near", "limit": 10.0}))
        .await;
    bench.record_usage(&near, 9.0).await;
    bench.create_key(json!({"name": "prod-free"})).await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    bench
        .create_key(json!({"name": "staging", "expires_at": soon}))
        .await;
    let off = bench.create_key(json!({"name": "old"})).await;
    bench.patch_key(&off, json!({"disabled": true})).await;

    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--json", "list"];
        all.extend_from_slice(args);
        let out = bench.cli(&all, None);
        assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
        let snapshot: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut names: Vec<String> = snapshot["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&[]), ["prod-free", "prod-near", "staging"]);
    assert_eq!(names(&["--include-disabled"]).len(), 4);
    assert_eq!(names(&["--status", "disabled"]), ["old"]);
    assert_eq!(names(&["--search", "PROD"]), ["prod-free", "prod-near"]);
    assert_eq!(names(&["--has-limit"]), ["prod-near"]);
    assert_eq!(names(&["--near-limit"]), ["prod-near"]);
    assert_eq!(names(&["--expiring", "7"]), ["staging"]);
    assert_eq!(names(&["--expiring", "1"]), Vec::<String>::new());
    assert_eq!(names(&["--search", &near[..10]]), ["prod-near"]);
    assert_eq!(
        names(&["--workspace", "no-such-workspace"]),
        Vec::<String>::new()
    );

    // `keys` is the same command.
    let out = bench.cli(&["keys"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("3 keys"),
        "{}",
        out.stdout_text()
    );

    let out = bench.cli(&["list", "--csv", "--include-disabled"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let csv = out.stdout_text();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("hash,name,label,status,"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(
        rows.iter()
            .any(|row| row.starts_with(&format!("{off},old,")) && row.contains(",disabled,"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_update_disable_enable() {
    let bench = Bench::start().await;
    let hash = bench
        .create_key(json!({"name": "svc-api", "limit": 4.0}))
        .await;

    let out = bench.cli(&["--json", "get", "svc-api"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(key["hash"], hash.as_str());
    assert_eq!(key["status"], "active");
    let out = bench.cli(&["get", &hash], None);
    assert!(
        out.stdout_text().contains("svc-api"),
        "{}",
        out.stdout_text()
    );

    let out = bench.cli(
        &[
            "--json",
            "update",
            "svc-api",
            "--name",
            "svc-api-2",
            "--no-limit",
            "--include-byok-in-limit",
            "true",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let key = bench.emulator_key(&hash).await;
    assert_eq!(key["name"], "svc-api-2");
    assert_eq!(key["limit"], Value::Null);
    assert_eq!(key["include_byok_in_limit"], true);

    let out = bench.cli(
        &["update", &hash, "--limit", "7.5", "--limit-reset", "weekly"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let key = bench.emulator_key(&hash).await;
    assert_eq!(key["limit"], 7.5);
    assert_eq!(key["limit_reset"], "weekly");
    let out = bench.cli(&["update", &hash, "--no-limit-reset"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(bench.emulator_key(&hash).await["limit_reset"], Value::Null);

    let out = bench.cli(&["--json", "disable", "svc-api-2"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["status"], "disabled");
    assert_eq!(bench.emulator_key(&hash).await["disabled"], true);
    let out = bench.cli(&["enable", &hash], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(bench.emulator_key(&hash).await["disabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_needs_yes_without_a_terminal() {
    let bench = Bench::start().await;
    let hash = bench.create_key(json!({"name": "doomed"})).await;
    bench.clear_requests().await;
    let out = bench.cli(&["delete", "doomed"], None);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    assert!(out.stderr_text().contains("--yes"), "{}", out.stderr_text());
    assert!(bench.requests().await.is_empty(), "a request was sent");
    assert_eq!(bench.emulator_keys().await.len(), 1);

    let out = bench.cli(&["--json", "delete", "doomed", "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["deleted"], hash.as_str());
    assert!(bench.emulator_keys().await.is_empty());

    let out = bench.cli(&["delete", "doomed", "--yes"], None);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_the_key_from_stdin_or_a_variable() {
    let bench = Bench::start().await;
    let out = bench.cli(
        &["--json", "create", "--name", "checked", "--limit", "2"],
        None,
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();

    let out = bench.cli(&["--json", "check"], Some(&secret));
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let checked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checked["is_management_key"], false);
    assert_eq!(checked["limit"], 2.0);
    assert!(!out.stdout_text().contains(&secret));

    let out = bench
        .command(&["--json", "check", "--from-env", "MY_KEY"], None)
        .env("MY_KEY", &secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let out = bench.cli(&["--json", "check"], Some(bench.emulator.management_key()));
    let checked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checked["is_management_key"], true);

    let out = bench.cli(&["check"], Some(""));
    assert_eq!(out.status.code(), Some(2));
    let unknown = format!("sk-or-v1-{}", "0".repeat(64));
    let out = bench.cli(&["check"], Some(&unknown));
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_in_json() {
    let bench = Bench::start().await;
    bench
        .control("/credits", json!({"total_credits": 42.5}))
        .await;
    let out = bench.cli(&["--json", "credits"], None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let credits: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(credits["total_credits"], 42.5);
    assert!(credits["remaining"].as_f64().unwrap() <= 42.5);
}

fn hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
