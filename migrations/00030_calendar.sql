-- The working-day calendar (工作日): each year's official holiday schedule,
-- as published by the State Council General Office every November, kept as
-- data an administrator replaces through the API (PUT /api/v1/calendar/years/{year}).
-- Seeded for 2024–2026 from internal/workday/schedules/cn.json; a test
-- compares the two day by day. A year with no row here has no schedule, and
-- deadlines reaching into it are flagged, never counted on weekends alone.

-- +goose Up

-- One number per change of the calendar: a cache compares max(revision) and
-- count(*) of calendar_years to know cheaply whether to reload, and a year's
-- revision is its ETag.
CREATE SEQUENCE calendar_revision;

CREATE TABLE calendar_years (
    year       int PRIMARY KEY CHECK (year BETWEEN 1 AND 9999),
    source     text NOT NULL DEFAULT '',
    revision   bigint NOT NULL UNIQUE DEFAULT nextval('calendar_revision'),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL CHECK (updated_by <> '')
);

-- Only the exceptions are stored: days off (including weekend days inside a
-- holiday block, as the notices list them) and weekend days worked (调休上班).
-- Every other Monday to Friday is worked, every other weekend day is not.
CREATE TABLE calendar_days (
    day  date PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('holiday', 'makeup_workday')),
    year int NOT NULL REFERENCES calendar_years (year) ON DELETE CASCADE,
    CHECK (extract(year FROM day) = year),
    CHECK (kind = 'holiday' OR extract(isodow FROM day) IN (6, 7))
);
CREATE INDEX calendar_days_year_idx ON calendar_days (year);

-- Who replaced which year, from what to what.
CREATE TABLE calendar_changes (
    id         bigserial PRIMARY KEY,
    year       int NOT NULL,
    actor      text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    before     jsonb,
    after      jsonb NOT NULL
);
CREATE INDEX calendar_changes_year_idx ON calendar_changes (year, id);

-- Any write to a year, through the API or by hand in SQL, takes a new
-- revision, so that no cache keeps serving an old schedule.
-- +goose StatementBegin
CREATE FUNCTION calendar_years_revise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := nextval('calendar_revision');
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER calendar_years_revise BEFORE INSERT OR UPDATE ON calendar_years
    FOR EACH ROW EXECUTE FUNCTION calendar_years_revise();

-- +goose StatementBegin
CREATE FUNCTION calendar_days_revise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The row trigger above gives each touched year its new revision.
    -- Transition tables exist only for the operations that have them.
    IF TG_OP = 'INSERT' THEN
        EXECUTE 'UPDATE calendar_years SET revision = revision WHERE year IN (SELECT year FROM new_rows)';
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE 'UPDATE calendar_years SET revision = revision WHERE year IN (SELECT year FROM new_rows UNION SELECT year FROM old_rows)';
    ELSE
        EXECUTE 'UPDATE calendar_years SET revision = revision WHERE year IN (SELECT year FROM old_rows)';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER calendar_days_revise_ins AFTER INSERT ON calendar_days REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_days_revise();
CREATE TRIGGER calendar_days_revise_upd AFTER UPDATE ON calendar_days REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_days_revise();
CREATE TRIGGER calendar_days_revise_del AFTER DELETE ON calendar_days REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_days_revise();

INSERT INTO calendar_years (year, source, updated_by) VALUES
    (2024, '国务院办公厅关于2024年部分节假日安排的通知', 'migration'),
    (2025, '国务院办公厅关于2025年部分节假日安排的通知', 'migration'),
    (2026, '国务院办公厅关于2026年部分节假日安排的通知', 'migration');

