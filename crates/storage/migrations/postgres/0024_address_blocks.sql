-- Schema 24: address prefixes blocked by an automatic response (see SQLite's
-- migration of the same number).
CREATE TABLE address_blocks (
    prefix   TEXT   NOT NULL PRIMARY KEY,
    since_ms BIGINT NOT NULL,
    until_ms BIGINT NOT NULL,
    level    BIGINT NOT NULL,
    reason   TEXT   NOT NULL
);
