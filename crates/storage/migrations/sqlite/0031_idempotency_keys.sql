-- Schema 31: Idempotency-Key. A phone that retries a request it never got the answer
-- to sends the same key: the first answer is kept here (a day) and given again, and the
-- write is not made twice. status 0: the first request is still being answered.
CREATE TABLE idempotency_keys (
    account_id  TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    headers     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, idem_key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
