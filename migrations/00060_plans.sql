-- Annual plans (年度抽查工作计划) of departments and counties, the batches a
-- plan started, and targeted checks (案件: complaints, referrals, 转办交办)
-- that run the inspection lifecycle outside any draw.

-- +goose Up
CREATE TABLE plans (
    id                text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z._-]{1,48}$'),
    year              int  NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    name              text NOT NULL CHECK (name <> ''),
    -- The owner: a city department (处室) or a county bureau, never both.
    department_code   text REFERENCES departments (code),
    county_code       text REFERENCES regions (code),
    state             text NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'published')),
    -- The draw rules each batch of the plan uses (batch.Rules): items with
    -- their versions, filter, strata keys and the quota per stratum.
    rules             jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
    -- The planned batches: [{seq, name, draw_at, inspection_end}].
    batches           jsonb NOT NULL CHECK (jsonb_typeof(batches) = 'array'),
    inspection_start  date NOT NULL,
    inspection_end    date NOT NULL CHECK (inspection_end >= inspection_start),
    joint_departments text[] NOT NULL DEFAULT '{}',
    policy            jsonb CHECK (policy IS NULL OR jsonb_typeof(policy) = 'object'),
    notes             text NOT NULL DEFAULT '',
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    submitted_at      timestamptz,
    approved_by       text,
    approved_at       timestamptz,
    published_at      timestamptz,
    started_at        timestamptz,
    row_version       bigint NOT NULL DEFAULT 1,
    CHECK ((department_code IS NULL) <> (county_code IS NULL)),
    CHECK (state IN ('draft', 'submitted') OR approved_at IS NOT NULL),
    CHECK (state <> 'published' OR published_at IS NOT NULL)
);
CREATE INDEX plans_year_idx ON plans (year, state);

-- The batches a plan started, on their planned date or by hand (extra).
CREATE TABLE plan_batches (
    plan_id    text NOT NULL REFERENCES plans (id),
    seq        int  NOT NULL CHECK (seq >= 1),
    batch_id   text NOT NULL UNIQUE REFERENCES batches (id),
    extra      boolean NOT NULL DEFAULT false,
    started_by text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, seq)
);

-- 案件: a targeted check of one object. Its tasks, results, follow-ups,
-- publications and ledger rows carry batch_id = 'case-' || id, so the task
-- endpoints of batches serve them unchanged.
CREATE TABLE cases (
    id              text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z._-]{1,48}$'),
    year            int  NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    source          text NOT NULL CHECK (source IN ('complaint', 'referral', 'assigned', 'lead')),
    source_ref      text NOT NULL DEFAULT '',
    summary         text NOT NULL CHECK (summary <> ''),
    object_key      public_key NOT NULL REFERENCES objects (key) ON UPDATE CASCADE,
    county_code     text NOT NULL REFERENCES regions (code),
    department_code text REFERENCES departments (code),
    item_codes      text[] NOT NULL DEFAULT '{}',
    inspection_end  date NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'assigned', 'cancelled')),
    team            text[] NOT NULL DEFAULT '{}',
    policy          jsonb NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    assigned_by     text,
    assigned_at     timestamptz,
    row_version     bigint NOT NULL DEFAULT 1,
    CHECK (state <> 'assigned' OR cardinality(team) >= 2)
);
CREATE INDEX cases_county_idx ON cases (county_code, year);

-- A case's follow-up keeps its object out of new draws like a batch's; its
-- batch_id is the case's 'case-…' ID, which is no batch.
ALTER TABLE object_follow_ups DROP CONSTRAINT object_follow_ups_batch_id_fkey;

-- +goose Down
DELETE FROM object_follow_ups f WHERE f.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = f.batch_id);
ALTER TABLE object_follow_ups ADD CONSTRAINT object_follow_ups_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES batches (id);
DROP TABLE cases;
DROP TABLE plan_batches;
DROP TABLE plans;
