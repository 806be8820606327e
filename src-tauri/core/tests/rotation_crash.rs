//! Crash safety in-process: a rotation is stopped for good at every boundary of the runner (its task
//! dropped there, so whatever it held only in memory is gone, as in a kill), then a new service over
//! the same store and keychain resumes it at "start-up". After each, the rotation completes (or
//! finishes rolling back), the journal is consistent, the emulator holds no key nobody accounts for,
//! and the `.env` file holds a working new secret; the key's guardrail, BYOK allowlist and log
//! destination name the new key and not the old one, or, after a rollback that kept the new key,
//! the old key and only the new key's guardrail. Run twice: with in-memory account links shared by
//! both "processes", and with the real ones (the service's default) on the emulator's guardrail,
//! BYOK credential and destination, the key in a second workspace. The out-of-process SIGKILL
//! harness drives the same boundaries with `KEYWARD_ROTATION_PAUSE_AT`.
//! The "same keychain" is a clone of the in-memory vault, which shares its entries.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use keyward_core::Keyward;
use keyward_core::deploy::{self, DeployContext};
use keyward_core::rotation::{
    Boundary, HookPoint, RotationAction, RotationStatus, RotationStepName, RotationStepStatus,
};
use keyward_core::service::{MemoryAccountLinks, ServiceConfig};
use keyward_core::store::Store;
use rotation_support::account::{Account, key_with_attachments, named_on_emulator};
use rotation_support::{
    CrashAt, OTHER_HASH, Rig, RotationEvents, configure, named_by, rig_with_links, start_args,
};

/// Where the key's attachments live.
#[derive(Clone)]
enum Links {
    /// In memory, shared by both "processes".
    Memory(MemoryAccountLinks),
    /// On the emulator, through the service's default (API) links.
    Api(Account),
}

impl Links {
    async fn named(&self, rig: &Rig, hash: &str) -> Vec<&'static str> {
        match self {
            Links::Memory(links) => named_by(links, hash),
            Links::Api(account) => named_on_emulator(rig, account, hash).await,
        }
    }

    /// Whether the BYOK allowlist still names the other key that shares it.
    async fn keeps_the_other_key(&self, rig: &Rig) -> bool {
        match self {
            Links::Memory(links) => {
                let byok = &rotation_support::attachments()[1];
                links.hashes_of(byok.id()).contains(&OTHER_HASH.to_owned())
            }
            Links::Api(account) => {
                rotation_support::account::byok_keeps_the_other_key(rig, account).await
            }
        }
    }

    /// Keys of the emulator besides the rotated ones (the other key of the BYOK allowlist).
    fn bystanders(&self) -> usize {
        match self {
            Links::Memory(_) => 0,
            Links::Api(_) => 1,
        }
    }
}

/// A second process, as far as the rotation can tell: a new service over the same database file and
/// keychain service, without hooks.
fn restart(rig: &Rig, links: &Links) -> Keyward {
    let events = Arc::new(RotationEvents::default());
    let mut config = ServiceConfig::new(rig.t.vault.clone());
    configure(&mut config, &events);
    if let Links::Memory(links) = links {
        config.rotation.links = Arc::new(links.clone());
    }
    Keyward::new(Store::open_in_dir(rig.t.dir.path()).unwrap(), config)
}

/// A rig crashing at `crash`'s point, its key named by a guardrail, a BYOK allowlist and a log
/// destination: in memory, or (`api`) on the emulator.
async fn crash_rig(name: &str, crash: &Arc<CrashAt>, api: bool) -> (Rig, Links) {
    if api {
        let mut rig = rotation_support::rig(name, Some(crash.clone())).await;
        let account = key_with_attachments(&mut rig).await;
        (rig, Links::Api(account))
    } else {
        let links = MemoryAccountLinks::new();
        let rig = rig_with_links(name, Some(crash.clone()), &links).await;
        (rig, Links::Memory(links))
    }
}

const ALL: [&str; 3] = ["guardrail", "byok", "destination"];

