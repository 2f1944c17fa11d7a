-- Schema 25: a breach's statement (see SQLite's migration of the same number).
CREATE TABLE incident_breaches (
    incident_id      TEXT   NOT NULL PRIMARY KEY REFERENCES incidents(id),
    from_ms          BIGINT NOT NULL,
    to_ms            BIGINT NOT NULL,
    exposure         TEXT   NOT NULL,
    actors           TEXT   NOT NULL,
    address_prefixes TEXT   NOT NULL,
    key_compromised  BIGINT NOT NULL,
    malicious        BIGINT NOT NULL,
    financial_harm   BIGINT NOT NULL,
    secondary_harm   TEXT   NOT NULL,
    response         TEXT   NOT NULL,
    publication      TEXT   NOT NULL,
    other            TEXT   NOT NULL,
    assessed_at      BIGINT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log(ts_ms);
