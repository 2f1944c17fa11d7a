-- Schema 19: entries that wait for a position in the audit chain, and the format of
-- each entry's hash (see the SQLite migration of the same number for why).
--
-- Several instances insert here concurrently, each in the transaction of its own
-- write; only the integrator (one at a time, under an advisory lock) moves committed
-- rows into audit_log. Identity values are taken at insert, not at commit, so the
-- integrator takes whatever is committed, in id order, and deletes exactly the rows it
-- linked.
CREATE TABLE audit_queue (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts_ms         BIGINT NOT NULL,
    actor_account TEXT,
    actor_session TEXT,
    club_id       TEXT,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL,
    change_digest TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    mac           TEXT NOT NULL
);

ALTER TABLE audit_log ADD COLUMN format BIGINT NOT NULL DEFAULT 1;
-- A V2 entry linked by the integrator keeps its content hash, so that the author of a
-- promise (a receipt given before the position) can find its position and link:
-- GET /api/v1/transparency/inclusion?content=<hex>. Not covered by the entry's hash
-- (it is derived from it); editing it only makes a lookup fail.
ALTER TABLE audit_log ADD COLUMN content_hash TEXT;
CREATE INDEX audit_log_content ON audit_log(content_hash) WHERE content_hash IS NOT NULL;
