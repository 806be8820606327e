//! `keyward-cli export`, `import` and `create --from-csv` run as the real binary against the
//! emulator: export then import is a no-op preview (exit 0); a file with a bad row previews with
//! exit 5 (invalid input) and applies nothing; `--apply` sets the labels; a bulk create previews without sending,
//! creates with `--yes` without printing any secret, and a re-run creates nothing twice.
//!
//! Needs a Secret Service (the profile's management key and the pending secrets go to the keychain):
//! `tests/session.sh -- cargo test -p keyward-cli --test csv -- --ignored`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use openrouter_emulator::{Emulator, EmulatorConfig};

use support::{ok_text as ok, profile_cli as cli, stdout_json as json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn export_import_and_create_from_csv() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = format!("keyward-cli-csv-test-{}", std::process::id());
    let d = dir.path();
    ok(&cli(
        d,
        &service,
        &[
            "profile-add",
            "--name",
            "Work",
            "--base-url",
            emulator.base_url(),
        ],
        Some(emulator.management_key()),
    ));

    // Bulk create: the preview sends nothing and exits 0 on a clean file.
    let file = d.join("new.csv");
    std::fs::write(
        &file,
        "Name;Limit;Reset;Tags;Owner\napi-a;5;monthly;prod,ci;ana\napi-b;;;staging;\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let preview = cli(d, &service, &["--json", "create", "--from-csv", path], None);
    let preview = json(&preview);
    assert_eq!(preview["keys"].as_array().unwrap().len(), 2);
    let keys = cli(d, &service, &["--json", "keys"], None);
    assert_eq!(json(&keys)["keys"].as_array().unwrap().len(), 0);

    let created = cli(d, &service, &["create", "--from-csv", path, "--yes"], None);
    let text = ok(&created);
    assert!(text.contains("2 created, 0 failed"), "{text}");
    assert!(text.contains("pending"), "{text}");
    assert!(!text.contains("sk-or-"), "a secret was printed: {text}");
    assert!(!String::from_utf8_lossy(&created.stderr).contains("sk-or-"));
    // Again: every name exists, nothing is created twice.
    let again = json(&cli(
        d,
        &service,
        &["--json", "create", "--from-csv", path, "--yes"],
        None,
    ));
    assert_eq!(again["created"], 0);
    let keys = json(&cli(d, &service, &["--json", "keys"], None));
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);

    // Export, then import the same file: nothing changes (exit 0).
    let out = d.join("labels.csv");
    ok(&cli(
        d,
        &service,
        &["export", "--output", out.to_str().unwrap()],
        None,
    ));
    let exported = std::fs::read_to_string(&out).unwrap();
    assert!(exported.contains("prod;ci"), "{exported}");
    let stdout_export = ok(&cli(d, &service, &["export"], None));
    assert_eq!(stdout_export, exported);
    let preview = json(&cli(
        d,
        &service,
        &["--json", "import", out.to_str().unwrap()],
        None,
    ));
    assert_eq!(preview["changes"].as_array().unwrap().len(), 0);
    assert_eq!(preview["unchanged"], 2);

    // An edited file with a bad row: the preview exits 5 (invalid input) and --apply applies nothing…
    let edited = d.join("edited.csv");
    std::fs::write(&edited, "name,tags\napi-a,leaked\napi-b,two words\n").unwrap();
    let edited = edited.to_str().unwrap();
    let preview = cli(d, &service, &["--json", "import", edited], None);
    assert_eq!(preview.status.code(), Some(5));
    assert_eq!(json(&preview)["problems"][0]["row"], 3);
    let refused = cli(d, &service, &["import", edited, "--apply"], None);
    assert_eq!(refused.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing was applied"));
    // …until only the valid rows are applied.
    let applied = json(&cli(
        d,
        &service,
        &["--json", "import", edited, "--apply", "--valid-only"],
        None,
    ));
    assert_eq!(applied["applied"].as_array().unwrap().len(), 1);
    assert_eq!(applied["skipped_rows"], serde_json::json!([3]));
    let keys = json(&cli(d, &service, &["--json", "keys", "--cached"], None));
    let a = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "api-a")
        .unwrap();
    assert_eq!(a["metadata"]["tags"], serde_json::json!(["leaked"]));
}
