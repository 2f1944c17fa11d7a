-- Privacy rights: deleted accounts (kept as a pseudonymous row so that history, such
-- as past attendance, still adds up), a person's stop of use of their data, and the
-- requests people send the operator.

ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;
ALTER TABLE accounts ADD COLUMN use_stopped_at BIGINT;

CREATE TABLE privacy_requests (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    details    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    handled_at BIGINT
);
CREATE INDEX privacy_requests_open ON privacy_requests(handled_at, created_at);
