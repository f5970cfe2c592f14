-- An object that no inspector of its county may inspect (every eligible
-- inspector recused or full) would block the county's whole match. The
-- county officer sets it aside, with a reason, before matching: the match
-- runs over the other objects (its proof lists only them and still
-- verifies), and the object goes to the city coordinator as an exception,
-- to be staffed across counties or handled as a targeted case. Its task
-- row says set_aside.

-- +goose Up
CREATE TABLE match_set_asides (
    batch_id     text NOT NULL,
    object_key   text NOT NULL,
    county_code  text NOT NULL REFERENCES regions (code),
    reason       text NOT NULL CHECK (reason <> '' AND length(reason) <= 500),
    set_by       text NOT NULL,
    set_at       timestamptz NOT NULL DEFAULT now(),
    -- The object is one of the batch's drawn objects of the county (checked
    -- by the service: batch_objects has no unique key on the pair).
    PRIMARY KEY (batch_id, object_key)
);

ALTER TABLE tasks DROP CONSTRAINT tasks_stage_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_stage_check CHECK (stage IN ('awaiting_match', 'assigned', 'inspected',
    'result_entered', 'returned', 'approved', 'published', 'follow_up', 'closed', 'set_aside'));

-- +goose Down
DELETE FROM tasks WHERE stage = 'set_aside';
ALTER TABLE tasks DROP CONSTRAINT tasks_stage_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_stage_check CHECK (stage IN ('awaiting_match', 'assigned', 'inspected',
    'result_entered', 'returned', 'approved', 'published', 'follow_up', 'closed'));
DROP TABLE match_set_asides;
