-- Version 4: the rotation journal is safe across processes (the app and `keyward-cli` share it).
-- `version` grows by one with every write of a rotation's state: a write names the version it read
-- and changes nothing when another process wrote in between (a lost race is an error, never a silent
-- overwrite). `lease_owner`/`lease_until` say which Keyward process drives the rotation and until
-- when (it renews the lease while it runs); no other process acts on it before the lease ends or its
-- owner is gone. At most one unfinished rotation per key.
ALTER TABLE rotations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rotations ADD COLUMN lease_owner TEXT;
ALTER TABLE rotations ADD COLUMN lease_pid INTEGER;
ALTER TABLE rotations ADD COLUMN lease_until TEXT;

-- A database written before this version can hold two unfinished rotations of one key (two
-- processes raced). All but the newest are marked abandoned, with a detail saying why, so the index
-- can be built; their held secrets stay listed in `pending_secrets` for the person to resolve.
UPDATE rotations
SET status = 'abandoned',
    finished_at = updated_at,
    state = json_set(state,
        '$.status', 'abandoned',
        '$.finished_at', updated_at,
        '$.detail', 'abandoned when Keyward was updated: another unfinished rotation of the same key '
                    || 'had been started by a second Keyward process; check this key''s secrets and '
                    || 'deploy targets by hand')
WHERE status IN ('running', 'waiting', 'failed')
  AND EXISTS (SELECT 1 FROM rotations AS newer
              WHERE newer.profile_id = rotations.profile_id
                AND newer.old_key_hash = rotations.old_key_hash
                AND newer.status IN ('running', 'waiting', 'failed')
                AND (newer.started_at > rotations.started_at
                     OR (newer.started_at = rotations.started_at AND newer.id > rotations.id)));
CREATE UNIQUE INDEX rotations_one_unfinished_per_key ON rotations (profile_id, old_key_hash)
WHERE status IN ('running', 'waiting', 'failed');
