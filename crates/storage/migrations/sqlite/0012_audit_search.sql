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
