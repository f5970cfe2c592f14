-- The item list and the two libraries (一单两库): check items (抽查事项清单),
-- the object directory (检查对象名录库) and the inspector directory
-- (执法检查人员名录库), with every change kept in library_changes.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Keys and labels end up in draw populations and proofs (DRAW-SPEC): no TAB,
-- CR or LF, no surrounding spaces, never empty.
CREATE DOMAIN public_key AS text
    CHECK (VALUE <> '' AND VALUE !~ '[\t\r\n]' AND VALUE = btrim(VALUE) AND length(VALUE) <= 64);

-- 抽查事项: one row per version. An edit inserts the next version; earlier
-- versions are never rewritten, and a batch records the version it used.
CREATE TABLE check_items (
    code                text NOT NULL CHECK (code ~ '^[0-9A-Za-z-]{1,32}$'),
    version             int  NOT NULL CHECK (version >= 1),
    name                text NOT NULL CHECK (name <> ''),
    sub_item            text NOT NULL DEFAULT '',
    object_kind         text NOT NULL CHECK (object_kind IN ('enterprise', 'project', 'product', 'behaviour', 'other')),
    -- An object is in scope when it has the item's kind and carries all these tags.
    object_tags         text[] NOT NULL DEFAULT '{}',
    methods             text[] NOT NULL CHECK (cardinality(methods) > 0 AND methods <@ ARRAY['on_site', 'written', 'online', 'commissioned', 'testing', 'other_authority']),
    authority           text NOT NULL DEFAULT '',       -- 检查主体
    legal_basis         text NOT NULL DEFAULT '',       -- 检查依据
    content             text NOT NULL DEFAULT '',       -- 检查内容
    class               text NOT NULL CHECK (class IN ('general', 'key')),
    default_ratio       text NOT NULL CHECK (default_ratio ~ '^(0|1)(\.[0-9]{1,18})?$'),
    frequency_per_year  int  NOT NULL DEFAULT 1 CHECK (frequency_per_year BETWEEN 1 AND 12),
    inspectors_required int  NOT NULL DEFAULT 2 CHECK (inspectors_required >= 2),
    required_tags       text[] NOT NULL DEFAULT '{}',   -- inspector qualifications
    cross_station       boolean NOT NULL DEFAULT false, -- no inspector from the object's own station
    department_code     text REFERENCES departments (code),
    joint_departments   text[] NOT NULL DEFAULT '{}',
    effective_from      date NOT NULL,
    published           boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT '',
    PRIMARY KEY (code, version)
);

-- 检查对象名录库.
CREATE TABLE objects (
    id                bigserial PRIMARY KEY,
    key               public_key NOT NULL UNIQUE,   -- 统一社会信用代码 or project/other code
    kind              text NOT NULL CHECK (kind IN ('enterprise', 'project', 'product', 'behaviour', 'other')),
    name              text NOT NULL CHECK (name <> ''),
    region_code       text NOT NULL REFERENCES regions (code),
    station           text NOT NULL DEFAULT '',     -- 所/站 slice, for cross-station recusal
    address           text NOT NULL DEFAULT '',
    tags              text[] NOT NULL DEFAULT '{}',
    risk_level        text NOT NULL DEFAULT 'normal' CHECK (risk_level IN ('low', 'normal', 'raised', 'high')),
    credit_class      text NOT NULL DEFAULT 'B' CHECK (credit_class IN ('A', 'B', 'C', 'D')),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed', 'cancelled', 'revoked', 'moved_out')),
    last_inspected_at date,
    attributes        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    row_version       bigint NOT NULL DEFAULT 1,    -- the ETag; +1 on every update
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX objects_region_idx ON objects (region_code);
CREATE INDEX objects_kind_status_idx ON objects (kind, status);
CREATE INDEX objects_tags_idx ON objects USING gin (tags);
CREATE INDEX objects_name_trgm_idx ON objects USING gin (name gin_trgm_ops);

-- 执法检查人员名录库.
CREATE TABLE inspectors (
    id                      bigserial PRIMARY KEY,
    key                     public_key NOT NULL UNIQUE,   -- employee number
    name                    text NOT NULL CHECK (name <> ''),
    region_code             text NOT NULL REFERENCES regions (code),
    unit                    text NOT NULL DEFAULT '',     -- station / unit (所/站)
    certificate_no          text NOT NULL DEFAULT '',
    certificate_valid_until date,
    tags                    text[] NOT NULL DEFAULT '{}', -- qualifications, expertise, leader
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'on_leave', 'retired')),
    max_load                int NOT NULL DEFAULT 20 CHECK (max_load >= 1),
    row_version             bigint NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inspectors_region_idx ON inspectors (region_code, status);
