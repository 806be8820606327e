//! The CSV flows against the emulator over HTTP: a labels export imported back changes nothing; an
//! import preview names each kind of bad row and nothing is applied unless asked; a bulk create of
//! 50 rows through a 5 % 429 storm and 5xx answers mid-way creates every row once or reports it,
//! holds every secret as pending in the (in-memory) keychain, and a retry of the failed rows creates
//! only those; a cancel leaves the rest not run.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyward_core::ipc::{
    CreateKeyArgs, CsvProblemKind, KeyMetadataSetArgs, KeysCsvRowResult, ProfileAddArgs,
};
use keyward_core::metadata::KeyMetadata;
use keyward_core::service::KeysCsvRunOptions;
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};

use service_support::{TestService, list, start};

struct Rig {
    t: TestService,
    emulator: Emulator,
    profile_id: String,
}

async fn rig(test: &str) -> Rig {
    let t = start(test);
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let profile_id = t
        .service
        .profile_add(ProfileAddArgs {
            name: "Work".into(),
            base_url: Some(emulator.base_url().to_owned()),
            workspace_id: None,
            management_key: SecretString::from(emulator.management_key().to_owned()),
        })
        .await
        .unwrap()
        .id;
    Rig {
        t,
        emulator,
        profile_id,
    }
}

impl Rig {
    async fn create(&self, name: &str) -> String {
        let created = self
            .t
            .service
            .key_create(CreateKeyArgs {
                profile_id: self.profile_id.clone(),
                name: name.into(),
                limit: None,
                limit_reset: None,
                include_byok_in_limit: false,
                expires_at: None,
                workspace_id: None,
            })
            .await
            .unwrap();
        created.key.key.hash
    }

    async fn label(&self, hash: &str, tags: &[&str], owner: Option<&str>) {
        self.t
            .service
            .key_metadata_set(KeyMetadataSetArgs {
                profile_id: self.profile_id.clone(),
                hash: hash.to_owned(),
                metadata: KeyMetadata {
                    tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                    owner: owner.map(str::to_owned),
                    notes: Some("line one\nline, two; \"quoted\"".into()),
                    ..KeyMetadata::default()
                },
            })
            .await
            .unwrap();
    }

    /// Every key's name on the emulator (as OpenRouter sees it).
    async fn names_on_server(&self) -> Vec<String> {
        let snapshot = self
            .t
            .service
            .keys_list(list(&self.profile_id, true))
            .await
            .unwrap();
        snapshot.keys.into_iter().map(|row| row.key.name).collect()
    }

    async fn faults(&self, body: serde_json::Value) {
        self.t
            .post(self.emulator.control_url(), "/faults", body)
            .await;
    }
}

#[tokio::test]
async fn export_then_import_changes_nothing() {
    let rig = rig("csv-roundtrip").await;
    let a = rig.create("alpha").await;
    let b = rig.create("beta").await;
    rig.create("gamma").await;
    rig.label(&a, &["prod", "team:core"], Some("ana@example.com"))
        .await;
    rig.label(&b, &["staging"], None).await;
    let svc = &rig.t.service;
    let text = svc.labels_export(&rig.profile_id, true).await.unwrap();
    assert!(text.starts_with("hash,name,workspace,tags,"), "{text}");
    assert!(text.contains("prod;team:core"));
    assert!(!text.contains("sk-or-"));

    let preview = svc
        .labels_import_preview(&rig.profile_id, text.as_bytes())
        .await
        .unwrap();
    assert_eq!(preview.rows, 3);
    assert!(preview.changes.is_empty(), "{:?}", preview.changes);
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    assert_eq!(preview.unchanged, 3);

    // The same file with `;` as delimiter and a BOM, a tag changed: exactly that key changes.
    let edited =
        format!("\u{feff}HASH;Tags;Owner\n{a};prod,Leaked;ana@example.com\n{b};staging;\n");
    let preview = svc
        .labels_import_preview(&rig.profile_id, edited.as_bytes())
        .await
        .unwrap();
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    assert_eq!(preview.changes.len(), 1);
    assert_eq!(preview.changes[0].hash, a);
    assert_eq!(preview.changes[0].to.tags, ["prod", "leaked"]);
    // Columns the file leaves out stay.
    assert_eq!(preview.changes[0].to.notes, preview.changes[0].from.notes);
    let applied = svc
        .labels_import_apply(&rig.profile_id, edited.as_bytes(), false)
        .await
        .unwrap();
    assert_eq!(applied.applied.len(), 1);
    let rows = svc.keys_list(list(&rig.profile_id, false)).await.unwrap();
    let row = rows.keys.iter().find(|r| r.key.hash == a).unwrap();
    assert!(row.metadata.has_tag("leaked"));
}

