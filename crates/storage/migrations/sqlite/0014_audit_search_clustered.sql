-- audit_search as a rowid table kept its (search_key, seq) primary key in a separate
-- index beside the table: every key the checkpointer added was written to two B-trees.
-- WITHOUT ROWID stores the table in its primary key's order: one tree, the same rows,
-- and the key lookups the searches make read it directly.
CREATE TABLE audit_search_clustered (
    search_key TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (search_key, seq)
) WITHOUT ROWID;
INSERT INTO audit_search_clustered (search_key, seq)
    SELECT search_key, seq FROM audit_search ORDER BY search_key, seq;
DROP TABLE audit_search;
ALTER TABLE audit_search_clustered RENAME TO audit_search;
CREATE TRIGGER audit_search_no_update BEFORE UPDATE ON audit_search
BEGIN SELECT RAISE(ABORT, 'audit_search is append-only'); END;
CREATE TRIGGER audit_search_no_delete BEFORE DELETE ON audit_search
BEGIN SELECT RAISE(ABORT, 'audit_search is append-only'); END;
