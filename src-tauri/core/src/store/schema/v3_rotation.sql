-- Version 3: rotation — the journal of every rotation step, rotation policies and deploy targets per key.
-- Nothing secret: a rotation's new secret lives only in the keychain (indexed in pending_secrets).

-- One row per rotation: the whole state machine as JSON (`state`), plus the columns queries filter on.
-- Rewritten in the same transaction as the journal rows that explain each change.
CREATE TABLE rotations (
    id           TEXT PRIMARY KEY NOT NULL,
    profile_id   TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    old_key_hash TEXT NOT NULL,
    new_key_hash TEXT,
    status       TEXT NOT NULL CHECK (status IN
                     ('running', 'waiting', 'failed', 'completed', 'rolled_back', 'abandoned')),
    state        TEXT NOT NULL CHECK (json_valid(state)),
    started_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT
) STRICT;
CREATE INDEX rotations_by_old_key ON rotations (profile_id, old_key_hash);
CREATE INDEX rotations_by_new_key ON rotations (profile_id, new_key_hash);
CREATE INDEX rotations_by_status ON rotations (status);

-- Append-only: an `intent` row is written before a step runs (with everything needed to resume it),
-- a `result` row after; `action` rows record what the person asked for, `note` rows anything else.
CREATE TABLE rotation_journal (
    rotation_id TEXT NOT NULL REFERENCES rotations (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    step        TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('intent', 'result', 'action', 'note')),
    outcome     TEXT,
    detail      TEXT NOT NULL CHECK (json_valid(detail)),
    PRIMARY KEY (rotation_id, seq)
) STRICT, WITHOUT ROWID;

-- The rotation policy of a key (schedule, deploy targets, drain and grace periods) as JSON.
CREATE TABLE rotation_policies (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL,
    policy     TEXT NOT NULL CHECK (json_valid(policy)),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (profile_id, key_hash)
) STRICT, WITHOUT ROWID;
