//! The CSV flows through the service: export a profile's key labels, preview then apply a labels
//! import, preview then run a bulk key creation (row by row, 429s waited out, progress, cancel, a
//! result per row). Each change goes through one function ([`Keyward::apply_label_change`],
//! [`Keyward::create_planned_key`]) so an audit call can be added in one place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Keyward;
use crate::audit::{AuditAction, AuditValue, NewAuditEntry};
use crate::csv_io::{self, CsvTable};
use crate::ipc::{
    CsvProblemKind, KeyMetadataSetArgs, KeyRow, KeysCsvPreview, KeysCsvProgress, KeysCsvRowOutcome,
    KeysCsvRowResult, KeysCsvRun, KeysListArgs, LabelChange, LabelsImportPreview,
    LabelsImportResult, PlannedKey,
};
use crate::{AppError, Error};

/// A 429 without a wait: try again after this.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// Longest wait honoured for one 429 (a longer one is waited in this many steps).
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// 429s in a row on one row before the row is reported failed.
const MAX_RATE_LIMITED_ATTEMPTS: u32 = 30;

/// What a bulk-create run is asked to do besides the file.
#[derive(Debug, Clone, Default)]
pub struct KeysCsvRunOptions {
    /// Only these rows (line numbers), e.g. the failed ones of an earlier run; `None` = every row.
    pub only_rows: Option<Vec<u32>>,
}

impl Keyward {
    /// Every key of the profile as they are cached (all workspaces, disabled and expired too).
    async fn cached_rows(&self, profile_id: &str, refresh: bool) -> Result<Vec<KeyRow>, Error> {
        let snapshot = self
            .keys_list(KeysListArgs {
                profile_id: profile_id.to_owned(),
                include_disabled: true,
                include_expired: true,
                refresh,
            })
            .await?;
        Ok(snapshot.keys)
    }

    /// The labels CSV of a profile's keys (`refresh`: list them from OpenRouter first).
    pub async fn labels_export(&self, profile_id: &str, refresh: bool) -> Result<String, Error> {
        let profile = self.require_profile(profile_id)?;
        let keys = self.cached_rows(&profile.id, refresh).await?;
        let workspaces = self.inner.workspaces.get(&profile.id).unwrap_or_default();
        csv_io::export_labels(&keys, &workspaces)
    }

    /// What importing the labels file `bytes` would change; nothing is applied.
    pub async fn labels_import_preview(
        &self,
        profile_id: &str,
        bytes: &[u8],
    ) -> Result<LabelsImportPreview, Error> {
        let table = csv_io::read_table(bytes)?;
        let profile = self.require_profile(profile_id)?;
        let keys = self.cached_rows(&profile.id, false).await?;
        csv_io::preview_labels(&table, &keys)
    }

    /// Applies a labels file. With problems in the preview nothing is applied unless `valid_only`
    /// (then the rows without problems are).
    pub async fn labels_import_apply(
        &self,
        profile_id: &str,
        bytes: &[u8],
        valid_only: bool,
    ) -> Result<LabelsImportResult, Error> {
        let preview = self.labels_import_preview(profile_id, bytes).await?;
        if !preview.problems.is_empty() && !valid_only {
            return Err(Error::invalid(
                "file",
                format!(
                    "{} row(s) have problems; nothing was applied (fix them, or apply only the valid rows)",
                    problem_rows(&preview.problems).len()
                ),
            ));
        }
        let mut applied = Vec::new();
        for change in preview.changes {
            self.apply_label_change(profile_id, &change).await?;
            applied.push(change);
        }
        if !applied.is_empty() {
            self.emit_keys_changed(profile_id);
        }
        Ok(LabelsImportResult {
            applied,
            skipped_rows: problem_rows(&preview.problems),
        })
    }

    /// One key's labels as an import sets them.
    async fn apply_label_change(
        &self,
        profile_id: &str,
        change: &LabelChange,
    ) -> Result<(), Error> {
        let entry = NewAuditEntry::new(profile_id, AuditAction::Import)
            .key(Some(&change.hash), Some(&change.name))
            .before(AuditValue::Labels(change.from.clone()))
            .after(AuditValue::Labels(change.to.clone()));
        let (profile_id, hash, to) = (
            profile_id.to_owned(),
            change.hash.clone(),
            change.to.clone(),
        );
        let result = self
            .blocking(move |inner| inner.store().set_key_metadata(&profile_id, &hash, &to))
            .await;
        self.audited(entry, result)
    }

