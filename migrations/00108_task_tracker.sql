-- A drawn object's workflow starts when somebody first reports on it;
-- until then the workflow of its page (its "tracker") watches its
-- inspection deadline with the rest of the page. The column names that
-- workflow, so that the API can ask it to open the object.

-- +goose Up
ALTER TABLE tasks ADD COLUMN tracker text;

-- +goose Down
ALTER TABLE tasks DROP COLUMN tracker;
