-- Schema 22: containment switches, shared by every instance. A row is a switch that is
-- on (read-only mode, sign-ups and invitations paused); turning it off deletes the row.
-- Each instance reads this table every second, so a switch takes effect everywhere
-- within seconds. Turning a switch on or off is audited; the row itself is state.
CREATE TABLE containment (
    switch     TEXT    NOT NULL PRIMARY KEY,
    since_ms   INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    by_account TEXT
) STRICT;
