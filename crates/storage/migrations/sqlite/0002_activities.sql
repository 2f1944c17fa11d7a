-- Club activities: events and their occurrences, attendance, announcements with read
-- receipts, comments with their history, polls, notifications, calendar feeds.
-- Times are BIGINT UTC milliseconds; local wall-clock readings are TEXT (ISO 8601).

ALTER TABLE clubs ADD COLUMN timezone TEXT NOT NULL DEFAULT 'Asia/Tokyo';
-- The language notifications are sent in; follows the language the person last chose.
ALTER TABLE accounts ADD COLUMN lang TEXT NOT NULL DEFAULT 'ja';

-- An event: a one-off, or the plan of a recurring series (rrule set).
CREATE TABLE events (
    id                  TEXT PRIMARY KEY,
    club_id             TEXT NOT NULL REFERENCES clubs(id),
    title               TEXT NOT NULL,
    place               TEXT NOT NULL,
    bring               TEXT NOT NULL,
    notes               TEXT NOT NULL,
    timezone            TEXT NOT NULL,
    rrule               TEXT,
    -- The first occurrence's local start and end (2026-12-01T16:00:00).
    first_start         TEXT NOT NULL,
    first_end           TEXT NOT NULL,
    meet_before_min     BIGINT,
    deadline_before_min BIGINT NOT NULL,
    capacity            BIGINT,
    -- Minutes before the deadline at which non-responders are reminded, comma-separated.
    reminders           TEXT NOT NULL,
    all_members         BOOLEAN NOT NULL,
    created_by          TEXT NOT NULL REFERENCES accounts(id),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    cancelled_at        BIGINT
);
CREATE INDEX events_club ON events(club_id, created_at);

CREATE TABLE event_targets (
    event_id    TEXT NOT NULL REFERENCES events(id),
    subgroup_id TEXT NOT NULL REFERENCES subgroups(id),
    PRIMARY KEY (event_id, subgroup_id)
);

-- One dated occurrence. Fields are copied from the event so that one occurrence can be
-- moved or changed on its own (detached); changes to the series skip detached ones.
CREATE TABLE occurrences (
    id             TEXT PRIMARY KEY,
    event_id       TEXT NOT NULL REFERENCES events(id),
    club_id        TEXT NOT NULL REFERENCES clubs(id),
    original_start BIGINT NOT NULL,
    starts_at      BIGINT NOT NULL,
    ends_at        BIGINT NOT NULL,
    meet_at        BIGINT,
    deadline_at    BIGINT NOT NULL,
    title          TEXT NOT NULL,
    place          TEXT NOT NULL,
    bring          TEXT NOT NULL,
    notes          TEXT NOT NULL,
    capacity       BIGINT,
    detached       BOOLEAN NOT NULL DEFAULT FALSE,
    cancelled_at   BIGINT,
    updated_at     BIGINT NOT NULL,
    last_reminded_at BIGINT,
    UNIQUE (event_id, original_start)
);
CREATE INDEX occurrences_club_start ON occurrences(club_id, starts_at);
CREATE INDEX occurrences_event_start ON occurrences(event_id, starts_at);

