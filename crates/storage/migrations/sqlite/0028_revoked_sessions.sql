-- Schema 28: sessions remember the device token they were opened with (its hash), so
-- that a session and the sessions issued on the same device can be ended together;
-- and a session ended before it expired (sign-out, revocation, containment) leaves its
-- token's hash here, so a stolen token replayed later is recognised and answered.
-- Expired sessions leave nothing: coming back after expiry is normal.
ALTER TABLE sessions ADD COLUMN device_hash TEXT;
CREATE TABLE revoked_sessions (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    account_id  TEXT    NOT NULL,
    device_hash TEXT,
    revoked_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_sessions_at ON revoked_sessions(revoked_at);
CREATE TRIGGER sessions_revoked AFTER DELETE ON sessions
WHEN OLD.expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
BEGIN
    INSERT OR REPLACE INTO revoked_sessions (token_hash, account_id, device_hash, revoked_at)
    VALUES (OLD.token_hash, OLD.account_id, OLD.device_hash,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
