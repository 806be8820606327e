//! The service's side of installing an update: never while a key rotation is running (in this
//! process or another one, e.g. `keyward-cli`: the journal in the shared database says `running`),
//! and no rotation starts or runs on while an install is under way (this process: the flag the
//! rotation runner checks). A rotation that only waits (for the old key's usage to stop, or out
//! its grace period) does not block: a restart resumes it from its journal.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Keyward;
use super::rotation::Rotations;
use crate::Error;
use crate::rotation::{RotationStatus, RotationView};

/// Held from the person's "Install and restart" until the install has ended (or failed): while it
/// lives, rotations are refused. Dropping it lets them run again.
pub struct UpdateInstallGuard {
    rotations: Arc<Rotations>,
    service: Keyward,
}

impl std::fmt::Debug for UpdateInstallGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateInstallGuard").finish_non_exhaustive()
    }
}

impl Drop for UpdateInstallGuard {
    fn drop(&mut self) {
        self.rotations
            .installing_update
            .store(false, Ordering::SeqCst);
    }
}

impl UpdateInstallGuard {
    /// `Err(UpdateBlocked)` naming the rotation when one is running (checked when the guard is
    /// taken and again right before the install, since another process may have started one).
    pub fn ensure_no_rotation_running(&self) -> Result<(), Error> {
        let running = self.service.running_rotations()?;
        let Some(first) = running.first() else {
            return Ok(());
        };
        let others = match running.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        Err(Error::UpdateBlocked {
            message: format!(
                "A key rotation is running (\"{}\"{others}): the update is not installed while \
                 a rotation is under way. Try again once it has finished or is waiting.",
                first.old_key_name
            ),
        })
    }
}

impl Keyward {
    /// Rotations running right now, in any process sharing this database.
    pub fn running_rotations(&self) -> Result<Vec<RotationView>, Error> {
        Ok(self
            .rotations(None, true)?
            .into_iter()
            .filter(|view| view.status == RotationStatus::Running)
            .collect())
    }

    /// Permission to install an update: refused (`UpdateBlocked`) while a rotation is running or
    /// another install is under way. The flag is raised before the journal is read, so a rotation
    /// starting in this process meanwhile is either seen running or refused.
    pub fn begin_update_install(&self) -> Result<UpdateInstallGuard, Error> {
        let rotations = Arc::clone(&self.inner.rotations);
        if rotations.installing_update.swap(true, Ordering::SeqCst) {
            return Err(Error::UpdateBlocked {
                message: "An update is already being installed".to_owned(),
            });
        }
        let guard = UpdateInstallGuard {
            rotations,
            service: self.clone(),
        };
        guard.ensure_no_rotation_running()?;
        Ok(guard)
    }
}
