-- Schema 30: the roll call an officer takes on the day (who actually came). A row says
-- came (1) or did not (0); an occurrence with any row has had its roll call, and its
-- rows, not the answers, then decide the attendance rate. Club-owned, keyed by its club
-- like the others (see schema 20).
CREATE TABLE roll_calls (
    club_id       TEXT    NOT NULL REFERENCES clubs(id),
    occurrence_id TEXT    NOT NULL REFERENCES occurrences(id),
    membership_id TEXT    NOT NULL REFERENCES memberships(id),
    present       INTEGER NOT NULL,
    checked_by    TEXT    NOT NULL REFERENCES accounts(id),
    checked_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX roll_calls_club_key ON roll_calls(club_id, occurrence_id, membership_id);
CREATE INDEX roll_calls_member ON roll_calls(membership_id);
