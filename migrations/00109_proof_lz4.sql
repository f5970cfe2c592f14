-- A draw's proof lists every drawn object (megabytes for 35,000 of them):
-- stored with lz4, which compresses and decompresses several times faster
-- than PostgreSQL's default pglz, in the draw's own transaction and on every
-- read of the public proof. Rows written before keep pglz until rewritten;
-- both read the same.

-- +goose Up
ALTER TABLE batches ALTER COLUMN proof SET COMPRESSION lz4;

-- +goose Down
ALTER TABLE batches ALTER COLUMN proof SET COMPRESSION pglz;
