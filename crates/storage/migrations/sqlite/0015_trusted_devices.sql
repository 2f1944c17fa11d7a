-- Browsers (and API clients) that have signed in to an account before, as in OWASP's
-- "device cookies": a login that presents one is throttled on the device's own counter,
-- so that guesses from elsewhere, which lock the account, cannot lock its owner out.
-- Only a hash of the token is kept.

CREATE TABLE trusted_devices (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX trusted_devices_account ON trusted_devices(account_id);
