-- Each passkey's public key is committed to the audit log when it is enrolled, so that a
-- signed action verifies only under a key the log vouches for. Keys enrolled before
-- commitments existed start at 0 and are committed once, by the server, at start-up.
ALTER TABLE passkeys ADD COLUMN committed INTEGER NOT NULL DEFAULT 0;
