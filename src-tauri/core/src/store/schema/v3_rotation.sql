-- Version 3: rotation — the journal of every rotation step, rotation policies and deploy targets per key.
-- Owned by the rotation work; filled in below.
CREATE TABLE rotation_placeholder_v3 (id INTEGER PRIMARY KEY) STRICT;
DROP TABLE rotation_placeholder_v3;
