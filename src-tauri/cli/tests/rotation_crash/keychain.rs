//! The crash test's keychain side: runs that find no keychain at all (their session bus address
//! leads nowhere), retrying what they left failed once it is back, and cleaning up the entries a run
//! made in the (real) keychain.

use keyward_core::rotation::{Rotation, RotationStatus};

use super::harness::*;

impl Harness {
    /// Retries (with a working keychain) every rotation a run without a keychain left failed, as the
    /// person would once the keychain is back.
    pub(crate) async fn retry_keychain_failures(&mut self, context: &str) {
        let failed: Vec<String> = self
            .rotations()
            .into_iter()
            .filter(failed_on_keychain)
            .map(|rotation| rotation.id)
            .collect();
        for id in failed {
            self.keychain_retries += 1;
            let args = ["rotation-action", id.as_str(), "retry"];
            self.kill_and_check(&args, Kill::Never, &format!("{context}, retried"))
                .await;
        }
    }

    /// Cleans up the keychain entries the run made (management key, held secrets).
    pub(crate) fn clean_keychain(&self) {
        let _ = self.vault.delete_management_key(&self.profile_id);
        let mut hashes = self.seen_hashes.clone();
        for rotation in self.rotations() {
            hashes.insert(rotation.old.hash.clone());
            for entry in self
                .store
                .rotation_journal(&rotation.id)
                .unwrap_or_default()
            {
                journal_hashes(&entry.detail, &mut hashes);
            }
        }
        for hash in hashes {
            let _ = self.vault.delete_pending_secret(&self.profile_id, &hash);
            let _ = self.vault.delete_kept_secret(&self.profile_id, &hash);
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !self.profile_id.is_empty() {
            self.clean_keychain();
        }
    }
}

/// Whether a rotation stopped failed because the keychain could not be reached (a fault the harness
/// injected), which a retry with the keychain back must get over.
pub(crate) fn failed_on_keychain(rotation: &Rotation) -> bool {
    use keyward_core::ErrorKind;
    rotation.status == RotationStatus::Failed
        && rotation.error.as_ref().is_some_and(|error| {
            matches!(
                error.kind,
                ErrorKind::KeychainUnavailable
                    | ErrorKind::KeychainLocked
                    | ErrorKind::Keychain
                    | ErrorKind::KeychainDenied
            )
        })
}
