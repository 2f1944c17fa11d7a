-- Schema 24: address prefixes blocked by an automatic response (credential stuffing,
-- password spraying, a flood of failed logins). A block refuses password sign-in from
-- the prefix to devices not already trusted by the account; it never stops a passkey
-- or a known device, so the rightful owner is asked for more proof, not shut out.
-- `level` escalates the next block of the same prefix (1 min, 10 min, 1 h, 1 day).
CREATE TABLE address_blocks (
    prefix   TEXT    NOT NULL PRIMARY KEY,
    since_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL,
    level    INTEGER NOT NULL,
    reason   TEXT    NOT NULL
) STRICT;
