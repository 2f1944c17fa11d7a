-- Schema 20: ready for sharding by club. Every club-owned table carries club_id and
-- its primary key leads with it; references between club-owned tables name the club
-- too, so a row can only point at rows of its own club; every other unique rule
-- includes it. This is what Citus needs to distribute these tables by club_id later
-- without redesign (docs/operations/scaling.md), and the schema test in
-- crates/cli/tests/it/schema.rs keeps it so. Lookups by an id alone keep an index of
-- their own (the former primary key's columns, no longer unique on their own: ids
-- are random 128-bit values).
--
-- 1. Rows that named their club only through a parent now carry it.
ALTER TABLE subgroup_members ADD COLUMN club_id TEXT;
UPDATE subgroup_members t SET club_id = p.club_id FROM subgroups p WHERE p.id = t.subgroup_id;
ALTER TABLE subgroup_members ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE event_targets ADD COLUMN club_id TEXT;
UPDATE event_targets t SET club_id = p.club_id FROM events p WHERE p.id = t.event_id;
ALTER TABLE event_targets ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE answers ADD COLUMN club_id TEXT;
UPDATE answers t SET club_id = p.club_id FROM occurrences p WHERE p.id = t.occurrence_id;
ALTER TABLE answers ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE reminder_jobs ADD COLUMN club_id TEXT;
UPDATE reminder_jobs t SET club_id = p.club_id FROM occurrences p WHERE p.id = t.occurrence_id;
ALTER TABLE reminder_jobs ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE announcement_targets ADD COLUMN club_id TEXT;
UPDATE announcement_targets t SET club_id = p.club_id FROM announcements p WHERE p.id = t.announcement_id;
ALTER TABLE announcement_targets ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE announcement_reads ADD COLUMN club_id TEXT;
UPDATE announcement_reads t SET club_id = p.club_id FROM announcements p WHERE p.id = t.announcement_id;
ALTER TABLE announcement_reads ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE comment_revisions ADD COLUMN club_id TEXT;
UPDATE comment_revisions t SET club_id = p.club_id FROM comments p WHERE p.id = t.comment_id;
ALTER TABLE comment_revisions ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE poll_targets ADD COLUMN club_id TEXT;
UPDATE poll_targets t SET club_id = p.club_id FROM polls p WHERE p.id = t.poll_id;
ALTER TABLE poll_targets ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE poll_options ADD COLUMN club_id TEXT;
UPDATE poll_options t SET club_id = p.club_id FROM polls p WHERE p.id = t.poll_id;
ALTER TABLE poll_options ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE poll_voters ADD COLUMN club_id TEXT;
UPDATE poll_voters t SET club_id = p.club_id FROM polls p WHERE p.id = t.poll_id;
ALTER TABLE poll_voters ALTER COLUMN club_id SET NOT NULL;
ALTER TABLE poll_votes ADD COLUMN club_id TEXT;
UPDATE poll_votes t SET club_id = p.club_id FROM polls p WHERE p.id = t.poll_id;
ALTER TABLE poll_votes ALTER COLUMN club_id SET NOT NULL;
-- 2. References into club-owned tables go, to come back naming the club.
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
             WHERE contype = 'f' AND confrelid::regclass::text IN ('memberships', 'guardian_links', 'subgroups', 'subgroup_members', 'invitations', 'events', 'event_targets', 'occurrences', 'answers', 'reminder_jobs', 'announcements', 'announcement_targets', 'announcement_reads', 'comments', 'comment_revisions', 'polls', 'poll_targets', 'poll_options', 'poll_voters', 'poll_votes')
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
END $$;
-- 3. Primary keys lead with the club; the old key stays as a plain index.
ALTER TABLE memberships DROP CONSTRAINT memberships_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX memberships_by_key ON memberships(id);
ALTER TABLE guardian_links DROP CONSTRAINT guardian_links_pkey, ADD PRIMARY KEY (club_id, guardian_id, student_id);
CREATE INDEX guardian_links_by_key ON guardian_links(guardian_id, student_id);
ALTER TABLE subgroups DROP CONSTRAINT subgroups_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX subgroups_by_key ON subgroups(id);
ALTER TABLE subgroup_members DROP CONSTRAINT subgroup_members_pkey, ADD PRIMARY KEY (club_id, subgroup_id, membership_id);
CREATE INDEX subgroup_members_by_key ON subgroup_members(subgroup_id, membership_id);
ALTER TABLE invitations DROP CONSTRAINT invitations_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX invitations_by_key ON invitations(id);
ALTER TABLE events DROP CONSTRAINT events_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX events_by_key ON events(id);
ALTER TABLE event_targets DROP CONSTRAINT event_targets_pkey, ADD PRIMARY KEY (club_id, event_id, subgroup_id);
CREATE INDEX event_targets_by_key ON event_targets(event_id, subgroup_id);
ALTER TABLE occurrences DROP CONSTRAINT occurrences_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX occurrences_by_key ON occurrences(id);
ALTER TABLE answers DROP CONSTRAINT answers_pkey, ADD PRIMARY KEY (club_id, occurrence_id, membership_id);
CREATE INDEX answers_by_key ON answers(occurrence_id, membership_id);
ALTER TABLE reminder_jobs DROP CONSTRAINT reminder_jobs_pkey, ADD PRIMARY KEY (club_id, occurrence_id, before_min);
CREATE INDEX reminder_jobs_by_key ON reminder_jobs(occurrence_id, before_min);
ALTER TABLE announcements DROP CONSTRAINT announcements_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX announcements_by_key ON announcements(id);
ALTER TABLE announcement_targets DROP CONSTRAINT announcement_targets_pkey, ADD PRIMARY KEY (club_id, announcement_id, subgroup_id);
CREATE INDEX announcement_targets_by_key ON announcement_targets(announcement_id, subgroup_id);
ALTER TABLE announcement_reads DROP CONSTRAINT announcement_reads_pkey, ADD PRIMARY KEY (club_id, announcement_id, membership_id);
CREATE INDEX announcement_reads_by_key ON announcement_reads(announcement_id, membership_id);
ALTER TABLE comments DROP CONSTRAINT comments_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX comments_by_key ON comments(id);
ALTER TABLE comment_revisions DROP CONSTRAINT comment_revisions_pkey, ADD PRIMARY KEY (club_id, comment_id, rev);
CREATE INDEX comment_revisions_by_key ON comment_revisions(comment_id, rev);
ALTER TABLE polls DROP CONSTRAINT polls_pkey, ADD PRIMARY KEY (club_id, id);
CREATE INDEX polls_by_key ON polls(id);
ALTER TABLE poll_targets DROP CONSTRAINT poll_targets_pkey, ADD PRIMARY KEY (club_id, poll_id, subgroup_id);
CREATE INDEX poll_targets_by_key ON poll_targets(poll_id, subgroup_id);
ALTER TABLE poll_options DROP CONSTRAINT poll_options_pkey, ADD PRIMARY KEY (club_id, poll_id, idx);
CREATE INDEX poll_options_by_key ON poll_options(poll_id, idx);
ALTER TABLE poll_voters DROP CONSTRAINT poll_voters_pkey, ADD PRIMARY KEY (club_id, poll_id, membership_id);
CREATE INDEX poll_voters_by_key ON poll_voters(poll_id, membership_id);
ALTER TABLE poll_votes DROP CONSTRAINT poll_votes_pkey, ADD PRIMARY KEY (club_id, poll_id, membership_id, idx);
CREATE INDEX poll_votes_by_key ON poll_votes(poll_id, membership_id, idx);
-- 4. Other unique rules include the club. An invitation is looked up by its token
-- before its club is known: a plain index serves that (tokens are 256-bit random).
ALTER TABLE invitations DROP CONSTRAINT invitations_token_hash_key,
    ADD UNIQUE (club_id, token_hash);
