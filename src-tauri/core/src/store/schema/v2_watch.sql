-- Version 2: what the watcher keeps — usage snapshots per key, the alert ledger (what was notified,
-- for de-duplication), the open alerts as last evaluated, snoozes, the keys Keyward disabled itself
-- and the activity fetched from GET /activity (one answer per profile, key and UTC day).

-- A key's numbers as one refresh saw them. A row is written when something changed since the key's
-- newest row, or when that row is from an earlier UTC day, so idle keys cost one row a day.
CREATE TABLE usage_snapshots (
    profile_id      TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash        TEXT NOT NULL,
    taken_at        TEXT NOT NULL,
    usage           REAL NOT NULL,
    usage_daily     REAL NOT NULL,
    usage_weekly    REAL NOT NULL,
    usage_monthly   REAL NOT NULL,
    byok_usage      REAL NOT NULL,
    "limit"         REAL,
    limit_remaining REAL,
    limit_reset     TEXT,
    disabled        INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    expires_at      TEXT,
    PRIMARY KEY (profile_id, key_hash, taken_at)
) STRICT, WITHOUT ROWID;
-- Pruning by age.
CREATE INDEX usage_snapshots_by_time ON usage_snapshots (taken_at);

-- One row per notified alert identity (profile|hash|kind|threshold|period): never notified twice.
-- `limit_at_notice` is the key's limit when it was raised, so raising the limit re-arms it.
CREATE TABLE alert_ledger (
    alert_id        TEXT PRIMARY KEY NOT NULL,
    profile_id      TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    threshold       TEXT NOT NULL,
    period          TEXT NOT NULL,
    limit_at_notice REAL,
    notified_at     TEXT NOT NULL
) STRICT;
CREATE INDEX alert_ledger_by_key ON alert_ledger (profile_id, key_hash);

-- The alerts of the latest evaluation of each profile (an AlertView as JSON), so the app lists
-- them at once after a restart.
CREATE TABLE open_alerts (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    alert_id   TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    position   INTEGER NOT NULL,
    json       TEXT NOT NULL CHECK (json_valid(json)),
    PRIMARY KEY (profile_id, alert_id)
) STRICT;

-- A key's alerts are silent until `until`.
CREATE TABLE alert_snoozes (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL,
    until      TEXT NOT NULL,
    PRIMARY KEY (profile_id, key_hash)
) STRICT;

-- Keys disabled through Keyward (so a key disabled anywhere else can be told apart).
CREATE TABLE keyward_disabled_keys (
    profile_id  TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash    TEXT NOT NULL,
    disabled_at TEXT NOT NULL,
    PRIMARY KEY (profile_id, key_hash)
) STRICT;

-- Daily spend from GET /activity (completed UTC days only). `key_hash` '' = every key of the
-- profile. `fetched_on` is the UTC day of the fetch: one fetch per profile, key and day.
CREATE TABLE activity_days (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL,
    day        TEXT NOT NULL,
    spend      REAL NOT NULL,
    PRIMARY KEY (profile_id, key_hash, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE activity_fetches (
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL,
    fetched_on TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (profile_id, key_hash)
) STRICT;