#[tokio::test]
async fn import_preview_reports_each_kind_of_bad_row_and_applies_only_when_asked() {
    let rig = rig("csv-bad-rows").await;
    let a = rig.create("alpha").await;
    let b = rig.create("beta").await;
    rig.create("twin").await;
    rig.create("twin").await;
    let svc = &rig.t.service;
    let unknown = "0".repeat(64);
    let file = format!(
        "hash,name,tags,owner\n\
         {a},,ok-tag,ana\n\
         {unknown},,x,\n\
         ,twin,x,\n\
         ,nobody,x,\n\
         {a},,again,\n\
         {b},,two words,\n\
         ,beta,x,sk-or-v1-0123456789abcdef\n\
         ,,x,\n"
    );
    let preview = svc
        .labels_import_preview(&rig.profile_id, file.as_bytes())
        .await
        .unwrap();
    let kinds: Vec<(u32, CsvProblemKind)> =
        preview.problems.iter().map(|p| (p.row, p.kind)).collect();
    assert_eq!(
        kinds,
        [
            (3, CsvProblemKind::UnknownKey),
            (4, CsvProblemKind::AmbiguousName),
            (5, CsvProblemKind::UnknownKey),
            (6, CsvProblemKind::Duplicate),
            (7, CsvProblemKind::Invalid),
            (8, CsvProblemKind::Secret),
            (9, CsvProblemKind::Invalid),
        ]
    );
    assert_eq!(preview.problems[4].field.as_deref(), Some("tags"));
    assert!(
        preview
            .problems
            .iter()
            .all(|p| !p.message.contains("sk-or-v1"))
    );
    assert_eq!(preview.changes.len(), 1);

    // Nothing is applied while the file has problems…
    let refused = svc
        .labels_import_apply(&rig.profile_id, file.as_bytes(), false)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("nothing was applied"),
        "{refused}"
    );
    let rows = svc.keys_list(list(&rig.profile_id, false)).await.unwrap();
    assert!(rows.keys.iter().all(|r| r.metadata.is_empty()));
    // …unless the person applies the valid rows.
    let applied = svc
        .labels_import_apply(&rig.profile_id, file.as_bytes(), true)
        .await
        .unwrap();
    assert_eq!(applied.applied.len(), 1);
    assert_eq!(applied.skipped_rows, [3, 4, 5, 6, 7, 8, 9]);
    let rows = svc.keys_list(list(&rig.profile_id, false)).await.unwrap();
    let row = rows.keys.iter().find(|r| r.key.hash == a).unwrap();
    assert_eq!(row.metadata.tags, ["ok-tag"]);
    assert_eq!(row.metadata.owner.as_deref(), Some("ana"));

    // File-level errors: no key column, not UTF-8.
    let error = svc
        .labels_import_preview(&rig.profile_id, b"tags\nx\n")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("\"hash\" or a \"name\""),
        "{error}"
    );
    let error = svc
        .labels_import_preview(&rig.profile_id, b"hash,tags\n\xff,x\n")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("UTF-8"), "{error}");
}

