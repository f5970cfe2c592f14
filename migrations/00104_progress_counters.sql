-- Counters, not counts (issue 15): a batch's progress by county and stage,
-- its overdue duties and its ledger entries, kept up to date by statement
-- triggers in the transaction of the change that moves them, so a progress
-- read is an index lookup whatever the batch size. Each trigger adds the net
-- change of its statement, grouped and in key order (concurrent writers
-- lock the counter rows in one order).
--
-- What a row counts (what):
--   a stage          drawn objects (batch_objects) by the stage of their
--                    task, 'awaiting_match' without one, under the
--                    object's county ('' before the lock assigns them);
--   'overdue:' duty  tasks with that duty's deadline passed, under the
--                    task's county;
--   'tasks:overdue'  tasks with any deadline passed, under the task's county;
--   'ledger:' duty   accountability entries.
-- Counties are assigned at the lock, before any task exists; a task's
-- stage change reads its object's county as stored.

-- +goose Up
CREATE TABLE progress_counters (
    batch_id    text NOT NULL,
    county_code text NOT NULL,
    what        text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (batch_id, county_code, what)
);

-- What one task row adds to the counters.
-- +goose StatementBegin
CREATE FUNCTION task_counts(p_batch text, p_key text, p_county text, p_stage text, p_overdue text[])
RETURNS TABLE (batch_id text, county_code text, what text, d bigint)
LANGUAGE sql STABLE AS $$
    SELECT b.batch_id, coalesce(b.county_code, ''), s.what, s.d
    FROM batch_objects b, (VALUES (p_stage, 1::bigint), ('awaiting_match', -1::bigint)) AS s (what, d)
    WHERE b.batch_id = p_batch AND b.object_key = p_key
    UNION ALL
    SELECT p_batch, p_county, 'overdue:' || duty, 1 FROM unnest(p_overdue) AS duty
    UNION ALL
    SELECT p_batch, p_county, 'tasks:overdue', 1 WHERE cardinality(p_overdue) > 0
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION progress_counters_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT f.batch_id, f.county_code, f.what, sum(f.d)
        FROM new_rows t, task_counts(t.batch_id, t.object_key, t.county_code, t.stage, t.overdue) f
        GROUP BY 1, 2, 3 HAVING sum(f.d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT x.batch_id, x.county_code, x.what, sum(x.d) FROM (
            SELECT f.* FROM new_rows t, task_counts(t.batch_id, t.object_key, t.county_code, t.stage, t.overdue) f
            UNION ALL
            SELECT f.batch_id, f.county_code, f.what, -f.d
            FROM old_rows t, task_counts(t.batch_id, t.object_key, t.county_code, t.stage, t.overdue) f
        ) x
        GROUP BY 1, 2, 3 HAVING sum(x.d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT f.batch_id, f.county_code, f.what, -sum(f.d)
        FROM old_rows t, task_counts(t.batch_id, t.object_key, t.county_code, t.stage, t.overdue) f
        GROUP BY 1, 2, 3 HAVING sum(f.d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- A drawn object counts once under its county and its task's stage. The
-- drawn list arrives in one COPY of tens of thousands of rows: joined to
-- the tasks as a set, not looked up row by row.
-- +goose StatementBegin
CREATE FUNCTION progress_counters_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT o.batch_id, coalesce(o.county_code, ''), coalesce(t.stage, 'awaiting_match'), count(*)
        FROM new_rows o LEFT JOIN tasks t ON t.batch_id = o.batch_id AND t.object_key = o.object_key
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT x.batch_id, x.county_code, x.what, sum(x.d) FROM (
            SELECT o.batch_id, coalesce(o.county_code, '') AS county_code, coalesce(t.stage, 'awaiting_match') AS what, 1 AS d
            FROM new_rows o LEFT JOIN tasks t ON t.batch_id = o.batch_id AND t.object_key = o.object_key
            UNION ALL
            SELECT o.batch_id, coalesce(o.county_code, ''), coalesce(t.stage, 'awaiting_match'), -1
            FROM old_rows o LEFT JOIN tasks t ON t.batch_id = o.batch_id AND t.object_key = o.object_key
        ) x
        GROUP BY 1, 2, 3 HAVING sum(x.d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT o.batch_id, coalesce(o.county_code, ''), coalesce(t.stage, 'awaiting_match'), -count(*)
        FROM old_rows o LEFT JOIN tasks t ON t.batch_id = o.batch_id AND t.object_key = o.object_key
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION progress_counters_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT a.batch_id, a.county_code, 'ledger:' || a.duty, count(*) FROM new_rows a
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT a.batch_id, a.county_code, 'ledger:' || a.duty, -count(*) FROM old_rows a
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- A trigger with transition tables has one event.
CREATE TRIGGER progress_counters_tasks_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_tasks();
CREATE TRIGGER progress_counters_tasks_update AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_tasks();
CREATE TRIGGER progress_counters_tasks_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_tasks();
CREATE TRIGGER progress_counters_objects_insert AFTER INSERT ON batch_objects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_objects();
CREATE TRIGGER progress_counters_objects_update AFTER UPDATE ON batch_objects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_objects();
CREATE TRIGGER progress_counters_objects_delete AFTER DELETE ON batch_objects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_objects();
CREATE TRIGGER progress_counters_ledger_insert AFTER INSERT ON accountability
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_ledger();
CREATE TRIGGER progress_counters_ledger_delete AFTER DELETE ON accountability
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_counters_ledger();

-- The batches already stored: counted once.
INSERT INTO progress_counters (batch_id, county_code, what, n)
SELECT b.batch_id, coalesce(b.county_code, ''), coalesce(t.stage, 'awaiting_match'), count(*)
FROM batch_objects b LEFT JOIN tasks t ON t.batch_id = b.batch_id AND t.object_key = b.object_key
GROUP BY 1, 2, 3;
INSERT INTO progress_counters (batch_id, county_code, what, n)
SELECT batch_id, county_code, 'overdue:' || duty, count(*) FROM tasks, unnest(overdue) AS duty GROUP BY 1, 2, 3;
INSERT INTO progress_counters (batch_id, county_code, what, n)
SELECT batch_id, county_code, 'tasks:overdue', count(*) FROM tasks WHERE cardinality(overdue) > 0 GROUP BY 1, 2, 3;
INSERT INTO progress_counters (batch_id, county_code, what, n)
SELECT batch_id, county_code, 'ledger:' || duty, count(*) FROM accountability GROUP BY 1, 2, 3;

-- +goose Down
DROP TRIGGER progress_counters_ledger_delete ON accountability;
DROP TRIGGER progress_counters_ledger_insert ON accountability;
DROP TRIGGER progress_counters_objects_delete ON batch_objects;
DROP TRIGGER progress_counters_objects_update ON batch_objects;
DROP TRIGGER progress_counters_objects_insert ON batch_objects;
DROP TRIGGER progress_counters_tasks_delete ON tasks;
DROP TRIGGER progress_counters_tasks_update ON tasks;
DROP TRIGGER progress_counters_tasks_insert ON tasks;
DROP FUNCTION progress_counters_ledger();
DROP FUNCTION progress_counters_objects();
DROP FUNCTION progress_counters_tasks();
DROP FUNCTION task_counts(text, text, text, text, text[]);
DROP TABLE progress_counters;
