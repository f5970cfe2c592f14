-- A deadline that reaches a year whose working-day schedule is not yet in
-- the calendar cannot be computed (it is never counted on weekends alone):
-- the object workflow records that year on the task, so that the task and
-- batch reads can say so to a person.

-- +goose Up
ALTER TABLE tasks ADD COLUMN unscheduled_year int CHECK (unscheduled_year BETWEEN 1 AND 9999);
CREATE INDEX tasks_unscheduled_idx ON tasks (batch_id, unscheduled_year) WHERE unscheduled_year IS NOT NULL;

-- +goose Down
DROP INDEX tasks_unscheduled_idx;
ALTER TABLE tasks DROP COLUMN unscheduled_year;
