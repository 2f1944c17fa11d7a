-- Searching the audit trail by club, by person and by what was acted on. The keys are
-- added in batches by the checkpointer, with the Merkle tree, and not by each write: an
-- audited write then touches only the entry and the head. Entries newer than the tree
-- are found by a short scan of the log's tail.
CREATE TABLE audit_search (
    search_key TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (search_key, seq)
);
-- Replaced by the 'club:' keys above.
DROP INDEX audit_log_club;
CREATE TRIGGER audit_search_no_update BEFORE UPDATE ON audit_search
BEGIN SELECT RAISE(ABORT, 'audit_search is append-only'); END;
CREATE TRIGGER audit_search_no_delete BEFORE DELETE ON audit_search
BEGIN SELECT RAISE(ABORT, 'audit_search is append-only'); END;

-- `seq BIGINT PRIMARY KEY` kept a separate unique index beside the table's rowid tree,
-- so each audited write updated two B-trees. `INTEGER PRIMARY KEY` makes seq the rowid
-- itself: one tree, one page less per write. Same columns, same values.
CREATE TABLE audit_log_rowid (
    seq           INTEGER PRIMARY KEY,
    ts_ms         BIGINT NOT NULL,
    actor_account TEXT,
    actor_session TEXT,
    club_id       TEXT,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL,
    change_digest TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    -- The head's MAC as of this entry (HMAC under secrets/audit.key). Not part of the
    -- entry's hash; the trigger below moves audit_head with the insert, so an audited
    -- write is one statement.
    head_mac      TEXT
);
INSERT INTO audit_log_rowid (seq, ts_ms, actor_account, actor_session, club_id, action,
    target, change_digest, ip, user_agent, prev_hash, hash)
    SELECT seq, ts_ms, actor_account, actor_session, club_id, action,
    target, change_digest, ip, user_agent, prev_hash, hash FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_rowid RENAME TO audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_moves_head AFTER INSERT ON audit_log WHEN NEW.head_mac IS NOT NULL
BEGIN
    INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, NEW.seq, NEW.hash, NEW.head_mac)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac;
END;