/// Runs a rotation (or, with `roll_back`, a rollback from the drain step) until `point`, drops it
/// there, restarts and resumes; checks nothing was lost.
async fn crash_and_resume(point: HookPoint, roll_back: bool, api: bool) {
    let crash = Arc::new(CrashAt {
        point,
        reached: Arc::new(tokio::sync::Notify::new()),
    });
    let name = format!(
        "rot-crash-{}{}",
        if api { "api-" } else { "" },
        point.name().replace(':', "-")
    );
    let (rig, links) = crash_rig(&name, &crash, api).await;
    let at = point.name();
    rig.set_policy(|policy| {
        policy.grace_period_secs = 0;
        if roll_back {
            policy.quiet_period_secs = 3600;
        }
    });
    let service = rig.t.service.clone();
    let args = start_args(&rig);
    let task = tokio::spawn(async move {
        let view = service.rotation_start(args).await.unwrap();
        if roll_back {
            service
                .rotation_action(&view.id, RotationAction::RollBack)
                .await
                .unwrap();
        }
    });
    tokio::time::timeout(Duration::from_secs(15), crash.reached.notified())
        .await
        .unwrap_or_else(|_| panic!("{at} was never reached"));
    task.abort();
    let _ = task.await;

    let restarted = restart(&rig, &links);
    restarted.resume_rotations().await.unwrap();
    let all = restarted.rotations(None, false).unwrap();
    assert_eq!(all.len(), 1, "{at}");
    let view = &all[0];
    let problems = restarted.rotation_journal_problems(&view.id).unwrap();
    assert!(problems.is_empty(), "{at}: {problems:?}");
    let keys = rig.emulator_keys().await;
    if roll_back {
        assert_eq!(view.status, RotationStatus::RolledBack, "{at}: {view:#?}");
        // The secret had been deployed: both keys stay, the old one enabled, the file restored.
        assert_eq!(keys.len(), 2 + links.bystanders(), "{at}: {keys:#?}");
        assert_eq!(
            rig.emulator_key(&rig.old_hash).await.unwrap()["disabled"],
            false
        );
        assert_eq!(rig.env_secret(), rig.old_secret);
        let new_hash = view.new_key_hash.clone().unwrap();
        // The kept new key keeps its guardrail (a live key stays guarded) and leaves the lists.
        assert_eq!(links.named(&rig, &new_hash).await, ["guardrail"], "{at}");
        assert_eq!(links.named(&rig, &rig.old_hash).await, ALL, "{at}");
        assert!(
            restarted
                .held_secret(&rig.profile_id, &new_hash)
                .await
                .is_ok()
        );
        return;
    }
    assert_eq!(view.status, RotationStatus::Completed, "{at}: {view:#?}");
    // Exactly the new key is left: the old one deleted, no orphan of an interrupted create.
    assert_eq!(keys.len(), 1 + links.bystanders(), "{at}: {keys:#?}");
    let new_hash = view.new_key_hash.clone().unwrap();
    assert!(
        keys.iter().any(|key| key["hash"] == new_hash.as_str()),
        "{at}"
    );
    assert!(rig.emulator_key(&rig.old_hash).await.is_none(), "{at}");
    assert_eq!(links.named(&rig, &new_hash).await, ALL, "{at}");
    assert!(links.named(&rig, &rig.old_hash).await.is_empty(), "{at}");
    // Another key in the BYOK allowlist stays there.
    assert!(links.keeps_the_other_key(&rig).await, "{at}");
    let secret = rig.env_secret();
    assert_eq!(
        rig.check_secret(&secret).await.unwrap(),
        view.new_key_label.clone().unwrap(),
        "{at}"
    );
}

fn step_points() -> Vec<HookPoint> {
    HookPoint::all()
        .into_iter()
        .filter(|point| point.step.is_some())
        .collect()
}

#[tokio::test]
async fn a_crash_at_every_step_boundary_resumes_without_loss() {
    let points = step_points();
    assert_eq!(points.len(), 20);
    assert!(points.iter().any(|p| p.name() == "attach:after"));
    assert!(points.iter().any(|p| p.name() == "detach:before"));
    for point in points {
        crash_and_resume(point, false, false).await;
    }
}

#[tokio::test]
async fn a_crash_at_every_step_boundary_with_the_real_attachments_loses_none() {
    for point in step_points() {
        crash_and_resume(point, false, true).await;
    }
}

#[tokio::test]
async fn a_crash_during_a_rollback_finishes_it_at_start_up() {
    crash_and_resume(HookPoint::roll_back(Boundary::Before), true, false).await;
    crash_and_resume(HookPoint::roll_back(Boundary::Before), true, true).await;
}

#[test]
fn every_boundary_has_a_name_the_env_hook_understands() {
    for point in HookPoint::all() {
        let hook = keyward_core::rotation::EnvPauseHook::parse(&point.name()).unwrap();
        assert!(hook.pauses_at(point), "{}", point.name());
    }
}

/// How the process stopped mid-deploy had got on with the `.env` write before it died.
#[derive(Clone, Copy, Debug)]
enum Interrupted {
    /// The backup (under the name planned in the intent) and the file were written.
    Written,
    /// Only the planned backup was written.
    BackedUp,
    /// The file was written with a backup under another (timestamped) name.
    WrittenElsewhere,
}

