//! A rotation's transitions, as pure functions of (state, outcome, now): what runs next, how a step
//! ends, how the drain step reads the old key's usage. The service performs the effects and saves
//! every transition; the state is in `state`, the person's actions and the view in `actions`.

mod actions;
mod state;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::journal::JournalOutcome;
use super::{RotationStatus, RotationStepName, RotationStepStatus, new_expires_at};
use crate::AppError;
use crate::api::{CreateKeyRequest, LimitReset};
pub use state::{
    ActionEffect, CreateReconcile, DrainState, NewKey, Next, OldKey, RollbackState, Rotation,
    RotationSettings, StepOutcome, StepRecord,
};

// --- Naming, expiry, drain --------------------------------------------------------------------------

/// `"<old name> · rotated YYYY-MM-DD"`; a name that records an earlier rotation keeps only its base.
pub fn new_key_name(old_name: &str, today: NaiveDate) -> String {
    let base = old_name
        .split(" · rotated ")
        .next()
        .unwrap_or(old_name)
        .trim();
    let base = if base.is_empty() { "key" } else { base };
    format!("{base} · rotated {}", today.format("%Y-%m-%d"))
}

/// The token that marks a rotation's new key until its secret is safe: the first 12 letters and
/// digits of the rotation's id (a random UUID: 48 random bits).
pub fn create_token(rotation_id: &str) -> String {
    rotation_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `"<name> ⟨kw:<token>⟩"`: how a new key is named from its create until its secret is stored, so
/// that after a crash only keys carrying this rotation's token are taken for its own (a key of the
/// same name made by anyone else is never touched).
pub fn marked_key_name(name: &str, token: &str) -> String {
    format!("{name} \u{27e8}kw:{token}\u{27e9}")
}

/// Whether a key's name carries `token` (see [`marked_key_name`]).
pub fn carries_token(key_name: &str, token: &str) -> bool {
    !token.is_empty() && key_name.ends_with(&format!("\u{27e8}kw:{token}\u{27e9}"))
}

/// The drain step's reading of the old key at `now`: the new state, and whether it has been still
/// for the quiet period. The quiet clock starts when draining starts at the earliest (traffic must
/// have had the chance to move to the new key), restarts whenever usage or `last_used_at` moves, and
/// never goes back.
pub fn drain_observation(
    previous: Option<&DrainState>,
    usage: f64,
    last_used_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    quiet_period_secs: u32,
    check_interval: std::time::Duration,
) -> (DrainState, bool) {
    let (started_at, quiet_since, checks) = match previous {
        None => {
            let since = last_used_at.map_or(now, |used| used.max(now));
            (now, since.min(now), 0)
        }
        Some(previous) => {
            let usage_moved = (usage - previous.usage).abs() > 1e-9;
            let used_later = match (last_used_at, previous.last_used_at) {
                (Some(now_used), Some(before)) => now_used > before,
                (Some(_), None) => true,
                _ => false,
            };
            let since = if usage_moved || used_later {
                // Moved between the checks; without a timestamp, count from now (the safe side).
                match last_used_at {
                    Some(used) if used_later => used.max(previous.quiet_since).min(now),
                    _ => now,
                }
            } else {
                previous.quiet_since
            };
            (previous.started_at, since, previous.checks)
        }
    };
    let quiet_for = now - quiet_since;
    let needed = Duration::seconds(i64::from(quiet_period_secs));
    let drained = quiet_for >= needed;
    let remaining = (needed - quiet_for).max(Duration::seconds(1));
    let interval = Duration::from_std(check_interval).unwrap_or(Duration::seconds(60));
    let next_check_at = now + remaining.min(interval.max(Duration::milliseconds(1)));
    (
        DrainState {
            started_at,
            usage,
            last_used_at,
            quiet_since,
            next_check_at,
            checks: checks + 1,
        },
        drained,
    )
}

fn human_duration(secs: u32) -> String {
    match secs {
        0 => "0 s".to_owned(),
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn short_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

// --- The machine ----------------------------------------------------------------------------------

impl Rotation {
    pub fn new(
        id: String,
        profile_id: String,
        old: OldKey,
        settings: RotationSettings,
        now: DateTime<Utc>,
    ) -> Self {
        let id_for_token = id.clone();
        Rotation {
            id,
            profile_id,
            new_key_name: new_key_name(&old.name, now.date_naive()),
            old,
            settings,
            new_key: None,
            attachments: Vec::new(),
            create_window_start: None,
            create_in_doubt: false,
            deploy_in_doubt: false,
            secret_deployed: false,
            status: RotationStatus::Running,
            steps: RotationStepName::ALL
                .into_iter()
                .map(StepRecord::new)
                .collect(),
            drain: None,
            grace_until: None,
            error: None,
            detail: None,
            rolling_back: false,
            rollback: RollbackState::default(),
            started_at: now,
            updated_at: now,
            finished_at: None,
            create_token: Some(create_token(&id_for_token)),
            version: 0,
        }
    }

    /// The name the new key is created with: its final name marked with this rotation's token (the
    /// final name alone for rotations from before tokens).
    pub fn create_name(&self) -> String {
        match &self.create_token {
            Some(token) => marked_key_name(&self.new_key_name, token),
            None => self.new_key_name.clone(),
        }
    }

    pub fn step(&self, name: RotationStepName) -> &StepRecord {
        &self.steps[name.index()]
    }

    pub fn step_mut(&mut self, name: RotationStepName) -> &mut StepRecord {
        &mut self.steps[name.index()]
    }

    /// The first step not done or skipped; `None` when all are.
    pub fn current_step(&self) -> Option<RotationStepName> {
        self.steps
            .iter()
            .find(|step| !step.is_finished())
            .map(|step| step.step)
    }

    /// The backup name every deploy of this rotation uses (env file `<file>.keyward-backup-<it>`,
    /// keychain account `<account>.keyward-backup-<it>`). Fixed by the rotation's id, so it is known
    /// (and journaled with the deploy intent) before any write: a rollback can find the backup of a
    /// deploy that died before its outcome was saved, and a resumed deploy keeps the first backup.
    pub fn deploy_backup_suffix(&self) -> String {
        format!("rotation-{}", self.id)
    }

    /// Whether the new secret may be in use somewhere: deleting the new key would then break it.
    pub fn deployed(&self) -> bool {
        self.secret_deployed || self.deploy_in_doubt
    }

    /// Whether the old key may be disabled: its disable step ever started. Not its status alone: a
    /// rollback sets an interrupted step back to pending, and a failed or interrupted PATCH may still
    /// have reached the server; `attempts` is persisted and never goes back.
    pub fn old_key_touched(&self) -> bool {
        let disable = self.step(RotationStepName::DisableOld);
        disable.attempts > 0
            || matches!(
                disable.status,
                RotationStepStatus::Running | RotationStepStatus::Done
            )
    }

    /// Whether the old key may already be deleted (rolling back is then impossible).
    fn old_key_maybe_deleted(&self) -> bool {
        matches!(
            self.step(RotationStepName::DeleteOld).status,
            RotationStepStatus::Running | RotationStepStatus::Done | RotationStepStatus::Failed
        )
    }

    /// The request that creates the new key at `now`: the old key's limit, reset, BYOK setting and
    /// workspace; the expiry per policy. `keep_lifetime` gives the new key the old key's whole
    /// lifetime from now (not the old expiry itself: a key rotated before it expires would otherwise
    /// expire at the same moment and be due again at once).
    pub fn create_request(&self, now: DateTime<Utc>) -> CreateKeyRequest {
        let expires_at = new_expires_at(
            self.settings.new_expiry,
            self.old.created_at,
            self.old.expires_at,
            now,
        );
        CreateKeyRequest {
            name: self.create_name(),
            limit: self.old.limit,
            limit_reset: self
                .old
                .limit_reset
                .clone()
                .filter(|reset| !matches!(reset, LimitReset::Other(_))),
            include_byok_in_limit: Some(self.old.include_byok_in_limit),
            expires_at,
            workspace_id: self.old.workspace_id.clone(),
            creator_user_id: None,
        }
    }

    /// What to do next at `now`.
    pub fn next_move(&self, now: DateTime<Utc>) -> Next {
        if self.status.is_terminal() {
            return Next::Stop;
        }
        if self.status == RotationStatus::Failed {
            return Next::Stop;
        }
        if self.rolling_back {
            return Next::RollBack;
        }
        let Some(step) = self.current_step() else {
            return Next::Stop;
        };
        match self.step(step).status {
            RotationStepStatus::Pending | RotationStepStatus::Running => Next::Run(step),
            RotationStepStatus::Waiting => {
                let due = match step {
                    // No reading yet (the first check failed): check again on the next run.
                    RotationStepName::Drain => {
                        Some(self.drain.as_ref().map_or(now, |d| d.next_check_at))
                    }
                    RotationStepName::DeleteOld => self.grace_until,
                    _ => None,
                };
                match due {
                    Some(at) if at <= now => Next::Run(step),
                    other => Next::Wait(other),
                }
            }
            RotationStepStatus::Failed => Next::Stop,
            RotationStepStatus::Done | RotationStepStatus::Skipped => Next::Stop,
        }
    }

    /// Marks `step` running at `now` and returns the intent's facts for the journal: everything a
    /// resumed run needs (the create's name and time window, the targets, the hashes).
    pub fn begin_step(&mut self, step: RotationStepName, now: DateTime<Utc>) -> serde_json::Value {
        let record = self.step_mut(step);
        record.status = RotationStepStatus::Running;
        record.attempts += 1;
        record.started_at.get_or_insert(now);
        record.finished_at = None;
        let attempt = record.attempts;
        self.error = None;
        self.status = RotationStatus::Running;
        self.updated_at = now;
        let mut facts = serde_json::json!({ "attempt": attempt });
        match step {
            RotationStepName::Create => {
                let window_start = *self.create_window_start.get_or_insert(now);
                self.create_in_doubt = true;
                let request = self.create_request(now);
                facts["name"] = serde_json::json!(self.create_name());
                facts["token"] = serde_json::json!(self.create_token);
                facts["window_start"] = serde_json::json!(window_start);
                facts["limit"] = serde_json::json!(request.limit);
                facts["expires_at"] = serde_json::json!(request.expires_at);
            }
            RotationStepName::Deploy => {
                if !self.settings.targets.is_empty() {
                    self.deploy_in_doubt = true;
                }
                facts["targets"] = serde_json::json!(self.settings.targets);
                facts["backup_suffix"] = serde_json::json!(self.deploy_backup_suffix());
            }
            RotationStepName::Drain | RotationStepName::DisableOld => {
                facts["old_key_hash"] = serde_json::json!(self.old.hash);
            }
            RotationStepName::DeleteOld => {
                facts["old_key_hash"] = serde_json::json!(self.old.hash);
                facts["grace_until"] = serde_json::json!(self.grace_until);
            }
            RotationStepName::Attach => {
                facts["attachments"] = serde_json::json!(self.attachments);
            }
            RotationStepName::Detach => {
                facts["attachments"] = serde_json::json!(self.attachments);
                facts["old_key_hash"] = serde_json::json!(self.old.hash);
            }
            RotationStepName::StoreSecret | RotationStepName::Verify => {}
        }
        if let Some(new_key) = &self.new_key {
            facts["new_key_hash"] = serde_json::json!(new_key.hash);
        }
        facts
    }

    /// Records how `step` ended; returns the status word the journal's result row carries.
    pub fn finish_step(
        &mut self,
        step: RotationStepName,
        outcome: StepOutcome,
        now: DateTime<Utc>,
    ) -> JournalOutcome {
        self.updated_at = now;
        let word = match outcome {
            StepOutcome::Done(detail) => {
                let record = self.step_mut(step);
                record.status = RotationStepStatus::Done;
                record.detail = Some(detail);
                record.finished_at = Some(now);
                self.after_done(step, now);
                JournalOutcome::Done
            }
            StepOutcome::Skipped(detail) => {
                let record = self.step_mut(step);
                record.status = RotationStepStatus::Skipped;
                record.detail = Some(detail);
                record.finished_at = Some(now);
                JournalOutcome::Skipped
            }
            StepOutcome::Waiting(detail) => {
                let record = self.step_mut(step);
                record.status = RotationStepStatus::Waiting;
                record.detail = Some(detail);
                JournalOutcome::Waiting
            }
            StepOutcome::Failed { error, detail } => {
                let record = self.step_mut(step);
                record.status = RotationStepStatus::Failed;
                record.detail = Some(detail);
                record.finished_at = Some(now);
                self.error = Some(error);
                JournalOutcome::Failed
            }
            StepOutcome::Restart { from, detail } => {
                for name in RotationStepName::ALL {
                    if name.index() >= from.index() && name.index() <= step.index() {
                        let record = self.step_mut(name);
                        record.status = RotationStepStatus::Pending;
                        record.finished_at = None;
                        record.detail = None;
                    }
                }
                self.step_mut(from).detail = Some(detail.clone());
                self.detail = Some(detail);
                JournalOutcome::Restarted
            }
        };
        self.refresh_status(now);
        word
    }

    fn after_done(&mut self, step: RotationStepName, now: DateTime<Utc>) {
        match step {
            RotationStepName::Create => self.create_in_doubt = false,
            RotationStepName::Deploy => self.deploy_in_doubt = false,
            RotationStepName::DisableOld => {
                let grace = if self.settings.delete_at_once {
                    0
                } else {
                    self.settings.grace_period_secs
                };
                let until = now + Duration::seconds(i64::from(grace));
                self.grace_until = Some(until);
                if until > now {
                    let delete = self.step_mut(RotationStepName::DeleteOld);
                    delete.status = RotationStepStatus::Waiting;
                    delete.detail = Some(format!("grace period until {}", short_time(until)));
                }
            }
            _ => {}
        }
    }

    /// Derives the overall status from the steps (terminal states stay).
    fn refresh_status(&mut self, now: DateTime<Utc>) {
        if self.status.is_terminal() {
            return;
        }
        if self
            .steps
            .iter()
            .any(|s| s.status == RotationStepStatus::Failed)
        {
            self.status = RotationStatus::Failed;
            return;
        }
        match self.current_step() {
            None => {
                self.status = RotationStatus::Completed;
                self.finished_at = Some(now);
            }
            Some(step) if self.step(step).status == RotationStepStatus::Waiting => {
                self.status = RotationStatus::Waiting;
            }
            Some(_) => self.status = RotationStatus::Running,
        }
    }

    /// Ends a rollback: the rotation is over, the old key stays.
    pub fn finish_rollback(&mut self, detail: String, now: DateTime<Utc>) {
        self.rolling_back = false;
        self.status = RotationStatus::RolledBack;
        self.error = None;
        self.detail = Some(detail);
        self.finished_at = Some(now);
        self.updated_at = now;
        for step in &mut self.steps {
            if matches!(
                step.status,
                RotationStepStatus::Pending
                    | RotationStepStatus::Waiting
                    | RotationStepStatus::Running
            ) {
                step.status = RotationStepStatus::Skipped;
                step.detail = Some("not run: the rotation was rolled back".to_owned());
            }
        }
    }

    /// A rollback step failed; the person may retry it or abandon.
    pub fn fail_rollback(&mut self, error: AppError, detail: String, now: DateTime<Utc>) {
        self.status = RotationStatus::Failed;
        self.error = Some(error);
        self.detail = Some(detail);
        self.updated_at = now;
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
