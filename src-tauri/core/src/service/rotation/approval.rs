//! Command deploy targets need the person's approval (see `deploy::approval`): checked when a
//! policy is saved, when a rotation starts (before any key is created) and again by the deploy
//! itself. Only the front end's [`CommandApprover`] (a native dialog, a terminal prompt) records an
//! approval; an automatic rotation never asks, it refuses.

use std::sync::{Arc, PoisonError};

use super::Rotations;
use crate::Error;
use crate::deploy::{CommandApprovalRequest, CommandApprover, DeployTarget, not_approved};
use crate::rotation::RotationPolicy;

/// Whether an unapproved command target may be put to the person, or is refused at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    /// The person started this (saving a policy, rotating by hand, a batch): ask the approver.
    Person,
    /// Nobody is waiting for an answer (an automatic rotation): refuse.
    Never,
}

impl Rotations {
    /// The front end's approver (`None`: unapproved command targets are refused).
    pub(crate) fn set_approver(&self, approver: Option<Arc<dyn CommandApprover>>) {
        *self.approver.lock().unwrap_or_else(PoisonError::into_inner) = approver;
    }

    fn approver(&self) -> Option<Arc<dyn CommandApprover>> {
        self.approver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every command target of `targets` is approved, or (with [`Ask::Person`]) the approver is
    /// asked, one target at a time, and a yes is recorded. The first refusal or missing approval is
    /// `InvalidInput` on `targets[i].program`, with a message saying approval is needed or was
    /// refused.
    pub(super) async fn ensure_commands_approved(
        &self,
        targets: &[DeployTarget],
        ask: Ask,
    ) -> Result<(), Error> {
        for (index, target) in targets.iter().enumerate() {
            let Some(request) = CommandApprovalRequest::for_target(target) else {
                continue;
            };
            let field = format!("targets[{index}].program");
            if self.store().is_command_approved(&request.digest)? {
                continue;
            }
            let approver = match (ask, self.approver()) {
                (Ask::Person, Some(approver)) => approver,
                _ => return Err(not_approved(&field, &request.program, false)),
            };
            // One prompt at a time (a batch may ask for the same target from several rotations).
            let _asking = self.approval_lock.lock().await;
            if self.store().is_command_approved(&request.digest)? {
                continue;
            }
            tracing::info!(program = %request.program, "asking the person to approve a command target");
            if !approver.approve(&request).await? {
                tracing::warn!(program = %request.program, "a command target was refused");
                return Err(not_approved(&field, &request.program, true));
            }
            let now = self.now();
            self.store().approve_command(&request.digest, now)?;
            tracing::info!(program = %request.program, "a command target was approved");
        }
        Ok(())
    }

    /// Every command target of `targets` is approved already (never asks).
    pub(super) fn require_commands_approved(&self, targets: &[DeployTarget]) -> Result<(), Error> {
        let store = self.store();
        for (index, target) in targets.iter().enumerate() {
            if let Some(request) = CommandApprovalRequest::for_target(target)
                && !store.is_command_approved(&request.digest)?
            {
                return Err(not_approved(
                    &format!("targets[{index}].program"),
                    &request.program,
                    false,
                ));
            }
        }
        Ok(())
    }

    /// Validates a policy, asks the approver about its unapproved command targets (with `ask`),
    /// and stores it.
    pub(super) async fn set_policy_approving(
        &self,
        policy: RotationPolicy,
        ask: Ask,
    ) -> Result<RotationPolicy, Error> {
        policy.validate()?;
        self.ensure_commands_approved(&policy.targets, ask).await?;
        self.store().set_rotation_policy(&policy)?;
        Ok(policy)
    }
}
