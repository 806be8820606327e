//! The backups a rotation's deploys keep (the `.env` variable's previous line in Keyward's backup
//! directory, a keychain entry's previous value) are removed as soon as the rotation ends, whichever
//! way: completed, rolled back or abandoned. A process stopped between the end and the removal
//! leaves them for the sweep at the next start-up.

use super::Rotations;
use crate::deploy;
use crate::rotation::{Rotation, RotationStepName};

impl Rotations {
    /// Removes the rotation's backups if it has ended; otherwise does nothing.
    pub(super) async fn discard_backups_if_ended(&self, rotation: &Rotation) {
        if !rotation.status.is_terminal() {
            return;
        }
        let suffix = rotation.deploy_backup_suffix();
        let ctx = self.deploy_context().with_backup_suffix(suffix.clone());
        let outcomes = &rotation.step(RotationStepName::Deploy).deploy;
        for problem in deploy::discard_backups_of(&suffix, outcomes, &ctx).await {
            tracing::warn!(rotation = %rotation.id, %problem, "a backup of an ended rotation stays");
        }
    }

    /// At start-up: removes the backups of rotations that have ended (or that the store does not
    /// know), which a process stopped before it could.
    pub(super) async fn sweep_backups(&self) {
        let Some(dir) = self.backup_dir.clone() else {
            return;
        };
        let groups = match tokio::task::spawn_blocking(move || deploy::backup_groups(&dir)).await {
            Ok(groups) => groups,
            Err(_) => return,
        };
        for group in groups {
            let Some(id) = group.strip_prefix(ROTATION_GROUP_PREFIX) else {
                continue;
            };
            let found = self.store().rotation(id);
            match found {
                Ok(Some(rotation)) => self.discard_backups_if_ended(&rotation).await,
                Ok(None) => {
                    let ctx = self.deploy_context();
                    for problem in deploy::discard_backups_of(&group, &[], &ctx).await {
                        tracing::warn!(%group, %problem, "a backup of an unknown rotation stays");
                    }
                }
                Err(error) => {
                    tracing::warn!(%group, %error, "could not look a backup's rotation up")
                }
            }
        }
    }
}

/// How [`Rotation::deploy_backup_suffix`] starts.
const ROTATION_GROUP_PREFIX: &str = "rotation-";
