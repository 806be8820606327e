-- Command deploy targets the person approved (in a native dialog or on a terminal, never in the web
-- view): the SHA-256 of the target's program, arguments, variable and working directory. A command
-- whose digest is not here is never run; changing any of those fields needs a new approval.
CREATE TABLE command_approvals (
    digest      TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
    approved_at TEXT NOT NULL
) STRICT;
