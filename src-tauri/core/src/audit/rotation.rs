//! Audit entries for a rotation, derived from what its runner journals (every change of a rotation
//! goes through one save with its journal rows): started, each step's result, each deploy target,
//! the person's actions, and how it ended.

use std::collections::HashSet;

use super::{AuditAction, AuditValue, DeployChange, NewAuditEntry, RotationChange};
use crate::deploy::DeployTarget;
use crate::rotation::{
    JournalEntry, JournalOutcome, JournalPhase, JournalStep, Rotation, RotationStepName,
};

fn target_kind(target: &DeployTarget) -> &'static str {
    match target {
        DeployTarget::Clipboard => "clipboard",
        DeployTarget::EnvFile { .. } => "env_file",
        DeployTarget::Keychain { .. } => "keychain",
        DeployTarget::Command { .. } => "command",
        DeployTarget::KeywardRun => "keyward_run",
    }
}

fn change(rotation: &Rotation) -> RotationChange {
    RotationChange {
        rotation_id: rotation.id.clone(),
        status: rotation.status.as_str().to_owned(),
        new_key_hash: rotation.new_key.as_ref().map(|key| key.hash.clone()),
        new_key_name: Some(rotation.new_key_name.clone()),
        ..RotationChange::default()
    }
}

/// The entries for one save of `rotation`: `previous` is the rotation as stored before it (`None`
/// for a new one), `journal` the rows written with it.
pub fn rotation_entries(
    rotation: &Rotation,
    previous: Option<&Rotation>,
    journal: &[JournalEntry],
) -> Vec<NewAuditEntry> {
    let base = |action| {
        NewAuditEntry::new(&rotation.profile_id, action)
            .key(Some(&rotation.old.hash), Some(&rotation.old.name))
    };
    let mut entries = Vec::new();
    if previous.is_none() {
        entries
            .push(base(AuditAction::RotationStart).after(AuditValue::Rotation(change(rotation))));
    }
    for row in journal {
        let step = row.step.to_string();
        let outcome = row.outcome.map(|outcome| outcome.to_string());
        match row.phase {
            JournalPhase::Action => entries.push(base(AuditAction::RotationAction).after(
                AuditValue::Rotation(RotationChange {
                    step: Some(step),
                    action: outcome,
                    ..change(rotation)
                }),
            )),
            JournalPhase::Result => {
                if row.step == JournalStep::Deploy {
                    entries.extend(deploy_entries(rotation, previous));
                }
                let mut entry =
                    base(AuditAction::RotationStep).after(AuditValue::Rotation(RotationChange {
                        step: Some(step),
                        outcome,
                        ..change(rotation)
                    }));
                if row.outcome == Some(JournalOutcome::Failed) {
                    let (kind, message) = rotation.error.as_ref().map_or_else(
                        || ("internal".to_owned(), "the step failed".to_owned()),
                        |error| (error.kind.to_string(), error.message.clone()),
                    );
                    entry.failure = Some((kind, message));
                }
                entries.push(entry);
            }
            JournalPhase::Intent | JournalPhase::Note => {}
        }
    }
    let was_terminal = previous.is_some_and(|previous| previous.status.is_terminal());
    if rotation.status.is_terminal() && !was_terminal {
        entries.push(base(AuditAction::RotationEnd).after(AuditValue::Rotation(change(rotation))));
    }
    entries
}

/// One entry per target whose outcome is new in this save (a retry does not repeat the targets
/// that had already received the secret).
fn deploy_entries(rotation: &Rotation, previous: Option<&Rotation>) -> Vec<NewAuditEntry> {
    let done_before: HashSet<&DeployTarget> = previous
        .map(|previous| {
            previous
                .step(RotationStepName::Deploy)
                .deploy
                .iter()
                .filter(|outcome| outcome.ok)
                .map(|outcome| &outcome.target)
                .collect()
        })
        .unwrap_or_default();
    rotation
        .step(RotationStepName::Deploy)
        .deploy
        .iter()
        .filter(|outcome| !done_before.contains(&outcome.target))
        .map(|outcome| {
            let new_key = rotation.new_key.as_ref();
            let mut entry = NewAuditEntry::new(&rotation.profile_id, AuditAction::Deploy)
                .key(
                    new_key.map(|key| key.hash.as_str()),
                    Some(&rotation.new_key_name),
                )
                .after(AuditValue::Deploy(DeployChange {
                    rotation_id: rotation.id.clone(),
                    target_kind: target_kind(&outcome.target).to_owned(),
                    target: outcome.target.describe(),
                }));
            if !outcome.ok {
                entry.failure = Some(("deploy".to_owned(), outcome.message.clone()));
            }
            entry
        })
        .collect()
}
