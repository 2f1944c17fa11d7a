-- Accounts, sessions, clubs, memberships, sub-groups, invitations and the audit chain.
-- Times are BIGINT milliseconds since the Unix epoch (UTC); ids are 32 hex characters.
-- Kept to SQL that PostgreSQL also accepts.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    is_operator   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
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
);

CREATE TABLE memberships (
    id         TEXT PRIMARY KEY,
    club_id    TEXT NOT NULL REFERENCES clubs(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role       TEXT NOT NULL,
    status     TEXT NOT NULL,
    joined_at  BIGINT NOT NULL,
    left_at    BIGINT,
    UNIQUE (club_id, account_id)
);
CREATE INDEX memberships_account ON memberships(account_id);

CREATE TABLE guardian_links (
    club_id     TEXT NOT NULL REFERENCES clubs(id),
    guardian_id TEXT NOT NULL REFERENCES memberships(id),
    student_id  TEXT NOT NULL REFERENCES memberships(id),
    created_at  BIGINT NOT NULL,
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
    hash          TEXT NOT NULL
);
CREATE INDEX audit_log_club ON audit_log(club_id, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL,
    mac  TEXT NOT NULL
);

-- The application only ever appends. These triggers make an accidental UPDATE or DELETE
-- fail loudly; a deliberate attacker who drops them is caught by `tekkan audit verify`.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
