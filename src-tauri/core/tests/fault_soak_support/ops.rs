//! One soak operation in three parts: `plan` picks it from the seeded RNG and the model, `run` sends
//! it through the service (no model access, so a batch runs several at once), `apply` judges the
//! outcome and moves the model.

use keyward_core::Error;
use keyward_core::api::{LimitReset, Patch};
use keyward_core::ipc::{
    CreateKeyArgs, CreatedKey, KeyDeleteArgs, KeyRow, KeysSnapshot, UpdateKeyArgs,
};
use keyward_core::rotation::{RotationPolicy, RotationStartArgs};
use rand::Rng;
use rand::seq::IndexedRandom;
use secrecy::ExposeSecret;

use super::Soak;
use super::model::{DoubtfulCreate, Maybe, ModelKey};
use super::report::Outcome;
use super::rotate::{Rotated, see_through};

/// The keychain service of the soak's deploy targets (one entry per key lineage).
pub const TARGET_SERVICE: &str = "keyward-soak-targets";
pub const GROUPS: u32 = 16;
const LIMITS: [Option<f64>; 6] = [
    None,
    Some(1.0),
    Some(2.5),
    Some(10.0),
    Some(25.0),
    Some(100.0),
];
const RESETS: [Option<&str>; 4] = [None, Some("daily"), Some("weekly"), Some("monthly")];

#[derive(Clone, Debug)]
pub struct Update {
    pub name: Option<String>,
    pub limit: Option<Option<f64>>,
    pub limit_reset: Option<Option<&'static str>>,
    pub include_byok: Option<bool>,
}

#[derive(Clone, Debug)]
pub enum Op {
    Create {
        lineage: String,
        group: u32,
        limit: Option<f64>,
        limit_reset: Option<&'static str>,
        include_byok: bool,
    },
    Update {
        hash: String,
        update: Update,
    },
    SetDisabled {
        hash: String,
        disabled: bool,
    },
    Delete {
        hash: String,
    },
    Rotate {
        hash: String,
    },
    Refresh,
}

pub enum Ran {
    Create(Result<CreatedKey, Error>),
    Update(Result<KeyRow, Error>),
    Delete(Result<(), Error>),
    Rotate(Result<Rotated, Error>),
    Refresh(Result<KeysSnapshot, Error>),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Update { .. } => "update",
            Op::SetDisabled { disabled: true, .. } => "disable",
            Op::SetDisabled {
                disabled: false, ..
            } => "enable",
            Op::Delete { .. } => "delete",
            Op::Rotate { .. } => "rotate",
            Op::Refresh => "refresh",
        }
    }

    /// The key the operation touches, if any (a batch picks distinct ones).
    pub fn hash(&self) -> Option<&str> {
        match self {
            Op::Update { hash, .. }
            | Op::SetDisabled { hash, .. }
            | Op::Delete { hash }
            | Op::Rotate { hash } => Some(hash),
            Op::Create { .. } | Op::Refresh => None,
        }
    }
}

pub fn parse_reset(reset: Option<&str>) -> Option<LimitReset> {
    reset.map(|reset| reset.parse().expect("a known reset"))
}

/// Whether a failed call may have changed the server (its request may have been carried out).
pub fn may_have_landed(error: &Error) -> bool {
    matches!(
        error,
        Error::Network { .. } | Error::Timeout { .. } | Error::Server { .. } | Error::Decode { .. }
    )
}

/// Refused for a reason of its own, not a fault: the soak counts it apart.
pub fn is_refusal(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidInput { .. } | Error::Conflict { .. } | Error::NotFound { .. }
    )
}

impl Soak {
    /// A new key's plan: a lineage of its own in a random group, a random limit and reset.
    pub fn plan_create(&mut self) -> Op {
        self.next_lineage += 1;
        let group = self.rng.random_range(0..GROUPS);
        Op::Create {
            lineage: format!("soak-g{group}-k{}", self.next_lineage),
            group,
            limit: *LIMITS.choose(&mut self.rng).unwrap(),
            limit_reset: *RESETS.choose(&mut self.rng).unwrap(),
            include_byok: self.rng.random_bool(0.5),
        }
    }

