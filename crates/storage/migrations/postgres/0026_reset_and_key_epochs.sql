-- Schema 26: forced password resets and key epochs (see SQLite's migration of the
-- same number).
ALTER TABLE accounts ADD COLUMN password_reset_required BIGINT NOT NULL DEFAULT 0;
CREATE TABLE key_epochs (
    name       TEXT   NOT NULL PRIMARY KEY,
    salt       TEXT   NOT NULL,
    since_ms   BIGINT NOT NULL,
    by_account TEXT
);
