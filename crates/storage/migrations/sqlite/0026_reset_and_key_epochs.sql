-- Schema 26: two containment steps shared by every instance.
-- password_reset_required (0 or 1): a password alone no longer signs the account in;
-- its owner sets a new one through the e-mailed reset link (or signs in with a passkey
-- and changes it). Cleared whenever the password is set.
ALTER TABLE accounts ADD COLUMN password_reset_required INTEGER NOT NULL DEFAULT 0;
-- The current epoch of a key every instance derives from its own key file: rotating is
-- writing a new random salt, which each instance reads within a second. The salt is
-- no secret: without the key file it derives nothing.
CREATE TABLE key_epochs (
    name       TEXT    NOT NULL PRIMARY KEY,
    salt       TEXT    NOT NULL,
    since_ms   INTEGER NOT NULL,
    by_account TEXT
) STRICT;
