-- Searching the audit trail: by person, by what was acted on (who viewed my data), by
-- action within a club.
CREATE INDEX audit_log_actor ON audit_log(actor_account, seq);
CREATE INDEX audit_log_target ON audit_log(target, seq);
CREATE INDEX audit_log_action ON audit_log(action, club_id, seq);