#[tokio::test]
async fn bulk_create_preview_checks_every_row_before_anything_is_sent() {
    let rig = rig("csv-create-preview").await;
    rig.create("taken").await;
    let svc = &rig.t.service;
    svc.keys_list(list(&rig.profile_id, true)).await.unwrap();
    let before = rig.t.request_count(rig.emulator.control_url()).await;
    let file = "Name,Limit,Reset,Expiry,Workspace,Tags,Owner\n\
                good,5,monthly,2099-01-31,,ci;prod,ana\n\
                taken,,,,,,\n\
                dup,,,,,,\n\
                dup,,,,,,\n\
                bad-limit,lots,,,,,\n\
                bad-reset,,hourly,,,,\n\
                bad-expiry,,,tomorrow,,,\n\
                bad-ws,,,,no-such-workspace,,\n\
                bad-tag,,,,,two words,\n\
                ,5,,,,,\n\
                secret,,,,,,sk-or-v1-abc\n";
    let preview = svc
        .keys_csv_preview(&rig.profile_id, file.as_bytes())
        .await
        .unwrap();
    assert_eq!(preview.keys.len(), 2, "{:?}", preview.keys);
    assert_eq!(preview.keys[0].name, "good");
    assert_eq!(preview.keys[0].limit, Some(5.0));
    assert_eq!(preview.keys[0].metadata.tags, ["ci", "prod"]);
    assert_eq!(preview.keys[1].name, "dup");
    let found: Vec<(u32, CsvProblemKind, Option<String>)> = preview
        .problems
        .iter()
        .map(|p| (p.row, p.kind, p.field.clone()))
        .collect();
    let some = |f: &str| Some(f.to_owned());
    assert_eq!(
        found,
        [
            (3, CsvProblemKind::Exists, some("name")),
            (5, CsvProblemKind::Duplicate, some("name")),
            (6, CsvProblemKind::Invalid, some("limit")),
            (7, CsvProblemKind::Invalid, some("reset")),
            (8, CsvProblemKind::Invalid, some("expiry")),
            (9, CsvProblemKind::Invalid, some("workspace")),
            (10, CsvProblemKind::Invalid, some("tags")),
            (11, CsvProblemKind::Invalid, some("name")),
            (12, CsvProblemKind::Secret, None),
        ]
    );
    // A run of a file with problems sends nothing.
    let never = AtomicBool::new(false);
    let error = svc
        .keys_csv_create(
            &rig.profile_id,
            file.as_bytes(),
            KeysCsvRunOptions::default(),
            &|_| {},
            &never,
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("nothing was sent"), "{error}");
    let requests = rig.t.get(rig.emulator.control_url(), "/requests").await;
    let posts = requests["requests"].as_array().unwrap()[before..]
        .iter()
        .filter(|r| r["method"] == "POST")
        .count();
    assert_eq!(posts, 0);
    let error = svc
        .keys_csv_preview(&rig.profile_id, b"limit\n5\n")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("\"name\" column"), "{error}");
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn bulk_create_of_50_through_429s_and_5xx_creates_each_row_once_and_retries_only_the_failed()
{
    let rig = rig("csv-create-storm").await;
    let svc = &rig.t.service;
    let mut file = String::from("name,limit,reset,tags,environment\n");
    for i in 0..50 {
        file.push_str(&format!("bulk-{i:02},{},monthly,bulk;n{i},prod\n", i + 1));
    }
    let storm = json!({"rate_limit": {"probability": 0.05, "retry_after_ms": 10}, "seed": 12});
    rig.faults(storm.clone()).await;
    // Mid-way (after the 20th row) two 5xx answers join the 429s.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let control = rig.emulator.control_url().to_owned();
    let client = rig.t.control.clone();
    let mid_way = tokio::spawn(async move {
        if rx.recv().await.is_some() {
            let body = json!({
                "rate_limit": {"probability": 0.05, "retry_after_ms": 10},
                "server_error": {"next": 2, "status": 502},
                "seed": 13
            });
            client
                .post(format!("{control}/faults"))
                .json(&body)
                .send()
                .await
                .unwrap();
        }
        rx
    });
    let waits = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = Arc::clone(&waits);
    let progress = move |p: keyward_core::ipc::KeysCsvProgress| {
        if p.waiting_ms.is_some() {
            seen.fetch_add(1, Ordering::SeqCst);
        } else if p.done == 20 {
            tx.send(()).unwrap();
            // Let the fault land before the next row goes out.
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let never = AtomicBool::new(false);
    let run = svc
        .keys_csv_create(
            &rig.profile_id,
            file.as_bytes(),
            KeysCsvRunOptions::default(),
            &progress,
            &never,
        )
        .await
        .unwrap();
    drop(mid_way.await.unwrap());
    assert_eq!(run.outcomes.len(), 50);
    assert_eq!(run.created + run.failed, 50, "{run:?}");
    assert_eq!(run.failed, 2, "{run:?}");
    assert!(!run.cancelled);
    assert!(waits.load(Ordering::SeqCst) > 0, "the storm sent no 429");
    let failed: Vec<u32> = run
        .outcomes
        .iter()
        .filter_map(|o| match &o.result {
            KeysCsvRowResult::Failed { may_exist, .. } => {
                assert!(*may_exist, "a 5xx on a create may have landed");
                Some(o.row)
            }
            _ => None,
        })
        .collect();

    // Every created key exists once on OpenRouter, and its secret waits as pending in the keychain.
    rig.t.clear_faults(rig.emulator.control_url()).await;
    let names = rig.names_on_server().await;
    let created: Vec<(String, String)> = run
        .outcomes
        .iter()
        .filter_map(|o| match &o.result {
            KeysCsvRowResult::Created {
                hash,
                metadata_error,
            } => {
                assert_eq!(metadata_error, &None);
                Some((o.name.clone(), hash.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 48);
    for (name, _) in &created {
        assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
    }
    let held: HashSet<String> = rig
        .t
        .keychain
        .entries()
        .iter()
        .filter_map(|entry| rig.t.keychain.secret(entry))
        .map(|secret| sha256_hex(secret.expose_secret()))
        .collect();
    let pending: HashSet<String> = rig
        .t
        .open_store()
        .pending_secrets()
        .unwrap()
        .into_iter()
        .map(|entry| entry.key_hash)
        .collect();
    for (name, hash) in &created {
        assert!(held.contains(hash), "{name}: secret not in the keychain");
        assert!(pending.contains(hash), "{name}: not listed as pending");
    }
    let rows = svc.keys_list(list(&rig.profile_id, false)).await.unwrap();
    let labelled = rows
        .keys
        .iter()
        .filter(|r| r.metadata.has_tag("bulk") && r.metadata.environment.as_deref() == Some("prod"))
        .count();
    assert_eq!(labelled, 48);

    // "Retry the failed rows" (through a new storm): only those are created.
    rig.faults(storm).await;
    let retry = svc
        .keys_csv_create(
            &rig.profile_id,
            file.as_bytes(),
            KeysCsvRunOptions {
                only_rows: Some(failed.clone()),
            },
            &|_| {},
            &never,
        )
        .await
        .unwrap();
    assert_eq!(retry.outcomes.len(), 2);
    assert_eq!(retry.created, 2, "{retry:?}");
    // A whole re-run now creates nothing: every name exists.
    let again = svc
        .keys_csv_create(
            &rig.profile_id,
            file.as_bytes(),
            KeysCsvRunOptions::default(),
            &|_| {},
            &never,
        )
        .await
        .unwrap();
    assert_eq!(again.created, 0);
    assert!(
        again
            .outcomes
            .iter()
            .all(|o| matches!(o.result, KeysCsvRowResult::Exists { .. }))
    );
    rig.t.clear_faults(rig.emulator.control_url()).await;
    let names = rig.names_on_server().await;
    for i in 0..50 {
        let name = format!("bulk-{i:02}");
        assert_eq!(names.iter().filter(|n| **n == name).count(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_cancelled_run_leaves_the_rest_not_run() {
    let rig = rig("csv-create-cancel").await;
    let svc = &rig.t.service;
    let mut file = String::from("name\n");
    for i in 0..10 {
        file.push_str(&format!("c-{i}\n"));
    }
    let cancel = AtomicBool::new(false);
    let progress = |p: keyward_core::ipc::KeysCsvProgress| {
        if p.done == 3 {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let run = svc
        .keys_csv_create(
            &rig.profile_id,
            file.as_bytes(),
            KeysCsvRunOptions::default(),
            &progress,
            &cancel,
        )
        .await
        .unwrap();
    assert!(run.cancelled);
    assert_eq!((run.created, run.not_run), (3, 7));
    assert_eq!(rig.names_on_server().await.len(), 3);
}

#[tokio::test]
async fn a_keychain_refusal_stops_the_run_and_hands_back_that_one_secret() {
    use keyward_core::vault::{Fault, KeychainFailure, KeychainOp};
    let rig = rig("csv-create-keychain").await;
    let svc = &rig.t.service;
    let mut file = String::from("name\n");
    for i in 0..6 {
        file.push_str(&format!("k-{i}\n"));
    }
    let keychain = rig.t.keychain.clone();
    let progress = move |p: keyward_core::ipc::KeysCsvProgress| {
        if p.done == 2 {
            keychain.inject(Fault::new(KeychainFailure::Locked).on(KeychainOp::Set));
        }
    };
    let never = AtomicBool::new(false);
    let run = svc
        .keys_csv_create(
            &rig.profile_id,
            file.as_bytes(),
            KeysCsvRunOptions::default(),
            &progress,
            &never,
        )
        .await
        .unwrap();
    rig.t.keychain.clear_faults();
    assert_eq!((run.created, run.failed, run.not_run), (3, 0, 3), "{run:?}");
    // The result's Debug (what a failing assertion prints) never shows the secret.
    if let KeysCsvRowResult::CreatedSecretNotSaved { secret, .. } = &run.outcomes[2].result {
        assert!(!format!("{run:?}").contains(secret.expose()));
    }
    match &run.outcomes[2].result {
        KeysCsvRowResult::CreatedSecretNotSaved { hash, secret, .. } => {
            assert_eq!(
                &sha256_hex(secret.expose()),
                hash,
                "the row carries the key's own secret"
            );
        }
        other => panic!("row 4: {other:?}"),
    }
    // Only that row carries a secret.
    let serialized = serde_json::to_string(&run).unwrap();
    assert_eq!(serialized.matches("sk-or-").count(), 1);
    assert_eq!(rig.names_on_server().await.len(), 3);
}
