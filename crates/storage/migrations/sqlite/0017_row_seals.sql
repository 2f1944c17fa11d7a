-- Seals of live state: each row of user content and each sensitive record carries an
-- HMAC of its content under the audit key (kept outside the database), written by the
-- audited transaction that changed the row. See src/row_seals.rs.
ALTER TABLE comments ADD COLUMN seal BLOB;
ALTER TABLE announcements ADD COLUMN seal BLOB;
ALTER TABLE polls ADD COLUMN seal BLOB;
ALTER TABLE events ADD COLUMN seal BLOB;
ALTER TABLE answers ADD COLUMN seal BLOB;
ALTER TABLE memberships ADD COLUMN seal BLOB;
ALTER TABLE accounts ADD COLUMN seal BLOB;
ALTER TABLE guardian_links ADD COLUMN seal BLOB;
ALTER TABLE personal_fields ADD COLUMN seal BLOB;
-- One row once the rows that existed before seals were sealed.
CREATE TABLE row_seals_state (
    sealed_at BIGINT NOT NULL
);
