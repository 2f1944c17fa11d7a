-- Password reset and e-mail change links, and disabling an account.
-- Only a hash of each link's secret is stored; a link works once, until it expires, and
-- a password change voids every reset link still outstanding.

CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    new_email  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_account ON account_tokens(account_id, purpose, created_at);

ALTER TABLE accounts ADD COLUMN disabled_at BIGINT;