CREATE INDEX inspectors_tags_idx ON inspectors USING gin (tags);

-- Declared conflicts of interest (回避): the inspector never inspects the object.
CREATE TABLE inspector_conflicts (
    inspector_key text NOT NULL REFERENCES inspectors (key) ON UPDATE CASCADE,
    object_key    public_key NOT NULL,
    reason        text NOT NULL CHECK (reason <> ''),
    declared_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (inspector_key, object_key)
);
CREATE INDEX inspector_conflicts_object_idx ON inspector_conflicts (object_key);

-- Every change to the libraries (who, when, before/after), written by
-- statement-level triggers so that no code path, bulk imports included, can
-- skip it. The actor comes from the transaction setting spotcheck.actor
-- (SET LOCAL spotcheck.actor = '...'), the source from spotcheck.source.
CREATE TABLE library_changes (
    id         bigserial PRIMARY KEY,
    entity     text NOT NULL,
    entity_key text NOT NULL,
    action     text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor      text NOT NULL,
    source     text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    before     jsonb,
    after      jsonb
);
CREATE INDEX library_changes_entity_idx ON library_changes (entity, entity_key, id);

-- +goose StatementBegin
CREATE FUNCTION record_library_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor  text := coalesce(nullif(current_setting('spotcheck.actor', true), ''), 'system');
    source text := coalesce(nullif(current_setting('spotcheck.source', true), ''), 'sql');
    keyexp text := TG_ARGV[0];  -- SQL expression of the entity key over row r
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO library_changes (entity, entity_key, action, actor, source, after)
                        SELECT $1, %s, ''create'', $2, $3, to_jsonb(r) FROM new_rows r', keyexp)
            USING TG_TABLE_NAME, actor, source;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Pair old and new rows by the table's stable identity column.
        EXECUTE format('INSERT INTO library_changes (entity, entity_key, action, actor, source, before, after)
                        SELECT $1, %s, ''update'', $2, $3, to_jsonb(o), to_jsonb(r)
                        FROM new_rows r JOIN old_rows o ON o.%I = r.%I
                        WHERE to_jsonb(o) IS DISTINCT FROM to_jsonb(r)', keyexp, TG_ARGV[1], TG_ARGV[1])
            USING TG_TABLE_NAME, actor, source;
    ELSE
        EXECUTE format('INSERT INTO library_changes (entity, entity_key, action, actor, source, before)
                        SELECT $1, %s, ''delete'', $2, $3, to_jsonb(r) FROM old_rows r', keyexp)
            USING TG_TABLE_NAME, actor, source;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER objects_changes_ins AFTER INSERT ON objects REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.key', 'id');
CREATE TRIGGER objects_changes_upd AFTER UPDATE ON objects REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.key', 'id');
CREATE TRIGGER objects_changes_del AFTER DELETE ON objects REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.key', 'id');

CREATE TRIGGER inspectors_changes_ins AFTER INSERT ON inspectors REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.key', 'id');
CREATE TRIGGER inspectors_changes_upd AFTER UPDATE ON inspectors REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.key', 'id');
CREATE TRIGGER inspectors_changes_del AFTER DELETE ON inspectors REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.key', 'id');

CREATE TRIGGER check_items_changes_ins AFTER INSERT ON check_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.code || ''@'' || r.version', 'code');
CREATE TRIGGER check_items_changes_upd AFTER UPDATE ON check_items REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.code || ''@'' || r.version', 'code');

CREATE TRIGGER inspector_conflicts_changes_ins AFTER INSERT ON inspector_conflicts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.inspector_key || ''/'' || r.object_key', 'object_key');
CREATE TRIGGER inspector_conflicts_changes_del AFTER DELETE ON inspector_conflicts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_library_change('r.inspector_key || ''/'' || r.object_key', 'object_key');

-- Versions of an item are immutable except for publication.
-- +goose StatementBegin
CREATE FUNCTION check_items_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'published') IS DISTINCT FROM (to_jsonb(OLD) - 'published') THEN
        RAISE EXCEPTION 'check item % version % is history and cannot be changed; create a new version', OLD.code, OLD.version
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER check_items_immutable BEFORE UPDATE ON check_items FOR EACH ROW EXECUTE FUNCTION check_items_immutable();
CREATE RULE check_items_no_delete AS ON DELETE TO check_items DO INSTEAD NOTHING;

-- +goose Down
DROP TABLE library_changes;
DROP TABLE inspector_conflicts;
DROP TABLE inspectors;
DROP TABLE objects;
DROP TABLE check_items;
DROP FUNCTION check_items_immutable();
DROP FUNCTION record_library_change();
DROP DOMAIN public_key;
