//! The audit trail in the service: recording an entry for each change (called by every mutating
//! operation with its outcome), and listing, verifying and exporting the log.
//!
//! A failed append does not change the operation's result: the change already happened at
//! OpenRouter (or in the keychain), and turning its success into an error would make the person
//! retry it (a second key created, a secret shown never again). It is logged at `error` level and the
//! operation's result goes back as it was.

use super::Keyward;
use crate::Error;
use crate::api::ApiKey;
use crate::audit::{
    self, AuditAction, AuditEntry, AuditExportArgs, AuditExportFormat, AuditExported, AuditFilter,
    AuditPage, AuditValue, AuditVerification, KeySettings, NewAuditEntry, RotationChange,
};
use crate::rotation::{RotationAction, RotationStartArgs, RotationView};

impl Keyward {
    /// Appends `entry`; a failure is logged, never returned (see the module docs).
    pub(crate) fn record(&self, entry: NewAuditEntry) {
        let now = self.now();
        if let Err(error) = self.inner.store().append_audit(&entry, now) {
            tracing::error!(
                action = entry.action.as_str(),
                profile = %entry.profile_id,
                kind = %error.kind(),
                error = %error,
                "could not append to the audit log"
            );
        }
    }

    /// Appends many entries in one transaction (batch and emergency operations: one disk sync for
    /// the whole run); a failure is logged, never returned.
    #[allow(
        dead_code,
        reason = "for the batch and emergency operations, wired at integration"
    )]
    pub(crate) fn record_all(&self, entries: &[NewAuditEntry]) {
        let now = self.now();
        if let Err(error) = self.inner.store().append_audits(entries, now) {
            tracing::error!(
                count = entries.len(),
                kind = %error.kind(),
                error = %error,
                "could not append to the audit log"
            );
        }
    }

    /// Records `entry` with the outcome of `result` and hands the result back.
    pub(crate) fn audited<T>(
        &self,
        entry: NewAuditEntry,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        self.record(entry.outcome(&result));
        result
    }

    /// A key's settings as last cached (the "before" of a change), if it is cached.
    pub(crate) fn cached_settings(&self, profile_id: &str, key_hash: &str) -> Option<KeySettings> {
        self.inner
            .store()
            .cached_key::<ApiKey>(profile_id, key_hash)
            .ok()
            .flatten()
            .map(|cached| KeySettings::from(&cached.key))
    }

    /// Entries matching `filter`, newest first, a page at a time.
    pub fn audit_list(&self, filter: AuditFilter) -> Result<AuditPage, Error> {
        self.inner.store().audit_page(&filter)
    }

    /// Checks the whole chain: ok with the count, or the first broken entry.
    pub fn audit_verify(&self) -> Result<AuditVerification, Error> {
        audit::verify(&self.inner.store())
    }

    /// Every entry matching `filter` (no limit unless it names one), as CSV or JSON text.
    pub fn audit_export(
        &self,
        mut filter: AuditFilter,
        format: AuditExportFormat,
    ) -> Result<String, Error> {
        filter.limit = Some(filter.limit.unwrap_or(0));
        let entries: Vec<AuditEntry> = self.inner.store().audit_entries(&filter)?;
        audit::export(&entries, format)
    }

    /// Exports every entry matching `args.filter` to `path` (created 0600), for the app's save
    /// dialog; answers how many entries were written.
    pub fn audit_export_to(
        &self,
        path: &std::path::Path,
        args: AuditExportArgs,
    ) -> Result<AuditExported, Error> {
        let mut filter = args.filter;
        filter.limit = Some(filter.limit.unwrap_or(0));
        let entries: Vec<AuditEntry> = self.inner.store().audit_entries(&filter)?;
        audit::write_export_file(path, &audit::export(&entries, args.format)?)?;
        Ok(AuditExported {
            path: Some(path.display().to_string()),
            count: u32::try_from(entries.len()).unwrap_or(u32::MAX),
        })
    }

    // --- Rotations: what the runner's journal cannot record (refused before anything was saved) ---

    /// The entry recorded if a start is refused before the rotation is saved (a saved one is
    /// recorded by the runner's journal).
    pub(crate) fn refused_start(&self, args: &RotationStartArgs) -> NewAuditEntry {
        let name = self
            .cached_settings(&args.profile_id, &args.key_hash)
            .map(|key| key.name);
        NewAuditEntry::new(&args.profile_id, AuditAction::RotationStart)
            .key(Some(&args.key_hash), name.as_deref())
    }

    pub(crate) fn record_refused(
        &self,
        entry: NewAuditEntry,
        result: &Result<RotationView, Error>,
    ) {
        if let Err(error) = result {
            self.record(entry.failed(error));
        }
    }

    /// A key a batch could not start a rotation for (a view without an id) is a failed start.
    pub(crate) fn record_refused_batch(&self, views: &[RotationView]) {
        for view in views.iter().filter(|view| view.id.is_empty()) {
            let mut entry = NewAuditEntry::new(&view.profile_id, AuditAction::RotationStart)
                .key(Some(&view.old_key_hash), Some(&view.old_key_name));
            entry.failure = Some(view.error.as_ref().map_or_else(
                || {
                    (
                        "internal".to_owned(),
                        "the rotation could not start".to_owned(),
                    )
                },
                |error| (error.kind.to_string(), error.message.clone()),
            ));
            self.record(entry);
        }
    }

    /// A refused rotation action (not possible now, a lease held elsewhere…).
    pub(crate) fn record_refused_action(&self, id: &str, action: RotationAction, error: &Error) {
        let rotation = self.inner.store().rotation(id).ok().flatten();
        let mut entry = NewAuditEntry::new(
            rotation.as_ref().map_or("", |r| r.profile_id.as_str()),
            AuditAction::RotationAction,
        )
        .after(AuditValue::Rotation(RotationChange {
            rotation_id: id.to_owned(),
            status: rotation
                .as_ref()
                .map_or("unknown", |r| r.status.as_str())
                .to_owned(),
            action: Some(action.as_str().to_owned()),
            ..RotationChange::default()
        }))
        .failed(error);
        if let Some(rotation) = &rotation {
            entry = entry.key(Some(&rotation.old.hash), Some(&rotation.old.name));
        }
        self.record(entry);
    }
}
