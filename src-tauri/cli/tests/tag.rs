//! `keyward-cli tag` and `keyward-cli tags` run as a pipeline would (no terminal, `--json`): tags
//! added and removed, fields set and cleared, a bad tag refused with a non-zero exit and nothing
//! changed, a name shared by two keys refused, tags counted. Against the emulator over HTTP.
//!
//! Needs a Secret Service (the profile's management key goes to the keychain):
//! `tests/session.sh -- cargo test -p keyward-cli --test tag -- --ignored`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use keyward_core::vault::Vault;
use openrouter_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

use support::{ok_json, profile_cli as cli};

async fn create(emulator: &Emulator, name: &str) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("{}/keys", emulator.base_url()))
        .bearer_auth(emulator.management_key())
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["data"]["hash"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn tag_edits_metadata_and_tags_counts_it() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let api = create(&emulator, "prod-api").await;
    let worker = create(&emulator, "worker").await;
    create(&emulator, "twin").await;
    create(&emulator, "twin").await;
    let dir = tempfile::tempdir().unwrap();
    let service = format!("keyward-test-cli-tag-{}", std::process::id());
    let run = |args: &[&str]| cli(dir.path(), &service, args, None);
    let profile = ok_json(&cli(
        dir.path(),
        &service,
        &[
            "--json",
            "profile-add",
            "--name",
            "tags",
            "--base-url",
            emulator.base_url(),
        ],
        Some(emulator.management_key()),
    ));
    let profile_id = profile["id"].as_str().unwrap().to_owned();

    // By name: tags added (normalized), fields set.
    let row = ok_json(&run(&[
        "--json",
        "tag",
        "prod-api",
        "--add",
        "Prod,leaked",
        "--env",
        "production",
        "--project",
        "checkout",
        "--owner",
        "ana",
        "--notes",
        "rotate after incidents",
    ]));
    assert_eq!(row["hash"], api);
    assert_eq!(row["metadata"]["tags"], json!(["prod", "leaked"]));
    assert_eq!(row["metadata"]["environment"], "production");
    assert_eq!(row["metadata"]["project"], "checkout");
    assert_eq!(row["metadata"]["owner"], "ana");
    assert_eq!(row["metadata"]["notes"], "rotate after incidents");

    // By hash: a tag removed, the owner cleared, the notes cleared; the rest stays.
    let row = ok_json(&run(&[
        "--json",
        "tag",
        &api,
        "--remove",
        "LEAKED",
        "--owner",
        "",
        "--clear-notes",
    ]));
    assert_eq!(row["metadata"]["tags"], json!(["prod"]));
    assert_eq!(row["metadata"]["owner"], Value::Null);
    assert_eq!(row["metadata"]["notes"], Value::Null);
    assert_eq!(row["metadata"]["project"], "checkout");

    let row = ok_json(&run(&["--json", "tag", "worker", "--add", "prod,batch"]));
    assert_eq!(row["hash"], worker);

    // A bad tag: refused as invalid input (exit 5), the field named, nothing changed.
    let bad = run(&["--json", "tag", "worker", "--add", "no spaces!"]);
    assert_eq!(bad.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tag"));
    // Two keys share a name: refused as a usage error (exit 2).
    let twin = run(&["tag", "twin", "--add", "x"]);
    assert_eq!(twin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twin.stderr).contains("2 keys are named"));
    // Nothing to do: refused (usage, exit 2); an unknown key is not found (exit 3).
    assert_eq!(run(&["tag", "worker"]).status.code(), Some(2));
    assert_eq!(run(&["tag", "nobody", "--add", "x"]).status.code(), Some(3));
    // --notes and --clear-notes together: clap refuses (exit 2).
    assert_eq!(
        run(&["tag", "worker", "--notes", "n", "--clear-notes"])
            .status
            .code(),
        Some(2)
    );

    let counts = ok_json(&run(&["--json", "tags"]));
    assert_eq!(
        counts,
        json!([{"tag": "prod", "keys": 2}, {"tag": "batch", "keys": 1}])
    );
    // The text form lists the same.
    let text = run(&["tags", "--cached"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().next().unwrap().starts_with("prod"), "{text}");

    let _ = Vault::with_service(service).delete_management_key(&profile_id);
}
