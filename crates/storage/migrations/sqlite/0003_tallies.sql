-- Answer counts kept on each occurrence, so that schedules and calendars read them
-- instead of counting answers for every line. Triggers keep them exact: every insert,
-- change of status and delete of an answer adjusts them in the same transaction.

ALTER TABLE occurrences ADD COLUMN n_yes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE occurrences ADD COLUMN n_no BIGINT NOT NULL DEFAULT 0;
ALTER TABLE occurrences ADD COLUMN n_maybe BIGINT NOT NULL DEFAULT 0;
ALTER TABLE occurrences ADD COLUMN n_wait BIGINT NOT NULL DEFAULT 0;

UPDATE occurrences SET
    n_yes = (SELECT COUNT(*) FROM answers a WHERE a.occurrence_id = occurrences.id AND a.status = 'yes'),
    n_no = (SELECT COUNT(*) FROM answers a WHERE a.occurrence_id = occurrences.id AND a.status = 'no'),
    n_maybe = (SELECT COUNT(*) FROM answers a WHERE a.occurrence_id = occurrences.id AND a.status = 'maybe'),
    n_wait = (SELECT COUNT(*) FROM answers a WHERE a.occurrence_id = occurrences.id AND a.status = 'waitlisted');

CREATE TRIGGER answers_tally_insert AFTER INSERT ON answers
BEGIN
    UPDATE occurrences SET
        n_yes = n_yes + (NEW.status = 'yes'),
        n_no = n_no + (NEW.status = 'no'),
        n_maybe = n_maybe + (NEW.status = 'maybe'),
        n_wait = n_wait + (NEW.status = 'waitlisted')
    WHERE id = NEW.occurrence_id;
END;

CREATE TRIGGER answers_tally_update AFTER UPDATE OF status ON answers
BEGIN
    UPDATE occurrences SET
        n_yes = n_yes + (NEW.status = 'yes') - (OLD.status = 'yes'),
        n_no = n_no + (NEW.status = 'no') - (OLD.status = 'no'),
        n_maybe = n_maybe + (NEW.status = 'maybe') - (OLD.status = 'maybe'),
        n_wait = n_wait + (NEW.status = 'waitlisted') - (OLD.status = 'waitlisted')
    WHERE id = NEW.occurrence_id;
END;

CREATE TRIGGER answers_tally_delete AFTER DELETE ON answers
BEGIN
    UPDATE occurrences SET
        n_yes = n_yes - (OLD.status = 'yes'),
        n_no = n_no - (OLD.status = 'no'),
        n_maybe = n_maybe - (OLD.status = 'maybe'),
        n_wait = n_wait - (OLD.status = 'waitlisted')
    WHERE id = OLD.occurrence_id;
END;