    /// A single-key operation on `hash` (or a create / refresh), by the soak's weights.
    pub fn plan_on(&mut self, hash: &str, op_index: u64) -> Op {
        let key = &self.model.keys[hash];
        let roll = self.rng.random_range(0..100);
        let hash = hash.to_owned();
        match roll {
            0..=39 => {
                let mut update = Update {
                    name: None,
                    limit: None,
                    limit_reset: None,
                    include_byok: None,
                };
                while update.name.is_none()
                    && update.limit.is_none()
                    && update.limit_reset.is_none()
                    && update.include_byok.is_none()
                {
                    if self.rng.random_bool(0.35) {
                        update.name = Some(format!("{}-r{op_index}", key.lineage));
                    }
                    if self.rng.random_bool(0.45) {
                        update.limit = Some(*LIMITS.choose(&mut self.rng).unwrap());
                    }
                    if self.rng.random_bool(0.35) {
                        update.limit_reset = Some(*RESETS.choose(&mut self.rng).unwrap());
                    }
                    if self.rng.random_bool(0.3) {
                        update.include_byok = Some(self.rng.random_bool(0.5));
                    }
                }
                Op::Update { hash, update }
            }
            40..=69 => {
                let disabled = match key.disabled.0.as_slice() {
                    [one] => !one,
                    _ => self.rng.random_bool(0.5),
                };
                Op::SetDisabled { hash, disabled }
            }
            70..=84 => Op::Delete { hash },
            // A disabled key can't be rotated (refused before any request): enable it instead.
            _ if key.disabled.is(&true) => Op::SetDisabled {
                hash,
                disabled: false,
            },
            _ => Op::Rotate { hash },
        }
    }

    /// The rotation policy every soak key gets: a keychain entry of its lineage, no quiet or grace
    /// period (the soak does not wait a day between two operations).
    pub fn set_policy(&self, hash: &str, lineage: &str) {
        let mut policy = RotationPolicy::default_for(&self.profile_id, hash);
        policy.targets = vec![keyward_core::deploy::DeployTarget::Keychain {
            service: TARGET_SERVICE.to_owned(),
            account: lineage.to_owned(),
        }];
        policy.quiet_period_secs = 0;
        policy.grace_period_secs = 0;
        self.t.service.set_rotation_policy(policy).unwrap();
    }

    /// Sends `op` through the service; for a rotation, acts as the person until it ends.
    pub async fn run(&self, op: &Op) -> Ran {
        let service = &self.t.service;
        let profile_id = self.profile_id.clone();
        match op {
            Op::Create {
                lineage,
                limit,
                limit_reset,
                include_byok,
                ..
            } => Ran::Create(
                service
                    .key_create(CreateKeyArgs {
                        profile_id,
                        name: lineage.clone(),
                        limit: *limit,
                        limit_reset: parse_reset(*limit_reset),
                        include_byok_in_limit: *include_byok,
                        expires_at: None,
                        workspace_id: None,
                    })
                    .await,
            ),
            Op::Update { hash, update } => Ran::Update(
                service
                    .key_update(UpdateKeyArgs {
                        profile_id,
                        hash: hash.clone(),
                        name: update.name.clone(),
                        disabled: None,
                        limit: update.limit.map_or(Patch::Keep, Patch::from),
                        limit_reset: update
                            .limit_reset
                            .map_or(Patch::Keep, |reset| Patch::from(parse_reset(reset))),
                        include_byok_in_limit: update.include_byok,
                    })
                    .await,
            ),
            Op::SetDisabled { hash, disabled } => Ran::Update(
                service
                    .key_update(UpdateKeyArgs {
                        profile_id,
                        hash: hash.clone(),
                        name: None,
                        disabled: Some(*disabled),
                        limit: Patch::Keep,
                        limit_reset: Patch::Keep,
                        include_byok_in_limit: None,
                    })
                    .await,
            ),
            Op::Delete { hash } => Ran::Delete(
                service
                    .key_delete(KeyDeleteArgs {
                        profile_id,
                        hash: hash.clone(),
                    })
                    .await,
            ),
            Op::Rotate { hash } => {
                let started = service
                    .rotation_start(RotationStartArgs {
                        profile_id,
                        key_hash: hash.clone(),
                        delete_at_once: true,
                        new_expiry: None,
                    })
                    .await;
                Ran::Rotate(match started {
                    Ok(view) => Ok(see_through(service, view).await),
                    Err(error) => Err(error),
                })
            }
            Op::Refresh => Ran::Refresh(
                service
                    .keys_list(super::service_support::list(&self.profile_id, true))
                    .await,
            ),
        }
    }

