-- Schema 27: accounts that must prove themselves again before reading more people's
-- data (the bulk-reads detection's response). A session whose last re-authentication
-- is older than since_ms is asked to re-authenticate; doing so lifts it.
CREATE TABLE step_ups (
    account_id TEXT    NOT NULL PRIMARY KEY,
    since_ms   INTEGER NOT NULL,
    rule       TEXT    NOT NULL
) STRICT;
