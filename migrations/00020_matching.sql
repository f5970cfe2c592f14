-- County inspector matching (随机匹配, DRAW-SPEC section 2): the stored
-- match proofs and the teams they produced, replacements included. Rows
-- are written once, keyed by their natural keys, so a retried activity
-- never duplicates them; an assignment is never deleted, a replacement
-- marks it replaced with its reason.

-- +goose Up

-- In a joint batch (items of several departments) each department matches
-- its own inspectors onto the same visit; NULL = no department.
ALTER TABLE inspectors ADD COLUMN department_code text REFERENCES departments (code);

-- One matching round of one department in one county: the county's match
-- (kind 'match', round 1, object_key '') or the replacement of one
-- inspector of one object (kind 'replacement', round r+1 for that object).
-- department_code '' is the county's whole pool (a batch that is not joint).
CREATE TABLE matches (
    batch_id        text NOT NULL REFERENCES batches (id),
    county_code     text NOT NULL REFERENCES regions (code),
    department_code text NOT NULL DEFAULT '',
    object_key      text NOT NULL DEFAULT '',
    round           int  NOT NULL CHECK (round >= 1),
    kind            text NOT NULL CHECK (kind IN ('match', 'replacement')),
    beacon          text NOT NULL CHECK (beacon !~ '[\t\r\n]'),
    -- Certificates must be valid through this day (the end of the
    -- inspection period); replacements check against the same day.
    inspection_end  date NOT NULL,
    match_seed      text NOT NULL CHECK (match_seed ~ '^[0-9a-f]{64}$'),
    pool_hash       text NOT NULL CHECK (pool_hash ~ '^[0-9a-f]{64}$'),
    -- Tells a retried request from a different one.
    request_digest  text NOT NULL CHECK (request_digest ~ '^[0-9a-f]{64}$'),
    proof           jsonb NOT NULL CHECK (jsonb_typeof(proof) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL CHECK (created_by <> ''),
    PRIMARY KEY (batch_id, county_code, department_code, object_key, round),
    CHECK ((kind = 'match') = (object_key = '')),
    CHECK (kind = 'replacement' OR round = 1),
    CHECK (kind = 'match' OR round >= 2)
);

-- Who inspects which object. The current team of an object is its rows
-- with replaced_at NULL; a replaced row keeps why, when, by whom, and the
-- round that replaced it. Written only with the matches row of the same
-- round, which holds the foreign keys: per-row checks here would add half
-- the time of storing a large county's teams.
CREATE TABLE match_assignments (
    batch_id          text NOT NULL,
    object_key        text NOT NULL,
    inspector_key     text NOT NULL,
    round             int  NOT NULL CHECK (round >= 1),
    county_code       text NOT NULL,
    department_code   text NOT NULL DEFAULT '',
    position          int  NOT NULL CHECK (position >= 0),  -- place in the department's team
    assigned_at       timestamptz NOT NULL DEFAULT now(),
    assigned_by       text NOT NULL CHECK (assigned_by <> ''),
    replaced_at       timestamptz,
    replaced_reason   text CHECK (btrim(replaced_reason) <> ''),
    replaced_by       text,
    replaced_in_round int,
    PRIMARY KEY (batch_id, object_key, inspector_key, round),
    CHECK ((replaced_at IS NULL) = (replaced_reason IS NULL)
       AND (replaced_at IS NULL) = (replaced_by IS NULL)
       AND (replaced_at IS NULL) = (replaced_in_round IS NULL)),
    CHECK (replaced_in_round > round)
);
CREATE UNIQUE INDEX match_assignments_current_idx
    ON match_assignments (batch_id, object_key, inspector_key) WHERE replaced_at IS NULL;
CREATE UNIQUE INDEX match_assignments_seat_idx
    ON match_assignments (batch_id, object_key, department_code, position) WHERE replaced_at IS NULL;

-- Proofs are never rewritten; assignments are never deleted, and the only
-- change allowed is marking a current one replaced.
-- +goose StatementBegin
CREATE FUNCTION match_assignments_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'match assignments are never deleted; replace the inspector instead'
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.replaced_at IS NOT NULL
       OR (to_jsonb(NEW) - ARRAY['replaced_at', 'replaced_reason', 'replaced_by', 'replaced_in_round'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['replaced_at', 'replaced_reason', 'replaced_by', 'replaced_in_round']) THEN
        RAISE EXCEPTION 'match assignment %/%/% round % is history; only marking a current one replaced is allowed',
            OLD.batch_id, OLD.object_key, OLD.inspector_key, OLD.round USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER match_assignments_keep BEFORE UPDATE OR DELETE ON match_assignments
    FOR EACH ROW EXECUTE FUNCTION match_assignments_keep();

-- +goose StatementBegin
CREATE FUNCTION matches_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'match proofs are never changed or deleted' USING ERRCODE = 'check_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER matches_keep BEFORE UPDATE OR DELETE ON matches
    FOR EACH ROW EXECUTE FUNCTION matches_keep();

-- +goose Down
DROP TABLE match_assignments;
DROP TABLE matches;
DROP FUNCTION match_assignments_keep();
DROP FUNCTION matches_keep();
ALTER TABLE inspectors DROP COLUMN department_code;
