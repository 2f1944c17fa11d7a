-- Schema 25: what the operator states about a personal-data breach (one per incident).
-- Who was affected and which data items are not stored here: they are computed from
-- the audit trail each time the report is drawn, so the draft follows the evidence.
-- actors and address_prefixes are JSON arrays; empty means "anyone" / "any address".
-- The flags are 0 or 1.
CREATE TABLE incident_breaches (
    incident_id      TEXT    NOT NULL PRIMARY KEY REFERENCES incidents(id),
    from_ms          INTEGER NOT NULL,
    to_ms            INTEGER NOT NULL,
    exposure         TEXT    NOT NULL,
    actors           TEXT    NOT NULL,
    address_prefixes TEXT    NOT NULL,
    key_compromised  INTEGER NOT NULL,
    malicious        INTEGER NOT NULL,
    financial_harm   INTEGER NOT NULL,
    secondary_harm   TEXT    NOT NULL,
    response         TEXT    NOT NULL,
    publication      TEXT    NOT NULL,
    other            TEXT    NOT NULL,
    assessed_at      INTEGER NOT NULL
) STRICT;
-- The report reads the trail by time.
CREATE INDEX audit_log_time ON audit_log(ts_ms);
