//! The rotation crash test (issue 5): `keyward-cli` processes rotating keys on an in-process emulator
//! are SIGKILLed at every step boundary of the runner (`--crash-test-pause-at`, which prints
//! `KEYWARD_ROTATION_PAUSED <point> <id>` and waits for ever) and at random moments, then resumed by
//! more `keyward-cli resume` processes (killed again sometimes). After every kill and every resume it
//! checks that (1) every new key a rotation created is recoverable: its secret is in the keychain
//! (pending or kept) or deployed in a `.env` file that works (GET /key answers 200); (2) every
//! journal is consistent and the statuses make sense; (3) the emulator holds no key that is neither
//! seeded nor recorded by some rotation. At the end every rotation is completed or rolled back, each
//! `.env` holds its key's newest secret and the replaced keys are gone. The rotated keys live in a
//! second workspace with a guardrail, a BYOK allowlist and a log destination naming them; (4) their
//! hashes are checked on the emulator after every kill and resume (`rotation_crash/attachments.rs`).
//! Prints `kills: N, secrets lost: 0, orphan keys: 0, attachments lost: 0`.
//!
//! The phases: every step boundary in a fresh rotation; one rotation killed at every boundary in
//! turn (each resume killed at the next); rollbacks killed at their boundaries, from before and
//! after the deploy; two effects that landed without being recorded (the old key disabled, the
//! `.env` written, then the process killed) followed by a rollback; then random kills of rotations,
//! resumes and rollbacks after a random delay (seeded; the seed is printed) until 220 kills.
//! One random run in ten finds no keychain at all (its session bus address leads nowhere, as when
//! the Secret Service is gone): the rotation it touches fails its step with `keychain_unavailable`
//! and is retried with the keychain back, as a person would; the checks hold throughout.
//! A secret found only in a deploy's backup file counts as lost (backups are removed when a
//! rotation ends, and nothing leads anyone to one). A keychain entry holds a key's secret only if
//! the secret's SHA-256 is the key's hash. Only a keychain that answers "no such entry" makes a
//! secret "not in the keychain": failed reads are retried, and a keychain that stops answering
//! (gnome-keyring aborts now and then when a SIGKILLed client dies mid-`OpenSession`, and the one
//! D-Bus then starts has the login keyring locked) stops the run with what it found so far instead
//! of counting losses.
//!
//! Uses the real keychain (a Secret Service); run inside a keychain session:
//! `tests/session.sh -- cargo test -p keyward-cli --test rotation_crash -- --ignored --nocapture`.
//! `KEYWARD_CRASH_SEED=N` repeats a run's random choices; the random delays scale with how long one
//! rotation takes on this machine now, so on a machine more or less loaded they land elsewhere.
//! `KEYWARD_CRASH_KILLS=N` runs until N kills (default and minimum 200, CI's size; the documented
//! run in the README uses 1000).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use keyward_core::deploy::{self, DeployTarget};
use keyward_core::rotation::{HookPoint, RotationStatus, RotationStepStatus};
use keyward_core::vault::{Fault, KeychainFailure, KeychainOp, MemoryKeychain, Vault};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::json;

#[path = "rotation_crash/attachments.rs"]
mod attachments;
#[path = "rotation_crash/checks.rs"]
mod checks;
#[path = "rotation_crash/harness.rs"]
mod harness;
#[path = "rotation_crash/keychain.rs"]
mod keychain;

