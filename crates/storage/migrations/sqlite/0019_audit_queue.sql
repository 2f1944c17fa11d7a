-- Schema 19: entries that wait for a position in the audit chain, and the format of
-- each entry's hash.
--
-- On PostgreSQL several instances write at once, and one chain under one lock would
-- bound every instance's writes by a single commit's latency. A write therefore puts
-- its entries here, in its own transaction, and gets a signed promise over each
-- entry's content hash; an integrator links the committed entries into the chain
-- within the stated maximum merge delay. SQLite has one writer and links its entries
-- at once, so this table stays empty there; it exists on both engines so that one
-- schema version means one logical schema.
CREATE TABLE audit_queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms         INTEGER NOT NULL,
    actor_account TEXT,
    actor_session TEXT,
    club_id       TEXT,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL,
    change_digest TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    -- HMAC under secrets/audit.key of the content hash: an entry slipped in by whoever
    -- can write to the database, without the key, is never integrated.
    mac           TEXT NOT NULL
);

-- 1: the hash covers position, content and link at once (before schema 19).
-- 2: the content is hashed first, then bound to its position and link.
ALTER TABLE audit_log ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
-- A V2 entry linked by the integrator keeps its content hash, so that the author of a
-- promise (a receipt given before the position) can find its position and link:
-- GET /api/v1/transparency/inclusion?content=<hex>. Not covered by the entry's hash
-- (it is derived from it); editing it only makes a lookup fail.
ALTER TABLE audit_log ADD COLUMN content_hash TEXT;
CREATE INDEX audit_log_content ON audit_log(content_hash) WHERE content_hash IS NOT NULL;
