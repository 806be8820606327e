//! The rotation journal's rows: what each is about (a step, the rollback, the whole rotation), its
//! phase and outcome as enums stored under their snake_case names, and the check of a journal
//! against the rotation's state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantNames};

use super::machine::{Rotation, StepRecord};
use super::{RotationAction, RotationStatus, RotationStepName, RotationStepStatus};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JournalPhase {
    /// Written before a step runs, with what is needed to resume it.
    Intent,
    /// Written after it ran.
    Result,
    /// The person asked for something.
    Action,
    /// Anything else worth keeping (started, interrupted and resumed).
    Note,
}

/// What a journal row is about: one of the steps, the rollback, or the whole rotation (notes).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JournalStep {
    Create,
    StoreSecret,
    Attach,
    Deploy,
    Verify,
    Drain,
    DisableOld,
    DeleteOld,
    Detach,
    RollBack,
    Rotation,
}

impl From<RotationStepName> for JournalStep {
    fn from(step: RotationStepName) -> Self {
        match step {
            RotationStepName::Create => JournalStep::Create,
            RotationStepName::StoreSecret => JournalStep::StoreSecret,
            RotationStepName::Attach => JournalStep::Attach,
            RotationStepName::Deploy => JournalStep::Deploy,
            RotationStepName::Verify => JournalStep::Verify,
            RotationStepName::Drain => JournalStep::Drain,
            RotationStepName::DisableOld => JournalStep::DisableOld,
            RotationStepName::DeleteOld => JournalStep::DeleteOld,
            RotationStepName::Detach => JournalStep::Detach,
        }
    }
}

/// The word a row carries: a step's result, a note's kind, the person's action, or where a
/// rollback got.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JournalOutcome {
    // A step's result.
    Done,
    Skipped,
    Waiting,
    Failed,
    Restarted,
    // Notes: the rotation started or was resumed, a step's run was interrupted, an interrupted
    // create was reconciled.
    Started,
    Resumed,
    Interrupted,
    Reconciled,
    // The person's actions (as `RotationAction` names them).
    Resume,
    Retry,
    ConfirmDrained,
    DeleteNow,
    RollBack,
    Abandon,
    // A rollback's result and progress.
    RolledBack,
    CreateReconciled,
    OldKeyReenabled,
    DeploysUndone,
    NewKeyDeleted,
    NewSecretReleased,
    AttachmentsRemoved,
}

impl From<RotationAction> for JournalOutcome {
    fn from(action: RotationAction) -> Self {
        match action {
            RotationAction::Resume => JournalOutcome::Resume,
            RotationAction::Retry => JournalOutcome::Retry,
            RotationAction::ConfirmDrained => JournalOutcome::ConfirmDrained,
            RotationAction::DeleteNow => JournalOutcome::DeleteNow,
            RotationAction::RollBack => JournalOutcome::RollBack,
            RotationAction::Abandon => JournalOutcome::Abandon,
        }
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Assigned by the store (1, 2, … per rotation); 0 before it is written.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub step: JournalStep,
    pub phase: JournalPhase,
    /// For results: the step status (`done`, `failed`, …) or `rolled_back`.
    pub outcome: Option<JournalOutcome>,
    pub detail: serde_json::Value,
}

impl JournalEntry {
    pub fn new(
        at: DateTime<Utc>,
        step: impl Into<JournalStep>,
        phase: JournalPhase,
        outcome: Option<JournalOutcome>,
        detail: serde_json::Value,
    ) -> Self {
        JournalEntry {
            seq: 0,
            at,
            step: step.into(),
            phase,
            outcome,
            detail,
        }
    }
}

/// Problems with a rotation's journal against its state (empty = consistent): sequence numbers run
/// 1, 2, …; every result answers the open intent of its step; an intent is open only for the step the
/// state says is running (one left open by a crash is re-opened by the resumed run); a finished
/// create recorded the new key; a completed rotation finished every step.
pub fn check_journal(rotation: &Rotation, journal: &[JournalEntry]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut open: Option<JournalStep> = None;
    for (index, entry) in journal.iter().enumerate() {
        let expected = i64::try_from(index + 1).unwrap_or(i64::MAX);
        if entry.seq != expected {
            problems.push(format!(
                "entry {index} has seq {} (expected {expected})",
                entry.seq
            ));
        }
        match entry.phase {
            JournalPhase::Intent => {
                if let Some(step) = open
                    && step != entry.step
                {
                    problems.push(format!(
                        "seq {}: intent of {} while {step} is still open",
                        entry.seq, entry.step
                    ));
                }
                open = Some(entry.step);
            }
            JournalPhase::Result => {
                if open != Some(entry.step) {
                    problems.push(format!(
                        "seq {}: result of {} without its intent",
                        entry.seq, entry.step
                    ));
                }
                open = None;
            }
            JournalPhase::Action | JournalPhase::Note => {}
        }
    }
    let running = rotation
        .steps
        .iter()
        .find(|step| step.status == RotationStepStatus::Running)
        .map(|step| JournalStep::from(step.step));
    match (open, running) {
        (Some(JournalStep::RollBack), _) if !rotation.rolling_back => problems
            .push("the journal has a rollback open but the state is not rolling back".to_owned()),
        (Some(JournalStep::RollBack), _) => {}
        (Some(open), Some(running)) if open != running => problems.push(format!(
            "the journal has {open} open but the state says {running} is running"
        )),
        (Some(open), None) => problems.push(format!(
            "the journal has {open} open but no step is running"
        )),
        (None, Some(running)) => problems.push(format!(
            "the state says {running} is running but the journal has no open intent"
        )),
        _ => {}
    }
    let created = rotation.step(RotationStepName::Create).status == RotationStepStatus::Done;
    if created && rotation.new_key.is_none() {
        problems.push("create is done but no new key is recorded".to_owned());
    }
    if rotation.status == RotationStatus::Completed
        && !rotation.steps.iter().all(StepRecord::is_finished)
    {
        problems.push("completed with unfinished steps".to_owned());
    }
    problems
}

/// Asserts that every strum name of `T` parses back and is its serde name too.
#[cfg(test)]
pub(crate) fn assert_names_agree<T>()
where
    T: VariantNames
        + std::str::FromStr
        + Serialize
        + serde::de::DeserializeOwned
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    for name in T::VARIANTS {
        let value: T = name.parse().unwrap();
        assert_eq!(value.to_string(), *name);
        assert_eq!(
            serde_json::to_value(&value).unwrap(),
            serde_json::json!(name)
        );
        let back: T = serde_json::from_value(serde_json::json!(name)).unwrap();
        assert_eq!(back, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strum_and_serde_names_agree() {
        assert_names_agree::<JournalPhase>();
        assert_names_agree::<JournalStep>();
        assert_names_agree::<JournalOutcome>();
        assert_names_agree::<RotationStepName>();
        assert_names_agree::<RotationStepStatus>();
        assert_names_agree::<RotationStatus>();
        assert_names_agree::<RotationAction>();
        assert_eq!(JournalStep::VARIANTS.len(), RotationStepName::ALL.len() + 2);
        for step in RotationStepName::ALL {
            assert_eq!(JournalStep::from(step).to_string(), step.as_str());
        }
        for name in RotationAction::VARIANTS {
            let action: RotationAction = name.parse().unwrap();
            assert_eq!(JournalOutcome::from(action).to_string(), *name);
        }
        assert_eq!(RotationAction::DeleteNow.as_str(), "delete_now");
        assert_eq!(RotationStatus::RolledBack.as_str(), "rolled_back");
    }
}
