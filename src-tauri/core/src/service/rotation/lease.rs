//! Leases: which Keyward process drives a rotation. The app and `keyward-cli` share one database,
//! and the in-process rotation locks do not reach across processes, so every run and every action
//! first takes the rotation's lease in the store (owner = this service instance, with its pid),
//! renews it while it runs and gives it up at the end. Another live process's lease is a clear
//! `Conflict`; a lease whose process is gone (killed, crashed) is taken over at once on this
//! machine, otherwise when it runs out.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::Utc;

use super::Rotations;
use crate::Error;
use crate::store::{LeaseHolder, Store};

/// How long a lease lasts without renewal: a process that stopped without giving its leases up
/// (and whose pid cannot be checked) blocks its rotations for this long at most.
pub(crate) const LEASE_LENGTH: Duration = Duration::from_secs(60);
/// How often the driving process renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(15);

/// A held lease: renewed by a task until dropped, then given up.
pub(crate) struct Lease {
    id: String,
    owner: String,
    store: Arc<Mutex<Store>>,
    renewal: Option<tokio::task::AbortHandle>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = store.release_rotation_lease(&self.id, &self.owner) {
            tracing::warn!(rotation = %self.id, error = %error, "could not give up a rotation's lease");
        }
    }
}

fn holder(owner: &str) -> LeaseHolder {
    let length = chrono::Duration::from_std(LEASE_LENGTH).unwrap_or(chrono::Duration::minutes(1));
    LeaseHolder {
        owner: owner.to_owned(),
        pid: Some(std::process::id()),
        until: Utc::now() + length,
    }
}

/// This machine's current boot (Linux: `/proc/sys/kernel/random/boot_id`): a lease owner's name
/// starts with it, so a pid is only ever checked against the boot (and machine) it belongs to.
fn boot_id() -> &'static str {
    static BOOT: OnceLock<String> = OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|id| id.trim().to_owned())
            .unwrap_or_default()
    })
}

/// A new lease owner's name: `<boot id>/<random>`, unique per running service.
pub(crate) fn new_owner() -> String {
    format!("{}/{}", boot_id(), uuid::Uuid::new_v4())
}

/// Whether the process that holds a lease is known to be gone: it ran in this boot of this machine
/// (a data directory shared between machines, or a lease left from before a reboot, waits for the
/// lease to run out instead) and its pid no longer runs (checked on Linux, where `/proc` tells; a
/// zombie counts as gone). Our own pid is never gone: another service instance in this process
/// must give its lease up or let it run out.
fn holder_gone(holder: &LeaseHolder) -> bool {
    let Some(pid) = holder.pid else {
        return false;
    };
    let boot = boot_id();
    if boot.is_empty() || !holder.owner.starts_with(&format!("{boot}/")) {
        return false;
    }
    if pid == std::process::id() {
        return false;
    }
    process_gone(pid)
}

#[cfg(target_os = "linux")]
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: Z (zombie) and X (dead) are gone.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| matches!(state, 'Z' | 'X')),
        Err(error) => error.kind() == std::io::ErrorKind::NotFound,
    }
}

#[cfg(not(target_os = "linux"))]
fn process_gone(_pid: u32) -> bool {
    false
}

impl Rotations {
    /// Takes rotation `id`'s lease for this service (see the module docs); `Conflict` while another
    /// live process drives it.
    pub(super) fn lease(&self, id: &str) -> Result<Lease, Error> {
        let me = holder(&self.instance);
        {
            let store = self.store();
            if let Some(other) = store.acquire_rotation_lease(id, &me, Utc::now())? {
                if holder_gone(&other) && store.take_over_rotation_lease(id, &other, &me)? {
                    tracing::info!(rotation = %id, pid = ?other.pid, "took over the lease of a Keyward process that is gone");
                } else {
                    let pid = other
                        .pid
                        .map_or_else(String::new, |pid| format!(" (pid {pid})"));
                    return Err(Error::Conflict {
                        message: format!(
                            "rotation {id} is being run by another Keyward process{pid}: wait \
                             until it finishes (its lease ends {} unless renewed), then look at \
                             the rotation again",
                            other.until.format("%Y-%m-%d %H:%M:%S UTC")
                        ),
                    });
                }
            }
        }
        let renewal = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let store = Arc::clone(&self.shared.store);
            let (id, owner) = (id.to_owned(), self.instance.clone());
            runtime
                .spawn(async move {
                    loop {
                        tokio::time::sleep(RENEW_EVERY).await;
                        let (store, rotation, owner) =
                            (Arc::clone(&store), id.clone(), owner.clone());
                        let renewed = tokio::task::spawn_blocking(move || {
                            let store = store.lock().unwrap_or_else(PoisonError::into_inner);
                            store.renew_rotation_lease(&rotation, &holder(&owner))
                        })
                        .await;
                        if !matches!(renewed, Ok(Ok(true))) {
                            tracing::warn!(rotation = %id, "could not renew a rotation's lease");
                            return;
                        }
                    }
                })
                .abort_handle()
        });
        Ok(Lease {
            id: id.to_owned(),
            owner: self.instance.clone(),
            store: Arc::clone(&self.shared.store),
            renewal,
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn held_by(owner: String, pid: u32) -> LeaseHolder {
        LeaseHolder {
            owner,
            pid: Some(pid),
            until: Utc::now(),
        }
    }

    #[test]
    fn only_a_process_of_this_boot_that_has_ended_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let ended = child.id();
        child.wait().unwrap();
        assert!(holder_gone(&held_by(new_owner(), ended)));
        // Alive: our parent; ourselves (another service in this process).
        assert!(!holder_gone(&held_by(
            new_owner(),
            std::os::unix::process::parent_id()
        )));
        assert!(!holder_gone(&held_by(new_owner(), std::process::id())));
        // Another machine or an earlier boot: its pids mean nothing here.
        assert!(!holder_gone(&held_by("other-boot/x".into(), ended)));
    }
}
