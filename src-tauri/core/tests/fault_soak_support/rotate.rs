//! Rotations in the soak: the person's part (a failed rotation is retried a few times, then rolled
//! back; a waiting one is run on), and what each way a rotation ends means for the model.

use std::time::Duration;

use keyward_core::Keyward;
use keyward_core::rotation::{RotationAction, RotationStatus, RotationView};

use super::Soak;
use super::report::Outcome;

/// Retries of a failed step before the person rolls the rotation back (and again for a rollback
/// that failed).
const PERSON_RETRIES: u32 = 3;
/// Runs of a waiting or running rotation before the soak calls it stuck.
const MAX_ADVANCES: u32 = 200;

/// A rotation as the soak saw it through.
pub struct Rotated {
    pub view: RotationView,
    pub retries: u32,
    pub rolled_back_by_person: bool,
    /// An action or run the service refused (an error, not a failed step).
    pub refused: Option<String>,
}

/// Acts as the person on `view` until the rotation ends or the person gives up: `Retry` a failed
/// step up to [`PERSON_RETRIES`] times, then `RollBack` (and retry that); run a waiting one on.
pub async fn see_through(service: &Keyward, mut view: RotationView) -> Rotated {
    let mut rotated = Rotated {
        view: view.clone(),
        retries: 0,
        rolled_back_by_person: false,
        refused: None,
    };
    let mut advances = 0;
    let mut retries_since_rollback = 0;
    while !view.finished {
        let next = match view.status {
            RotationStatus::Failed => {
                let retry_allowed = view.actions.contains(&RotationAction::Retry);
                let budget = if rotated.rolled_back_by_person {
                    &mut retries_since_rollback
                } else {
                    &mut rotated.retries
                };
                if retry_allowed && *budget < PERSON_RETRIES {
                    *budget += 1;
                    service
                        .rotation_action(&view.id, RotationAction::Retry)
                        .await
                } else if !rotated.rolled_back_by_person
                    && view.actions.contains(&RotationAction::RollBack)
                {
                    rotated.rolled_back_by_person = true;
                    service
                        .rotation_action(&view.id, RotationAction::RollBack)
                        .await
                } else {
                    break;
                }
            }
            _ => {
                advances += 1;
                if advances > MAX_ADVANCES {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                service.rotation_advance(&view.id).await
            }
        };
        match next {
            Ok(next) => view = next,
            Err(error) => {
                rotated.refused = Some(format!("{}: {error}", error.kind()));
                break;
            }
        }
    }
    rotated.retries += retries_since_rollback;
    rotated.view = view;
    rotated
}

impl Soak {
    /// Moves the model by how a rotation ended and counts it under `op`.
    pub fn apply_rotation(&mut self, op: &'static str, rotated: Rotated, op_index: u64) {
        let view = &rotated.view;
        self.tally.note(
            "person retries of failed rotation steps",
            u64::from(rotated.retries),
        );
        if let Some(refused) = &rotated.refused {
            self.violation(
                op_index,
                format!("rotation {} refused an action or run: {refused}", view.id),
            );
        }
        let Some(old) = self.model.keys.get(&view.old_key_hash).cloned() else {
            self.violation(
                op_index,
                format!(
                    "rotation {} rotated {}, a key the soak does not know",
                    view.id, view.old_key_hash
                ),
            );
            return;
        };
        let successor = view
            .new_key_hash
            .as_deref()
            .map(|hash| old.successor(hash, &view.new_key_name));
        if view.status == RotationStatus::Failed && view.error.is_none() {
            self.violation(
                op_index,
                format!("rotation {} failed without an error", view.id),
            );
        }
        let old_key = self.model.get_mut(&view.old_key_hash).expect("known");
        match view.status {
            RotationStatus::Completed => {
                old_key.exists.set(false);
                old_key.busy = false;
                if let Some(new_key) = successor {
                    self.model.insert(new_key);
                } else {
                    self.violation(
                        op_index,
                        format!("rotation {} completed without a new key", view.id),
                    );
                }
                self.tally.count(op, Outcome::Converged);
            }
            RotationStatus::RolledBack => {
                // The old key stays, enabled again; the new one stays only if its secret went out.
                old_key.exists.set(true);
                old_key.disabled.set(false);
                old_key.busy = false;
                if let Some(new_key) = successor {
                    if view.secret_deployed {
                        self.model.insert(new_key);
                    } else if let Some(known) = self.model.get_mut(&new_key.hash) {
                        // Seen while the rotation was unfinished; the rollback deleted it.
                        known.exists.set(false);
                        known.busy = false;
                    }
                }
                let outcome = if rotated.rolled_back_by_person {
                    Outcome::RolledBack
                } else {
                    Outcome::Reported
                };
                self.tally.count(op, outcome);
            }
            RotationStatus::Abandoned => {
                self.violation(
                    op_index,
                    format!("rotation {} was abandoned by itself", view.id),
                );
            }
            RotationStatus::Failed | RotationStatus::Waiting | RotationStatus::Running => {
                // Left for the end: reported (failed with its error) and then finished with the
                // faults off. Until then either key may be in any state the rotation allows.
                old_key.busy = true;
                old_key.exists.add(false);
                old_key.disabled.add(true);
                if let Some(mut new_key) = successor {
                    new_key.busy = true;
                    new_key.exists.add(false);
                    self.model.insert(new_key);
                }
                self.unfinished.push(view.id.clone());
                let kind = view
                    .error
                    .as_ref()
                    .map_or_else(|| view.status.to_string(), |error| error.kind.to_string());
                let detail = view.detail.clone().unwrap_or_default();
                self.tally.error(op, Outcome::Unfinished, &kind, &detail);
            }
        }
    }

    /// Rotates every active key of group `group` (`soak-g<group>-*`) at once through
    /// `rotation_start_batch`, then sees each rotation through.
    pub async fn rotate_group(&mut self, group: u32, op_index: u64) {
        let op = "rotate (batch)";
        let pattern = format!("soak-g{group}-*");
        let views = self
            .t
            .service
            .rotation_start_batch(keyward_core::rotation::RotationBatchArgs {
                profile_id: self.profile_id.clone(),
                name_pattern: pattern,
            })
            .await;
        let views = match views {
            Ok(views) => views,
            Err(error) => {
                self.tally.error(
                    op,
                    Outcome::Reported,
                    error.kind().as_ref(),
                    &error.to_string(),
                );
                return;
            }
        };
        let service = self.t.service.clone();
        let mut rotated = Vec::new();
        for view in views {
            if view.id.is_empty() {
                let error = view.error.clone().expect("a batch failure says why");
                let outcome =
                    if ["invalid_input", "conflict", "not_found"].contains(&error.kind.as_ref()) {
                        Outcome::Refused
                    } else {
                        Outcome::Reported
                    };
                self.tally
                    .error(op, outcome, error.kind.as_ref(), &error.message);
                continue;
            }
            if self.unfinished.contains(&view.id) {
                // A key of an unfinished rotation: the batch names that rotation instead.
                self.tally.error(
                    op,
                    Outcome::Refused,
                    "conflict",
                    "already part of an unfinished rotation",
                );
                continue;
            }
            rotated.push(see_through(&service, view).await);
        }
        for one in rotated {
            self.apply_rotation(op, one, op_index);
        }
    }

    /// At the end, faults off: every rotation still unfinished must be listed as such (reported);
    /// the person then retries it (or rolls it back) until it ends.
    pub async fn finish_rotations(&mut self, op_index: u64) {
        let active = self
            .t
            .service
            .rotations(Some(&self.profile_id), true)
            .unwrap();
        let listed: Vec<String> = active.iter().map(|view| view.id.clone()).collect();
        for id in self.unfinished.clone() {
            if !listed.contains(&id) {
                self.violation(
                    op_index,
                    format!("unfinished rotation {id} is not listed as active"),
                );
            }
        }
        for id in &listed {
            if !self.unfinished.contains(id) {
                self.violation(
                    op_index,
                    format!("rotation {id} is unfinished but was never reported to the soak"),
                );
            }
        }
        self.tally.note(
            "rotations unfinished at the end (reported)",
            listed.len() as u64,
        );
        self.unfinished.clear();
        for view in active {
            let rotated = see_through(&self.t.service.clone(), view).await;
            if !rotated.view.finished {
                self.violation(
                    op_index,
                    format!(
                        "rotation {} did not finish with the faults off: {:?}",
                        rotated.view.id, rotated.view.detail
                    ),
                );
            }
            self.apply_rotation("finish rotation", rotated, op_index);
        }
    }
}