-- 出欠. status: yes, no, maybe, waitlisted (wants to attend, no place yet; queued_at
-- orders the queue).
CREATE TABLE answers (
    occurrence_id TEXT NOT NULL REFERENCES occurrences(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    status        TEXT NOT NULL,
    comment       TEXT NOT NULL,
    decide_by     TEXT,
    queued_at     BIGINT,
    answered_by   TEXT NOT NULL REFERENCES accounts(id),
    answered_as   TEXT NOT NULL,
    answered_at   BIGINT NOT NULL,
    PRIMARY KEY (occurrence_id, membership_id)
);
CREATE INDEX answers_member ON answers(membership_id);

-- Reminders due for an occurrence; done_at is set in the transaction that creates the
-- notifications, so a reminder is never sent twice, restarts included.
CREATE TABLE reminder_jobs (
    occurrence_id TEXT NOT NULL REFERENCES occurrences(id),
    before_min    BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    done_at       BIGINT,
    PRIMARY KEY (occurrence_id, before_min)
);
CREATE INDEX reminder_jobs_due ON reminder_jobs(done_at, due_at);

CREATE TABLE announcements (
    id                    TEXT PRIMARY KEY,
    club_id               TEXT NOT NULL REFERENCES clubs(id),
    author_id             TEXT NOT NULL REFERENCES memberships(id),
    title                 TEXT NOT NULL,
    body                  TEXT NOT NULL,
    -- SHA-256 of title and body: what a confirmation receipt confirms.
    content_hash          TEXT NOT NULL,
    pinned                BOOLEAN NOT NULL,
    requires_confirmation BOOLEAN NOT NULL,
    all_members           BOOLEAN NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    deleted_at            BIGINT
);
CREATE INDEX announcements_club ON announcements(club_id, created_at);

CREATE TABLE announcement_targets (
    announcement_id TEXT NOT NULL REFERENCES announcements(id),
    subgroup_id     TEXT NOT NULL REFERENCES subgroups(id),
    PRIMARY KEY (announcement_id, subgroup_id)
);

CREATE TABLE announcement_reads (
    announcement_id TEXT NOT NULL REFERENCES announcements(id),
    membership_id   TEXT NOT NULL REFERENCES memberships(id),
    read_at         BIGINT NOT NULL,
    confirmed_at    BIGINT,
    confirmed_hash  TEXT,
    PRIMARY KEY (announcement_id, membership_id)
);

-- Comments under an occurrence or an announcement; every version is kept.
CREATE TABLE comments (
    id          TEXT PRIMARY KEY,
    club_id     TEXT NOT NULL REFERENCES clubs(id),
    parent_kind TEXT NOT NULL,
    parent_id   TEXT NOT NULL,
    author_id   TEXT NOT NULL REFERENCES memberships(id),
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    edited_at   BIGINT,
    deleted_at  BIGINT
);
CREATE INDEX comments_parent ON comments(parent_id, created_at);

CREATE TABLE comment_revisions (
    comment_id TEXT NOT NULL REFERENCES comments(id),
    rev        BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (comment_id, rev)
);

CREATE TABLE polls (
    id          TEXT PRIMARY KEY,
    club_id     TEXT NOT NULL REFERENCES clubs(id),
    author_id   TEXT NOT NULL REFERENCES memberships(id),
    question    TEXT NOT NULL,
    multiple    BOOLEAN NOT NULL,
    anonymous   BOOLEAN NOT NULL,
    all_members BOOLEAN NOT NULL,
    closes_at   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT
);
CREATE INDEX polls_club ON polls(club_id, created_at);

CREATE TABLE poll_targets (
    poll_id     TEXT NOT NULL REFERENCES polls(id),
    subgroup_id TEXT NOT NULL REFERENCES subgroups(id),
    PRIMARY KEY (poll_id, subgroup_id)
);

-- votes counts only the ballots of anonymous polls; named ballots are in poll_votes.
CREATE TABLE poll_options (
    poll_id TEXT NOT NULL REFERENCES polls(id),
    idx     BIGINT NOT NULL,
    label   TEXT NOT NULL,
    votes   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, idx)
);

-- Who voted in a poll. For an anonymous poll this is all that links a person to it:
-- the choice went into poll_options.votes and is stored nowhere else.
CREATE TABLE poll_voters (
    poll_id       TEXT NOT NULL REFERENCES polls(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    PRIMARY KEY (poll_id, membership_id)
);

-- Named polls only.
CREATE TABLE poll_votes (
    poll_id       TEXT NOT NULL REFERENCES polls(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    idx           BIGINT NOT NULL,
    PRIMARY KEY (poll_id, membership_id, idx)
);

-- In-app notifications. kind and params are rendered in the reader's language.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    club_id    TEXT REFERENCES clubs(id),
    kind       TEXT NOT NULL,
    params     TEXT NOT NULL,
    url        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_account ON notifications(account_id, created_at);

-- Per kind and channel; a missing row means the default (on).
CREATE TABLE notification_prefs (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
);

CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_account ON push_subscriptions(account_id);

-- The outbox: one row per notification and channel target, sent by a worker.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    channel         TEXT NOT NULL,
    target          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX deliveries_due ON deliveries(sent_at, failed_at, next_attempt_at);

-- Secret calendar feed URLs (only the token's hash is kept).
CREATE TABLE feed_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX feed_tokens_account ON feed_tokens(account_id);