/// A rotation stopped for good at `deploy:before`, the `.env` write then done as far as `how`
/// says (as the stopped process would have), a restart: returns the rig, the restarted service, the
/// rotation's id and the planned backup file.
async fn interrupted_deploy(test: &str, how: Interrupted) -> (Rig, Keyward, String, PathBuf) {
    let crash = Arc::new(CrashAt {
        point: HookPoint::new(RotationStepName::Deploy, Boundary::Before),
        reached: Arc::new(tokio::sync::Notify::new()),
    });
    let links = MemoryAccountLinks::new();
    let rig = rig_with_links(test, Some(crash.clone()), &links).await;
    rig.set_policy(|policy| policy.quiet_period_secs = 3600);
    let service = rig.t.service.clone();
    let args = start_args(&rig);
    let task = tokio::spawn(async move {
        let _ = service.rotation_start(args).await;
    });
    tokio::time::timeout(Duration::from_secs(15), crash.reached.notified())
        .await
        .expect("deploy:before was never reached");
    task.abort();
    let _ = task.await;

    let restarted = restart(&rig, &Links::Memory(links));
    let view = restarted.rotations(None, false).unwrap().remove(0);
    let secret = restarted
        .held_secret(&rig.profile_id, view.new_key_hash.as_deref().unwrap())
        .await
        .unwrap();
    let suffix = format!("rotation-{}", view.id);
    let backup_dir = deploy::backup_dir_in(rig.t.dir.path());
    let planned = deploy::env_backup_path(&backup_dir, &rig.env_path, &suffix);
    let target = [rig.env_target()];
    match how {
        Interrupted::Written => {
            let ctx = DeployContext::default()
                .with_backup_dir(&backup_dir)
                .with_backup_suffix(suffix);
            assert!(deploy::deploy_all(&target, &secret, &ctx).await[0].ok);
            assert!(planned.exists());
        }
        Interrupted::BackedUp => {
            std::fs::create_dir_all(planned.parent().unwrap()).unwrap();
            std::fs::copy(&rig.env_path, &planned).map(|_| ()).unwrap()
        }
        Interrupted::WrittenElsewhere => {
            let ctx = DeployContext::default().with_backup_dir(&backup_dir);
            assert!(deploy::deploy_all(&target, &secret, &ctx).await[0].ok);
            assert!(!planned.exists());
        }
    }
    (rig, restarted, view.id, planned)
}

async fn rolled_back(rig: &Rig, service: &Keyward, id: &str) {
    service
        .rotation_action(id, RotationAction::RollBack)
        .await
        .unwrap();
    let view = service.rotation(id).unwrap();
    assert_eq!(view.status, RotationStatus::RolledBack, "{view:#?}");
    assert!(service.rotation_journal_problems(id).unwrap().is_empty());
    // The old key stays in use, so the file holds it again.
    assert_eq!(rig.env_secret(), rig.old_secret, "{:?}", view.detail);
    // The rotation is over: its backups (they hold a secret) are gone.
    let backup_dir = deploy::backup_dir_in(rig.t.dir.path());
    let left: Vec<String> = deploy::backup_groups(&backup_dir)
        .into_iter()
        .filter(|group| group.starts_with("rotation-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let beside: Vec<String> = std::fs::read_dir(rig.env_path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("keyward-backup"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[tokio::test]
async fn a_rollback_restores_an_env_file_written_by_an_interrupted_deploy() {
    for how in [
        Interrupted::Written,
        Interrupted::BackedUp,
        Interrupted::WrittenElsewhere,
    ] {
        let test = format!("rot-undo-interrupted-{how:?}").to_lowercase();
        let (rig, restarted, id, _) = interrupted_deploy(&test, how).await;
        rolled_back(&rig, &restarted, &id).await;
    }
}

#[tokio::test]
async fn a_resumed_deploy_keeps_the_first_backup_so_a_rollback_restores_the_old_key() {
    let (rig, restarted, id, planned) =
        interrupted_deploy("rot-resumed-deploy-backup", Interrupted::Written).await;
    restarted.resume_rotations().await.unwrap();
    let view = restarted.rotation(&id).unwrap();
    let deploy_step = view
        .steps
        .iter()
        .find(|step| step.step == RotationStepName::Deploy)
        .unwrap();
    assert_eq!(deploy_step.status, RotationStepStatus::Done, "{view:#?}");
    // The file already held the new secret: the resumed deploy took no second backup.
    assert_eq!(rotation_support::env_value(&planned), rig.old_secret);
    let backups = std::fs::read_dir(planned.parent().unwrap())
        .unwrap()
        .count();
    assert_eq!(backups, 1);
    rolled_back(&rig, &restarted, &id).await;
}
