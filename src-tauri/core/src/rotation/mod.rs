//! Zero-downtime key rotation as a persisted state machine: create the new key with the old key's
//! settings → hold its secret in the keychain → attach it to what named the old key (guardrail, BYOK
//! allowlists, log destinations) → deploy it → verify it (GET /key) → drain the old key → disable
//! the old key → after a grace period delete it → detach the old hash from those lists. This module holds the pure parts (the view
//! types, policies, when a rotation is due, the machine's transitions); `service::rotation` runs it.

mod attachments;
mod expiry;
mod hooks;
mod journal;
mod machine;
mod plan;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantNames};
use ts_rs::TS;

use crate::AppError;
use crate::Error;
use crate::api::ApiKey;
use crate::deploy::{DeployOutcome, DeployTarget};

pub use attachments::{Attachment, describe_all};
pub use expiry::{MAX_EXPIRY_DAYS, new_expires_at, parse_new_expiry, validate_new_expiry};
pub use hooks::{Boundary, EnvPauseHook, HookPoint, PAUSED_MARKER, RotationHooks};
pub use journal::{JournalEntry, JournalOutcome, JournalPhase, JournalStep, check_journal};
pub use machine::{
    ActionEffect, CreateReconcile, DrainState, NewKey, Next, OldKey, RollbackState, Rotation,
    RotationSettings, StepOutcome, StepRecord, carries_token, create_token, drain_observation,
    marked_key_name, new_key_name,
};
pub use plan::{PlannedRotation, RotationPlan, RotationPlanArgs, batch_plan};

/// Default quiet period of the drain step: the old key's usage must not move for this long.
pub const DEFAULT_QUIET_PERIOD_SECS: u32 = 900;
/// Default time between disabling and deleting the old key.
pub const DEFAULT_GRACE_PERIOD_SECS: u32 = 86_400;
/// Longest quiet or grace period a policy may ask for (30 days).
pub const MAX_PERIOD_SECS: u32 = 30 * 86_400;

// --- View types (cross to the UI) ------------------------------------------------------------------

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RotationStepName {
    Create,
    StoreSecret,
    /// Adds the new key's hash to every guardrail / BYOK / log destination list that named the old
    /// key, before its secret is deployed anywhere.
    Attach,
    Deploy,
    Verify,
    Drain,
    DisableOld,
    DeleteOld,
    /// Removes the old key's hash from those lists once the old key is deleted.
    Detach,
}

