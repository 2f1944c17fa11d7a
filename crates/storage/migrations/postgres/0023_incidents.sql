-- Schema 23: incidents and their updates (see SQLite's migration of the same number).
CREATE TABLE incidents (
    id           TEXT   NOT NULL PRIMARY KEY,
    category     TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    title_en     TEXT   NOT NULL,
    scope_clubs  TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    detected_at  BIGINT NOT NULL,
    aware_at     BIGINT NOT NULL,
    opened_at    BIGINT NOT NULL,
    published_at BIGINT,
    resolved_at  BIGINT,
    cause        TEXT   NOT NULL,
    prevention   TEXT   NOT NULL
);
CREATE INDEX incidents_open ON incidents(resolved_at, opened_at);

CREATE TABLE incident_updates (
    id          TEXT   NOT NULL PRIMARY KEY,
    incident_id TEXT   NOT NULL REFERENCES incidents(id),
    at          BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    visibility  TEXT   NOT NULL,
    message     TEXT   NOT NULL,
    message_en  TEXT   NOT NULL,
    actions     TEXT   NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, at);
