//! The rotation journal when more than one thing touches it (issue 14, findings 2, 3, 8 and 10):
//! two services over one database (as the app and `keyward-cli` are) cannot act on a rotation the
//! other drives, nor start a second rotation of the key; recovery from a database whose last
//! transaction was lost (restored from a copy taken before it) loses no secret and leaves no
//! orphan; an interrupted create's clean-up touches only keys carrying the rotation's token, never
//! a key of the same name made by someone else; a held secret an unfinished rotation needs cannot
//! be forgotten. The two-process version with real `keyward-cli` processes is
//! `cli/tests/rotation_race.rs`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use keyward_core::rotation::{
    Boundary, HookPoint, RotationAction, RotationHooks, RotationStatus, RotationStepName,
    new_key_name,
};
use keyward_core::service::ServiceConfig;
use keyward_core::store::{DATABASE_FILE, Store};
use keyward_core::{Error, Keyward};
use rotation_support::{CrashAt, Rig, RotationEvents, configure, start_args};
use serde_json::{Value, json};

/// Another service over the rig's database and keychain: a second process, as far as the rotation
/// can tell (its own lease owner), without hooks. `dir`: another data directory instead.
fn second_service(rig: &Rig, dir: Option<&std::path::Path>) -> Keyward {
    let events = Arc::new(RotationEvents::default());
    let mut config = ServiceConfig::new(rig.t.vault.clone());
    configure(&mut config, &events);
    let dir = dir.unwrap_or(rig.t.dir.path());
    Keyward::new(Store::open_in_dir(dir).unwrap(), config)
}

/// Pauses the runner at `point` until `go` is notified (and says it got there).
struct PauseAt {
    point: HookPoint,
    reached: Arc<tokio::sync::Notify>,
    go: Arc<tokio::sync::Notify>,
}

impl RotationHooks for PauseAt {
    fn at(&self, _rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if point != self.point {
            return Box::pin(std::future::ready(()));
        }
        self.reached.notify_one();
        let go = Arc::clone(&self.go);
        Box::pin(async move { go.notified().await })
    }
}

#[tokio::test]
async fn a_rotation_another_process_drives_is_left_alone() {
    let pause = Arc::new(PauseAt {
        point: HookPoint::new(RotationStepName::Deploy, Boundary::Before),
        reached: Arc::new(tokio::sync::Notify::new()),
        go: Arc::new(tokio::sync::Notify::new()),
    });
    let rig = rotation_support::rig("race-lease", Some(pause.clone())).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    let app = rig.t.service.clone();
    let args = start_args(&rig);
    let running = tokio::spawn(async move { app.rotation_start(args).await });
    tokio::time::timeout(Duration::from_secs(15), pause.reached.notified())
        .await
        .expect("deploy:before is reached");

    let cli = second_service(&rig, None);
    let id = cli.rotations(None, true).unwrap()[0].id.clone();
    let before = cli.rotation_journal(&id).unwrap().len();
    // A rollback (which would put the old key back in the .env file the app is about to move on
    // from) is refused while the app drives the rotation.
    let refused = cli
        .rotation_action(&id, RotationAction::RollBack)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
    assert!(
        refused.to_string().contains("another Keyward process"),
        "{refused}"
    );
    // Resuming at the CLI's start-up leaves it to the app; a second rotation of the key is refused.
    let resumed = cli.resume_rotations().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].status, RotationStatus::Running);
    let second = cli.rotation_start(start_args(&rig)).await.unwrap_err();
    assert!(matches!(second, Error::Conflict { .. }), "{second:?}");
    assert_eq!(cli.rotation_journal(&id).unwrap().len(), before);
    assert_eq!(cli.rotations(None, false).unwrap().len(), 1);

    // The app goes on and finishes; the old key is gone, the .env file holds the new secret.
    pause.go.notify_one();
    let view = running.await.unwrap().unwrap();
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    assert!(rig.emulator_key(&rig.old_hash).await.is_none());
    assert_eq!(
        rig.check_secret(&rig.env_secret()).await.unwrap(),
        view.new_key_label.clone().unwrap()
    );
    assert!(rig.journal_problems(&id).is_empty());
    // Its lease ended with its run: the other process may act again.
    assert_eq!(cli.rotation(&id).unwrap().status, RotationStatus::Completed);
}

/// Copies the database at `snapshot` (the commit before it is on disk), then crashes at `crash`.
struct SnapshotThenCrash {
    snapshot: HookPoint,
    crash: HookPoint,
    db: PathBuf,
    copy: PathBuf,
    reached: Arc<tokio::sync::Notify>,
}

