-- 后续监管: an object whose result found problems has its follow-up
-- completed by a deadline set by the planned measure's kind (batch policy
-- follow_up_days); a follow-up not completed by then goes to the
-- accountability ledger as duty follow_up.

-- +goose Up
ALTER TABLE results ADD COLUMN follow_up_action text;
ALTER TABLE tasks ADD COLUMN follow_up_completion_due date;
ALTER TABLE accountability DROP CONSTRAINT accountability_duty_check;
ALTER TABLE accountability ADD CONSTRAINT accountability_duty_check
    CHECK (duty IN ('matching', 'inspection', 'result_entry', 'follow_up', 'follow_up_entry', 'publication', 'judicial_transfer'));

-- +goose Down
DELETE FROM accountability WHERE duty = 'follow_up';
ALTER TABLE accountability DROP CONSTRAINT accountability_duty_check;
ALTER TABLE accountability ADD CONSTRAINT accountability_duty_check
    CHECK (duty IN ('matching', 'inspection', 'result_entry', 'follow_up_entry', 'publication', 'judicial_transfer'));
ALTER TABLE tasks DROP COLUMN follow_up_completion_due;
ALTER TABLE results DROP COLUMN follow_up_action;
