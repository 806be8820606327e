//! The rotation answers that send nothing and change nothing: a policy's problems, and what a
//! rotation of one key or of a batch pattern would do, from the stored policy and the cached key
//! list. The UI shows these instead of applying the rules itself.

use crate::AppError;
use crate::Error;
use crate::api::ApiKey;
use crate::rotation::{
    PlannedRotation, RotationBatchArgs, RotationKeyArgs, RotationPlan, RotationPolicy, batch_plan,
    new_key_name,
};

use super::Keyward;

impl Keyward {
    /// Every problem of `policy`, one per rule it breaks (`field` set); nothing is stored. Empty =
    /// valid, and `set_rotation_policy` would take it.
    pub fn validate_rotation_policy(&self, policy: &RotationPolicy) -> Vec<AppError> {
        policy.problems().iter().map(AppError::from).collect()
    }

    /// What rotating a cached key would do today: its policy (the defaults if it has none) and the
    /// new key's name.
    pub fn rotation_plan(&self, args: &RotationKeyArgs) -> Result<RotationPlan, Error> {
        let policy = self.rotation_policy(&args.profile_id, &args.key_hash)?;
        let cached = self
            .inner
            .store()
            .cached_key::<ApiKey>(&args.profile_id, &args.key_hash)?
            .ok_or_else(|| Error::NotFound {
                message: format!("key {} is not in the key list", args.key_hash),
            })?;
        Ok(RotationPlan {
            policy,
            new_key_name: new_key_name(&cached.key.name, self.now().date_naive()),
        })
    }

    /// The cached keys whose name matches the batch pattern (blank: none), with their new names.
    /// Disabled keys are listed too: the caller says they are left out, as the batch leaves them.
    pub fn rotation_batch_plan(
        &self,
        args: &RotationBatchArgs,
    ) -> Result<Vec<PlannedRotation>, Error> {
        let store = self.inner.store();
        store.require_profile(&args.profile_id)?;
        let keys: Vec<ApiKey> = store
            .cached_keys::<ApiKey>(&args.profile_id)?
            .into_iter()
            .map(|cached| cached.key)
            .collect();
        Ok(batch_plan(
            &args.name_pattern,
            &keys,
            self.now().date_naive(),
        ))
    }
}