    /// Judges `ran` (the outcome of `op`) and moves the model.
    pub async fn apply(&mut self, op: &Op, ran: Ran, op_index: u64) {
        let name = op.name();
        match (op, ran) {
            (
                Op::Create {
                    lineage,
                    group,
                    limit,
                    limit_reset,
                    include_byok,
                },
                Ran::Create(result),
            ) => match result {
                Ok(created) => {
                    let hash = created.key.key.hash.clone();
                    self.check_created(&created, lineage, op_index);
                    self.set_policy(&hash, lineage);
                    self.model.insert(ModelKey {
                        hash,
                        lineage: lineage.clone(),
                        group: *group,
                        name: Maybe::certain(lineage.clone()),
                        limit: Maybe::certain(*limit),
                        limit_reset: Maybe::certain(limit_reset.map(str::to_owned)),
                        include_byok: Maybe::certain(*include_byok),
                        disabled: Maybe::certain(false),
                        exists: Maybe::certain(true),
                        busy: false,
                    });
                    self.tally.count(name, Outcome::Converged);
                }
                Err(error) => {
                    self.tally.error(
                        name,
                        Outcome::Reported,
                        error.kind().as_ref(),
                        &error.to_string(),
                    );
                    if may_have_landed(&error) {
                        self.model.doubtful_creates.push(DoubtfulCreate {
                            name: lineage.clone(),
                            error: error.to_string(),
                        });
                    }
                }
            },
            (Op::Update { hash, update }, Ran::Update(result)) => {
                let fields = |key: &mut ModelKey, certain: bool| {
                    let apply = |field: &mut Maybe<_>, value| {
                        if certain {
                            field.set(value)
                        } else {
                            field.add(value)
                        }
                    };
                    if let Some(name) = &update.name {
                        apply(&mut key.name, name.clone());
                    }
                    if let Some(limit) = update.limit {
                        if certain {
                            key.limit.set(limit);
                        } else {
                            key.limit.add(limit);
                        }
                    }
                    if let Some(reset) = update.limit_reset {
                        if certain {
                            key.limit_reset.set(reset.map(str::to_owned));
                        } else {
                            key.limit_reset.add(reset.map(str::to_owned));
                        }
                    }
                    if let Some(byok) = update.include_byok {
                        if certain {
                            key.include_byok.set(byok);
                        } else {
                            key.include_byok.add(byok);
                        }
                    }
                };
                self.judge_update(name, hash, result, op_index, fields);
            }
            (Op::SetDisabled { hash, disabled }, Ran::Update(result)) => {
                let disabled = *disabled;
                self.judge_update(name, hash, result, op_index, move |key, certain| {
                    if certain {
                        key.disabled.set(disabled);
                    } else {
                        key.disabled.add(disabled);
                    }
                });
            }
            (Op::Delete { hash }, Ran::Delete(result)) => {
                let key = self.model.get_mut(hash).expect("a known key");
                match result {
                    Ok(()) => {
                        key.exists.set(false);
                        self.tally.count(name, Outcome::Converged);
                    }
                    Err(error) => {
                        self.not_found_means_gone(hash, &error, op_index);
                        let key = self.model.get_mut(hash).expect("a known key");
                        if may_have_landed(&error) {
                            key.exists.add(false);
                        }
                        self.count_error(name, &error);
                    }
                }
            }
            (Op::Rotate { hash }, Ran::Rotate(result)) => match result {
                Ok(rotated) => self.apply_rotation(name, rotated, op_index),
                Err(error) => {
                    self.not_found_means_gone(hash, &error, op_index);
                    self.count_error(name, &error);
                }
            },
            (Op::Refresh, Ran::Refresh(result)) => match result {
                Ok(snapshot) if !snapshot.from_cache => {
                    self.tally.count(name, Outcome::Converged);
                    self.check_listing(&snapshot, op_index);
                }
                Ok(snapshot) => {
                    // The cached list, with the connectivity saying why: reported, not an error.
                    let why = format!("{:?}", snapshot.connectivity);
                    let kind = why.split([' ', '{']).next().unwrap_or("offline").to_owned();
                    self.tally.error(name, Outcome::Reported, &kind, &why);
                }
                Err(error) => self.count_error(name, &error),
            },
            (op, _) => panic!("{op:?} ran as something else"),
        }
    }