impl RotationStepName {
    /// Every step, in the order a rotation runs them.
    pub const ALL: [RotationStepName; 9] = [
        RotationStepName::Create,
        RotationStepName::StoreSecret,
        RotationStepName::Attach,
        RotationStepName::Deploy,
        RotationStepName::Verify,
        RotationStepName::Drain,
        RotationStepName::DisableOld,
        RotationStepName::DeleteOld,
        RotationStepName::Detach,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|step| *step == self)
            .unwrap_or_default()
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RotationStepStatus {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
    Waiting,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RotationStepView {
    pub step: RotationStepName,
    pub status: RotationStepStatus,
    pub detail: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Per target, for the deploy step (the latest outcome of each target).
    pub deploy: Vec<DeployOutcome>,
    /// How many times the step was started (retries and resumes after a crash included).
    pub attempts: u32,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RotationStatus {
    Running,
    Waiting,
    Failed,
    Completed,
    RolledBack,
    Abandoned,
}

impl RotationStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Finished for good: nothing more will happen to it.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RotationStatus::Completed | RotationStatus::RolledBack | RotationStatus::Abandoned
        )
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    Display,
    EnumString,
    IntoStaticStr,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RotationAction {
    /// Continue an interrupted rotation, or confirm the secret was put in place by hand (no targets).
    Resume,
    /// Run the failed step again.
    Retry,
    /// Stop watching the old key: the person says nothing uses it any more.
    ConfirmDrained,
    /// Delete the old key without waiting for the grace period.
    DeleteNow,
    /// Undo: the old key stays (re-enabled if it was disabled); the new key is deleted only if its
    /// secret was never deployed, otherwise both are kept.
    RollBack,
    /// Stop the rotation and leave every key and secret as it is.
    Abandon,
}

impl RotationAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What the drain step has seen of the old key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DrainView {
    pub last_used_at: Option<DateTime<Utc>>,
    /// The old key's lifetime usage (USD) at the latest check.
    pub usage: f64,
    /// Since when the old key has been still; `null` before the first check.
    pub quiet_since: Option<DateTime<Utc>>,
    pub quiet_period_secs: u32,
    /// When the old key is checked next.
    pub next_check_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RotationView {
    pub id: String,
    pub profile_id: String,
    pub old_key_hash: String,
    pub old_key_name: String,
    pub new_key_hash: Option<String>,
    pub new_key_name: String,
    /// The new key's masked label, once created.
    pub new_key_label: Option<String>,
    pub status: RotationStatus,
    /// The step the rotation is at (the first not done); `null` once finished.
    pub current_step: Option<RotationStepName>,
    pub steps: Vec<RotationStepView>,
    /// What the rotation waits for, in a sentence.
    pub waiting_for: Option<String>,
    /// Why it stopped (failed) or what happened (rolled back, interrupted and resumed…).
    pub detail: Option<String>,
    pub error: Option<AppError>,
    pub actions: Vec<RotationAction>,
    pub drain: Option<DrainView>,
    pub grace_until: Option<DateTime<Utc>>,
    /// Whether the new secret may be in use somewhere (a deploy reached a target, or was interrupted).
    pub secret_deployed: bool,
    /// Finished for good (completed, rolled back or abandoned): `status.is_terminal()`.
    pub finished: bool,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The new key's expiry: `"keep_lifetime"` (as long as the old key was created to live, counted from
/// the rotation; none if the old key never expires), `"none"`, `{ "days": N }` from the rotation, or
/// `{ "at": "2027-01-31T00:00:00Z" }` (one rotation only: "extend expiry"; a policy can't hold a
/// fixed date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(into = "NewExpiryWire", try_from = "NewExpiryWire")]
#[ts(type = "\"keep_lifetime\" | \"none\" | { days: number } | { at: string }")]
pub enum NewExpiry {
    #[default]
    KeepLifetime,
    Never,
    Days(u32),
    At(DateTime<Utc>),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum NewExpiryWire {
    Named(String),
    Days { days: u32 },
    At { at: DateTime<Utc> },
}

impl From<NewExpiry> for NewExpiryWire {
    fn from(expiry: NewExpiry) -> Self {
        match expiry {
            NewExpiry::KeepLifetime => NewExpiryWire::Named("keep_lifetime".to_owned()),
            NewExpiry::Never => NewExpiryWire::Named("none".to_owned()),
            NewExpiry::Days(days) => NewExpiryWire::Days { days },
            NewExpiry::At(at) => NewExpiryWire::At { at },
        }
    }
}

impl TryFrom<NewExpiryWire> for NewExpiry {
    type Error = String;

    fn try_from(wire: NewExpiryWire) -> Result<Self, String> {
        match wire {
            NewExpiryWire::Named(name) if name == "keep_lifetime" => Ok(NewExpiry::KeepLifetime),
            NewExpiryWire::Named(name) if name == "none" => Ok(NewExpiry::Never),
            NewExpiryWire::Named(other) => Err(format!(
                "new_expiry must be \"keep_lifetime\", \"none\" or {{\"days\": N}}, not {other:?}"
            )),
            NewExpiryWire::Days { days } => Ok(NewExpiry::Days(days)),
            NewExpiryWire::At { at } => Ok(NewExpiry::At(at)),
        }
    }
}

/// How and when one key is rotated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RotationPolicy {
    pub profile_id: String,
    pub key_hash: String,
    /// Rotate this many days after the key was created (or last rotated).
    pub every_days: Option<u32>,
    /// Rotate this many days before the key expires.
    pub before_expiry_days: Option<u32>,
    /// Start the rotation by itself when due (needs at least one deploy target).
    pub auto_rotate: bool,
    pub targets: Vec<DeployTarget>,
    pub quiet_period_secs: u32,
    pub grace_period_secs: u32,
    pub new_expiry: NewExpiry,
    /// Keep the new secret in the keychain once the rotation completes (otherwise it is removed
    /// when a durable target — not only the clipboard — received it).
    #[serde(default)]
    pub keep_new_secret: bool,
}

impl RotationPolicy {
    /// The policy of a key nobody configured: no schedule, no targets, the default periods.
    pub fn default_for(profile_id: &str, key_hash: &str) -> Self {
        RotationPolicy {
            profile_id: profile_id.to_owned(),
            key_hash: key_hash.to_owned(),
            every_days: None,
            before_expiry_days: None,
            auto_rotate: false,
            targets: Vec::new(),
            quiet_period_secs: DEFAULT_QUIET_PERIOD_SECS,
            grace_period_secs: DEFAULT_GRACE_PERIOD_SECS,
            new_expiry: NewExpiry::KeepLifetime,
            keep_new_secret: false,
        }
    }

    /// `InvalidInput` naming the field at fault (`targets[1].path`, `every_days`, …): the first of
    /// [`RotationPolicy::problems`].
    pub fn validate(&self) -> Result<(), Error> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationStartArgs {
    pub profile_id: String,
    pub key_hash: String,
    /// Delete the old key as soon as it is disabled (no grace period).
    pub delete_at_once: bool,
    /// The new key's expiry for this rotation instead of the policy's ("extend expiry": the API
    /// can't change `expires_at`, so a longer life is a new key). Checked before anything is sent.
    #[serde(default)]
    #[ts(optional)]
    pub new_expiry: Option<NewExpiry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationBatchArgs {
    pub profile_id: String,
    /// `*` matches any run of characters, `?` one; case-sensitive, whole name (e.g. `prod-*`).
    pub name_pattern: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationActionArgs {
    pub id: String,
    pub action: RotationAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationsListArgs {
    /// `null`: every profile.
    pub profile_id: Option<String>,
    pub active_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationKeyArgs {
    pub profile_id: String,
    pub key_hash: String,
}

/// `rotation-changed` event payload is the [`RotationView`] itself.
pub type RotationChangedEvent = RotationView;

// --- Pure rules ----------------------------------------------------------------------------------

/// When `key` is next due for rotation under `policy`: `every_days` after the later of its creation
/// and its last rotation, or `before_expiry_days` before it expires, whichever comes first. `None`
/// when the policy has no schedule (or the key no date to count from).
pub fn rotation_due_at(
    policy: &RotationPolicy,
    key: &ApiKey,
    last_rotation: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let by_age = policy.every_days.and_then(|days| {
        let base = match (key.created_at, last_rotation) {
            (Some(created), Some(rotated)) => created.max(rotated),
            (created, rotated) => created.or(rotated)?,
        };
        base.checked_add_signed(Duration::days(i64::from(days)))
    });
    let by_expiry = policy.before_expiry_days.and_then(|days| {
        key.expires_at?
            .checked_sub_signed(Duration::days(i64::from(days)))
    });
    match (by_age, by_expiry) {
        (Some(age), Some(expiry)) => Some(age.min(expiry)),
        (age, expiry) => age.or(expiry),
    }
}

/// Whether `name` matches `pattern` as a whole: `*` is any run of characters (also none), `?` exactly
/// one character; everything else matches itself. Backtracks only on the last `*`, so it is linear-ish
/// for the short names keys have.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some('?') => {
                p += 1;
                n += 1;
            }
            Some(c) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(created: &str, expires: Option<&str>) -> ApiKey {
        serde_json::from_value(serde_json::json!({
            "hash": "h", "name": "k", "label": "sk-or-v1-abc...def", "disabled": false,
            "limit": null, "limit_remaining": null, "limit_reset": null, "usage": 0.0,
            "usage_daily": 0.0, "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
            "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
            "created_at": created, "expires_at": expires,
        }))
        .unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn due_by_age_counts_from_the_later_of_creation_and_last_rotation() {
        let mut policy = RotationPolicy::default_for("p", "h");
        let k = key("2026-01-01T00:00:00Z", None);
        assert_eq!(rotation_due_at(&policy, &k, None), None);
        policy.every_days = Some(30);
        assert_eq!(
            rotation_due_at(&policy, &k, None),
            Some(at("2026-01-31T00:00:00Z"))
        );
        assert_eq!(
            rotation_due_at(&policy, &k, Some(at("2026-02-10T00:00:00Z"))),
            Some(at("2026-03-12T00:00:00Z"))
        );
        // A rotation older than the key (it created the key) does not move the date back.
        assert_eq!(
            rotation_due_at(&policy, &k, Some(at("2025-12-01T00:00:00Z"))),
            Some(at("2026-01-31T00:00:00Z"))
        );
    }

    #[test]
    fn due_before_expiry_and_the_earlier_of_both() {
        let mut policy = RotationPolicy::default_for("p", "h");
        policy.before_expiry_days = Some(7);
        let never = key("2026-01-01T00:00:00Z", None);
        assert_eq!(rotation_due_at(&policy, &never, None), None);
        let expiring = key("2026-01-01T00:00:00Z", Some("2026-03-01T00:00:00Z"));
        assert_eq!(
            rotation_due_at(&policy, &expiring, None),
            Some(at("2026-02-22T00:00:00Z"))
        );
        policy.every_days = Some(10);
        assert_eq!(
            rotation_due_at(&policy, &expiring, None),
            Some(at("2026-01-11T00:00:00Z"))
        );
        policy.every_days = Some(100);
        assert_eq!(
            rotation_due_at(&policy, &expiring, None),
            Some(at("2026-02-22T00:00:00Z"))
        );
    }

    #[test]
    fn glob_matches_whole_names() {
        assert!(name_matches("prod-*", "prod-api"));
        assert!(name_matches("prod-*", "prod-"));
        assert!(!name_matches("prod-*", "staging-prod-api"));
        assert!(name_matches("*-api", "prod-api"));
        assert!(name_matches("p?od-*-v?", "prod-eu-api-v2"));
        assert!(!name_matches("p?od", "pod"));
        assert!(name_matches("*", ""));
        assert!(name_matches("a*b*c", "aXXbYYbc"));
        assert!(!name_matches("a*b*c", "aXXbYYb"));
        assert!(name_matches("exact", "exact"));
        assert!(!name_matches("exact", "Exact"));
        assert!(name_matches("ünï*", "ünïcode"));
    }

    #[test]
    fn new_expiry_wire_format() {
        for (value, json) in [
            (NewExpiry::KeepLifetime, serde_json::json!("keep_lifetime")),
            (NewExpiry::Never, serde_json::json!("none")),
            (NewExpiry::Days(30), serde_json::json!({"days": 30})),
            (
                NewExpiry::At("2027-01-31T00:00:00Z".parse().unwrap()),
                serde_json::json!({"at": "2027-01-31T00:00:00Z"}),
            ),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), json);
            assert_eq!(serde_json::from_value::<NewExpiry>(json).unwrap(), value);
        }
        assert!(serde_json::from_value::<NewExpiry>(serde_json::json!("forever")).is_err());
    }

    #[test]
    fn policy_validation_names_the_field() {
        let mut policy = RotationPolicy::default_for("p", "h");
        policy.validate().unwrap();
        policy.every_days = Some(0);
        assert_eq!(field_of(policy.validate()), "every_days");
        policy.every_days = Some(30);
        policy.auto_rotate = true;
        assert_eq!(field_of(policy.validate()), "auto_rotate");
        policy.targets = vec![DeployTarget::EnvFile {
            path: "/tmp/x.env".into(),
            variable: "1BAD".into(),
        }];
        assert_eq!(field_of(policy.validate()), "targets[0].variable");
        policy.targets = vec![DeployTarget::EnvFile {
            path: "/tmp/x.env".into(),
            variable: "OPENROUTER_API_KEY".into(),
        }];
        policy.validate().unwrap();
        policy.grace_period_secs = MAX_PERIOD_SECS + 1;
        assert_eq!(field_of(policy.validate()), "grace_period_secs");
    }

    fn field_of(result: Result<(), Error>) -> String {
        match result {
            Err(Error::InvalidInput {
                field: Some(field), ..
            }) => field,
            other => panic!("{other:?}"),
        }
    }
}
