-- Tracking a drawn object from its county's match to closing (检查任务):
-- the task row every dashboard reads, the entries made on it, and the
-- accountability ledger (尽职照单免责，失职照单问责). Activities write these
-- with natural keys, so retries and replays never duplicate rows.

-- +goose Up
CREATE TABLE tasks (
    batch_id        text NOT NULL,
    object_key      public_key NOT NULL,
    county_code     text NOT NULL REFERENCES regions (code),
    stage           text NOT NULL CHECK (stage IN ('awaiting_match', 'assigned', 'inspected', 'result_entered',
                        'returned', 'approved', 'published', 'follow_up', 'closed')),
    inspectors      text[] NOT NULL DEFAULT '{}',
    inspection_due  date,
    inspected_on    date,
    result_due      date,
    follow_up_due   date,
    publication_due date,
    overdue         text[] NOT NULL DEFAULT '{}',   -- duties whose deadline passed unmet
    -- Events arrive from one workflow in order; seq lets a late retry of an
    -- older write never overwrite a newer stage.
    seq             int NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, object_key)
);
CREATE INDEX tasks_county_idx ON tasks (county_code, stage);
CREATE INDEX tasks_inspectors_idx ON tasks USING gin (inspectors);

-- Results as entered; a returned result is kept and the correction is the
-- next revision.
CREATE TABLE results (
    batch_id       text NOT NULL,
    object_key     public_key NOT NULL,
    revision       int NOT NULL CHECK (revision >= 1),
    result_code    text NOT NULL,
    method         text NOT NULL,
    notes          text NOT NULL DEFAULT '',
    problems_found boolean NOT NULL,
    entered_by     text NOT NULL,
    entered_at     timestamptz NOT NULL,
    review         text CHECK (review IN ('approved', 'returned')),
    review_comment text NOT NULL DEFAULT '',
    reviewed_by    text,
    reviewed_at    timestamptz,
    PRIMARY KEY (batch_id, object_key, revision),
    FOREIGN KEY (batch_id, object_key) REFERENCES tasks (batch_id, object_key)
);

CREATE TABLE follow_ups (
    batch_id     text NOT NULL,
    object_key   public_key NOT NULL,
    completed_on date NOT NULL,
    actions      text[] NOT NULL DEFAULT '{}',
    notes        text NOT NULL DEFAULT '',
    entered_by   text,
    entered_at   timestamptz,
    PRIMARY KEY (batch_id, object_key),
    FOREIGN KEY (batch_id, object_key) REFERENCES tasks (batch_id, object_key)
);

-- 结果公示: what the public reads. One row per object of a batch.
CREATE TABLE publications (
    batch_id     text NOT NULL,
    object_key   public_key NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (batch_id, object_key),
    FOREIGN KEY (batch_id, object_key) REFERENCES tasks (batch_id, object_key)
);

CREATE TABLE deadline_extensions (
    batch_id    text NOT NULL,
    object_key  public_key NOT NULL,
    duty        text NOT NULL,
    old_due     date NOT NULL,
    new_due     date NOT NULL,
    reason      text NOT NULL CHECK (reason <> ''),
    extended_by text NOT NULL,
    extended_at timestamptz NOT NULL,
    PRIMARY KEY (batch_id, object_key, duty, new_due)
);

-- 失职照单问责: which duty, which unit, how many working days late.
CREATE TABLE accountability (
    id                bigserial PRIMARY KEY,
    batch_id          text NOT NULL,
    object_key        text NOT NULL DEFAULT '',  -- empty for county-level duties (matching)
    county_code       text NOT NULL REFERENCES regions (code),
    duty              text NOT NULL CHECK (duty IN ('matching', 'inspection', 'result_entry', 'follow_up_entry', 'publication', 'judicial_transfer')),
    due               date NOT NULL,
    detected_at       timestamptz NOT NULL,
    resolved_on       date,
    working_days_late int,
    UNIQUE (batch_id, object_key, duty, due)
);
CREATE INDEX accountability_county_idx ON accountability (county_code, duty);

-- +goose Down
DROP TABLE accountability;
DROP TABLE deadline_extensions;
DROP TABLE publications;
DROP TABLE follow_ups;
DROP TABLE results;
DROP TABLE tasks;