    fn count_error(&mut self, op: &'static str, error: &Error) {
        let outcome = if is_refusal(error) {
            Outcome::Refused
        } else {
            Outcome::Reported
        };
        self.tally
            .error(op, outcome, error.kind().as_ref(), &error.to_string());
    }

    /// A 404 says the key is gone: fine when the model allowed that (a delete whose answer was
    /// lost), a finding when the model knew it existed.
    fn not_found_means_gone(&mut self, hash: &str, error: &Error, op_index: u64) {
        if !matches!(error, Error::NotFound { .. }) {
            return;
        }
        let key = self.model.get_mut(hash).expect("a known key");
        if key.exists.allows(&false) {
            key.exists.set(false);
        } else {
            let lineage = key.lineage.clone();
            self.violation(
                op_index,
                format!("404 for {lineage} ({hash}), which the soak knows exists: {error}"),
            );
        }
    }

    fn judge_update(
        &mut self,
        op: &'static str,
        hash: &str,
        result: Result<KeyRow, Error>,
        op_index: u64,
        fields: impl Fn(&mut ModelKey, bool),
    ) {
        match result {
            Ok(row) => {
                let key = self.model.get_mut(hash).expect("a known key");
                fields(key, true);
                key.exists.set(true);
                let answer = serde_json::to_value(&row.key).unwrap();
                let wrong = key.mismatches(Some(&answer));
                for what in wrong {
                    self.violation(
                        op_index,
                        format!("{op} answered a key the model denies: {what}"),
                    );
                }
                self.tally.count(op, Outcome::Converged);
            }
            Err(error) => {
                self.not_found_means_gone(hash, &error, op_index);
                if may_have_landed(&error) {
                    fields(self.model.get_mut(hash).expect("a known key"), false);
                }
                self.count_error(op, &error);
            }
        }
    }

    /// A created key: its secret hashes to its hash and is held in the vault.
    fn check_created(&mut self, created: &CreatedKey, lineage: &str, op_index: u64) {
        let hash = &created.key.key.hash;
        if super::sha256_hex(&created.secret) != *hash {
            self.violation(
                op_index,
                format!("{lineage}: the secret does not hash to {hash}"),
            );
        }
        if !created.pending_saved {
            self.violation(
                op_index,
                format!(
                    "{lineage}: the secret was not held ({:?})",
                    created.keychain_error
                ),
            );
        }
        match self.t.vault.pending_secret(&self.profile_id, hash) {
            Ok(held) if super::sha256_hex(held.expose_secret()) == *hash => {}
            other => self.violation(
                op_index,
                format!(
                    "{lineage}: the vault holds no matching pending secret ({:?})",
                    other.map(|_| "another secret")
                ),
            ),
        }
    }
}
