//! The rotation rules the UI asks for instead of writing them again: every problem of a policy at
//! once (`rotation_policy_validate`), and what a rotation would do before it starts — what the new
//! key of one key gets (name, workspace, limit, expiry, attachments, deploy targets), the keys a
//! batch pattern selects (`rotation_plan`, `rotation_batch_plan`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{
    Attachment, MAX_EXPIRY_DAYS, MAX_PERIOD_SECS, NewExpiry, RotationPolicy, name_matches,
    new_expires_at, new_key_name,
};
use crate::Error;
use crate::api::{ApiKey, LimitReset};
use crate::deploy::{DeployTarget, validate_target};

/// Which key to plan a rotation for, and the expiry it would get instead of the policy's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationPlanArgs {
    pub profile_id: String,
    pub key_hash: String,
    #[serde(default)]
    #[ts(optional)]
    pub new_expiry: Option<NewExpiry>,
}

/// What rotating one key will do, before it starts: what the new key gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RotationPlan {
    /// The key's policy (the defaults if it has none).
    pub policy: RotationPolicy,
    /// The name the new key gets ("prod-api · rotated 2026-11-23").
    pub new_key_name: String,
    /// The workspace the new key is created in: the old key's (`null`: the default workspace).
    pub workspace_id: Option<String>,
    pub limit: Option<f64>,
    pub limit_reset: Option<LimitReset>,
    pub include_byok_in_limit: bool,
    /// The expiry rule used (this rotation's override, else the policy's).
    pub new_expiry: NewExpiry,
    /// The new key's expiry if the rotation started now (`null`: never expires).
    pub expires_at: Option<DateTime<Utc>>,
    /// The old key's expiry, for comparison.
    pub old_expires_at: Option<DateTime<Utc>>,
    /// The guardrail, BYOK allowlists and log destinations that will gain the new hash (and lose
    /// the old one once the old key is deleted).
    pub attachments: Vec<Attachment>,
    /// Where the new secret goes (the policy's targets; empty: the person puts it in place).
    pub targets: Vec<DeployTarget>,
}

impl RotationPlan {
    /// The plan for `key` at `now` under `policy`, with `new_expiry` instead of the policy's rule.
    pub fn for_key(
        key: &ApiKey,
        policy: RotationPolicy,
        new_expiry: Option<NewExpiry>,
        attachments: Vec<Attachment>,
        now: DateTime<Utc>,
    ) -> Self {
        let new_expiry = new_expiry.unwrap_or(policy.new_expiry);
        RotationPlan {
            new_key_name: new_key_name(&key.name, now.date_naive()),
            workspace_id: key.workspace_id.clone(),
            limit: key.limit,
            limit_reset: key
                .limit_reset
                .clone()
                .filter(|reset| !matches!(reset, LimitReset::Other(_))),
            include_byok_in_limit: key.include_byok_in_limit,
            new_expiry,
            expires_at: new_expires_at(new_expiry, key.created_at, key.expires_at, now),
            old_expires_at: key.expires_at,
            attachments,
            targets: policy.targets.clone(),
            policy,
        }
    }
}

/// A key a batch pattern selects, as the key list last showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PlannedRotation {
    pub key_hash: String,
    pub old_key_name: String,
    pub new_key_name: String,
}