    /// What the bulk-create file `bytes` would create, checked against the cached key list (a run
    /// checks again against a fresh one); nothing is sent.
    pub async fn keys_csv_preview(
        &self,
        profile_id: &str,
        bytes: &[u8],
    ) -> Result<KeysCsvPreview, Error> {
        let table = csv_io::read_table(bytes)?;
        let profile = self.require_profile(profile_id)?;
        let keys = self.cached_rows(&profile.id, false).await?;
        let names = keys
            .iter()
            .map(|row| (row.key.name.trim().to_owned(), row.key.hash.clone()))
            .collect();
        self.plan_keys(&table, &profile.id, &names)
    }

    fn plan_keys(
        &self,
        table: &CsvTable,
        profile_id: &str,
        names: &HashMap<String, String>,
    ) -> Result<KeysCsvPreview, Error> {
        let workspaces = self.inner.workspaces.get(profile_id).unwrap_or_default();
        csv_io::plan_creation(table, profile_id, &workspaces, names, |args| {
            self.create_errors(args)
        })
    }

    /// Creates the keys of a bulk-create file, one row after another. First the profile's keys are
    /// listed from OpenRouter: a row whose name now exists is reported `exists` and not sent again
    /// (a re-run or a retry of failed rows never creates a key twice). Any other problem in the
    /// chosen rows refuses the run before anything is sent. A 429 is waited out, not a failure.
    /// Each new secret goes to the keychain as pending (`key_create`); if the keychain refuses one,
    /// the run stops with that secret in its row (its only copy). `cancel` stops before the next row.
    pub async fn keys_csv_create(
        &self,
        profile_id: &str,
        bytes: &[u8],
        options: KeysCsvRunOptions,
        progress: &(dyn Fn(KeysCsvProgress) + Send + Sync),
        cancel: &AtomicBool,
    ) -> Result<KeysCsvRun, Error> {
        let table = csv_io::read_table(bytes)?;
        let profile = self.require_profile(profile_id)?;
        let client = self.client_for(&profile).await?;
        let listed = loop {
            match self.list_profile_keys(&client, &profile).await {
                Ok(keys) => break keys,
                Err(Error::RateLimited { retry_after, .. }) => {
                    if !wait_out(retry_after, cancel).await {
                        return Err(Error::invalid(
                            "file",
                            "cancelled before any key was created",
                        ));
                    }
                }
                Err(error) => return Err(error),
            }
        };
        let names: HashMap<String, String> = listed
            .iter()
            .map(|key| (key.name.trim().to_owned(), key.hash.clone()))
            .collect();
        let wanted = |row: u32| {
            options
                .only_rows
                .as_ref()
                .is_none_or(|rows| rows.contains(&row))
        };
        let plan = self.plan_keys(&table, &profile.id, &names)?;
        let mut outcomes: Vec<KeysCsvRowOutcome> = Vec::new();
        let mut blocking = Vec::new();
        for problem in plan.problems.iter().filter(|p| wanted(p.row)) {
            if problem.kind == CsvProblemKind::Exists {
                let name = table
                    .rows
                    .iter()
                    .find(|r| r.row == problem.row)
                    .map(|r| r.cell(table.column(&["name"])).to_owned())
                    .unwrap_or_default();
                let hash = names.get(&name).cloned().unwrap_or_default();
                outcomes.push(KeysCsvRowOutcome {
                    row: problem.row,
                    name,
                    result: KeysCsvRowResult::Exists { hash },
                });
            } else {
                blocking.push(problem.row);
            }
        }
        if !blocking.is_empty() {
            blocking.dedup();
            return Err(Error::invalid(
                "file",
                format!(
                    "row(s) {} have problems; nothing was sent (preview the file to see them)",
                    join_rows(&blocking)
                ),
            ));
        }
        let keys: Vec<PlannedKey> = plan.keys.into_iter().filter(|k| wanted(k.row)).collect();
        let total = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        let mut done = 0;
        let mut stopped = false;
        let mut cancelled = false;
        for planned in keys {
            if stopped || cancel.load(Ordering::SeqCst) {
                cancelled |= !stopped;
                outcomes.push(outcome(&planned, KeysCsvRowResult::NotRun));
                continue;
            }
            let result = self
                .create_planned_key(&profile.id, &planned, progress, done, total, cancel)
                .await;
            stopped = matches!(result, KeysCsvRowResult::CreatedSecretNotSaved { .. });
            done += 1;
            progress(KeysCsvProgress {
                done,
                total,
                row: planned.row,
                name: planned.name.clone(),
                waiting_ms: None,
            });
            outcomes.push(outcome(&planned, result));
        }
        outcomes.sort_by_key(|o| o.row);
        let count = |f: fn(&KeysCsvRowResult) -> bool| {
            u32::try_from(outcomes.iter().filter(|o| f(&o.result)).count()).unwrap_or(u32::MAX)
        };
        Ok(KeysCsvRun {
            created: count(|r| {
                matches!(
                    r,
                    KeysCsvRowResult::Created { .. }
                        | KeysCsvRowResult::CreatedSecretNotSaved { .. }
                )
            }),
            failed: count(|r| matches!(r, KeysCsvRowResult::Failed { .. })),
            not_run: count(|r| matches!(r, KeysCsvRowResult::NotRun)),
            cancelled,
            outcomes,
        })
    }

