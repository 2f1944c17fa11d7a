-- Searching the audit trail: by person, and by what was acted on (who viewed my data).
-- Each index costs every audited write; club searches use audit_log_club.
CREATE INDEX audit_log_actor ON audit_log(actor_account, seq);
CREATE INDEX audit_log_target ON audit_log(target, seq);
