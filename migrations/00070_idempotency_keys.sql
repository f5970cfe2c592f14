-- Idempotency keys: a POST that starts something (a batch, an import, a
-- plan) sent again with the same Idempotency-Key is answered with the first
-- response instead of being done twice. Keys are per principal; a row with
-- status 0 is a request still being processed. Rows older than a day are
-- replaced when their key is used again.

-- +goose Up
CREATE TABLE idempotency_keys (
    key          text NOT NULL CHECK (key <> '' AND length(key) <= 200),
    principal    text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    -- SHA-256 over method, path, query and body: the same key with another
    -- request is refused.
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    status       integer NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    -- Location and ETag of the first response, replayed with it.
    headers      jsonb NOT NULL DEFAULT '{}',
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- The public result listing (GET /public/results) finds each published
-- object's items in the drawn list by key.
CREATE INDEX batch_objects_object_idx ON batch_objects (batch_id, object_key);

-- +goose Down
DROP INDEX batch_objects_object_idx;
DROP TABLE idempotency_keys;