    /// Creates one planned key (waiting out 429s), then sets its labels.
    async fn create_planned_key(
        &self,
        profile_id: &str,
        planned: &PlannedKey,
        progress: &(dyn Fn(KeysCsvProgress) + Send + Sync),
        done: u32,
        total: u32,
        cancel: &AtomicBool,
    ) -> KeysCsvRowResult {
        let mut attempts = 0;
        let created = loop {
            match self.key_create(planned.create_args(profile_id)).await {
                Ok(created) => break created,
                Err(Error::RateLimited { retry_after, .. })
                    if attempts < MAX_RATE_LIMITED_ATTEMPTS =>
                {
                    // A 429 is answered before any work: sending the row again can't duplicate it.
                    attempts += 1;
                    let wait = retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
                    progress(KeysCsvProgress {
                        done,
                        total,
                        row: planned.row,
                        name: planned.name.clone(),
                        waiting_ms: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                    });
                    if !wait_out(retry_after, cancel).await {
                        return KeysCsvRowResult::NotRun;
                    }
                }
                Err(error) => {
                    // The failures after which the request may have landed (the client marks
                    // them "may have been created"); a 4xx or a refused connection did nothing.
                    let may_exist = matches!(
                        error,
                        Error::Server { .. }
                            | Error::Network { .. }
                            | Error::Timeout { .. }
                            | Error::Decode { .. }
                    );
                    tracing::warn!(profile = %profile_id, row = planned.row, kind = %error.kind(), "bulk create: a row failed");
                    return KeysCsvRowResult::Failed {
                        error: AppError::from(&error),
                        may_exist,
                    };
                }
            }
        };
        let hash = created.key.key.hash.clone();
        if let Some(error) = created.keychain_error {
            return KeysCsvRowResult::CreatedSecretNotSaved {
                hash,
                secret: crate::ipc::ShownSecret::new(created.secret),
                error,
            };
        }
        drop(created.secret);
        let metadata_error = if planned.metadata.is_empty() {
            None
        } else {
            self.key_metadata_set(KeyMetadataSetArgs {
                profile_id: profile_id.to_owned(),
                hash: hash.clone(),
                metadata: planned.metadata.clone(),
            })
            .await
            .err()
            .map(|error| error.to_string())
        };
        KeysCsvRowResult::Created {
            hash,
            metadata_error,
        }
    }
}

fn outcome(planned: &PlannedKey, result: KeysCsvRowResult) -> KeysCsvRowOutcome {
    KeysCsvRowOutcome {
        row: planned.row,
        name: planned.name.clone(),
        result,
    }
}

/// Sleeps the wait a 429 asked for (bounded), in short steps so a cancel is seen; false = cancelled.
async fn wait_out(retry_after: Option<Duration>, cancel: &AtomicBool) -> bool {
    let mut left = retry_after
        .unwrap_or(DEFAULT_RATE_LIMIT_WAIT)
        .min(MAX_RATE_LIMIT_WAIT);
    let step = Duration::from_millis(50);
    while !left.is_zero() {
        if cancel.load(Ordering::SeqCst) {
            return false;
        }
        let now = left.min(step);
        tokio::time::sleep(now).await;
        left -= now;
    }
    !cancel.load(Ordering::SeqCst)
}

fn problem_rows(problems: &[crate::ipc::CsvRowProblem]) -> Vec<u32> {
    let mut rows: Vec<u32> = problems.iter().map(|p| p.row).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

fn join_rows(rows: &[u32]) -> String {
    rows.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
