//! A rotation's persisted state and its transitions, as pure functions of (state, outcome, now): what
//! runs next, which actions the person may take, how the drain step reads the old key's usage, and
//! what the journal must look like. The service performs the effects and saves every transition.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::journal::JournalOutcome;
use super::{
    DrainView, NewExpiry, RotationAction, RotationPolicy, RotationStatus, RotationStepName,
    RotationStepStatus, RotationStepView, RotationView,
};
use crate::AppError;
use crate::Error;
use crate::api::{ApiKey, CreateKeyRequest, LimitReset};
use crate::deploy::{DeployOutcome, DeployTarget};

/// The old key's settings, as read when the rotation started; the new key copies them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OldKey {
    pub hash: String,
    pub name: String,
    pub label: String,
    pub limit: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    pub include_byok_in_limit: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub workspace_id: Option<String>,
}

impl From<&ApiKey> for OldKey {
    fn from(key: &ApiKey) -> Self {
        OldKey {
            hash: key.hash.clone(),
            name: key.name.clone(),
            label: key.label.clone(),
            limit: key.limit,
            limit_reset: key.limit_reset.clone(),
            include_byok_in_limit: key.include_byok_in_limit,
            expires_at: key.expires_at,
            created_at: key.created_at,
            workspace_id: key.workspace_id.clone(),
        }
    }
}

/// The key the rotation created (never its secret: that is in the keychain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub hash: String,
    pub label: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// The parts of the policy a rotation runs with, copied when it starts (a policy edited meanwhile
/// does not change a running rotation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationSettings {
    pub targets: Vec<DeployTarget>,
    pub quiet_period_secs: u32,
    pub grace_period_secs: u32,
    pub new_expiry: NewExpiry,
    pub keep_new_secret: bool,
    pub delete_at_once: bool,
}

impl RotationSettings {
    pub fn from_policy(policy: &RotationPolicy, delete_at_once: bool) -> Self {
        RotationSettings {
            targets: policy.targets.clone(),
            quiet_period_secs: policy.quiet_period_secs,
            grace_period_secs: policy.grace_period_secs,
            new_expiry: policy.new_expiry,
            keep_new_secret: policy.keep_new_secret,
            delete_at_once,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: RotationStepName,
    pub status: RotationStepStatus,
    pub detail: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: u32,
    /// Deploy step only: the latest outcome of each target.
    pub deploy: Vec<DeployOutcome>,
}

impl StepRecord {
    fn new(step: RotationStepName) -> Self {
        StepRecord {
            step,
            status: RotationStepStatus::Pending,
            detail: None,
            started_at: None,
            finished_at: None,
            attempts: 0,
            deploy: Vec::new(),
        }
    }

    pub(super) fn is_finished(&self) -> bool {
        matches!(
            self.status,
            RotationStepStatus::Done | RotationStepStatus::Skipped
        )
    }
}

/// What the drain step has seen of the old key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainState {
    pub started_at: DateTime<Utc>,
    pub usage: f64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub quiet_since: DateTime<Utc>,
    pub next_check_at: DateTime<Utc>,
    pub checks: u32,
}

/// How far a rollback got (each part is done once, so a resumed rollback skips it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackState {
    pub create_reconciled: bool,
    pub old_key_reenabled: bool,
    pub deploys_undone: bool,
    pub new_key_deleted: bool,
    pub new_secret_released: bool,
}

/// The whole persisted state of one rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    pub id: String,
    pub profile_id: String,
    pub old: OldKey,
    pub new_key_name: String,
    pub settings: RotationSettings,
    pub new_key: Option<NewKey>,
    /// When the first create attempt was recorded: a key the server created for this rotation has a
    /// `created_at` after it (minus clock skew), which is how it is found after a crash.
    pub create_window_start: Option<DateTime<Utc>>,
    /// A create was attempted and its outcome is unknown: whether the server created a key must be
    /// found out (list + match) before anything else touches this rotation's new key.
    pub create_in_doubt: bool,
    /// A deploy started and its outcome was not recorded: the secret may be at any target.
    pub deploy_in_doubt: bool,
    /// Some target received the new secret (or the person said they put it in place).
    pub secret_deployed: bool,
    pub status: RotationStatus,
    pub steps: Vec<StepRecord>,
    pub drain: Option<DrainState>,
    pub grace_until: Option<DateTime<Utc>>,
    pub error: Option<AppError>,
    /// What happened that the steps don't say (interrupted and resumed, rolled back…).
    pub detail: Option<String>,
    pub rolling_back: bool,
    pub rollback: RollbackState,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    Done(String),
    Skipped(String),
    /// Not finished; the rotation waits (for a time, or for the person).
    Waiting(String),
    Failed {
        error: AppError,
        detail: String,
    },
    /// Start over from `from` (e.g. the new key's secret was lost before it was stored: the key was
    /// deleted and is created again).
    Restart {
        from: RotationStepName,
        detail: String,
    },
}

/// What the runner does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Run(RotationStepName),
    RollBack,
    /// Nothing to do before this time (`None`: until the person acts).
    Wait(Option<DateTime<Utc>>),
    /// Finished, or failed and waiting for the person.
    Stop,
}

/// How the person's action changes the state; `Err` when it is not possible now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionEffect {
    /// Saved; run the machine on.
    Advance,
    /// Saved; nothing more to run.
    Settled,
}

/// Where a reconciliation after an interrupted create got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateReconcile {
    /// Keys found on the server that this rotation's interrupted create made.
    pub found: Vec<String>,
    /// The one kept (its secret was already in the keychain).
    pub adopted: Option<String>,
    /// Deleted: nobody ever had their secret.
    pub deleted: Vec<String>,
}

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
        Rotation {
            id,
            profile_id,
            new_key_name: new_key_name(&old.name, now.date_naive()),
            old,
            settings,
            new_key: None,
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
        let expires_at = match self.settings.new_expiry {
            NewExpiry::Never => None,
            NewExpiry::Days(days) => now.checked_add_signed(Duration::days(i64::from(days))),
            NewExpiry::KeepLifetime => match (self.old.created_at, self.old.expires_at) {
                (Some(created), Some(expires)) if expires > created => {
                    now.checked_add_signed(expires - created)
                }
                (_, Some(expires)) if expires > now => Some(expires),
                _ => None,
            },
        };
        CreateKeyRequest {
            name: self.new_key_name.clone(),
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
                facts["name"] = serde_json::json!(self.new_key_name);
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

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
