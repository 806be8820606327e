//! A rotation's persisted state: the old and new key, the settings copied from the policy, each
//! step's record, the drain and rollback progress, and the outcomes the machine works with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::api::{ApiKey, LimitReset};
use crate::deploy::{DeployOutcome, DeployTarget};
use crate::rotation::{
    Attachment, NewExpiry, RotationPolicy, RotationStatus, RotationStepName, RotationStepStatus,
};

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
    pub(super) fn new(step: RotationStepName) -> Self {
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

    pub(in crate::rotation) fn is_finished(&self) -> bool {
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
    /// The new hash was taken off the lists the attach step added it to.
    #[serde(default)]
    pub attachments_removed: bool,
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
    /// What named the old key when the rotation started (guardrail, BYOK allowlists, log
    /// destinations): the attach step adds the new hash to each, the detach step removes the old
    /// one. Fixed at the start, so a resumed run carries the same list.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
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
    #[serde(deserialize_with = "steps_in_order")]
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
    /// The token the new key carries in its name until its secret is safe (`⟨kw:…⟩`, see
    /// [`crate::rotation::marked_key_name`]): after an interrupted create, only keys carrying it are
    /// this rotation's. `None` in rotations written before tokens existed.
    #[serde(default)]
    pub create_token: Option<String>,
    /// The store's version of this state as last read or written (0: never saved). Not part of the
    /// state: the store's `version` column, checked on every write so two processes never overwrite
    /// each other's progress.
    #[serde(skip)]
    pub version: i64,
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

/// Reads a rotation's steps in [`RotationStepName::ALL`]'s order, one record per step: a rotation
/// saved by a Keyward without the attach and detach steps gets them as skipped (it carried
/// nothing), so the machine's step indices hold for it too.
fn steps_in_order<'de, D>(deserializer: D) -> Result<Vec<StepRecord>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let saved = Vec::<StepRecord>::deserialize(deserializer)?;
    Ok(RotationStepName::ALL
        .into_iter()
        .map(|name| {
            saved
                .iter()
                .find(|record| record.step == name)
                .cloned()
                .unwrap_or_else(|| StepRecord {
                    status: RotationStepStatus::Skipped,
                    detail: Some(
                        "not part of rotations when this one started: nothing was carried"
                            .to_owned(),
                    ),
                    ..StepRecord::new(name)
                })
        })
        .collect())
}
