-- Schema 22: containment switches, shared by every instance (see SQLite's migration
-- of the same number).
CREATE TABLE containment (
    switch     TEXT   NOT NULL PRIMARY KEY,
    since_ms   BIGINT NOT NULL,
    reason     TEXT   NOT NULL,
    by_account TEXT
);
