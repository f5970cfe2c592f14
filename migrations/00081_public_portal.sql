-- The public portal (公示门户) finds an object's published results by its
-- key alone: the search by 统一社会信用代码 and the page of one object.

-- +goose Up
CREATE INDEX publications_object_idx ON publications (object_key);

-- +goose Down
DROP INDEX publications_object_idx;