impl RotationHooks for SnapshotThenCrash {
    fn at(&self, _rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if point == self.snapshot {
            let reader = Store::open(&self.db).unwrap();
            reader.checkpoint().unwrap();
            std::fs::copy(&self.db, &self.copy).unwrap();
        }
        if point == self.crash {
            self.reached.notify_one();
            return Box::pin(futures::future::pending());
        }
        Box::pin(std::future::ready(()))
    }
}

fn point(name: &str) -> HookPoint {
    HookPoint::all()
        .into_iter()
        .find(|point| point.name() == name)
        .unwrap_or_else(|| panic!("no hook point {name}"))
}

/// The rotation runs from `snapshot` to `crash` (its effects happen: a key is created, renamed, the
/// `.env` written, the old key disabled or deleted), the process dies, and the database comes back
/// as it was at `snapshot`: the commits in between (each step's result) are lost, as a power loss
/// loses what was not synced. Recovery must go the right way from the intent alone.
async fn lose_the_last_transaction(snapshot: &str, crash: &str) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("snapshot.sqlite3");
    let reached = Arc::new(tokio::sync::Notify::new());
    let test = format!("lost-{}", snapshot.replace(':', "-"));
    // The rig's database path is known only once the rig exists: its hook is set then.
    struct Deferred(Arc<std::sync::OnceLock<Arc<SnapshotThenCrash>>>);
    impl RotationHooks for Deferred {
        fn at(&self, rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
            match self.0.get() {
                Some(hooks) => hooks.at(rotation_id, point),
                None => Box::pin(std::future::ready(())),
            }
        }
    }
    let hooks_cell = Arc::new(std::sync::OnceLock::new());
    let rig = rotation_support::rig(&test, Some(Arc::new(Deferred(hooks_cell.clone())))).await;
    let db = rig.t.dir.path().join(DATABASE_FILE);
    let _ = hooks_cell.set(Arc::new(SnapshotThenCrash {
        snapshot: point(snapshot),
        crash: point(crash),
        db,
        copy: copy.clone(),
        reached: Arc::clone(&reached),
    }));
    rig.set_policy(|policy| policy.grace_period_secs = 0);

    let app = rig.t.service.clone();
    let args = start_args(&rig);
    let task = tokio::spawn(async move { app.rotation_start(args).await });
    tokio::time::timeout(Duration::from_secs(15), reached.notified())
        .await
        .unwrap_or_else(|_| panic!("{crash} was never reached"));
    task.abort();
    let _ = task.await;

    // Power comes back: the database as it was at the snapshot, in a fresh data directory.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join(DATABASE_FILE)).unwrap();
    // The copy carries the lease of the process that died. After a real restart its pid is gone
    // and the lease is taken over; this test's "processes" share one pid, so it is given up here.
    {
        let store = Store::open_in_dir(restored.path()).unwrap();
        for rotation in store.rotations(None, true).unwrap() {
            if let Some(holder) = store.rotation_lease(&rotation.id).unwrap() {
                store
                    .release_rotation_lease(&rotation.id, &holder.owner)
                    .unwrap();
            }
        }
    }
    let service = second_service(&rig, Some(restored.path()));
    service.resume_rotations().await.unwrap();
    let all = service.rotations(None, false).unwrap();
    let context = format!("snapshot at {snapshot}, crash at {crash}");
    assert_eq!(all.len(), 1, "{context}");
    let view = &all[0];
    assert_eq!(
        view.status,
        RotationStatus::Completed,
        "{context}: {view:#?}"
    );
    let problems = service.rotation_journal_problems(&view.id).unwrap();
    assert!(problems.is_empty(), "{context}: {problems:?}");
    // No orphan: exactly the new key is left, under its final name (no token).
    let keys = rig.emulator_keys().await;
    let new_hash = view.new_key_hash.clone().unwrap();
    assert_eq!(keys.len(), 1, "{context}: {keys:#?}");
    assert_eq!(keys[0]["hash"], new_hash.as_str(), "{context}");
    let final_name = new_key_name("prod-api", chrono::Utc::now().date_naive());
    assert_eq!(keys[0]["name"], final_name.as_str(), "{context}");
    // No secret lost: the .env file holds the new key's working secret.
    assert_eq!(
        rig.check_secret(&rig.env_secret()).await.unwrap(),
        view.new_key_label.clone().unwrap(),
        "{context}"
    );
}

#[tokio::test]
async fn a_lost_create_result_is_recovered_from_its_intent() {
    // The key was created and its secret held, the create's result and the store-secret step's
    // commits were lost: the create is in doubt, and the key carrying the token is adopted.
    lose_the_last_transaction("create:before", "store_secret:before").await;
    // Lost before the secret reached the keychain: that key is deleted and another one created.
    lose_the_last_transaction("create:before", "create:posted").await;
}

