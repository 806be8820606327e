//! The audit trail against the emulator over real HTTP: a log produced by real operations (profile,
//! keys, guardrail, rotation with an `.env` deploy) verifies and says what happened; each kind of
//! tampering with the database (edit, remove, insert, reorder, truncate) makes `verify` fail at the
//! right entry; a failed operation is logged as failed; no secret reaches the log or an export.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use keyward_core::api::{CreateGuardrailRequest, Patch};
use keyward_core::audit::{
    AuditAction, AuditEntry, AuditExportFormat, AuditFilter, AuditOutcome, AuditProblemKind,
    FrontEnd, NewAuditEntry, entry_hash,
};
use keyward_core::ipc::{KeyDeleteArgs, ProfileRenameArgs, UpdateKeyArgs};
use keyward_core::rotation::{RotationAction, RotationStatus};
use keyward_core::service::{GuardrailAssignArgs, GuardrailCreateArgs};
use keyward_core::store::Store;
use rotation_support::{Rig, create_key, rig, rig_with, start_args};
use rusqlite::{Connection, params};
use serde_json::json;

fn all() -> AuditFilter {
    AuditFilter {
        limit: Some(0),
        ..AuditFilter::default()
    }
}

/// Every entry, oldest first.
fn entries(rig: &Rig) -> Vec<AuditEntry> {
    let mut entries = rig.t.service.audit_list(all()).unwrap().entries;
    entries.reverse();
    entries
}

fn actions(entries: &[AuditEntry]) -> Vec<&'static str> {
    entries.iter().map(|entry| entry.action.as_str()).collect()
}

/// Runs every kind of change the service makes; returns the secrets it handled.
async fn run_operations(rig: &Rig) -> Vec<String> {
    let service = &rig.t.service;
    let (other_hash, other_secret) = create_key(&rig.t, &rig.profile_id, "customer-7").await;
    let update = |disabled: Option<bool>, limit: Patch<f64>| UpdateKeyArgs {
        profile_id: rig.profile_id.clone(),
        hash: other_hash.clone(),
        disabled,
        limit,
        ..UpdateKeyArgs::default()
    };
    service
        .key_update(update(None, Patch::Set(25.0)))
        .await
        .unwrap();
    service
        .key_update(update(Some(true), Patch::Keep))
        .await
        .unwrap();
    service
        .key_update(update(Some(false), Patch::Keep))
        .await
        .unwrap();
    let guardrail = service
        .guardrail_create(GuardrailCreateArgs {
            profile_id: rig.profile_id.clone(),
            request: CreateGuardrailRequest::new("team budget"),
        })
        .await
        .unwrap();
    service
        .guardrail_assign(GuardrailAssignArgs {
            profile_id: rig.profile_id.clone(),
            guardrail_id: guardrail.id.clone(),
            key_hashes: vec![other_hash.clone()],
            member_user_ids: Vec::new(),
        })
        .await
        .unwrap();
    // A rotation that deploys to the .env file, waits to drain, is confirmed, and deletes at once.
    rig.set_policy(|policy| policy.quiet_period_secs = 3600);
    let mut args = start_args(rig);
    args.delete_at_once = true;
    let view = service.rotation_start(args).await.unwrap();
    let done = service
        .rotation_action(&view.id, RotationAction::ConfirmDrained)
        .await
        .unwrap();
    assert_eq!(done.status, RotationStatus::Completed, "{done:#?}");
    service
        .key_delete(KeyDeleteArgs {
            profile_id: rig.profile_id.clone(),
            hash: other_hash.clone(),
        })
        .await
        .unwrap();
    service
        .profile_rename(ProfileRenameArgs {
            id: rig.profile_id.clone(),
            name: "Work (prod)".into(),
        })
        .await
        .unwrap();
    vec![rig.old_secret.clone(), other_secret, rig.env_secret()]
}

