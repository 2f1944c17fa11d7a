-- Schema 30: the roll call taken on the day (see SQLite's migration of the same number).
CREATE TABLE roll_calls (
    club_id       TEXT   NOT NULL REFERENCES clubs(id),
    occurrence_id TEXT   NOT NULL,
    membership_id TEXT   NOT NULL,
    present       BIGINT NOT NULL,
    checked_by    TEXT   NOT NULL REFERENCES accounts(id),
    checked_at    BIGINT NOT NULL,
    PRIMARY KEY (club_id, occurrence_id, membership_id),
    FOREIGN KEY (club_id, occurrence_id) REFERENCES occurrences(club_id, id),
    FOREIGN KEY (club_id, membership_id) REFERENCES memberships(club_id, id)
);
CREATE INDEX roll_calls_by_key ON roll_calls(occurrence_id, membership_id);
CREATE INDEX roll_calls_member ON roll_calls(membership_id);
