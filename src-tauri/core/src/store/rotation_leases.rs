//! Rotation leases: which Keyward process drives a rotation (the app and `keyward-cli` share the
//! database), until when, and with which pid. See `service::rotation::lease` for how they are used.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, store_error};
use crate::Error;

/// Who drives a rotation: a Keyward process (`owner`, unique per running service; `pid` to tell
/// whether it is still alive) until `until`, renewed while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub owner: String,
    pub pid: Option<u32>,
    pub until: DateTime<Utc>,
}

impl Store {
    /// Takes (or renews) the lease of rotation `id` for `owner` until `until`: granted when nobody
    /// holds it, `owner` already does, or the holder's lease ended before `now`. `Ok(None)` when
    /// granted, else who holds it.
    pub fn acquire_rotation_lease(
        &self,
        id: &str,
        owner: &LeaseHolder,
        now: DateTime<Utc>,
    ) -> Result<Option<LeaseHolder>, Error> {
        let changed = self
            .conn()
            .execute(
                "UPDATE rotations SET lease_owner = ?2, lease_pid = ?3, lease_until = ?4
                 WHERE id = ?1
                   AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until IS NULL
                        OR lease_until < ?5)",
                params![id, owner.owner, owner.pid, owner.until, now],
            )
            .map_err(store_error)?;
        if changed == 1 {
            return Ok(None);
        }
        match self.rotation_lease(id)? {
            Some(holder) => Ok(Some(holder)),
            // No such rotation, or the lease ended between the two statements: the caller reads
            // the rotation next and reports the first; the second is simply tried again.
            None if self.rotation(id)?.is_none() => Ok(None),
            None => self.acquire_rotation_lease(id, owner, now),
        }
    }

    /// Takes the lease of rotation `id` from `previous` (whose process is gone), only if it still
    /// holds it. Whether it was taken.
    pub fn take_over_rotation_lease(
        &self,
        id: &str,
        previous: &LeaseHolder,
        owner: &LeaseHolder,
    ) -> Result<bool, Error> {
        let changed = self
            .conn()
            .execute(
                "UPDATE rotations SET lease_owner = ?3, lease_pid = ?4, lease_until = ?5
                 WHERE id = ?1 AND lease_owner = ?2",
                params![id, previous.owner, owner.owner, owner.pid, owner.until],
            )
            .map_err(store_error)?;
        Ok(changed == 1)
    }

    /// Extends `owner`'s lease of rotation `id`; false when it no longer holds it.
    pub fn renew_rotation_lease(&self, id: &str, owner: &LeaseHolder) -> Result<bool, Error> {
        let changed = self
            .conn()
            .execute(
                "UPDATE rotations SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2",
                params![id, owner.owner, owner.until],
            )
            .map_err(store_error)?;
        Ok(changed == 1)
    }

    /// Gives up `owner`'s lease of rotation `id` (if it still holds it).
    pub fn release_rotation_lease(&self, id: &str, owner: &str) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE rotations SET lease_owner = NULL, lease_pid = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_owner = ?2",
                params![id, owner],
            )
            .map_err(store_error)?;
        Ok(())
    }

    /// Who holds the lease of rotation `id`, if anyone.
    pub fn rotation_lease(&self, id: &str) -> Result<Option<LeaseHolder>, Error> {
        self.conn()
            .query_row(
                "SELECT lease_owner, lease_pid, lease_until FROM rotations
                 WHERE id = ?1 AND lease_owner IS NOT NULL AND lease_until IS NOT NULL",
                [id],
                |row| {
                    Ok(LeaseHolder {
                        owner: row.get(0)?,
                        pid: row.get(1)?,
                        until: row.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rotation_journal::tests::{rotation_of, two_stores};

    #[test]
    fn a_lease_is_held_by_one_owner_until_released_or_run_out() {
        let (_dir, app, cli) = two_stores();
        app.save_rotation(&mut rotation_of("r1", "h1"), &[])
            .unwrap();
        let now = chrono::Utc::now();
        let holder = |owner: &str, until| LeaseHolder {
            owner: owner.into(),
            pid: Some(1),
            until,
        };
        let app_lease = holder("app", now + chrono::Duration::seconds(60));
        assert_eq!(
            app.acquire_rotation_lease("r1", &app_lease, now).unwrap(),
            None
        );
        // The owner may take it again (renew); another is told who holds it.
        assert_eq!(
            app.acquire_rotation_lease("r1", &app_lease, now).unwrap(),
            None
        );
        let cli_lease = holder("cli", now + chrono::Duration::seconds(60));
        assert_eq!(
            cli.acquire_rotation_lease("r1", &cli_lease, now).unwrap(),
            Some(app_lease.clone())
        );
        assert!(!cli.renew_rotation_lease("r1", &cli_lease).unwrap());
        // Run out: taken.
        let later = now + chrono::Duration::seconds(61);
        let cli_later = holder("cli", later + chrono::Duration::seconds(60));
        assert_eq!(
            cli.acquire_rotation_lease("r1", &cli_later, later).unwrap(),
            None
        );
        assert!(!app.renew_rotation_lease("r1", &app_lease).unwrap());
        // Released (only by its owner): free.
        app.release_rotation_lease("r1", "app").unwrap();
        assert!(cli.rotation_lease("r1").unwrap().is_some());
        cli.release_rotation_lease("r1", "cli").unwrap();
        assert!(cli.rotation_lease("r1").unwrap().is_none());
        // Taken over from a holder that is gone, only if it still holds it.
        app.acquire_rotation_lease("r1", &app_lease, now).unwrap();
        assert!(
            !cli.take_over_rotation_lease("r1", &cli_lease, &cli_lease)
                .unwrap()
        );
        assert!(
            cli.take_over_rotation_lease("r1", &app_lease, &cli_lease)
                .unwrap()
        );
        assert_eq!(cli.rotation_lease("r1").unwrap(), Some(cli_lease));
    }
}
