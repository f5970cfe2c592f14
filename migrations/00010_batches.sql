-- Batches (批次) and their verifiable draw (DRAW-SPEC section 1): the rules
-- stored with each batch, the secret nonce, the frozen population, the drawn
-- list and the proof. A batch moves committed → frozen → drawn → locked; the
-- batch lifecycle adds later states.

-- +goose Up
CREATE TABLE batches (
    id               text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z._-]{1,64}$'),
    name             text NOT NULL DEFAULT '',
    state            text NOT NULL CHECK (state IN ('committed', 'frozen', 'drawn', 'locked',
                                                    'in_progress', 'published', 'archived', 'cancelled')),
    -- The draw rules as validated (items, filter, strata keys, quotas,
    -- exclusions); request_digest tells a repeated create from a different one.
    rules            jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
    request_digest   text NOT NULL,
    -- Commit: hex(SHA256(nonce)); the nonce itself is in batch_secrets.
    commitment       text NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    committed_at     timestamptz NOT NULL,
    -- Freeze: the published population and its strata.
    population_hash  text CHECK (population_hash ~ '^[0-9a-f]{64}$'),
    population_size  int CHECK (population_size > 0),
    population_bytes bigint CHECK (population_bytes > 0),
    strata           jsonb,           -- [{label, population, quota, rule}], sorted by label
    exclusions       jsonb,           -- excluded objects counted by reason, in total and per stratum
    frozen_at        timestamptz,
    -- Draw: the beacon, the seed and the proof exactly as served.
    beacon           text CHECK (beacon !~ '[\t\r\n]'),
    seed             text CHECK (seed ~ '^[0-9a-f]{64}$'),
    drawn_count      int CHECK (drawn_count >= 0),
    proof            text,
    drawn_at         timestamptz,
    locked_at        timestamptz,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    row_version      bigint NOT NULL DEFAULT 1,
    -- Each state carries what the steps before it recorded; a cancelled
    -- batch keeps whatever it had.
    CHECK (state IN ('committed', 'cancelled') OR (frozen_at IS NOT NULL AND population_hash IS NOT NULL AND strata IS NOT NULL)),
    CHECK (state IN ('committed', 'frozen', 'cancelled') OR (drawn_at IS NOT NULL AND proof IS NOT NULL AND beacon IS NOT NULL)),
    CHECK (state IN ('committed', 'frozen', 'drawn', 'cancelled') OR locked_at IS NOT NULL)
);
CREATE INDEX batches_created_idx ON batches (created_at DESC, id DESC);

-- The nonce is secret until the draw reveals it in the proof. It lives
-- apart so that no query of batches can serve it by mistake.
CREATE TABLE batch_secrets (
    batch_id text PRIMARY KEY REFERENCES batches (id),
    nonce    bytea NOT NULL CHECK (length(nonce) = 32)
);

-- The item versions a batch draws for, in the order of its rules (the first
-- one that applies labels an object of a joint draw).
CREATE TABLE batch_items (
    batch_id     text NOT NULL REFERENCES batches (id),
    position     int  NOT NULL CHECK (position >= 0),
    item_code    text NOT NULL,
    item_version int  NOT NULL,
    PRIMARY KEY (batch_id, position),
    UNIQUE (batch_id, item_code),
    FOREIGN KEY (item_code, item_version) REFERENCES check_items (code, version)
);

-- The frozen population, one row per stratum and region: the object keys
-- sorted bytewise, each followed by LF. Merging the rows gives the
-- canonical TSV (DRAW-SPEC) byte for byte; a row per object would cost a
-- second per million objects to write. The region is the objects' region
-- as frozen, which the drawn list records. keys_sha256, the SHA-256 of keys,
-- lets the draw check in milliseconds that it reads what the freeze hashed.
-- Stored uncompressed: the keys are read whole, and compressing them would
-- cost more time than it saves.
CREATE TABLE batch_population (
    batch_id    text NOT NULL REFERENCES batches (id),
    stratum     text NOT NULL,
    region_code text NOT NULL,
    size        int  NOT NULL CHECK (size > 0),
    keys        text NOT NULL,
    keys_sha256 text NOT NULL CHECK (keys_sha256 ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (batch_id, stratum, region_code)
);
ALTER TABLE batch_population ALTER COLUMN keys SET STORAGE EXTERNAL;

-- In a joint draw, the objects of the population to which more than one of
-- the batch's items applies (one visit checks them all).
CREATE TABLE batch_population_items (
    batch_id   text NOT NULL REFERENCES batches (id),
    object_key text NOT NULL,
    item_codes text[] NOT NULL CHECK (cardinality(item_codes) > 1),
    PRIMARY KEY (batch_id, object_key)
);

-- The drawn list, in the proof's order; region_code is the object's region
-- in the population drawn from, county_code the county it is assigned to at
-- lock.
-- Written once, by the draw, in the transaction that holds the batch's row:
-- no foreign keys, whose per-row checks would double the time of storing
-- a large drawn list, and keys and codes are kept as history even if the
-- directory changes.
CREATE TABLE batch_objects (
    batch_id    text NOT NULL,
    position    int  NOT NULL CHECK (position >= 1),
    object_key  text NOT NULL,
    stratum     text NOT NULL,
    item_codes  text[] NOT NULL CHECK (cardinality(item_codes) > 0),
    region_code text,
    county_code text,
    PRIMARY KEY (batch_id, position)
);

-- Follow-up supervision (后续监管) of an object: while one is open, the
-- object is left out of new draws. The batch lifecycle writes it.
CREATE TABLE object_follow_ups (
    id         bigserial PRIMARY KEY,
    object_key public_key NOT NULL,
    batch_id   text REFERENCES batches (id),
    opened_at  timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz CHECK (closed_at >= opened_at)
);
CREATE INDEX object_follow_ups_open_idx ON object_follow_ups (object_key) WHERE closed_at IS NULL;

-- +goose Down
DROP TABLE object_follow_ups;
DROP TABLE batch_objects;
DROP TABLE batch_population_items;
DROP TABLE batch_population;
DROP TABLE batch_items;
DROP TABLE batch_secrets;
DROP TABLE batches;
