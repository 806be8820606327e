//! Carrying a key's attachments (guardrail, BYOK allowlists, log destinations) to the new key: the
//! attach step (before the new secret is deployed anywhere, so the new key can do what the old one
//! could from its first request), the detach step (after the old key is deleted) and the rollback's
//! part (taking the new hash back off). Every call is idempotent, so each runs again whole after
//! a crash or a failure.

use super::{Rotations, failed};
use crate::Error;
use crate::rotation::{Attachment, Rotation, StepOutcome, describe_all};

impl Rotations {
    pub(super) async fn step_attach(&self, rotation: &mut Rotation) -> StepOutcome {
        if rotation.attachments.is_empty() {
            return StepOutcome::Skipped(
                "nothing named the old key (no guardrail, BYOK allowlist or log destination)"
                    .to_owned(),
            );
        }
        let Some(new_key) = rotation.new_key.clone() else {
            return failed(
                &Error::Internal {
                    message: "no new key is recorded".to_owned(),
                    source: None,
                },
                "attaching",
            );
        };
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        for attachment in &rotation.attachments {
            if let Err(error) = self
                .config
                .links
                .attach(&client, attachment, &new_key.hash)
                .await
            {
                return failed(
                    &error,
                    &format!("adding the new key to {} failed", attachment.describe()),
                );
            }
        }
        // The key list shows each key's guardrail: it must learn the new key has one now.
        self.keys_changed(&rotation.profile_id);
        StepOutcome::Done(format!(
            "the new key is in: {}",
            describe_all(&rotation.attachments)
        ))
    }

    pub(super) async fn step_detach(&self, rotation: &mut Rotation) -> StepOutcome {
        if rotation.attachments.is_empty() {
            return StepOutcome::Skipped("nothing named the old key".to_owned());
        }
        let client = match self.profile_client(&rotation.profile_id).await {
            Ok(client) => client,
            Err(error) => return failed(&error, "could not reach the profile"),
        };
        // The guardrail assignment went with the deleted key on the server; unassigning it too is
        // a no-op there and leaves no stale hash where the deletion does not clean up. A resource
        // deleted meanwhile names nobody any more.
        for attachment in &rotation.attachments {
            match self
                .config
                .links
                .detach(&client, attachment, &rotation.old.hash)
                .await
            {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(error) => {
                    return failed(
                        &error,
                        &format!(
                            "removing the old key's hash from {} failed",
                            attachment.describe()
                        ),
                    );
                }
            }
        }
        StepOutcome::Done(format!(
            "the old key's hash is off: {}",
            describe_all(&rotation.attachments)
        ))
    }

    /// Rollback: takes the new hash off every list the attach step may have added it to. The
    /// guardrail is unassigned only when the new key is about to be deleted: a new key that is kept
    /// (its secret was deployed) stays guarded rather than become a live key without its guardrail.
    pub(super) async fn remove_new_hash(
        &self,
        rotation: &Rotation,
        client: &crate::api::OpenRouterClient,
        new_key_kept: bool,
    ) -> Result<Option<String>, Error> {
        let Some(new_key) = &rotation.new_key else {
            return Ok(None);
        };
        let removed: Vec<Attachment> = rotation
            .attachments
            .iter()
            .filter(|attachment| !(new_key_kept && attachment.is_guardrail()))
            .cloned()
            .collect();
        for attachment in &removed {
            match self
                .config
                .links
                .detach(client, attachment, &new_key.hash)
                .await
            {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok((!removed.is_empty()).then(|| {
            format!(
                "took the new key off: {}{}",
                describe_all(&removed),
                if new_key_kept && rotation.attachments.iter().any(Attachment::is_guardrail) {
                    " (the kept new key keeps its guardrail)"
                } else {
                    ""
                }
            )
        }))
    }
}