impl RotationPolicy {
    /// Every rule the policy breaks, in the order of the policy's fields; each `InvalidInput` names
    /// its field (`every_days`, `targets[1].path`, …). Empty: valid.
    pub fn problems(&self) -> Vec<Error> {
        let mut problems = Vec::new();
        if self.every_days == Some(0) {
            problems.push(Error::invalid("every_days", "must be at least 1 day"));
        }
        if self.before_expiry_days == Some(0) {
            problems.push(Error::invalid(
                "before_expiry_days",
                "must be at least 1 day",
            ));
        }
        match self.new_expiry {
            NewExpiry::Days(0) => {
                problems.push(Error::invalid("new_expiry", "must be at least 1 day"));
            }
            NewExpiry::Days(days) if days > MAX_EXPIRY_DAYS => problems.push(Error::invalid(
                "new_expiry",
                format!("must be at most {MAX_EXPIRY_DAYS} days"),
            )),
            NewExpiry::At(_) => problems.push(Error::invalid(
                "new_expiry",
                "a fixed date belongs to one rotation (extend expiry), not to a policy that \
                 rotates again and again",
            )),
            _ => {}
        }
        for (field, value) in [
            ("quiet_period_secs", self.quiet_period_secs),
            ("grace_period_secs", self.grace_period_secs),
        ] {
            if value > MAX_PERIOD_SECS {
                problems.push(Error::invalid(
                    field,
                    format!("must be at most {MAX_PERIOD_SECS} s (30 days)"),
                ));
            }
        }
        if self.auto_rotate && self.targets.is_empty() {
            problems.push(Error::invalid(
                "auto_rotate",
                "needs at least one deploy target: a rotation nobody watches must put the new \
                 secret somewhere by itself",
            ));
        } else if self.auto_rotate && self.every_days.is_none() && self.before_expiry_days.is_none()
        {
            problems.push(Error::invalid(
                "auto_rotate",
                "needs a schedule: set every_days or before_expiry_days",
            ));
        }
        for (index, target) in self.targets.iter().enumerate() {
            if let Err(error) = validate_target(target) {
                problems.push(match error {
                    Error::InvalidInput { field, message } => Error::InvalidInput {
                        field: Some(match field {
                            Some(field) => format!("targets[{index}].{field}"),
                            None => format!("targets[{index}]"),
                        }),
                        message,
                    },
                    other => other,
                });
            }
        }
        problems
    }
}

/// The keys of `keys` whose whole name matches `pattern` (trimmed; blank selects none), in the
/// list's order, with the name each new key gets on `today`.
pub fn batch_plan(pattern: &str, keys: &[ApiKey], today: NaiveDate) -> Vec<PlannedRotation> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Vec::new();
    }
    keys.iter()
        .filter(|key| name_matches(pattern, &key.name))
        .map(|key| PlannedRotation {
            key_hash: key.hash.clone(),
            old_key_name: key.name.clone(),
            new_key_name: new_key_name(&key.name, today),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::DeployTarget;

    fn field(error: &Error) -> &str {
        match error {
            Error::InvalidInput {
                field: Some(field), ..
            } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn problems_lists_every_broken_rule_by_field() {
        let mut policy = RotationPolicy::default_for("p", "h");
        assert!(policy.problems().is_empty());
        policy.every_days = Some(0);
        policy.grace_period_secs = MAX_PERIOD_SECS + 1;
        policy.auto_rotate = true;
        policy.targets = vec![
            DeployTarget::Clipboard,
            DeployTarget::EnvFile {
                path: "relative/.env".into(),
                variable: "1BAD".into(),
            },
        ];
        let fields: Vec<String> = policy
            .problems()
            .iter()
            .map(|e| field(e).to_owned())
            .collect();
        assert_eq!(fields[..2], ["every_days", "grace_period_secs"]);
        assert_eq!(fields[2], "targets[1].path");
        // `validate` reports the first of them.
        assert_eq!(field(&policy.validate().unwrap_err()), "every_days");
    }

    #[test]
    fn batch_plan_selects_by_whole_name_and_names_the_new_keys() {
        let key = |hash: &str, name: &str| -> ApiKey {
            serde_json::from_value(serde_json::json!({
                "hash": hash, "name": name, "label": "sk-or-v1-abc...def", "disabled": false,
                "limit": null, "limit_remaining": null, "limit_reset": null, "usage": 0.0,
                "usage_daily": 0.0, "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
                "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
                "created_at": "2026-01-01T00:00:00Z", "expires_at": null,
            }))
            .unwrap()
        };
        let keys = [
            key("h1", "prod-api"),
            key("h2", "staging-api"),
            key("h3", "prod-worker · rotated 2026-01-02"),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let plan = batch_plan(" prod-* ", &keys, today);
        assert_eq!(
            plan,
            vec![
                PlannedRotation {
                    key_hash: "h1".into(),
                    old_key_name: "prod-api".into(),
                    new_key_name: "prod-api · rotated 2026-11-23".into(),
                },
                PlannedRotation {
                    key_hash: "h3".into(),
                    old_key_name: "prod-worker · rotated 2026-01-02".into(),
                    new_key_name: "prod-worker · rotated 2026-11-23".into(),
                },
            ]
        );
        assert!(batch_plan("  ", &keys, today).is_empty());
    }
}
