-- Seals of live state: for each row of user content and each sensitive record, an HMAC
-- of its content under the audit key (kept outside the database), written by the
-- audited transaction that changed the row. See src/row_seals.rs.
CREATE TABLE row_seals (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    mac  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
-- One row once the rows that existed before seals were sealed.
CREATE TABLE row_seals_state (
    sealed_at BIGINT NOT NULL
);
