-- Schema 29: the audit log's current checkpoint key, sealed under the master key (which
-- never enters the database), so that a key rotated on one instance reaches every
-- instance within seconds. One row: the key whose public half is the newest in
-- audit_keys. A copy of the database alone does not open it.
CREATE TABLE log_key_seed (
    public_key    TEXT    NOT NULL PRIMARY KEY,
    master_key_id TEXT    NOT NULL,
    sealed        TEXT    NOT NULL,
    since_ms      INTEGER NOT NULL
) STRICT;
