-- The audit log: one row per change Keyward made (or tried to make), hash-chained (see
-- `crate::audit`). No foreign key to `profiles`: entries outlive the profile they name.
CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY NOT NULL,
    at            TEXT NOT NULL,
    profile_id    TEXT NOT NULL,
    profile_name  TEXT NOT NULL,
    front_end     TEXT NOT NULL,
    action        TEXT NOT NULL,
    key_hash      TEXT,
    key_name      TEXT,
    before        TEXT CHECK (before IS NULL OR json_valid(before)),
    after         TEXT CHECK (after IS NULL OR json_valid(after)),
    outcome       TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
    error_kind    TEXT,
    error_message TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_by_profile ON audit_log (profile_id, seq);
CREATE INDEX audit_log_by_at ON audit_log (at);

-- Append-only for Keyward itself: nothing in Keyward updates or deletes an entry, and these make
-- an accidental write fail loudly. (Whoever can write the file can drop them; the hash chain and
-- the head kept in `settings` are what detect that.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
