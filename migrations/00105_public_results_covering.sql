-- The public results list (issue 15) walks publications in (batch, object
-- key) order from a cursor and takes each object's latest result: both as
-- index-only scans of these covering indexes, no visit to the tables'
-- rows (once vacuumed).

-- +goose Up
CREATE INDEX publications_keyset_idx ON publications (batch_id, object_key) INCLUDE (published_at);
CREATE INDEX results_latest_idx ON results (batch_id, object_key, revision DESC) INCLUDE (result_code);

-- +goose Down
DROP INDEX results_latest_idx;
DROP INDEX publications_keyset_idx;
