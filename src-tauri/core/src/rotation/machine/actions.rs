//! What the person sees of a rotation and may do to it: the allowed actions, applying one, and
//! the view the UI and CLI show.

use chrono::{DateTime, Utc};

use super::{ActionEffect, Rotation, StepOutcome, human_duration, short_time};
use crate::Error;
use crate::rotation::{
    DrainView, RotationAction, RotationStatus, RotationStepName, RotationStepStatus,
    RotationStepView, RotationView,
};

impl Rotation {
    /// The actions the person may take now.
    pub fn actions(&self) -> Vec<RotationAction> {
        use RotationAction as A;
        if self.status.is_terminal() {
            return Vec::new();
        }
        if self.rolling_back {
            return if self.status == RotationStatus::Failed {
                vec![A::Retry, A::Abandon]
            } else {
                vec![A::Resume]
            };
        }
        let can_roll_back = !self.old_key_maybe_deleted();
        let mut actions = Vec::new();
        match self.status {
            RotationStatus::Failed => {
                actions.push(A::Retry);
                if can_roll_back {
                    actions.push(A::RollBack);
                }
            }
            RotationStatus::Waiting => match self.current_step() {
                Some(RotationStepName::Drain) => {
                    actions.extend([A::ConfirmDrained, A::RollBack]);
                    if !self.settings.delete_at_once {
                        actions.push(A::DeleteNow);
                    }
                }
                Some(RotationStepName::DeleteOld) => actions.extend([A::DeleteNow, A::RollBack]),
                Some(_) => actions.extend([A::Resume, A::RollBack]),
                None => {}
            },
            RotationStatus::Running => {
                actions.push(A::Resume);
                if can_roll_back {
                    actions.push(A::RollBack);
                }
            }
            _ => {}
        }
        // Abandoning while a create's outcome is unknown could leave a key nobody knows about.
        if !self.create_in_doubt {
            actions.push(A::Abandon);
        }
        actions
    }

    /// Applies the person's action at `now`; `InvalidInput` (field `action`) when not possible now.
    pub fn apply_action(
        &mut self,
        action: RotationAction,
        now: DateTime<Utc>,
    ) -> Result<ActionEffect, Error> {
        if !self.actions().contains(&action) {
            let at = self
                .current_step()
                .map(|step| format!(" at {}", step.as_str()))
                .unwrap_or_default();
            return Err(Error::invalid(
                "action",
                format!(
                    "{} is not possible now: the rotation is {}{at}",
                    action.as_str(),
                    self.status.as_str()
                ),
            ));
        }
        self.updated_at = now;
        let effect = match action {
            RotationAction::Resume => {
                if let Some(step) = self.current_step()
                    && step == RotationStepName::Deploy
                    && self.step(step).status == RotationStepStatus::Waiting
                {
                    self.secret_deployed = true;
                    self.finish_step(
                        step,
                        StepOutcome::Done("you put the new secret in place yourself".to_owned()),
                        now,
                    );
                }
                ActionEffect::Advance
            }
            RotationAction::Retry => {
                self.error = None;
                if self.rolling_back {
                    self.status = RotationStatus::Running;
                } else {
                    for step in &mut self.steps {
                        if step.status == RotationStepStatus::Failed {
                            step.status = RotationStepStatus::Pending;
                        }
                    }
                    self.refresh_status(now);
                }
                ActionEffect::Advance
            }
            RotationAction::ConfirmDrained => {
                self.finish_step(
                    RotationStepName::Drain,
                    StepOutcome::Done("you confirmed nothing uses the old key any more".to_owned()),
                    now,
                );
                ActionEffect::Advance
            }
            RotationAction::DeleteNow => {
                self.settings.delete_at_once = true;
                if let Some(until) = self.grace_until
                    && until > now
                {
                    self.grace_until = Some(now);
                }
                ActionEffect::Advance
            }
            RotationAction::RollBack => {
                self.rolling_back = true;
                self.error = None;
                self.status = RotationStatus::Running;
                ActionEffect::Advance
            }
            RotationAction::Abandon => {
                self.status = RotationStatus::Abandoned;
                self.rolling_back = false;
                self.finished_at = Some(now);
                let kept = match &self.new_key {
                    Some(new_key) => format!(
                        "; the new key {} ({}) stays, its secret held in the keychain",
                        self.new_key_name, new_key.label
                    ),
                    None => String::new(),
                };
                self.detail = Some(format!(
                    "abandoned: every key is left as it is{kept}; the old key {} is {}",
                    self.old.name,
                    if self.old_key_touched() {
                        "disabled"
                    } else {
                        "untouched"
                    }
                ));
                ActionEffect::Settled
            }
        };
        Ok(effect)
    }

    /// What the rotation waits for, in a sentence.
    fn waiting_for(&self) -> Option<String> {
        if self.status != RotationStatus::Waiting {
            return None;
        }
        match self.current_step()? {
            RotationStepName::Drain => Some(match &self.drain {
                Some(drain) => format!(
                    "usage of the old key to stay still for {} (quiet since {})",
                    human_duration(self.settings.quiet_period_secs),
                    short_time(drain.quiet_since)
                ),
                None => "the first check of the old key's usage".to_owned(),
            }),
            RotationStepName::DeleteOld => self
                .grace_until
                .map(|until| format!("the grace period until {}", short_time(until))),
            RotationStepName::Deploy => Some(
                "you to put the new secret where the old key is used (no deploy targets are \
                 configured; copy it from the held secrets), then Resume"
                    .to_owned(),
            ),
            other => Some(format!("{} to run", other.as_str())),
        }
    }

    pub fn view(&self) -> RotationView {
        RotationView {
            id: self.id.clone(),
            profile_id: self.profile_id.clone(),
            old_key_hash: self.old.hash.clone(),
            old_key_name: self.old.name.clone(),
            new_key_hash: self.new_key.as_ref().map(|key| key.hash.clone()),
            new_key_name: self.new_key_name.clone(),
            new_key_label: self.new_key.as_ref().map(|key| key.label.clone()),
            status: self.status,
            current_step: if self.status.is_terminal() {
                None
            } else {
                self.current_step()
            },
            steps: self
                .steps
                .iter()
                .map(|step| RotationStepView {
                    step: step.step,
                    status: step.status,
                    detail: step.detail.clone(),
                    started_at: step.started_at,
                    finished_at: step.finished_at,
                    deploy: step.deploy.clone(),
                    attempts: step.attempts,
                })
                .collect(),
            waiting_for: self.waiting_for(),
            detail: self.detail.clone(),
            error: self.error.clone(),
            actions: self.actions(),
            drain: self.drain.as_ref().map(|drain| DrainView {
                last_used_at: drain.last_used_at,
                usage: drain.usage,
                quiet_since: Some(drain.quiet_since),
                quiet_period_secs: self.settings.quiet_period_secs,
                next_check_at: Some(drain.next_check_at),
            }),
            grace_until: self.grace_until,
            secret_deployed: self.deployed(),
            finished: self.status.is_terminal(),
            started_at: self.started_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        }
    }
}
