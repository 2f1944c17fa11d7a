-- Login throttling per account, and the e-mailed links that lift a lockout.
-- Keyed by a hash of the e-mail address typed, whether or not such an account exists, so
-- that throttling behaves the same for both and cannot reveal which addresses are real.

CREATE TABLE login_throttle (
    key_hash        TEXT PRIMARY KEY,
    consecutive     BIGINT NOT NULL DEFAULT 0,
    last_failure_at BIGINT NOT NULL DEFAULT 0,
    window_start    BIGINT NOT NULL DEFAULT 0,
    window_failures BIGINT NOT NULL DEFAULT 0,
    locked_at       BIGINT
);

CREATE TABLE unlock_tokens (
    token_hash TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX unlock_tokens_account ON unlock_tokens(account_id);
