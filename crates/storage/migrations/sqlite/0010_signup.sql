-- Sign-ups waiting for their e-mail address to be confirmed. The account is created
-- only when the link is followed, so that signing up never tells whether an address
-- already has an account (that address's owner gets a note instead of a link).

CREATE TABLE pending_signups (
    token_hash      TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    invitation_hash TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
