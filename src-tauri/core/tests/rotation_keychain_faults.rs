//! Keychain failures in the middle of a rotation (the in-memory keychain, faults switched on when the
//! runner reaches a boundary): at every step boundary, the keychain stops answering (every call
//! fails until it is back) or refuses one write; the rotation goes on as far as it can, then, in the
//! same process or after a "restart" (a new service over the same database and keychain, so what
//! was only in memory is gone, as in a crash), the keychain works again and the person retries (or
//! rolls back) until the rotation has ended. Then every key on the emulator is accounted for (no
//! orphan), the new key's secret, if the key exists, is in the `.env` file or in a keychain entry
//! whose SHA-256 is the key's hash (not merely an entry), the file holds a working key, and the
//! journal is consistent. The out-of-process SIGKILL harness (`keyward-cli`'s `rotation_crash`)
//! adds runs whose keychain is unreachable.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rotation_support;
mod service_support;

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use keyward_core::Keyward;
use keyward_core::rotation::{HookPoint, RotationAction, RotationHooks, RotationStatus};
use keyward_core::service::ServiceConfig;
use keyward_core::store::Store;
use keyward_core::vault::{Fault, KeychainFailure, KeychainOp, MemoryKeychain};
use rotation_support::{RotationEvents, configure, env_value, rig, start_args};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// Switches a keychain fault on when the runner reaches `point` (once).
struct KeychainFaultAt {
    point: HookPoint,
    keychain: Mutex<Option<MemoryKeychain>>,
    fault: Fault,
}

impl RotationHooks for KeychainFaultAt {
    fn at(&self, _rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if point == self.point
            && let Some(keychain) = self.keychain.lock().unwrap().take()
        {
            keychain.inject(self.fault.clone());
        }
        Box::pin(std::future::ready(()))
    }
}

/// How the keychain fails.
#[derive(Debug, Clone, Copy)]
enum Failing {
    /// Every call fails (the Secret Service went away) until the test clears it.
    Everything,
    /// One write is refused (a locked keychain's dismissed prompt).
    OneWrite,
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

async fn fails_at(point: HookPoint, failing: Failing, restart: bool) {
    let name = format!(
        "rot-kc-{}-{failing:?}-{restart}",
        point.name().replace(':', "-")
    )
    .to_lowercase();
    let hook = Arc::new(KeychainFaultAt {
        point,
        keychain: Mutex::new(None),
        fault: match failing {
            Failing::Everything => Fault::new(KeychainFailure::Unavailable),
            Failing::OneWrite => Fault::new(KeychainFailure::Locked)
                .on(KeychainOp::Set)
                .times(1),
        },
    });
    let rig = rig(&name, Some(hook.clone())).await;
    *hook.keychain.lock().unwrap() = Some(rig.t.keychain.clone());
    rig.set_policy(|policy| policy.grace_period_secs = 0);
    let context = format!("{} {failing:?} restart={restart}", point.name());

    let _ = rig.t.service.rotation_start(start_args(&rig)).await;
    let id = rig.t.service.rotations(None, false).unwrap()[0].id.clone();
    let service = if restart {
        let events = Arc::new(RotationEvents::default());
        let mut config = ServiceConfig::new(rig.t.vault.clone());
        configure(&mut config, &events);
        Keyward::new(Store::open_in_dir(rig.t.dir.path()).unwrap(), config)
    } else {
        rig.t.service.clone()
    };
    rig.t.keychain.clear_faults();

    // The person drives it to an end: resume, retry a failed step, roll back if a retry is refused.
    let mut view = service.rotation(&id).unwrap();
    let first = (
        view.status,
        view.current_step,
        view.error.as_ref().map(|e| e.kind),
    );
    for _ in 0..8 {
        view = service.rotation(&id).unwrap();
        match view.status {
            RotationStatus::Completed | RotationStatus::RolledBack => break,
            RotationStatus::Failed => {
                if service
                    .rotation_action(&id, RotationAction::Retry)
                    .await
                    .is_err()
                {
                    let _ = service.rotation_action(&id, RotationAction::RollBack).await;
                }
            }
            _ => {
                service.resume_rotations().await.unwrap();
            }
        }
    }
    assert!(
        matches!(
            view.status,
            RotationStatus::Completed | RotationStatus::RolledBack
        ),
        "{context}: {view:#?}"
    );
    println!("{context}: first {first:?}, then {:?}", view.status);
    assert!(
        service.rotation_journal_problems(&id).unwrap().is_empty(),
        "{context}: {:?}",
        service.rotation_journal_problems(&id)
    );

    // The file holds a working key.
    let deployed = env_value(&rig.env_path);
    assert!(rig.check_secret(&deployed).await.is_ok(), "{context}");
    // Every key is accounted for; the new key's secret is where somebody can use it.
    let new_hash = view.new_key_hash.clone();
    for key in rig.emulator_keys().await {
        let hash = key["hash"].as_str().unwrap().to_owned();
        if hash == rig.old_hash {
            assert_ne!(view.status, RotationStatus::Completed, "{context}");
            continue;
        }
        assert_eq!(
            Some(&hash),
            new_hash.as_ref(),
            "{context}: key {hash} ({}) is an orphan: {view:#?}",
            key["name"]
        );
        let in_file = sha256_hex(&deployed) == hash;
        let in_keychain = [
            rig.t.vault.pending_secret(&rig.profile_id, &hash),
            rig.t.vault.kept_secret(&rig.profile_id, &hash),
        ]
        .into_iter()
        .flatten()
        .any(|secret| sha256_hex(secret.expose_secret()) == hash);
        assert!(
            in_file || in_keychain,
            "{context}: the secret of key {hash} is lost: {view:#?}"
        );
    }
}

#[tokio::test]
async fn keychain_failures_at_every_step_boundary_lose_no_secret_and_leave_no_orphan() {
    let points: Vec<HookPoint> = HookPoint::all()
        .into_iter()
        .filter(|point| point.step.is_some())
        .collect();
    assert!(points.len() >= 20);
    for point in points {
        for failing in [Failing::Everything, Failing::OneWrite] {
            for restart in [false, true] {
                fails_at(point, failing, restart).await;
            }
        }
    }
}
