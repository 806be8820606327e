-- Version 8: where each key lives (locate). One row per secret found by the last saved scan of the
-- chosen folders and Keyward's keychain deploy targets: where it is and the SHA-256 hash of the
-- secret (OpenRouter's key hash), never the value. A saved scan replaces every row at once.
CREATE TABLE key_locations (
    kind        TEXT NOT NULL CHECK (kind IN ('env_file', 'keychain')),
    -- The file's real path, or the keychain entry's service.
    path        TEXT NOT NULL,
    -- The variable name (may be empty), or the keychain entry's account.
    variable    TEXT NOT NULL,
    line        INTEGER,
    key_hash    TEXT NOT NULL CHECK (length(key_hash) = 64),
    modified_at TEXT,
    found_at    TEXT NOT NULL
) STRICT;
CREATE INDEX key_locations_by_hash ON key_locations (key_hash);

-- The summary of the last saved scan (folders, counts, problems), one row at most.
CREATE TABLE key_location_scans (
    singleton   INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    summary     TEXT NOT NULL CHECK (json_valid(summary)),
    finished_at TEXT NOT NULL
) STRICT;
