-- What decides security and used to live in one process's memory, now shared by every
-- instance through the database.
--
-- Single-use values handed to a client and consumed once when it comes back: passkey
-- ceremonies in progress (the relying party's state for a challenge) and actions
-- handed out for signing (by nonce). Taking one deletes it, so it is used once however
-- many instances there are.
CREATE TABLE pending_tokens (
    kind       TEXT   NOT NULL,
    token      TEXT   NOT NULL,
    value      BLOB   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, token)
);
CREATE INDEX pending_tokens_expiry ON pending_tokens(expires_at);

-- Per-address request windows (sign-ups, logins, invitation lookups…): one count per
-- policy and client address (a /64 for IPv6), in a window that starts with its first
-- request.
CREATE TABLE address_windows (
    policy       TEXT   NOT NULL,
    client       TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (policy, client)
);
CREATE INDEX address_windows_start ON address_windows(window_start);
