-- Schema 27: step-ups (see SQLite's migration of the same number).
CREATE TABLE step_ups (
    account_id TEXT   NOT NULL PRIMARY KEY,
    since_ms   BIGINT NOT NULL,
    rule       TEXT   NOT NULL
);
