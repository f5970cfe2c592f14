-- Two roles, so that the running application cannot rewrite its own audit
-- trail. spotcheck_owner owns every table and function and is the role that
-- runs the migrations (in `dev` and the tests the cluster's superuser runs
-- them and hands the objects over; in production the DBA gives
-- spotcheck_owner a login). spotcheck_runtime is the application (`api`,
-- `worker`): it reads and writes the business tables, but owns nothing, so
-- it cannot alter, disable or drop a trigger, and on the audit tables it
-- may only read: appending goes through audit_append and the published
-- heads through audit_publish_head, both SECURITY DEFINER functions of the
-- owner. A superuser can still do anything, which is why the chain's head
-- is published (audit_heads) where a rewrite is noticed.
--
-- Roles belong to the whole cluster, so they are created once and kept by
-- the Down migration; the grants belong to this database.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    BEGIN
        CREATE ROLE spotcheck_owner NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE spotcheck_runtime LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
END $$;
-- +goose StatementEnd

-- The published heads of the chain: at least daily and at every archive,
-- the head (seq and hash) is copied here and served at /public/audit/heads;
-- anyone who keeps a copy can check later that the chain still passes
-- through it (`spotcheck audit verify --heads`).
CREATE TABLE audit_heads (
    id           bigserial PRIMARY KEY,
    seq          bigint NOT NULL CHECK (seq >= 0),
    hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason       text NOT NULL CHECK (reason IN ('daily', 'archive', 'manual')),
    batch_id     text NOT NULL DEFAULT ''
);
CREATE INDEX audit_heads_seq_idx ON audit_heads (seq);
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit_heads is append-only: a published head is never changed');

-- Publishes the current head and returns it; a daily publication of an
-- unchanged head adds no row.
-- +goose StatementBegin
CREATE FUNCTION audit_publish_head(p_reason text, p_batch_id text) RETURNS audit_heads
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    h audit_head%ROWTYPE;
    r audit_heads%ROWTYPE;
BEGIN
    SELECT * INTO STRICT h FROM audit_head WHERE id;
    IF p_reason = 'daily' THEN
        SELECT * INTO r FROM audit_heads WHERE seq = h.seq AND hash = h.hash ORDER BY id DESC LIMIT 1;
        IF FOUND THEN
            RETURN r;
        END IF;
    END IF;
    INSERT INTO audit_heads (seq, hash, reason, batch_id) VALUES (h.seq, h.hash, p_reason, coalesce(p_batch_id, ''))
        RETURNING * INTO r;
    RETURN r;
END $$;
-- +goose StatementEnd

-- The rows the public sees carry the hash of the audit entry that wrote
-- them: an edited result no longer matches its entry's payload, and the
-- entry cannot be changed without breaking the chain.
ALTER TABLE results ADD COLUMN audit_hash text CHECK (audit_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE publications ADD COLUMN audit_hash text CHECK (audit_hash ~ '^[0-9a-f]{64}$');

-- The appenders run as the owner of the audit tables.
ALTER FUNCTION audit_append(text, text, text, text, jsonb) SECURITY DEFINER;
ALTER FUNCTION audit_append(text, text, text, text, jsonb) SET search_path = public, pg_temp;

-- Hand every object to the owner.
-- +goose StatementBegin
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname <> 'goose_db_version' LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO spotcheck_owner', o.relname);
    END LOOP;
    FOR o IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relname NOT LIKE 'goose_db_version%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
        EXECUTE format('ALTER SEQUENCE %I OWNER TO spotcheck_owner', o.relname);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p') LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO spotcheck_owner', o.sig);
    END LOOP;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO spotcheck_runtime', current_database());
END $$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO spotcheck_runtime;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO spotcheck_runtime;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO spotcheck_runtime;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO spotcheck_runtime;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_log, audit_head, audit_heads, goose_db_version FROM spotcheck_runtime;
GRANT SELECT ON goose_db_version TO spotcheck_runtime;
-- Tables and functions of later migrations: the same grants. Those run by
-- another role than this one's grant them in their own migration.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO spotcheck_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO spotcheck_runtime;
-- The owner runs the later migrations: it creates in the schema, and what
-- it creates is granted alike.
GRANT USAGE, CREATE ON SCHEMA public TO spotcheck_owner;
ALTER DEFAULT PRIVILEGES FOR ROLE spotcheck_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO spotcheck_runtime;
ALTER DEFAULT PRIVILEGES FOR ROLE spotcheck_owner IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO spotcheck_runtime;

-- +goose Down
ALTER DEFAULT PRIVILEGES FOR ROLE spotcheck_owner IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM spotcheck_runtime;
ALTER DEFAULT PRIVILEGES FOR ROLE spotcheck_owner IN SCHEMA public REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM spotcheck_runtime;
REVOKE USAGE, CREATE ON SCHEMA public FROM spotcheck_owner;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM spotcheck_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM spotcheck_runtime;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM spotcheck_runtime;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM spotcheck_runtime;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM spotcheck_runtime;
REVOKE USAGE ON SCHEMA public FROM spotcheck_runtime;
GRANT CREATE ON SCHEMA public TO PUBLIC;
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM spotcheck_runtime', current_database());
END $$;
-- +goose StatementEnd
ALTER FUNCTION audit_append(text, text, text, text, jsonb) SECURITY INVOKER;
ALTER FUNCTION audit_append(text, text, text, text, jsonb) RESET search_path;
ALTER TABLE publications DROP COLUMN audit_hash;
ALTER TABLE results DROP COLUMN audit_hash;
DROP FUNCTION audit_publish_head(text, text);
DROP TABLE audit_heads;
