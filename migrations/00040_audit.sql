-- The audit trail (全程留痕、可溯源): every state change as one row of a
-- hash chain. Each row stores the hash of the row before it and its own
-- hash over that and its canonical content, so an edited, inserted or
-- deleted row breaks the chain where it happened. internal/audit documents
-- the content byte for byte and recomputes it in Go (`spotcheck audit verify`);
-- the functions below compute it when a row is appended.

-- +goose Up

-- The chain's last link. Appenders lock this one row, so appends are
-- serialised and the chain never forks; a verifier also compares it with the
-- last row, so deleting rows at the end of the log is noticed too.
CREATE TABLE audit_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL CHECK (seq >= 0),
    hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

-- seq is assigned under the head's lock, not from a sequence: a sequence
-- leaves gaps on rollback, and a gap must mean a deleted row.
CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY CHECK (seq >= 1),
    at        timestamptz NOT NULL,
    actor     text NOT NULL CHECK (actor <> ''),
    action    text NOT NULL CHECK (action <> ''),
    entity    text NOT NULL CHECK (entity <> ''),
    entity_id text NOT NULL DEFAULT '',
    payload   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    prev_hash text NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash      text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, seq);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, seq);

-- The canonical content of a row (internal/audit.Content is the same in Go):
-- "spotcheck-audit-v1", seq in decimal, at as UTC RFC 3339 with exactly six
-- fractional digits, actor, action, entity, entity_id, and the payload as
-- PostgreSQL renders jsonb (keys sorted, numbers normalised: it is what is
-- stored, so it can be recomputed exactly), UTF-8, joined by one 0x00 byte.
-- +goose StatementBegin
CREATE FUNCTION audit_content(seq bigint, at timestamptz, actor text, action text, entity text, entity_id text, payload jsonb)
RETURNS bytea LANGUAGE sql STABLE STRICT AS $$
    SELECT convert_to('spotcheck-audit-v1', 'UTF8')
        || '\x00'::bytea || convert_to(seq::text, 'UTF8')
        || '\x00'::bytea || convert_to(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')
        || '\x00'::bytea || convert_to(actor, 'UTF8')
        || '\x00'::bytea || convert_to(action, 'UTF8')
        || '\x00'::bytea || convert_to(entity, 'UTF8')
        || '\x00'::bytea || convert_to(entity_id, 'UTF8')
        || '\x00'::bytea || convert_to(payload::text, 'UTF8')
$$;
-- +goose StatementEnd

-- hash = hex(SHA-256(the 32 bytes of prev_hash || content)).
-- +goose StatementBegin
CREATE FUNCTION audit_hash(prev_hash text, content bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT encode(sha256(decode(prev_hash, 'hex') || content), 'hex')
$$;
-- +goose StatementEnd

-- Appends one row and returns it. The head's row lock is held until the
-- caller's transaction ends: append last, just before committing. Under
-- REPEATABLE READ or SERIALIZABLE a concurrent append since the snapshot
-- makes this fail with a serialization failure (40001), which is retryable.
-- +goose StatementBegin
CREATE FUNCTION audit_append(p_actor text, p_action text, p_entity text, p_entity_id text, p_payload jsonb)
RETURNS audit_log LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head audit_head%ROWTYPE;
    r    audit_log%ROWTYPE;
BEGIN
    SELECT * INTO STRICT head FROM audit_head WHERE id FOR UPDATE;
    r.seq       := head.seq + 1;
    r.at        := clock_timestamp();
    r.actor     := p_actor;
    r.action    := p_action;
    r.entity    := p_entity;
    r.entity_id := coalesce(p_entity_id, '');
    r.payload   := coalesce(p_payload, '{}');
    r.prev_hash := head.hash;
    r.hash      := audit_hash(r.prev_hash, audit_content(r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.payload));
    IF r.hash IS NULL THEN
        RAISE EXCEPTION 'an audit entry needs an actor, an action and an entity' USING ERRCODE = 'not_null_violation';
    END IF;
    INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, payload, prev_hash, hash)
        VALUES (r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.payload, r.prev_hash, r.hash);
    UPDATE audit_head SET seq = r.seq, hash = r.hash WHERE id;
    RETURN r;
END $$;
-- +goose StatementEnd

-- Library edits are chained too: every library_changes row becomes an audit
-- row when its transaction commits (a deferred trigger, so the head is
-- locked only for the commit, not for the whole of an import).
-- +goose StatementBegin
CREATE FUNCTION audit_library_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(NEW.actor, 'library.' || NEW.action,
        CASE NEW.entity
            WHEN 'objects' THEN 'object'
            WHEN 'inspectors' THEN 'inspector'
            WHEN 'check_items' THEN 'check_item'
            WHEN 'inspector_conflicts' THEN 'inspector_conflict'
            ELSE NEW.entity
        END,
        NEW.entity_key,
        jsonb_build_object('change_id', NEW.id, 'source', NEW.source, 'before', NEW.before, 'after', NEW.after));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER library_changes_audit AFTER INSERT ON library_changes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_library_change();

-- The log is append-only for the application; an edit by hand needs the
-- trigger disabled first, and `spotcheck audit verify` then names the row.
-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit_log is append-only: its rows are never updated or deleted');
CREATE TRIGGER audit_head_keep BEFORE INSERT OR DELETE OR TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit_head has exactly one row, moved only by audit_append');

-- +goose Down
DROP TRIGGER library_changes_audit ON library_changes;
DROP FUNCTION audit_library_change();
DROP FUNCTION audit_append(text, text, text, text, jsonb);
DROP TABLE audit_log;
DROP TABLE audit_head;
DROP FUNCTION audit_hash(text, bytea);
DROP FUNCTION audit_content(bigint, timestamptz, text, text, text, text, jsonb);
DROP FUNCTION audit_append_only();
