-- Schema 23: incidents. One row per incident, its updates in order. Each step is also
-- an audit entry; these rows are what the operator's pages and the public status page
-- read. An incident is public once published_at is set; updates marked public are
-- shown on the status page, the others (actions taken, findings) only to the operator.
-- scope_clubs is a JSON array of club ids; empty means the whole service.
CREATE TABLE incidents (
    id           TEXT    NOT NULL PRIMARY KEY,
    category     TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    title_en     TEXT    NOT NULL,
    scope_clubs  TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    detected_at  INTEGER NOT NULL,
    aware_at     INTEGER NOT NULL,
    opened_at    INTEGER NOT NULL,
    published_at INTEGER,
    resolved_at  INTEGER,
    cause        TEXT    NOT NULL,
    prevention   TEXT    NOT NULL
) STRICT;
CREATE INDEX incidents_open ON incidents(resolved_at, opened_at);

CREATE TABLE incident_updates (
    id          TEXT    NOT NULL PRIMARY KEY,
    incident_id TEXT    NOT NULL REFERENCES incidents(id),
    at          INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    visibility  TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    message_en  TEXT    NOT NULL,
    actions     TEXT    NOT NULL
) STRICT;
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, at);
