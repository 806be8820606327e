//! Rotation policies per key (schedule, deploy targets, drain and grace periods), as JSON rows. A
//! policy follows its key through a rotation: it moves to the new key's hash when the old one goes.

use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use super::{Store, json_error, refuse_secrets, store_error};
use crate::Error;
use crate::rotation::RotationPolicy;

impl Store {
    /// The stored policy of a key, or `None` if it never had one.
    pub fn rotation_policy(
        &self,
        profile_id: &str,
        key_hash: &str,
    ) -> Result<Option<RotationPolicy>, Error> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT policy FROM rotation_policies WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key_hash],
                |row| row.get(0),
            )
            .optional()
            .map_err(store_error)?;
        json.map(|json| serde_json::from_str(&json).map_err(json_error))
            .transpose()
    }

    /// Stores (or replaces) a policy; its profile must exist.
    pub fn set_rotation_policy(&self, policy: &RotationPolicy) -> Result<(), Error> {
        self.require_profile(&policy.profile_id)?;
        let json = serde_json::to_string(policy).map_err(json_error)?;
        refuse_secrets("a rotation policy", &json)?;
        self.conn()
            .execute(
                "INSERT INTO rotation_policies (profile_id, key_hash, policy, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (profile_id, key_hash) DO UPDATE
                 SET policy = excluded.policy, updated_at = excluded.updated_at",
                params![policy.profile_id, policy.key_hash, json, Utc::now()],
            )
            .map_err(store_error)?;
        Ok(())
    }

    /// Every stored policy, of one profile or all.
    pub fn rotation_policies(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<RotationPolicy>, Error> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT policy FROM rotation_policies WHERE (?1 IS NULL OR profile_id = ?1)
                 ORDER BY profile_id, key_hash",
            )
            .map_err(store_error)?;
        let rows: Vec<String> = statement
            .query_map(params![profile_id], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(store_error)?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(json_error))
            .collect()
    }

    /// Moves a key's policy to the key that replaced it (a completed rotation). Does nothing when
    /// the old key had none; replaces any policy the new key had.
    pub fn move_rotation_policy(
        &self,
        profile_id: &str,
        from_hash: &str,
        to_hash: &str,
    ) -> Result<bool, Error> {
        let Some(mut policy) = self.rotation_policy(profile_id, from_hash)? else {
            return Ok(false);
        };
        policy.key_hash = to_hash.to_owned();
        let tx = self.conn().unchecked_transaction().map_err(store_error)?;
        self.set_rotation_policy(&policy)?;
        self.remove_rotation_policy(profile_id, from_hash)?;
        tx.commit().map_err(store_error)?;
        Ok(true)
    }

    pub fn remove_rotation_policy(&self, profile_id: &str, key_hash: &str) -> Result<bool, Error> {
        self.conn()
            .execute(
                "DELETE FROM rotation_policies WHERE profile_id = ?1 AND key_hash = ?2",
                [profile_id, key_hash],
            )
            .map(|removed| removed > 0)
            .map_err(store_error)
    }
}