INSERT INTO calendar_days (day, kind, year) VALUES
    ('2024-01-01', 'holiday', 2024),
    ('2024-02-04', 'makeup_workday', 2024),
    ('2024-02-10', 'holiday', 2024),
    ('2024-02-11', 'holiday', 2024),
    ('2024-02-12', 'holiday', 2024),
    ('2024-02-13', 'holiday', 2024),
    ('2024-02-14', 'holiday', 2024),
    ('2024-02-15', 'holiday', 2024),
    ('2024-02-16', 'holiday', 2024),
    ('2024-02-17', 'holiday', 2024),
    ('2024-02-18', 'makeup_workday', 2024),
    ('2024-04-04', 'holiday', 2024),
    ('2024-04-05', 'holiday', 2024),
    ('2024-04-06', 'holiday', 2024),
    ('2024-04-07', 'makeup_workday', 2024),
    ('2024-04-28', 'makeup_workday', 2024),
    ('2024-05-01', 'holiday', 2024),
    ('2024-05-02', 'holiday', 2024),
    ('2024-05-03', 'holiday', 2024),
    ('2024-05-04', 'holiday', 2024),
    ('2024-05-05', 'holiday', 2024),
    ('2024-05-11', 'makeup_workday', 2024),
    ('2024-06-10', 'holiday', 2024),
    ('2024-09-14', 'makeup_workday', 2024),
    ('2024-09-15', 'holiday', 2024),
    ('2024-09-16', 'holiday', 2024),
    ('2024-09-17', 'holiday', 2024),
    ('2024-09-29', 'makeup_workday', 2024),
    ('2024-10-01', 'holiday', 2024),
    ('2024-10-02', 'holiday', 2024),
    ('2024-10-03', 'holiday', 2024),
    ('2024-10-04', 'holiday', 2024),
    ('2024-10-05', 'holiday', 2024),
    ('2024-10-06', 'holiday', 2024),
    ('2024-10-07', 'holiday', 2024),
    ('2024-10-12', 'makeup_workday', 2024),
    ('2025-01-01', 'holiday', 2025),
    ('2025-01-26', 'makeup_workday', 2025),
    ('2025-01-28', 'holiday', 2025),
    ('2025-01-29', 'holiday', 2025),
    ('2025-01-30', 'holiday', 2025),
    ('2025-01-31', 'holiday', 2025),
    ('2025-02-01', 'holiday', 2025),
    ('2025-02-02', 'holiday', 2025),
    ('2025-02-03', 'holiday', 2025),
    ('2025-02-04', 'holiday', 2025),
    ('2025-02-08', 'makeup_workday', 2025),
    ('2025-04-04', 'holiday', 2025),
    ('2025-04-05', 'holiday', 2025),
    ('2025-04-06', 'holiday', 2025),
    ('2025-04-27', 'makeup_workday', 2025),
    ('2025-05-01', 'holiday', 2025),
    ('2025-05-02', 'holiday', 2025),
    ('2025-05-03', 'holiday', 2025),
    ('2025-05-04', 'holiday', 2025),
    ('2025-05-05', 'holiday', 2025),
    ('2025-05-31', 'holiday', 2025),
    ('2025-06-01', 'holiday', 2025),
    ('2025-06-02', 'holiday', 2025),
    ('2025-09-28', 'makeup_workday', 2025),
    ('2025-10-01', 'holiday', 2025),
    ('2025-10-02', 'holiday', 2025),
    ('2025-10-03', 'holiday', 2025),
    ('2025-10-04', 'holiday', 2025),
    ('2025-10-05', 'holiday', 2025),
    ('2025-10-06', 'holiday', 2025),
    ('2025-10-07', 'holiday', 2025),
    ('2025-10-08', 'holiday', 2025),
    ('2025-10-11', 'makeup_workday', 2025),
    ('2026-01-01', 'holiday', 2026),
    ('2026-01-02', 'holiday', 2026),
    ('2026-01-03', 'holiday', 2026),
    ('2026-01-04', 'makeup_workday', 2026),
    ('2026-02-14', 'makeup_workday', 2026),
    ('2026-02-15', 'holiday', 2026),
    ('2026-02-16', 'holiday', 2026),
    ('2026-02-17', 'holiday', 2026),
    ('2026-02-18', 'holiday', 2026),
    ('2026-02-19', 'holiday', 2026),
    ('2026-02-20', 'holiday', 2026),
    ('2026-02-21', 'holiday', 2026),
    ('2026-02-22', 'holiday', 2026),
    ('2026-02-23', 'holiday', 2026),
    ('2026-02-28', 'makeup_workday', 2026),
    ('2026-04-04', 'holiday', 2026),
    ('2026-04-05', 'holiday', 2026),
    ('2026-04-06', 'holiday', 2026),
    ('2026-05-01', 'holiday', 2026),
    ('2026-05-02', 'holiday', 2026),
    ('2026-05-03', 'holiday', 2026),
    ('2026-05-04', 'holiday', 2026),
    ('2026-05-05', 'holiday', 2026),
    ('2026-05-09', 'makeup_workday', 2026),
    ('2026-06-19', 'holiday', 2026),
    ('2026-06-20', 'holiday', 2026),
    ('2026-06-21', 'holiday', 2026),
    ('2026-09-20', 'makeup_workday', 2026),
    ('2026-09-25', 'holiday', 2026),
    ('2026-09-26', 'holiday', 2026),
    ('2026-09-27', 'holiday', 2026),
    ('2026-10-01', 'holiday', 2026),
    ('2026-10-02', 'holiday', 2026),
    ('2026-10-03', 'holiday', 2026),
    ('2026-10-04', 'holiday', 2026),
    ('2026-10-05', 'holiday', 2026),
    ('2026-10-06', 'holiday', 2026),
    ('2026-10-07', 'holiday', 2026),
    ('2026-10-10', 'makeup_workday', 2026);

-- +goose Down
DROP TABLE calendar_changes;
DROP TABLE calendar_days;
DROP TABLE calendar_years;
DROP FUNCTION calendar_days_revise();
DROP FUNCTION calendar_years_revise();
DROP SEQUENCE calendar_revision;