#[tokio::test]
async fn a_real_log_verifies_and_says_what_happened() {
    let rig = rig("audit-real", None).await;
    let secrets = run_operations(&rig).await;
    let entries = entries(&rig);
    let names = actions(&entries);
    // The rig itself added the profile, created prod-api and forgot its held secret.
    assert_eq!(
        &names[..3],
        ["profile_add", "key_create", "secret_resolve"],
        "{names:?}"
    );
    for expected in [
        "key_update",
        "key_disable",
        "key_enable",
        "guardrail_create",
        "guardrail_assign",
        "rotation_start",
        "rotation_step",
        "deploy",
        "rotation_action",
        "rotation_end",
        "key_delete",
        "profile_rename",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        entries
            .iter()
            .all(|entry| entry.outcome == AuditOutcome::Ok)
    );
    assert!(entries.iter().all(|entry| entry.front_end == FrontEnd::App));
    // Seqs 1.., each linked to the one before.
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, index as i64 + 1);
        assert_eq!(entry_hash(entry), entry.hash);
        if index > 0 {
            assert_eq!(entry.prev_hash, entries[index - 1].hash);
        }
    }

    // Before and after of a limit change and of a disable.
    let update = entries
        .iter()
        .find(|e| e.action == AuditAction::KeyUpdate)
        .unwrap();
    assert_eq!(update.key_name.as_deref(), Some("customer-7"));
    assert_eq!(update.change, "limit: 10 → 25");
    let disable = entries
        .iter()
        .find(|e| e.action == AuditAction::KeyDisable)
        .unwrap();
    assert_eq!(disable.change, "disabled: false → true");
    let before: serde_json::Value =
        serde_json::from_str(disable.before.as_deref().unwrap()).unwrap();
    assert_eq!(before["type"], "key");
    assert_eq!(before["disabled"], false);
    // The deploy names the target's kind and where, not the value; the end says how it ended.
    let deploy = entries
        .iter()
        .find(|e| e.action == AuditAction::Deploy)
        .unwrap();
    let after: serde_json::Value = serde_json::from_str(deploy.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["target_kind"], "env_file");
    assert!(
        after["target"]
            .as_str()
            .unwrap()
            .contains(&rig.env_path.display().to_string())
    );
    let end = entries
        .iter()
        .find(|e| e.action == AuditAction::RotationEnd)
        .unwrap();
    assert_eq!(end.key_hash.as_deref(), Some(rig.old_hash.as_str()));
    assert!(end.change.contains("status: completed"), "{}", end.change);
    let rename = entries.last().unwrap();
    assert_eq!(rename.change, "name: Work → Work (prod)");

    let verification = rig.t.service.audit_verify().unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.count, entries.len() as u64);
    assert_eq!(verification.head.unwrap().hash, rename.hash);

    // No secret anywhere: not in any stored field, not in either export, not in the database file.
    let csv = rig
        .t
        .service
        .audit_export(AuditFilter::default(), AuditExportFormat::Csv)
        .unwrap();
    let json_text = rig
        .t
        .service
        .audit_export(AuditFilter::default(), AuditExportFormat::Json)
        .unwrap();
    let stored = serde_json::to_string(&entries).unwrap();
    for text in [&csv, &json_text, &stored] {
        assert!(!text.contains("sk-or-"), "a secret-like value leaked");
    }
    let db = rig.t.dir.path().join(keyward_core::store::DATABASE_FILE);
    rig.t.open_store().checkpoint().unwrap();
    let bytes = std::fs::read(&db).unwrap();
    let db_text = String::from_utf8_lossy(&bytes);
    for secret in &secrets {
        assert!(
            !db_text.contains(secret.as_str()),
            "a secret is in the database"
        );
    }
    assert_eq!(csv.lines().count(), entries.len() + 1);
    assert!(csv.starts_with("seq,at,profile_id,profile_name,front_end,action,"));
    let exported: Vec<AuditEntry> = serde_json::from_str(&json_text).unwrap();
    assert_eq!(exported.len(), entries.len());
}

