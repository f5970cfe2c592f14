-- What the batch workflow needs besides the draw rules: the end of the
-- inspection period (certificates must be valid through it) and the
-- deadline policy the batch runs under.

-- +goose Up
ALTER TABLE batches
    ADD COLUMN inspection_end date,
    ADD COLUMN policy jsonb CHECK (policy IS NULL OR jsonb_typeof(policy) = 'object');

-- +goose Down
ALTER TABLE batches DROP COLUMN policy, DROP COLUMN inspection_end;
