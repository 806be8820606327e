//! The rotation answers that change nothing: a policy's problems, and what a rotation of one key
//! (read from OpenRouter) or of a batch pattern (from the cached key list) would do. The UI shows these
//! instead of applying the rules itself.

use crate::AppError;
use crate::Error;
use crate::api::ApiKey;
use crate::rotation::{
    PlannedRotation, RotationBatchArgs, RotationPlan, RotationPlanArgs, RotationPolicy, batch_plan,
};

use super::Keyward;

impl Keyward {
    /// Every problem of `policy`, one per rule it breaks (`field` set); nothing is stored. Empty =
    /// valid, and `set_rotation_policy` would take it.
    pub fn validate_rotation_policy(&self, policy: &RotationPolicy) -> Vec<AppError> {
        policy.problems().iter().map(AppError::from).collect()
    }

    /// What rotating a key would give the new key if it started now: name, workspace, limit,
    /// reset, BYOK flag, expiry (`new_expiry` overrides the policy's, and is refused when in the
    /// past or too far), the guardrail / BYOK allowlists / log destinations that gain the new hash,
    /// and the deploy targets. Reads the key and its attachments from OpenRouter; changes nothing.
    pub async fn rotation_plan(&self, args: &RotationPlanArgs) -> Result<RotationPlan, Error> {
        self.inner.rotations.plan(args).await
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