#[tokio::test]
async fn filters_pages_and_the_cli_front_end() {
    let rig = rig_with("audit-filters", None, |config| {
        config.front_end = FrontEnd::Cli
    })
    .await;
    let service = &rig.t.service;
    create_key(&rig.t, &rig.profile_id, "billing-eu").await;
    create_key(&rig.t, &rig.profile_id, "billing-us").await;
    let list = |filter: AuditFilter| service.audit_list(filter).unwrap();
    let creates = list(AuditFilter {
        action: Some(AuditAction::KeyCreate),
        ..AuditFilter::default()
    });
    let names: Vec<_> = creates
        .entries
        .iter()
        .map(|e| e.key_name.clone().unwrap())
        .collect();
    // Newest first.
    assert_eq!(names, ["billing-us", "billing-eu", "prod-api"]);
    assert!(creates.entries.iter().all(|e| e.front_end == FrontEnd::Cli));
    let billing = list(AuditFilter {
        key: Some("BILLING".into()),
        ..AuditFilter::default()
    });
    assert_eq!(billing.entries.len(), 4, "create + resolve of each");
    let by_hash = list(AuditFilter {
        key: Some(rig.old_hash[..12].to_owned()),
        ..AuditFilter::default()
    });
    assert_eq!(actions(&by_hash.entries), ["secret_resolve", "key_create"]);
    assert!(
        list(AuditFilter {
            front_end: Some(FrontEnd::App),
            ..AuditFilter::default()
        })
        .entries
        .is_empty()
    );
    assert!(
        list(AuditFilter {
            since: Some(rig.t.now() + chrono::Duration::hours(1)),
            ..AuditFilter::default()
        })
        .entries
        .is_empty()
    );
    assert_eq!(
        list(AuditFilter {
            until: Some(rig.t.now() + chrono::Duration::hours(1)),
            profile_id: Some(rig.profile_id.clone()),
            ..AuditFilter::default()
        })
        .entries
        .len(),
        7
    );
    // Pages of 3: 7 entries come back as 3 + 3 + 1.
    let mut seen = Vec::new();
    let mut before_seq = None;
    loop {
        let page = list(AuditFilter {
            limit: Some(3),
            before_seq,
            ..AuditFilter::default()
        });
        seen.extend(page.entries.iter().map(|e| e.seq));
        match page.next_before_seq {
            Some(next) => before_seq = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
}

#[tokio::test]
async fn a_failed_operation_is_logged_as_failed() {
    let rig = rig("audit-failed", None).await;
    let service = &rig.t.service;
    rig.faults(json!({ "server_error": { "next": 100 }, "path_prefix": "/api/v1/keys/" }))
        .await;
    let error = service
        .key_update(UpdateKeyArgs {
            profile_id: rig.profile_id.clone(),
            hash: rig.old_hash.clone(),
            disabled: Some(true),
            ..UpdateKeyArgs::default()
        })
        .await
        .unwrap_err();
    rig.clear_faults().await;
    // A key that does not exist, and input refused before any request.
    let missing = "0".repeat(64);
    let not_found = service
        .key_delete(KeyDeleteArgs {
            profile_id: rig.profile_id.clone(),
            hash: missing.clone(),
        })
        .await
        .unwrap_err();
    // A rotation refused before it was recorded (the key does not exist).
    let mut args = start_args(&rig);
    args.key_hash = missing.clone();
    service.rotation_start(args).await.unwrap_err();
    let entries = entries(&rig);
    let failed: Vec<&AuditEntry> = entries
        .iter()
        .filter(|e| e.outcome == AuditOutcome::Failed)
        .collect();
    assert_eq!(failed.len(), 3, "{entries:#?}");
    assert_eq!(failed[2].action, AuditAction::RotationStart);
    assert_eq!(failed[2].key_hash.as_deref(), Some(missing.as_str()));
    assert_eq!(failed[2].error_kind.as_deref(), Some("not_found"));
    assert_eq!(failed[0].action, AuditAction::KeyDisable);
    assert_eq!(failed[0].key_name.as_deref(), Some("prod-api"));
    assert_eq!(
        failed[0].error_kind.as_deref(),
        Some(error.kind().to_string().as_str())
    );
    assert_eq!(failed[0].after, None, "nothing changed");
    assert_eq!(failed[1].action, AuditAction::KeyDelete);
    assert_eq!(failed[1].key_hash.as_deref(), Some(missing.as_str()));
    assert_eq!(failed[1].error_kind.as_deref(), Some("not_found"));
    assert_eq!(
        failed[1].error_message.as_deref(),
        Some(not_found.to_string().as_str())
    );
    assert!(rig.t.service.audit_verify().unwrap().ok);
}

// --- Tampering --------------------------------------------------------------------------------

/// A store on disk with `count` entries, and a raw connection to tamper with (the triggers that
/// make the table append-only for Keyward are dropped first, as an attacker would).
fn tamper_rig(count: usize) -> (tempfile::TempDir, Store, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).unwrap();
    for index in 0..count {
        let entry = NewAuditEntry::new("p1", AuditAction::KeyUpdate)
            .profile_name("Work")
            .key(
                Some(&format!("{index:064x}")),
                Some(&format!("key-{index}")),
            );
        store.append_audit(&entry, chrono::Utc::now()).unwrap();
    }
    let conn = Connection::open(dir.path().join(keyward_core::store::DATABASE_FILE)).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    (dir, store, conn)
}

fn broken_at(store: &Store) -> (i64, AuditProblemKind) {
    let verification = keyward_core::audit::verify(store).unwrap();
    assert!(!verification.ok, "{verification:?}");
    let problem = verification.problem.unwrap();
    (problem.seq, problem.kind)
}

#[test]
fn an_untouched_log_verifies_and_keyward_cannot_rewrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).unwrap();
    assert!(keyward_core::audit::verify(&store).unwrap().ok);
    store
        .append_audit(
            &NewAuditEntry::new("p1", AuditAction::KeyCreate),
            chrono::Utc::now(),
        )
        .unwrap();
    let conn = Connection::open(dir.path().join(keyward_core::store::DATABASE_FILE)).unwrap();
    let refused = conn.execute("UPDATE audit_log SET key_name = 'x'", []);
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    let verification = keyward_core::audit::verify(&store).unwrap();
    assert!(verification.ok);
    assert_eq!(verification.count, 1);
}

