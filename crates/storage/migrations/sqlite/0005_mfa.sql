-- Two-step verification (TOTP and recovery codes), per-person data keys wrapped by the
-- master key kept outside the database, re-authentication times, and clubs that
-- require two-step verification of every member.

-- A value sealed under the master key, to tell at start whether the right key is set.
CREATE TABLE master_key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL
);

-- Each person's data key, sealed (wrapped) under a master key. Deleting the row
-- destroys every value sealed with it.
CREATE TABLE data_keys (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    key_id     TEXT NOT NULL,
    wrapped    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The TOTP secret is sealed with the person's data key. last_step stops a code from
-- being used twice.
CREATE TABLE mfa_totp (
    account_id    TEXT PRIMARY KEY REFERENCES accounts(id),
    sealed_secret TEXT NOT NULL,
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT
);

-- Single-use recovery codes, kept as SHA-256 hashes (they are 50 random bits each).
CREATE TABLE mfa_recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

-- A password that was right, waiting for the second step.
CREATE TABLE mfa_challenges (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    key_hash   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);

ALTER TABLE sessions ADD COLUMN reauth_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clubs ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