CREATE INDEX invitations_token ON invitations(token_hash);
ALTER TABLE occurrences DROP CONSTRAINT occurrences_event_id_original_start_key,
    ADD UNIQUE (club_id, event_id, original_start);
-- 5. References name the club: a row can only point into its own club.
ALTER TABLE guardian_links ADD FOREIGN KEY (club_id, guardian_id) REFERENCES memberships(club_id, id);
ALTER TABLE guardian_links ADD FOREIGN KEY (club_id, student_id) REFERENCES memberships(club_id, id);
ALTER TABLE subgroup_members ADD FOREIGN KEY (club_id, subgroup_id) REFERENCES subgroups(club_id, id);
ALTER TABLE subgroup_members ADD FOREIGN KEY (club_id, membership_id) REFERENCES memberships(club_id, id);
ALTER TABLE invitations ADD FOREIGN KEY (club_id, subgroup_id) REFERENCES subgroups(club_id, id);
ALTER TABLE event_targets ADD FOREIGN KEY (club_id, event_id) REFERENCES events(club_id, id);
ALTER TABLE event_targets ADD FOREIGN KEY (club_id, subgroup_id) REFERENCES subgroups(club_id, id);
ALTER TABLE occurrences ADD FOREIGN KEY (club_id, event_id) REFERENCES events(club_id, id);
ALTER TABLE answers ADD FOREIGN KEY (club_id, occurrence_id) REFERENCES occurrences(club_id, id);
ALTER TABLE answers ADD FOREIGN KEY (club_id, membership_id) REFERENCES memberships(club_id, id);
ALTER TABLE reminder_jobs ADD FOREIGN KEY (club_id, occurrence_id) REFERENCES occurrences(club_id, id);
ALTER TABLE announcements ADD FOREIGN KEY (club_id, author_id) REFERENCES memberships(club_id, id);
ALTER TABLE announcement_targets ADD FOREIGN KEY (club_id, announcement_id) REFERENCES announcements(club_id, id);
ALTER TABLE announcement_targets ADD FOREIGN KEY (club_id, subgroup_id) REFERENCES subgroups(club_id, id);
ALTER TABLE announcement_reads ADD FOREIGN KEY (club_id, announcement_id) REFERENCES announcements(club_id, id);
ALTER TABLE announcement_reads ADD FOREIGN KEY (club_id, membership_id) REFERENCES memberships(club_id, id);
ALTER TABLE comments ADD FOREIGN KEY (club_id, author_id) REFERENCES memberships(club_id, id);
ALTER TABLE comment_revisions ADD FOREIGN KEY (club_id, comment_id) REFERENCES comments(club_id, id);
ALTER TABLE polls ADD FOREIGN KEY (club_id, author_id) REFERENCES memberships(club_id, id);
ALTER TABLE poll_targets ADD FOREIGN KEY (club_id, poll_id) REFERENCES polls(club_id, id);
ALTER TABLE poll_targets ADD FOREIGN KEY (club_id, subgroup_id) REFERENCES subgroups(club_id, id);
ALTER TABLE poll_options ADD FOREIGN KEY (club_id, poll_id) REFERENCES polls(club_id, id);
ALTER TABLE poll_voters ADD FOREIGN KEY (club_id, poll_id) REFERENCES polls(club_id, id);
ALTER TABLE poll_voters ADD FOREIGN KEY (club_id, membership_id) REFERENCES memberships(club_id, id);
ALTER TABLE poll_votes ADD FOREIGN KEY (club_id, poll_id) REFERENCES polls(club_id, id);
ALTER TABLE poll_votes ADD FOREIGN KEY (club_id, membership_id) REFERENCES memberships(club_id, id);
