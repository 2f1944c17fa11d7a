-- Schema 20: ready for sharding by club (see the PostgreSQL migration of the same
-- number). Every club-owned table carries club_id, and a unique index leads with it
-- over the table's key (SQLite cannot change a table's primary key in place; the
-- PostgreSQL schema, the one that would be sharded, has it as the primary key).
-- Upserts name these indexes' columns on both engines.
ALTER TABLE subgroup_members ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE subgroup_members SET club_id = (SELECT p.club_id FROM subgroups p WHERE p.id = subgroup_members.subgroup_id);
ALTER TABLE event_targets ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE event_targets SET club_id = (SELECT p.club_id FROM events p WHERE p.id = event_targets.event_id);
ALTER TABLE answers ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE answers SET club_id = (SELECT p.club_id FROM occurrences p WHERE p.id = answers.occurrence_id);
ALTER TABLE reminder_jobs ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE reminder_jobs SET club_id = (SELECT p.club_id FROM occurrences p WHERE p.id = reminder_jobs.occurrence_id);
ALTER TABLE announcement_targets ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE announcement_targets SET club_id = (SELECT p.club_id FROM announcements p WHERE p.id = announcement_targets.announcement_id);
ALTER TABLE announcement_reads ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE announcement_reads SET club_id = (SELECT p.club_id FROM announcements p WHERE p.id = announcement_reads.announcement_id);
ALTER TABLE comment_revisions ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE comment_revisions SET club_id = (SELECT p.club_id FROM comments p WHERE p.id = comment_revisions.comment_id);
ALTER TABLE poll_targets ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE poll_targets SET club_id = (SELECT p.club_id FROM polls p WHERE p.id = poll_targets.poll_id);
ALTER TABLE poll_options ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE poll_options SET club_id = (SELECT p.club_id FROM polls p WHERE p.id = poll_options.poll_id);
ALTER TABLE poll_voters ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE poll_voters SET club_id = (SELECT p.club_id FROM polls p WHERE p.id = poll_voters.poll_id);
ALTER TABLE poll_votes ADD COLUMN club_id TEXT REFERENCES clubs(id);
UPDATE poll_votes SET club_id = (SELECT p.club_id FROM polls p WHERE p.id = poll_votes.poll_id);
CREATE UNIQUE INDEX memberships_club_key ON memberships(club_id, id);
CREATE UNIQUE INDEX guardian_links_club_key ON guardian_links(club_id, guardian_id, student_id);
CREATE UNIQUE INDEX subgroups_club_key ON subgroups(club_id, id);
CREATE UNIQUE INDEX subgroup_members_club_key ON subgroup_members(club_id, subgroup_id, membership_id);
CREATE UNIQUE INDEX invitations_club_key ON invitations(club_id, id);
CREATE UNIQUE INDEX events_club_key ON events(club_id, id);
CREATE UNIQUE INDEX event_targets_club_key ON event_targets(club_id, event_id, subgroup_id);
CREATE UNIQUE INDEX occurrences_club_key ON occurrences(club_id, id);
CREATE UNIQUE INDEX answers_club_key ON answers(club_id, occurrence_id, membership_id);
CREATE UNIQUE INDEX reminder_jobs_club_key ON reminder_jobs(club_id, occurrence_id, before_min);
CREATE UNIQUE INDEX announcements_club_key ON announcements(club_id, id);
CREATE UNIQUE INDEX announcement_targets_club_key ON announcement_targets(club_id, announcement_id, subgroup_id);
CREATE UNIQUE INDEX announcement_reads_club_key ON announcement_reads(club_id, announcement_id, membership_id);
CREATE UNIQUE INDEX comments_club_key ON comments(club_id, id);
CREATE UNIQUE INDEX comment_revisions_club_key ON comment_revisions(club_id, comment_id, rev);
CREATE UNIQUE INDEX polls_club_key ON polls(club_id, id);
CREATE UNIQUE INDEX poll_targets_club_key ON poll_targets(club_id, poll_id, subgroup_id);
CREATE UNIQUE INDEX poll_options_club_key ON poll_options(club_id, poll_id, idx);
CREATE UNIQUE INDEX poll_voters_club_key ON poll_voters(club_id, poll_id, membership_id);
CREATE UNIQUE INDEX poll_votes_club_key ON poll_votes(club_id, poll_id, membership_id, idx);
