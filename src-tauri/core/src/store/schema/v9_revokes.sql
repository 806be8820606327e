-- Emergency revokes: which keys each matched and which it disabled itself, so "re-enable" turns on
-- exactly those (never a key that was already disabled). Hashes only, as JSON arrays; no secret.
CREATE TABLE revokes (
    id           TEXT PRIMARY KEY NOT NULL,
    profile_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    selection    TEXT NOT NULL,
    matched      TEXT NOT NULL,
    disabled     TEXT NOT NULL,
    reenabled_at TEXT,
    deleted_at   TEXT
) STRICT;
CREATE INDEX revokes_by_profile ON revokes (profile_id, created_at);
