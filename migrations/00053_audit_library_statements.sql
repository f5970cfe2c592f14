-- Chain library edits per statement, not per row. One audit row per changed
-- row made a bulk import quadratic (each append rewrites the chain head, and
-- a transaction re-reads every earlier version of it): 50,000 rows took 48 s.
-- A single-row edit keeps its before/after in the audit row; a statement
-- changing many rows is chained as their count, id range and a SHA-256 over
-- each change (id, key, action and an MD5 of before/after), so any later edit
-- of those library_changes rows no longer matches the chained digest.

-- +goose Up
DROP TRIGGER library_changes_audit ON library_changes;

-- +goose StatementBegin
CREATE FUNCTION audit_library_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n       bigint;
    one     library_changes;
    summary record;
    kind    text;
BEGIN
    SELECT count(*) INTO n FROM new_rows;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF n = 1 THEN
        SELECT * INTO one FROM new_rows;
        PERFORM audit_append(one.actor, 'library.' || one.action, audit_library_entity(one.entity), one.entity_key,
            jsonb_build_object('change_id', one.id, 'source', one.source, 'before', one.before, 'after', one.after));
        RETURN NULL;
    END IF;
    SELECT min(c.actor) AS actor, min(c.action) AS action, min(c.entity) AS entity, min(c.source) AS source,
           min(c.id) AS first_id, max(c.id) AS last_id,
           encode(sha256(convert_to(string_agg(c.id::text || ':' || c.entity_key || ':' || c.action || ':' ||
               md5(coalesce(c.before::text, '') || '|' || coalesce(c.after::text, '')), E'\n' ORDER BY c.id), 'UTF8')), 'hex') AS digest
      INTO summary FROM new_rows c;
    kind := audit_library_entity(summary.entity);
    PERFORM audit_append(summary.actor, 'library.' || summary.action, kind, '',
        jsonb_build_object('changes', n, 'first_change_id', summary.first_id, 'last_change_id', summary.last_id,
                           'source', summary.source, 'sha256', summary.digest,
                           'digest_of', 'sha256 over "id:entity_key:action:md5(before|after)" lines ordered by id'));
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION audit_library_entity(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE t WHEN 'objects' THEN 'object' WHEN 'inspectors' THEN 'inspector'
                  WHEN 'check_items' THEN 'check_item' WHEN 'inspector_conflicts' THEN 'inspector_conflict' ELSE t END
$$;
-- +goose StatementEnd

CREATE TRIGGER library_changes_audit_statement AFTER INSERT ON library_changes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_library_changes();

-- +goose Down
DROP TRIGGER library_changes_audit_statement ON library_changes;
DROP FUNCTION audit_library_changes();
DROP FUNCTION audit_library_entity(text);
CREATE CONSTRAINT TRIGGER library_changes_audit AFTER INSERT ON library_changes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_library_change();
