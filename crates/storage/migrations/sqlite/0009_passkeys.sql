-- Passkeys (WebAuthn credentials). Each account gets a random 64-byte user handle, sent
-- to authenticators instead of anything that identifies the person. Only public keys
-- and counters are stored, in webauthn_rp's binary encoding (base64url).

ALTER TABLE accounts ADD COLUMN webauthn_handle TEXT;
CREATE UNIQUE INDEX accounts_webauthn_handle ON accounts(webauthn_handle);

CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    static_state  TEXT NOT NULL,
    dynamic_state TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_account ON passkeys(account_id);
