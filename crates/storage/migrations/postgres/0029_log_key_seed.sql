-- Schema 29: the audit log's current checkpoint key, sealed under the master key (see
-- SQLite's migration of the same number).
CREATE TABLE log_key_seed (
    public_key    TEXT   NOT NULL PRIMARY KEY,
    master_key_id TEXT   NOT NULL,
    sealed        TEXT   NOT NULL,
    since_ms      BIGINT NOT NULL
);
