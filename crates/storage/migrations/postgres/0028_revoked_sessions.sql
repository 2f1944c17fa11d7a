-- Schema 28: sessions' device, and revoked session tokens (see SQLite's migration of
-- the same number).
ALTER TABLE sessions ADD COLUMN device_hash TEXT;
CREATE TABLE revoked_sessions (
    token_hash  TEXT   NOT NULL PRIMARY KEY,
    account_id  TEXT   NOT NULL,
    device_hash TEXT,
    revoked_at  BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_at ON revoked_sessions(revoked_at);
CREATE FUNCTION sessions_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint THEN
        INSERT INTO revoked_sessions (token_hash, account_id, device_hash, revoked_at)
        VALUES (OLD.token_hash, OLD.account_id, OLD.device_hash,
                (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
        ON CONFLICT (token_hash) DO NOTHING;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER sessions_revoked AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_revoked();