use checks::*;
use harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a Secret Service (run in the keychain session)"]
async fn killing_rotations_anywhere_loses_no_secret_and_leaves_no_orphan_key() {
    let started = Instant::now();
    let seed: u64 = std::env::var("KEYWARD_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    println!("rotation crash test: seed {seed} (KEYWARD_CRASH_SEED={seed} repeats it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut h = Harness::start().await;
    let points = step_points();
    // Every step's before/after, create's posted/held too: attach and detach included.
    assert_eq!(points.len(), 20);
    assert!(points.iter().any(|point| point == "attach:before"));
    assert!(points.iter().any(|point| point == "detach:after"));

    // A whole rotation without a kill: it works, and it tells how long one takes.
    let before = Instant::now();
    let view = h.rotate_unkilled(0, "a plain rotation").await;
    let full_run = before.elapsed();
    assert_eq!(view["status"], "completed", "{view:#}");
    h.check("plain rotation", true).await;
    h.settle_slots();
    println!("one uninterrupted rotation takes {full_run:?}");

    // 1. Each step boundary, in a fresh rotation, then a plain resume.
    for (index, point) in points.iter().enumerate() {
        let slot = index % h.slots.len();
        let args = h.rotate_args(slot);
        let ended = h
            .kill_and_check(&strs(&args), Kill::AtPoints(point.clone()), "boundary")
            .await;
        assert!(
            matches!(&ended, Ended::KilledAtPoint { point: reached, .. } if reached == point),
            "{point} was not reached: {ended:?}"
        );
        h.resume_until_settled(&format!("boundary {point}")).await;
        assert!(h.active_rotation(slot).is_none());
    }

    // 2. One rotation killed at every boundary in turn: each resume is killed at the next one.
    for slot in 0..h.slots.len() {
        let args = h.rotate_args(slot);
        h.kill_and_check(&strs(&args), Kill::AtPoints(points[0].clone()), "chain")
            .await;
        for point in &points[1..] {
            h.kill_and_check(&["resume"], Kill::AtPoints(point.clone()), "chain")
                .await;
        }
        h.resume_until_settled("chain").await;
    }

    // 3. Rollbacks killed at their boundaries: from the drain step (secret deployed: both keys
    // stay), and from before the deploy (the new key is deleted).
    for (stop_at, roll_back_point) in [
        (None, "roll_back:before"),
        (None, "roll_back:after"),
        (Some("create:posted"), "roll_back:before"),
        (Some("create:held"), "roll_back:after"),
        (Some("store_secret:after"), "roll_back:before"),
        (Some("attach:after"), "roll_back:after"),
        (Some("deploy:before"), "roll_back:after"),
        (Some("verify:after"), "roll_back:before"),
    ] {
        let slot = rng.random_range(0..h.slots.len());
        let id = match stop_at {
            None => {
                h.set_policy(slot, 3600);
                let view = h.rotate_unkilled(slot, "rotation to the drain step").await;
                h.set_policy(slot, 0);
                assert_eq!(view["status"], "waiting", "{view:#}");
                assert_eq!(view["current_step"], "drain", "{view:#}");
                h.check("waiting at drain", true).await;
                view["id"].as_str().unwrap().to_owned()
            }
            Some(point) => h.rotate_killed_at(slot, point, "rollback").await,
        };
        let context = format!("rollback from {}", stop_at.unwrap_or("drain"));
        let ended = h.roll_back_killed(&id, roll_back_point, &context).await;
        assert!(
            matches!(&ended, Ended::KilledAtPoint { point, .. } if point == roll_back_point),
            "{context}: {roll_back_point} not reached: {ended:?}"
        );
        h.resume_until_settled(&context).await;
        let rotation = h.store.rotation(&id).unwrap().unwrap();
        assert_eq!(
            rotation.status,
            RotationStatus::RolledBack,
            "{context}: {rotation:#?}"
        );
        h.settle_slots();
    }

    // 3b. Killed while disabling the old key, after the server had already disabled it (the PATCH
    // landed, its result was never written; random kills hit this window now and then), then
    // rolled back: the old key, back in the .env file, must be enabled again.
    let slot = 0;
    let old_hash = h.slots[slot].current_hash.clone();
    let rotation_id = h
        .rotate_killed_at(slot, "disable_old:before", "disabled behind its back")
        .await;
    let patched = h
        .http
        .patch(format!("{}/keys/{old_hash}", h.emulator.base_url()))
        .bearer_auth(h.emulator.management_key())
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success());
    h.roll_back_killed(
        &rotation_id,
        "roll_back:before",
        "disabled behind its back, rolling back",
    )
    .await;
    h.resume_until_settled("disabled behind its back").await;

    // 3c. Killed in the middle of the deploy: the .env file already holds the new secret (and a
    // backup of the old one), the step's result was never written. Then rolled back: the old key
    // stays in use, so the file must hold it again.
    let slot = 1;
    let old_hash = h.slots[slot].current_hash.clone();
    let rotation_id = h
        .rotate_killed_at(slot, "deploy:before", "killed mid-deploy")
        .await;
    let new_hash = h
        .store
        .rotation(&rotation_id)
        .unwrap()
        .unwrap()
        .new_key
        .unwrap()
        .hash;
    let secret = h.vault.pending_secret(&h.profile_id, &new_hash).unwrap();
    let target = DeployTarget::EnvFile {
        path: h.slots[slot].env_path.display().to_string(),
        variable: VARIABLE.to_owned(),
    };
    // As a deploy without a planned backup name would (into the data directory's backups).
    let ctx = deploy::DeployContext::default().with_backup_dir(deploy::backup_dir_in(&h.data_dir));
    let outcomes = deploy::deploy_all(&[target], &secret, &ctx).await;
    assert!(outcomes.iter().all(|outcome| outcome.ok), "{outcomes:?}");
    h.roll_back_killed(
        &rotation_id,
        "roll_back:before",
        "killed mid-deploy, rolling back",
    )
    .await;
    h.resume_until_settled("killed mid-deploy").await;
    let held = env_value(&h.slots[slot].env_path).map(|secret| sha256_hex(&secret));
    if held.as_deref() != Some(old_hash.as_str()) {
        let rotation = h.store.rotation(&rotation_id).unwrap().unwrap();
        note(
            &mut h.problems,
            "killed mid-deploy, rolled back",
            format!(
                "rotation {rotation_id} ({}) left the .env file holding {held:?}, not the old key \
                 {old_hash} it says stays in use: {:?}",
                rotation.status.as_str(),
                rotation.detail
            ),
        );
    }

    // 4. Random moments: runs killed after a random delay (or at a random point), of rotations,
    // resumes and rollbacks, until enough kills.
    let max_delay_ms = u64::try_from(full_run.as_millis())
        .unwrap_or(500)
        .clamp(20, 2000);
    println!("random kills within {max_delay_ms} ms of a start");
    let all_points: Vec<String> = HookPoint::all().iter().map(HookPoint::name).collect();
    let mut iterations = 0;
    let target = target_kills();
    println!("running until {} kills", target + 20);
    while h.kills < target + 20 || h.random_kills < 100 {
        iterations += 1;
        assert!(iterations < 15 * target, "too few runs get killed");
        let slot = rng.random_range(0..h.slots.len());
        let kill = if rng.random_bool(0.8) {
            Kill::After(Duration::from_millis(rng.random_range(0..max_delay_ms)))
        } else {
            let first = rng.random_range(0..all_points.len());
            let second = rng.random_range(0..all_points.len());
            Kill::AtPoints(format!("{},{}", all_points[first], all_points[second]))
        };
        let args: Vec<String> = match h.active_rotation(slot) {
            None => h.rotate_args(slot),
            Some(rotation) if rng.random_bool(0.15) && !rotation.rolling_back => vec![
                "rotation-action".to_owned(),
                rotation.id.clone(),
                "roll_back".to_owned(),
            ],
            Some(_) => vec!["resume".to_owned()],
        };
        // One run in ten finds no keychain: what it touches fails and is retried with it back.
        let no_keychain = rng.random_bool(0.1);
        let ended = h
            .kill_and_check_with(&strs(&args), kill, no_keychain, "random")
            .await;
        if no_keychain {
            h.retry_keychain_failures("no keychain").await;
        }
        if !ended.killed()
            && h.active_rotation(slot)
                .is_some_and(|r| r.status == RotationStatus::Failed)
        {
            break;
        }
    }
    h.resume_until_settled("the end").await;

    // The end: everything finished, each .env holds its key's newest secret, replaced keys gone.
    let mut end_problems = Vec::new();
    let rotations = h.rotations();
    for rotation in &rotations {
        if !matches!(
            rotation.status,
            RotationStatus::Completed | RotationStatus::RolledBack
        ) {
            end_problems.push(format!(
                "rotation {} ended {}: {rotation:#?}",
                rotation.id,
                rotation.status.as_str()
            ));
        }
        let unfinished = rotation.steps.iter().any(|step| {
            !matches!(
                step.status,
                RotationStepStatus::Done | RotationStepStatus::Skipped
            )
        });
        if rotation.status == RotationStatus::Completed && unfinished {
            end_problems.push(format!("completed with steps left: {rotation:#?}"));
        }
    }
    // Every rotation has ended, so no rotation's backups are left (the old values they hold).
    let backup_dir = deploy::backup_dir_in(&h.data_dir);
    for group in deploy::backup_groups(&backup_dir) {
        if group.starts_with("rotation-") {
            end_problems.push(format!(
                "{} is left after every rotation ended",
                backup_dir.join(group).display()
            ));
        }
    }
    let keys = h.emulator_keys().await;
    for slot in &h.slots {
        let secret = env_value(&slot.env_path).unwrap_or_default();
        let status = h.key_status(&secret).await;
        let held = sha256_hex(&secret);
        let text = std::fs::read_to_string(&slot.env_path).unwrap_or_default();
        if held != slot.current_hash || status != 200 || !text.starts_with("OTHER=1\n") {
            let key = keys.iter().find(|key| key["hash"] == held.as_str());
            end_problems.push(format!(
                "{} holds key {held} (GET /key: {status}; on the emulator: {key:?}), the newest \
                 key of {} is {}; rotations of it: {:#?}",
                slot.env_path.display(),
                slot.name,
                slot.current_hash,
                rotations
                    .iter()
                    .filter(|r| r.old.hash == held
                        || r.new_key.as_ref().is_some_and(|k| k.hash == held))
                    .collect::<Vec<_>>()
            ));
        }
    }
    for rotation in rotations
        .iter()
        .filter(|rotation| rotation.status == RotationStatus::Completed)
    {
        if keys
            .iter()
            .any(|key| key["hash"] == rotation.old.hash.as_str())
        {
            end_problems.push(format!(
                "the old key of completed rotation {} is still there",
                rotation.id
            ));
        }
    }
    let completed = rotations
        .iter()
        .filter(|rotation| rotation.status == RotationStatus::Completed)
        .count();
    println!(
        "{} rotations ({completed} completed, {} rolled back), {} keyward-cli runs, kills by point: {:?}",
        rotations.len(),
        rotations.len() - completed,
        h.runs,
        h.kills_by_point
    );
    println!(
        "run time {:?}, runs without a keychain: {} (rotations they left failed, then retried: {}), \
         keychain reads that failed and were retried: {}",
        started.elapsed(),
        h.keychain_fault_runs,
        h.keychain_retries,
        h.keychain_read_errors
    );
    println!(
        "kills: {}, secrets lost: {}, orphan keys: {}, attachments lost: {}",
        h.kills,
        h.lost.len(),
        h.orphans.len(),
        h.attachments_lost.len()
    );
    let orphans: Vec<&String> = h.orphans.values().collect();
    assert!(
        h.lost.is_empty()
            && h.orphans.is_empty()
            && h.attachments_lost.is_empty()
            && h.problems.is_empty()
            && end_problems.is_empty(),
        "secrets lost: {:#?}\norphan keys: {orphans:#?}\nattachments lost: {:#?}\nother problems: \
         {:#?}\nat the end: {end_problems:#?}",
        listed(&h.lost),
        listed(&h.attachments_lost),
        listed(&h.problems)
    );
    assert!(h.kills >= target, "only {} kills", h.kills);
    drop(h);
}

/// The harness's own accounting: a keychain read that fails is retried and never taken for "the
/// secret is not there" (which once made a loaded run report secrets lost that were in the keychain
/// all along), while a secret that really is nowhere still reads as absent.
#[tokio::test]
async fn a_failing_keychain_read_is_neither_a_loss_nor_a_pass() {
    let keychain = MemoryKeychain::new();
    let vault = Vault::with_backend("keyward-test-crash-accounting", keychain.clone());
    let secret = SecretString::from("sk-or-v1-accounting".to_owned());
    let held = sha256_hex("sk-or-v1-accounting");
    let other = SecretString::from("sk-or-v1-another".to_owned());
    let kept = sha256_hex("sk-or-v1-another");
    vault.set_pending_secret("p1", &held, &secret).unwrap();
    vault.set_kept_secret("p1", &kept, &other).unwrap();
    // An entry whose value is not the key's secret holds nothing usable.
    let wrong = sha256_hex("sk-or-v1-wrong");
    vault.set_pending_secret("p1", &wrong, &secret).unwrap();

    // Reads time out twice (as a Secret Service call does under load), then answer.
    keychain.inject(
        Fault::new(KeychainFailure::Unavailable)
            .on(KeychainOp::Get)
            .times(2),
    );
    let mut failed = 0;
    assert_eq!(
        keychain_holds(&vault, "p1", &held, &mut failed).await,
        Ok(true)
    );
    assert_eq!(failed, 2);
    assert_eq!(
        keychain_holds(&vault, "p1", &kept, &mut failed).await,
        Ok(true)
    );
    assert_eq!(
        keychain_holds(&vault, "p1", "gone", &mut failed).await,
        Ok(false)
    );
    assert_eq!(
        keychain_holds(&vault, "p1", &wrong, &mut failed).await,
        Ok(false)
    );
    assert_eq!(failed, 2);

    // A keychain that never answers is reported, not counted as holding the secret.
    keychain.inject(Fault::new(KeychainFailure::Failed).on(KeychainOp::Get));
    let unknown = keychain_holds(&vault, "p1", &held, &mut failed).await;
    assert!(unknown.is_err(), "{unknown:?}");
    assert_eq!(failed, 2 + KEYCHAIN_READ_ATTEMPTS as usize);
}
