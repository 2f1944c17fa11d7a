-- The audit log as a verifiable log: the Merkle tree's perfect subtrees, the signed
-- checkpoints and the public history of the keys that signed them. All append-only.

-- node(level, idx) is the RFC 9162 hash of the 2^level leaves from leaf idx << level.
-- Complete subtrees never change, so proofs are built from these rows.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Each checkpoint is a signed note (C2SP format) over tree size, root and time.
CREATE TABLE audit_checkpoints (
    size   BIGINT PRIMARY KEY,
    root   TEXT   NOT NULL,
    ts_ms  BIGINT NOT NULL,
    key_id TEXT   NOT NULL,
    note   TEXT   NOT NULL
);

-- The checkpoint keys in order of use. Every key after the first carries the succession
-- from its predecessor, signed by both keys.
CREATE TABLE audit_keys (
    position    INTEGER PRIMARY KEY,
    public_key  TEXT   NOT NULL UNIQUE,
    added_at    BIGINT NOT NULL,
    by_previous TEXT,
    by_this     TEXT
);

CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit_nodes is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit_nodes is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_keys_no_update BEFORE UPDATE ON audit_keys
BEGIN SELECT RAISE(ABORT, 'audit_keys is append-only'); END;
CREATE TRIGGER audit_keys_no_delete BEFORE DELETE ON audit_keys
BEGIN SELECT RAISE(ABORT, 'audit_keys is append-only'); END;
