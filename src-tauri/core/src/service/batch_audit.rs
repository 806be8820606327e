//! The audit entries of a batch run and of an emergency revoke: one per key that was sent (its
//! settings before and after, or the failure) and one for the run as a whole, appended together in
//! one transaction so a thousand keys cost one write.

use std::collections::HashMap;

use super::Keyward;
use crate::audit::{AuditAction, AuditValue, BatchSummary, KeySettings, NewAuditEntry};
use crate::batch::{BatchOperation, BatchReport, KeyOutcome};
use crate::store::Profile;

/// The audit action one key's change is recorded as.
fn key_action(operation: &BatchOperation) -> AuditAction {
    match operation {
        BatchOperation::Disable => AuditAction::KeyDisable,
        BatchOperation::Enable => AuditAction::KeyEnable,
        BatchOperation::SetLimit { .. } | BatchOperation::ClearLimit => AuditAction::KeyUpdate,
        BatchOperation::AssignGuardrail { .. } => AuditAction::GuardrailAssign,
        BatchOperation::Delete => AuditAction::KeyDelete,
    }
}

impl Keyward {
    /// Every cached key's settings, by hash (the "before" of a run, read once).
    pub(super) fn cached_settings_by_hash(&self, profile_id: &str) -> HashMap<String, KeySettings> {
        self.cached_keys_of(profile_id)
            .iter()
            .map(|key| (key.hash.clone(), KeySettings::from(key)))
            .collect()
    }

    /// Records a finished run: each key sent (done or failed) and a summary under `summary_action`.
    pub(super) fn record_batch(
        &self,
        profile: &Profile,
        report: &BatchReport,
        before: &HashMap<String, KeySettings>,
        summary_action: AuditAction,
        selection: Option<String>,
    ) {
        let after = self.cached_settings_by_hash(&profile.id);
        let action = key_action(&report.operation);
        let mut entries: Vec<NewAuditEntry> = report
            .results
            .iter()
            .filter(|result| result.outcome != KeyOutcome::NotRun)
            .map(|result| {
                let settings = before.get(&result.hash);
                let name = result
                    .name
                    .as_deref()
                    .or(settings.map(|key| key.name.as_str()));
                let entry = NewAuditEntry::new(&profile.id, action)
                    .profile_name(&profile.name)
                    .key(Some(&result.hash), name)
                    .before(settings.cloned().map(AuditValue::Key));
                match (&result.outcome, &result.error) {
                    (KeyOutcome::Failed, Some(error)) => NewAuditEntry {
                        failure: Some((error.kind.to_string(), error.message.clone())),
                        ..entry
                    },
                    _ if action == AuditAction::KeyDelete => entry,
                    _ => entry.after(after.get(&result.hash).cloned().map(AuditValue::Key)),
                }
            })
            .collect();
        entries.push(
            NewAuditEntry::new(&profile.id, summary_action)
                .profile_name(&profile.name)
                .after(AuditValue::Batch(BatchSummary {
                    id: report.run_id.clone(),
                    operation: report.operation.as_str().to_owned(),
                    selection,
                    total: report.total,
                    done: report.done,
                    failed: report.failed,
                    not_run: report.not_run,
                    cancelled: report.cancelled,
                })),
        );
        self.record_all(&entries);
    }
}
