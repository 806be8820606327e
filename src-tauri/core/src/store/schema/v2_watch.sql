-- Version 2: what the watcher keeps — usage snapshots per key, the alert ledger (what was notified,
-- for de-duplication), snoozes. Owned by the watch/alerts work; filled in below.
CREATE TABLE watch_placeholder_v2 (id INTEGER PRIMARY KEY) STRICT;
DROP TABLE watch_placeholder_v2;
