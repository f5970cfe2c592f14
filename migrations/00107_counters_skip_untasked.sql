-- The drawn list arrives, and the lock assigns its counties, before any
-- of the batch's tasks exist: every object then counts as awaiting its
-- match, and the join of each row to the tasks (an index probe per row,
-- ≈0.1 s for a draw of 35,000 objects) is skipped. Batches that do have
-- tasks take the join as before (migration 00104).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION any_tasks(p_batches text[]) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(p_batches) AS b (id) WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.batch_id = b.id))
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION progress_counters_objects() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- A transition table exists only for the events that have it: each
    -- is read in its own branch.
    tasked boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        tasked := any_tasks(ARRAY(SELECT DISTINCT batch_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        tasked := any_tasks(ARRAY(SELECT batch_id FROM new_rows UNION SELECT batch_id FROM old_rows));
    END IF;
    IF TG_OP = 'INSERT' AND NOT tasked THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT o.batch_id, coalesce(o.county_code, ''), 'awaiting_match', count(*)
        FROM new_rows o GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT o.batch_id, coalesce(o.county_code, ''), coalesce(t.stage, 'awaiting_match'), count(*)
        FROM new_rows o LEFT JOIN tasks t ON t.batch_id = o.batch_id AND t.object_key = o.object_key
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (batch_id, county_code, what) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' AND NOT tasked THEN
        INSERT INTO progress_counters AS c (batch_id, county_code, what, n)
        SELECT x.batch_id, x.county_code, 'awaiting_match', sum(x.d) FROM (
            SELECT o.batch_id, coalesce(o.county_code, '') AS county_code, 1 AS d FROM new_rows o
            UNION ALL
            SELECT o.batch_id, coalesce(o.county_code, ''), -1 FROM old_rows o
        ) x
        GROUP BY 1, 2 HAVING sum(x.d) <> 0 ORDER BY 1, 2
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION progress_counters_objects() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP FUNCTION any_tasks(text[]);
