-- PostgreSQL's schema at version 17: what SQLite's migrations 0001-0017 create, in
-- PostgreSQL's types (BIGINT for SQLite's integers, BYTEA for blobs) and with the
-- triggers in PL/pgSQL. Later versions come as files of their own, like SQLite's.
-- Times are BIGINT milliseconds since the Unix epoch (UTC); ids are 32 hex characters.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    is_operator   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
, lang TEXT NOT NULL DEFAULT 'ja', disabled_at BIGINT, phone_visibility TEXT NOT NULL DEFAULT 'officers', address_visibility TEXT NOT NULL DEFAULT 'officers', deleted_at BIGINT, use_stopped_at BIGINT, webauthn_handle TEXT, seal BYTEA);
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
, reauth_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE TABLE clubs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL REFERENCES accounts(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
, timezone TEXT NOT NULL DEFAULT 'Asia/Tokyo', require_mfa BOOLEAN NOT NULL DEFAULT FALSE);
CREATE TABLE memberships (
    id         TEXT PRIMARY KEY,
    club_id    TEXT NOT NULL REFERENCES clubs(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role       TEXT NOT NULL,
    status     TEXT NOT NULL,
    joined_at  BIGINT NOT NULL,
    left_at    BIGINT, seal BYTEA,
    UNIQUE (club_id, account_id)
);
CREATE INDEX memberships_account ON memberships(account_id);
CREATE TABLE guardian_links (
    club_id     TEXT NOT NULL REFERENCES clubs(id),
    guardian_id TEXT NOT NULL REFERENCES memberships(id),
    student_id  TEXT NOT NULL REFERENCES memberships(id),
    created_at  BIGINT NOT NULL, seal BYTEA,
    PRIMARY KEY (guardian_id, student_id)
);
CREATE INDEX guardian_links_club ON guardian_links(club_id);
CREATE TABLE subgroups (
    id         TEXT PRIMARY KEY,
    club_id    TEXT NOT NULL REFERENCES clubs(id),
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX subgroups_club ON subgroups(club_id);
CREATE TABLE subgroup_members (
    subgroup_id   TEXT NOT NULL REFERENCES subgroups(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    PRIMARY KEY (subgroup_id, membership_id)
);
CREATE TABLE invitations (
    id                TEXT PRIMARY KEY,
    club_id           TEXT NOT NULL REFERENCES clubs(id),
    token_hash        TEXT NOT NULL UNIQUE,
    role              TEXT NOT NULL,
    requires_approval BOOLEAN NOT NULL,
    max_uses          BIGINT NOT NULL,
    uses              BIGINT NOT NULL DEFAULT 0,
    expires_at        BIGINT NOT NULL,
    subgroup_id       TEXT REFERENCES subgroups(id),
    created_by        TEXT NOT NULL REFERENCES accounts(id),
    created_at        BIGINT NOT NULL,
    revoked_at        BIGINT
);
CREATE INDEX invitations_club ON invitations(club_id);
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL,
    mac  TEXT NOT NULL
);
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
, seal BYTEA);
CREATE INDEX events_club ON events(club_id, created_at);
CREATE TABLE event_targets (
    event_id    TEXT NOT NULL REFERENCES events(id),
    subgroup_id TEXT NOT NULL REFERENCES subgroups(id),
    PRIMARY KEY (event_id, subgroup_id)
);
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
    last_reminded_at BIGINT, n_yes BIGINT NOT NULL DEFAULT 0, n_no BIGINT NOT NULL DEFAULT 0, n_maybe BIGINT NOT NULL DEFAULT 0, n_wait BIGINT NOT NULL DEFAULT 0,
    UNIQUE (event_id, original_start)
);
CREATE INDEX occurrences_club_start ON occurrences(club_id, starts_at);
CREATE INDEX occurrences_event_start ON occurrences(event_id, starts_at);
CREATE TABLE answers (
    occurrence_id TEXT NOT NULL REFERENCES occurrences(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    status        TEXT NOT NULL,
    comment       TEXT NOT NULL,
    decide_by     TEXT,
    queued_at     BIGINT,
    answered_by   TEXT NOT NULL REFERENCES accounts(id),
    answered_as   TEXT NOT NULL,
    answered_at   BIGINT NOT NULL, seal BYTEA,
    PRIMARY KEY (occurrence_id, membership_id)
);
CREATE INDEX answers_member ON answers(membership_id);
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
, seal BYTEA);
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
, seal BYTEA);
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
, seal BYTEA);
CREATE INDEX polls_club ON polls(club_id, created_at);
CREATE TABLE poll_targets (
    poll_id     TEXT NOT NULL REFERENCES polls(id),
    subgroup_id TEXT NOT NULL REFERENCES subgroups(id),
    PRIMARY KEY (poll_id, subgroup_id)
);
CREATE TABLE poll_options (
    poll_id TEXT NOT NULL REFERENCES polls(id),
    idx     BIGINT NOT NULL,
    label   TEXT NOT NULL,
    votes   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, idx)
);
CREATE TABLE poll_voters (
    poll_id       TEXT NOT NULL REFERENCES polls(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    PRIMARY KEY (poll_id, membership_id)
);
CREATE TABLE poll_votes (
    poll_id       TEXT NOT NULL REFERENCES polls(id),
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    idx           BIGINT NOT NULL,
    PRIMARY KEY (poll_id, membership_id, idx)
);
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
CREATE TABLE feed_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX feed_tokens_account ON feed_tokens(account_id);
CREATE TABLE login_throttle (
    key_hash        TEXT PRIMARY KEY,
    consecutive     BIGINT NOT NULL DEFAULT 0,
    last_failure_at BIGINT NOT NULL DEFAULT 0,
    window_start    BIGINT NOT NULL DEFAULT 0,
    window_failures BIGINT NOT NULL DEFAULT 0,
    locked_at       BIGINT
);
CREATE TABLE unlock_tokens (
    token_hash TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX unlock_tokens_account ON unlock_tokens(account_id);
CREATE TABLE master_key_check (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL
);
CREATE TABLE data_keys (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    key_id     TEXT NOT NULL,
    wrapped    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE mfa_totp (
    account_id    TEXT PRIMARY KEY REFERENCES accounts(id),
    sealed_secret TEXT NOT NULL,
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT
);
CREATE TABLE mfa_recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);
CREATE TABLE mfa_challenges (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    key_hash   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    new_email  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_account ON account_tokens(account_id, purpose, created_at);
CREATE TABLE personal_fields (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    field      TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    updated_at BIGINT NOT NULL, seal BYTEA,
    PRIMARY KEY (account_id, field)
);
CREATE TABLE personal_consents (
    account_id       TEXT PRIMARY KEY REFERENCES accounts(id),
    guardian_account TEXT NOT NULL REFERENCES accounts(id),
    club_id          TEXT NOT NULL REFERENCES clubs(id),
    given_at         BIGINT NOT NULL
);
CREATE TABLE privacy_requests (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    details    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    handled_at BIGINT
);
CREATE INDEX privacy_requests_open ON privacy_requests(handled_at, created_at);
CREATE UNIQUE INDEX accounts_webauthn_handle ON accounts(webauthn_handle);
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    static_state  TEXT NOT NULL,
    dynamic_state TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
, committed BIGINT NOT NULL DEFAULT 0);
CREATE INDEX passkeys_account ON passkeys(account_id);
CREATE TABLE pending_signups (
    token_hash      TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    invitation_hash TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE TABLE audit_nodes (
    level BIGINT NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BYTEA    NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoints (
    size   BIGINT PRIMARY KEY,
    root   TEXT   NOT NULL,
    ts_ms  BIGINT NOT NULL,
    key_id TEXT   NOT NULL,
    note   TEXT   NOT NULL
);
CREATE TABLE audit_keys (
    position    BIGINT PRIMARY KEY,
    public_key  TEXT   NOT NULL UNIQUE,
    added_at    BIGINT NOT NULL,
    by_previous TEXT,
    by_this     TEXT
);
CREATE TABLE audit_log (
    seq           BIGINT PRIMARY KEY,
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
CREATE TABLE signed_actions (
    digest     TEXT PRIMARY KEY,
    record     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE audit_search (
    search_key TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (search_key, seq)
);
CREATE TABLE trusted_devices (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX trusted_devices_account ON trusted_devices(account_id);
CREATE TABLE row_seals_state (
    sealed_at BIGINT NOT NULL
);

-- Occurrence tallies follow the answers (as SQLite's answers_tally_* triggers do).
CREATE FUNCTION answers_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE occurrences SET
            n_yes = n_yes - (OLD.status = 'yes')::int,
            n_no = n_no - (OLD.status = 'no')::int,
            n_maybe = n_maybe - (OLD.status = 'maybe')::int,
            n_wait = n_wait - (OLD.status = 'waitlisted')::int
        WHERE id = OLD.occurrence_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE occurrences SET
            n_yes = n_yes + (NEW.status = 'yes')::int,
            n_no = n_no + (NEW.status = 'no')::int,
            n_maybe = n_maybe + (NEW.status = 'maybe')::int,
            n_wait = n_wait + (NEW.status = 'waitlisted')::int
        WHERE id = NEW.occurrence_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER answers_tally_insert AFTER INSERT ON answers
    FOR EACH ROW EXECUTE FUNCTION answers_tally();
CREATE TRIGGER answers_tally_update AFTER UPDATE OF status ON answers
    FOR EACH ROW EXECUTE FUNCTION answers_tally();
CREATE TRIGGER answers_tally_delete AFTER DELETE ON answers
    FOR EACH ROW EXECUTE FUNCTION answers_tally();

-- The append-only tables refuse UPDATE and DELETE (and TRUNCATE, which has no rows to
-- fire row triggers on).
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_keys_no_update BEFORE UPDATE ON audit_keys
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_keys_no_delete BEFORE DELETE ON audit_keys
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_keys_no_truncate BEFORE TRUNCATE ON audit_keys
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER signed_actions_no_update BEFORE UPDATE ON signed_actions
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER signed_actions_no_delete BEFORE DELETE ON signed_actions
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER signed_actions_no_truncate BEFORE TRUNCATE ON signed_actions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_search_no_update BEFORE UPDATE ON audit_search
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_search_no_delete BEFORE DELETE ON audit_search
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_search_no_truncate BEFORE TRUNCATE ON audit_search
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- The head moves with each insert that carries its MAC, so an audited write is one
-- statement (as SQLite's audit_log_moves_head).
CREATE FUNCTION audit_log_moves_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, NEW.seq, NEW.hash, NEW.head_mac)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_moves_head AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.head_mac IS NOT NULL) EXECUTE FUNCTION audit_log_moves_head();

-- Row seals: which rows a write changed is noted in the session's own TEMP table
-- row_dirty, which only TEKKAN's connections create (on connect). A row changed from
-- any other session is never noted, so it cannot get a fresh seal by riding along with
-- the next audited write. Arguments: the kind, then its key columns. The triggers
-- themselves are made at start-up from the list of sealed kinds in the program.
CREATE FUNCTION row_seals_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k text[] := ARRAY['', '', ''];
    i int;
BEGIN
    IF to_regclass('pg_temp.row_dirty') IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        FOR i IN 1 .. TG_NARGS - 1 LOOP
            k[i] := to_jsonb(OLD) ->> TG_ARGV[i];
        END LOOP;
        INSERT INTO pg_temp.row_dirty VALUES (TG_ARGV[0], k[1], k[2], k[3]);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        FOR i IN 1 .. TG_NARGS - 1 LOOP
            k[i] := to_jsonb(NEW) ->> TG_ARGV[i];
        END LOOP;
        INSERT INTO pg_temp.row_dirty VALUES (TG_ARGV[0], k[1], k[2], k[3]);
    END IF;
    RETURN NULL;
END $$;