#[test]
fn a_batch_of_entries_is_chained_like_single_ones() {
    let (_dir, store, _conn) = tamper_rig(2);
    let batch: Vec<NewAuditEntry> = (0..500)
        .map(|index| {
            NewAuditEntry::new("p1", AuditAction::BatchRun)
                .profile_name("Work")
                .key(Some(&format!("{index:064x}")), Some("k"))
        })
        .collect();
    let written = store.append_audits(&batch, chrono::Utc::now()).unwrap();
    assert_eq!(written.first().unwrap().seq, 3);
    assert_eq!(written.last().unwrap().seq, 502);
    let verification = keyward_core::audit::verify(&store).unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.count, 502);
    assert_eq!(
        verification.head.unwrap().hash,
        written.last().unwrap().hash
    );
}

#[test]
fn an_edited_field_fails_at_its_entry() {
    for (column, value) in [
        ("key_name", json!("someone-else")),
        ("outcome", json!("failed")),
        ("at", json!("2020-01-01T00:00:00.000000Z")),
        (
            "after",
            json!("{\"type\":\"secret\",\"resolution\":\"keep\"}"),
        ),
    ] {
        let (_dir, store, conn) = tamper_rig(6);
        conn.execute(
            &format!("UPDATE audit_log SET {column} = ?1 WHERE seq = 3"),
            params![value.as_str().unwrap()],
        )
        .unwrap();
        assert_eq!(broken_at(&store), (3, AuditProblemKind::Edited), "{column}");
    }
}

#[test]
fn a_removed_entry_fails_where_it_was() {
    let (_dir, store, conn) = tamper_rig(6);
    conn.execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap();
    assert_eq!(broken_at(&store), (3, AuditProblemKind::Removed));
    // The first one too.
    let (_dir, store, conn) = tamper_rig(4);
    conn.execute("DELETE FROM audit_log WHERE seq = 1", [])
        .unwrap();
    assert_eq!(broken_at(&store), (1, AuditProblemKind::Removed));
}

#[test]
fn an_inserted_entry_fails_at_the_insertion() {
    // In the middle: later entries renumbered and a forged entry, correctly hashed and linked to
    // the one before it, put at seq 3.
    let (_dir, store, conn) = tamper_rig(6);
    conn.execute_batch("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 99 WHERE seq >= 103;")
        .unwrap();
    let mut entries = store.audit_entries(&all()).unwrap();
    entries.reverse();
    let mut forged = entries[1].clone();
    forged.seq = 3;
    forged.key_name = Some("forged".into());
    forged.prev_hash = entries[1].hash.clone();
    forged.hash = entry_hash(&forged);
    conn.execute(
        "INSERT INTO audit_log SELECT 3, at, profile_id, profile_name, front_end, action, key_hash, \
         'forged', before, after, outcome, error_kind, error_message, ?1, ?2 FROM audit_log WHERE seq = 2",
        params![forged.prev_hash, forged.hash],
    )
    .unwrap();
    assert_eq!(broken_at(&store), (3, AuditProblemKind::Inserted));

    // At the end, after the recorded head.
    let (_dir, store, conn) = tamper_rig(4);
    let last = store.audit_entries(&all()).unwrap().remove(0);
    let mut forged = last.clone();
    forged.seq = 5;
    forged.prev_hash = last.hash.clone();
    forged.hash = entry_hash(&forged);
    conn.execute(
        "INSERT INTO audit_log SELECT 5, at, profile_id, profile_name, front_end, action, key_hash, \
         key_name, before, after, outcome, error_kind, error_message, ?1, ?2 FROM audit_log WHERE seq = 4",
        params![forged.prev_hash, forged.hash],
    )
    .unwrap();
    assert_eq!(broken_at(&store), (5, AuditProblemKind::Inserted));
}

#[test]
fn reordered_entries_fail_at_the_first_moved_one() {
    let (_dir, store, conn) = tamper_rig(6);
    conn.execute_batch(
        "UPDATE audit_log SET seq = -1 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = -1;",
    )
    .unwrap();
    assert_eq!(broken_at(&store), (3, AuditProblemKind::Reordered));
}

#[test]
fn a_truncated_log_fails_after_its_last_entry() {
    let (_dir, store, conn) = tamper_rig(6);
    conn.execute("DELETE FROM audit_log WHERE seq >= 5", [])
        .unwrap();
    assert_eq!(broken_at(&store), (5, AuditProblemKind::Truncated));
    let (_dir, store, conn) = tamper_rig(3);
    conn.execute("DELETE FROM audit_log", []).unwrap();
    assert_eq!(broken_at(&store), (1, AuditProblemKind::Truncated));
}