#[tokio::test]
async fn a_lost_deploy_or_rename_result_is_recovered_from_its_intent() {
    // The key was renamed to its final name, the result lost: renamed again.
    lose_the_last_transaction("store_secret:before", "attach:before").await;
    // The .env file was written, the result lost: the deploy runs again.
    lose_the_last_transaction("deploy:before", "verify:before").await;
}

#[tokio::test]
async fn a_lost_disable_or_delete_result_is_recovered_from_its_intent() {
    lose_the_last_transaction("disable_old:before", "delete_old:before").await;
    lose_the_last_transaction("delete_old:before", "delete_old:after").await;
}

async fn create_on_emulator(rig: &Rig, name: &str) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("{}/keys", rig.emulator.base_url()))
        .bearer_auth(rig.emulator.management_key())
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["data"]["hash"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_interrupted_create_never_touches_a_key_of_the_same_name_made_by_someone_else() {
    let crash = Arc::new(CrashAt {
        point: HookPoint::new(RotationStepName::Create, Boundary::Posted),
        reached: Arc::new(tokio::sync::Notify::new()),
    });
    let rig = rotation_support::rig("token-bystander", Some(crash.clone())).await;
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    let app = rig.t.service.clone();
    let args = start_args(&rig);
    let task = tokio::spawn(async move { app.rotation_start(args).await });
    tokio::time::timeout(Duration::from_secs(15), crash.reached.notified())
        .await
        .expect("create:posted is reached");
    // The key is created (its secret never reached the keychain), then the process dies. Meanwhile
    // a teammate (or another install's rotation, a batch) makes keys of the very same name.
    let final_name = new_key_name("prod-api", chrono::Utc::now().date_naive());
    let theirs = create_on_emulator(&rig, &final_name).await;
    let also_theirs =
        create_on_emulator(&rig, &format!("{final_name} \u{27e8}kw:0000\u{27e9}")).await;
    task.abort();
    let _ = task.await;

    let service = second_service(&rig, None);
    service.resume_rotations().await.unwrap();
    let view = &service.rotations(None, false).unwrap()[0];
    assert_eq!(view.status, RotationStatus::Completed, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    let keys = rig.emulator_keys().await;
    let hashes: Vec<&str> = keys.iter().map(|k| k["hash"].as_str().unwrap()).collect();
    // Theirs stay; our own orphan (secret lost) is gone; our new key is the only other one.
    assert!(hashes.contains(&theirs.as_str()), "{keys:#?}");
    assert!(hashes.contains(&also_theirs.as_str()), "{keys:#?}");
    assert!(hashes.contains(&new_hash.as_str()), "{keys:#?}");
    assert_eq!(keys.len(), 3, "{keys:#?}");
    let journal = service.rotation_journal(&view.id).unwrap();
    let reconciled = journal
        .iter()
        .find(|entry| entry.detail.get("found").is_some())
        .expect("a reconciliation note");
    assert_eq!(reconciled.detail["deleted"].as_array().unwrap().len(), 1);
    assert!(
        !reconciled.detail["found"]
            .as_array()
            .unwrap()
            .iter()
            .any(|hash| hash == theirs.as_str() || hash == also_theirs.as_str())
    );
}

#[tokio::test]
async fn a_held_secret_an_unfinished_rotation_needs_cannot_be_forgotten() {
    let rig = rotation_support::rig("forget-refused", None).await;
    rig.set_policy(|policy| policy.quiet_period_secs = 3600);
    let view = rig.start().await;
    assert_eq!(view.status, RotationStatus::Waiting, "{view:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    let forget = keyward_core::ipc::PendingResolveArgs {
        profile_id: rig.profile_id.clone(),
        key_hash: new_hash.clone(),
        action: keyward_core::ipc::PendingAction::Forget,
    };
    let refused = rig
        .t
        .service
        .pending_resolve(forget.clone())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
    assert!(refused.to_string().contains(&view.id), "{refused}");
    assert!(
        rig.t
            .service
            .held_secret(&rig.profile_id, &new_hash)
            .await
            .is_ok()
    );
    // Once the rotation is over (here: abandoned, the keys left as they are), it may go.
    rig.act(&view.id, RotationAction::Abandon).await;
    rig.t.service.pending_resolve(forget).await.unwrap();
    assert!(
        rig.t
            .service
            .held_secret(&rig.profile_id, &new_hash)
            .await
            .is_err()
    );
}
