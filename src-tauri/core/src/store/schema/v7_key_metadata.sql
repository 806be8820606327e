-- Local key metadata (never sent to OpenRouter): tags, environment, project, owner, notes per key.
-- `tags` is a JSON array of normalized tags; no row means nothing set.
CREATE TABLE key_metadata (
    profile_id  TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash    TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    environment TEXT,
    project     TEXT,
    owner       TEXT,
    notes       TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (profile_id, key_hash)
) STRICT, WITHOUT ROWID;
