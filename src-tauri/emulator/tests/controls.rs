//! The other `/_emulator` controls over real HTTP: the request log, the clock, reset, seeding,
//! management keys, usage, traffic, the state file, library defaults and the binary's first
//! stdout line. Fault injection lives in `faults.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use openrouter_emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn request_log_records_api_calls_without_header_values() {
    let harness = Harness::start().await;
    let (secret, _) = harness.create(json!({"name": "logged"})).await;
    harness
        .api(Method::GET, "/keys?offset=0&include_disabled=true", None)
        .await;
    harness
        .api_as(Some(&secret), Method::GET, "/key", None)
        .await;
    harness.set_faults(json!({"rate_limit": {"next": 1}})).await;
    harness.api(Method::GET, "/credits", None).await;
    harness.control(Method::GET, "/health", None).await;
    harness
        .api(Method::GET, "/no-such-endpoint", None)
        .await
        .assert_error(404, "Not Found");
    let log = harness.control(Method::GET, "/requests", None).await;
    let entries = log.body["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{entries:?}");
    assert_eq!(entries[4]["path"], "/api/v1/no-such-endpoint");
    assert_eq!(entries[4]["status"], 404);
    for entry in entries {
        assert_fields(entry, &["at", "method", "path", "query", "status", "fault"]);
        assert!(entry["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["path"], "/api/v1/keys");
    assert_eq!(entries[0]["status"], 201);
    assert_eq!(entries[0]["query"], Value::Null);
    assert_eq!(entries[1]["query"], "offset=0&include_disabled=true");
    assert_eq!(entries[2]["path"], "/api/v1/key");
    assert_eq!(entries[3]["status"], 429);
    assert_eq!(entries[3]["fault"], "rate_limit");
    assert_eq!(entries[0]["fault"], Value::Null);
    let text = log.body.to_string();
    assert!(
        !text.contains(MANAGEMENT_KEY) && !text.contains(&secret),
        "no header values"
    );
    harness.control(Method::DELETE, "/requests", None).await;
    let log = harness.control(Method::GET, "/requests", None).await;
    assert_eq!(log.body, json!({"requests": []}));
}

#[tokio::test]
async fn clock_controls() {
    let harness = Harness::start().await;
    let clock = harness.control(Method::GET, "/clock", None).await;
    assert_fields(&clock.body, &["now", "offset_seconds"]);
    assert_eq!(clock.body["offset_seconds"], 0.0);
    let advanced = harness
        .control(
            Method::POST,
            "/clock",
            Some(&json!({"advance_seconds": 3600})),
        )
        .await;
    assert_eq!(advanced.body["offset_seconds"], 3600.0);
    let set = harness
        .control(
            Method::POST,
            "/clock",
            Some(&json!({"now": "2030-05-06T07:08:09Z"})),
        )
        .await;
    assert!(
        set.body["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-05-06T07:08:")
    );
    let (_, key) = harness.create(json!({"name": "future"})).await;
    assert!(
        key["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2030-05-06T07:08:"),
        "created_at follows the clock"
    );
    let absolute = harness
        .control(
            Method::POST,
            "/clock",
            Some(&json!({"offset_seconds": -60})),
        )
        .await;
    assert_eq!(absolute.body["offset_seconds"], -60.0);
    for body in [
        json!({}),
        json!({"now": "yesterday"}),
        json!({"now": "2030-01-01T00:00:00"}),
        json!({"advance_seconds": 1e300}),
        json!({"advance_seconds": 1, "now": "2030-01-01T00:00:00Z"}),
    ] {
        assert_eq!(
            harness
                .control(Method::POST, "/clock", Some(&body))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn reset_forgets_everything_but_management_keys() {
    let harness = Harness::start().await;
    harness
        .control(Method::POST, "/seed", Some(&json!({"count": 5})))
        .await;
    harness.advance(500.0).await;
    harness.api(Method::GET, "/keys", None).await;
    harness.set_faults(json!({"latency_ms": 10})).await;
    let reset = harness.control(Method::POST, "/reset", None).await;
    assert_eq!(reset.body, json!({"ok": true}));
    assert_eq!(
        harness.control(Method::GET, "/keys", None).await.data(),
        &json!([])
    );
    assert_eq!(
        harness.control(Method::GET, "/clock", None).await.body["offset_seconds"],
        0.0
    );
    assert_eq!(
        harness.control(Method::GET, "/faults", None).await.body["latency_ms"],
        Value::Null
    );
    assert_eq!(
        harness.control(Method::GET, "/requests", None).await.body,
        json!({"requests": []})
    );
    assert_eq!(get_status(&harness, "/keys").await, 200);
    assert_eq!(
        harness.api(Method::GET, "/credits", None).await.data()["total_usage"],
        0.0
    );
}

#[tokio::test]
async fn management_keys_can_be_added() {
    let harness = Harness::start().await;
    let added = harness
        .control(
            Method::POST,
            "/management-keys",
            Some(&json!({"key": "sk-or-v1-second"})),
        )
        .await;
    assert_eq!(added.body["key"], "sk-or-v1-second");
    assert_eq!(
        status_of(
            &harness
                .api_as(Some("sk-or-v1-second"), Method::GET, "/keys", None)
                .await
        ),
        200
    );
    let random = harness
        .control(Method::POST, "/management-keys", None)
        .await;
    let key = random.body["key"].as_str().unwrap();
    assert!(key.starts_with("sk-or-v1-") && key.len() == 73);
    assert_eq!(
        status_of(
            &harness
                .api_as(Some(key), Method::GET, "/credits", None)
                .await
        ),
        200
    );
    let bad = harness
        .control(Method::POST, "/management-keys", Some(&json!({"key": ""})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn usage_control_validates_and_404s() {
    let harness = Harness::start().await;
    harness
        .control(
            Method::POST,
            "/keys/nope/usage",
            Some(&json!({"usage": 1.0})),
        )
        .await
        .assert_error(404, "Key not found");
    let (_, key) = harness.create(json!({"name": "u"})).await;
    let path = format!("/keys/{}/usage", key["hash"].as_str().unwrap());
    for body in [
        json!({"usage": -1}),
        json!({}),
        json!({"usage": "1"}),
        json!({"usage": 1, "model": ""}),
    ] {
        assert_eq!(
            harness
                .control(Method::POST, &path, Some(&body))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
    }
    harness
        .control(Method::POST, &path, Some(&json!({"usage": 0.1})))
        .await;
    let recorded = harness
        .control(Method::POST, &path, Some(&json!({"usage": 0.2})))
        .await
        .body["data"]
        .clone();
    assert_fields(&recorded, KEY_OBJECT_FIELDS);
    assert_eq!(recorded["usage"], 0.3, "no float noise");
    assert!(recorded["last_used_at"].is_string());
}

#[tokio::test]
async fn seed_creates_varied_keys_newest_first() {
    let harness = Harness::start().await;
    let started = Instant::now();
    let seeded = harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 400, "seed": 5})),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(seeded.body["created"], 400);
    let all = harness.control(Method::GET, "/keys", None).await;
    let keys = all.data().as_array().unwrap();
    let hashes: Vec<&Value> = keys.iter().map(|key| &key["hash"]).collect();
    let seeded_hashes: Vec<&Value> = seeded.body["hashes"].as_array().unwrap().iter().collect();
    assert_eq!(hashes, seeded_hashes);
    for key in keys {
        assert_fields(key, KEY_OBJECT_FIELDS);
    }
    let names: std::collections::HashSet<&str> = keys
        .iter()
        .map(|key| key["name"].as_str().unwrap())
        .collect();
    assert!(names.len() > 100, "varied names: {}", names.len());
    let count =
        |predicate: &dyn Fn(&Value) -> bool| keys.iter().filter(|key| predicate(key)).count();
    assert!(count(&|key| key["disabled"] == true) > 10);
    assert!(count(&|key| key["limit"].is_null()) > 80);
    assert!(count(&|key| key["limit_reset"] == "daily") > 10);
    assert!(count(&|key| key["limit_reset"] == "weekly") > 10);
    assert!(count(&|key| key["limit_reset"] == "monthly") > 10);
    assert!(count(&|key| key["include_byok_in_limit"] == true) > 10);
    assert!(count(&|key| f(&key["byok_usage"]) > 0.0) > 20);
    assert!(count(&|key| f(&key["usage_daily"]) > 0.0) > 50);
    assert!(count(&|key| key["last_used_at"].is_string()) > 200);
    let visible = harness
        .api(Method::GET, "/keys?include_disabled=true", None)
        .await;
    assert!(visible.data().as_array().unwrap().len() == 100);
    // Something to show in /activity.
    assert!(
        !harness
            .api(Method::GET, "/activity", None)
            .await
            .data()
            .as_array()
            .unwrap()
            .is_empty()
    );

    let workspace = "12345678-1234-4234-8234-123456789abc";
    harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 3, "workspace_id": workspace})),
        )
        .await;
    let listed = harness
        .api(
            Method::GET,
            &format!("/keys?workspace_id={workspace}&include_disabled=true&include_expired=true"),
            None,
        )
        .await;
    assert_eq!(listed.data().as_array().unwrap().len(), 3);
    let too_many = harness
        .control(Method::POST, "/seed", Some(&json!({"count": 1_000_000})))
        .await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
}

/// 10,000 keys seed and page out whole, every key once, newest first across page boundaries.
/// (No timing asserted: speed is the benchmark's business, `cargo xtask bench`; a timed test only
/// fails on a loaded machine.)
#[tokio::test]
async fn ten_thousand_keys_seed_and_page_out_whole() {
    let harness = Harness::start().await;
    harness
        .control(
            Method::POST,
            "/seed",
            Some(&json!({"count": 10_000, "seed": 1})),
        )
        .await;
    let mut hashes = std::collections::HashSet::new();
    let mut created = Vec::new();
    let mut offset = 0;
    loop {
        let page = harness
            .api(
                Method::GET,
                &format!("/keys?include_disabled=true&include_expired=true&offset={offset}"),
                None,
            )
            .await;
        let keys = page.data().as_array().unwrap().clone();
        for key in &keys {
            assert!(hashes.insert(key["hash"].as_str().unwrap().to_owned()));
            created.push(key["created_at"].as_str().unwrap().to_owned());
        }
        offset += keys.len();
        if keys.len() < 100 {
            break;
        }
    }
    assert_eq!(hashes.len(), 10_000);
    assert!(
        created.windows(2).all(|pair| pair[0] >= pair[1]),
        "not newest first"
    );
}

#[tokio::test]
async fn traffic_simulator_spends_on_active_keys_within_limits() {
    let harness = Harness::start().await;
    let mut hashes = Vec::new();
    for index in 0..4 {
        let (_, key) = harness
            .create(json!({"name": format!("t{index}"), "limit": 0.01}))
            .await;
        hashes.push(key["hash"].as_str().unwrap().to_owned());
    }
    let (_, disabled) = harness.create(json!({"name": "off"})).await;
    let disabled_hash = disabled["hash"].as_str().unwrap();
    harness
        .api(
            Method::PATCH,
            &format!("/keys/{disabled_hash}"),
            Some(&json!({"disabled": true})),
        )
        .await;
    let started = harness
        .control(
            Method::POST,
            "/traffic",
            Some(&json!({"enabled": true, "interval_ms": 15, "keys_per_tick": 4})),
        )
        .await;
    assert_eq!(started.body["enabled"], true);
    assert_eq!(
        harness.control(Method::GET, "/traffic", None).await.body["interval_ms"],
        15
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let stopped = harness
        .control(Method::POST, "/traffic", Some(&json!({"enabled": false})))
        .await;
    assert_eq!(stopped.body, json!({"enabled": false}));
    let mut spent = 0.0;
    for hash in &hashes {
        let key = harness.key(hash).await;
        assert!(
            f(&key["usage"]) <= 0.01,
            "limits are approached, not blown: {key}"
        );
        spent += f(&key["usage"]) + f(&key["byok_usage"]);
    }
    assert!(spent > 0.0);
    assert_eq!(harness.key(disabled_hash).await["usage"], 0.0);
    let frozen = harness.key(&hashes[0]).await["usage"].clone();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(harness.key(&hashes[0]).await["usage"], frozen, "stopped");
    let bad = harness
        .control(
            Method::POST,
            "/traffic",
            Some(&json!({"enabled": true, "interval_ms": 1})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn state_file_round_trip() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("emulator-state.json");
    let config = || {
        EmulatorConfig::default()
            .management_key(MANAGEMENT_KEY)
            .state_file(&path)
    };
    let harness = Harness::with(config()).await;
    let (secret, key) = harness
        .create(json!({"name": "persisted", "limit": 20, "limit_reset": "weekly"}))
        .await;
    let hash = key["hash"].as_str().unwrap().to_owned();
    harness
        .record_usage(&hash, json!({"usage": 2.5, "byok_usage": 1.0}))
        .await;
    harness
        .api(
            Method::PATCH,
            &format!("/keys/{hash}"),
            Some(&json!({"name": "renamed"})),
        )
        .await;
    harness.advance(120.0).await;
    let extra = harness
        .control(Method::POST, "/management-keys", None)
        .await
        .body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // Written soon after a change, without waiting for shutdown.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("renamed") && text.contains("clock_offset_ms\":120000") {
            break;
        }
        assert!(Instant::now() < deadline, "state file not written: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = harness.key(&hash).await;
    harness.emulator.shutdown().await;

    let text = std::fs::read_to_string(&path).unwrap();
    for secret_text in [secret.as_str(), MANAGEMENT_KEY, extra.as_str()] {
        assert!(!text.contains(secret_text), "no plaintext secret on disk");
    }
    let leftovers: Vec<_> = std::fs::read_dir(directory.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp files left behind");

    let harness = Harness::with(config()).await;
    let after = harness.key(&hash).await;
    for field in [
        "name",
        "usage",
        "byok_usage",
        "usage_weekly",
        "limit",
        "limit_remaining",
        "created_at",
        "label",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert_eq!(
        status_of(
            &harness
                .api_as(Some(&secret), Method::GET, "/key", None)
                .await
        ),
        200
    );
    assert_eq!(
        status_of(
            &harness
                .api_as(Some(&extra), Method::GET, "/keys", None)
                .await
        ),
        200
    );
    assert_eq!(
        harness.control(Method::GET, "/clock", None).await.body["offset_seconds"],
        120.0
    );
    harness.emulator.shutdown().await;

    let unwritable = openrouter_emulator::Emulator::start(
        EmulatorConfig::default()
            .state_file(directory.path().join("missing-dir").join("state.json")),
    )
    .await;
    assert!(matches!(
        unwritable,
        Err(openrouter_emulator::EmulatorError::StateFile { .. })
    ));

    std::fs::write(&path, "not json").unwrap();
    let broken = openrouter_emulator::Emulator::start(config()).await;
    assert!(matches!(
        broken,
        Err(openrouter_emulator::EmulatorError::StateFile { .. })
    ));
}

#[tokio::test]
async fn library_defaults_and_drop() {
    let emulator = openrouter_emulator::Emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    assert!(emulator.management_key().starts_with("sk-or-v1-"));
    assert!(
        emulator.base_url().starts_with("http://127.0.0.1:")
            && emulator.base_url().ends_with("/api/v1")
    );
    assert!(emulator.control_url().ends_with("/_emulator"));
    assert!(!format!("{emulator:?}").contains(emulator.management_key()));
    let health = format!("{}/health", emulator.control_url());
    assert!(reqwest::get(&health).await.unwrap().status().is_success());
    drop(emulator);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        reqwest::get(&health).await.is_err(),
        "dropping stops the server"
    );

    let seeded =
        openrouter_emulator::Emulator::start(EmulatorConfig::default().seed_demo(25).seed(3))
            .await
            .unwrap();
    let keys: Value = reqwest::get(format!("{}/keys", seeded.control_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["data"].as_array().unwrap().len(), 25);
    seeded.shutdown().await;
}

#[tokio::test]
async fn binary_prints_its_urls_first_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_openrouter-emulator"))
        .args([
            "--port",
            "0",
            "--management-key",
            MANAGEMENT_KEY,
            "--seed-demo",
            "12",
            "--latency-ms",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let banner: Value = serde_json::from_str(first.trim()).unwrap();
    assert_eq!(banner["management_key"], MANAGEMENT_KEY);
    let base_url = banner["base_url"].as_str().unwrap();
    let control_url = banner["control_url"].as_str().unwrap();
    assert!(base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/api/v1"));
    assert!(control_url.ends_with("/_emulator"));
    let client = reqwest::Client::new();
    let keys: Value = client
        .get(format!(
            "{base_url}/keys?include_disabled=true&include_expired=true"
        ))
        .bearer_auth(MANAGEMENT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The demo account keeps every third of its keys in the Research workspace.
    assert_eq!(keys["data"].as_array().unwrap().len(), 8);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}
