-- Passkey-signed actions: the record (the canonical action, the passkey's public key
-- and its assertion) whose SHA-256 is the change digest of the audit entry. Append-only.
CREATE TABLE signed_actions (
    digest     TEXT PRIMARY KEY,
    record     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TRIGGER signed_actions_no_update BEFORE UPDATE ON signed_actions
BEGIN SELECT RAISE(ABORT, 'signed_actions is append-only'); END;
CREATE TRIGGER signed_actions_no_delete BEFORE DELETE ON signed_actions
BEGIN SELECT RAISE(ABORT, 'signed_actions is append-only'); END;
