-- +goose Up

-- Change tracking once per statement (issue 14.7). track_changes fired for every row: a plpgsql
-- call, a JSON copy of the row and an INSERT of its own each, more than half of the processor
-- time of a bulk write such as the demo's case data (51 s of the 100,000-employee demo's case
-- data, against 23 s without tracking). It now also runs as a statement-level trigger with a
-- transition table and writes the statement's rows into changes with one INSERT … SELECT of
-- their columns (no JSON), in the order the statement wrote them, so seq still rises in
-- statement order and every row still gets exactly one change in the writing transaction
-- (30 s). As a row-level trigger it works as before, so a table attached the old way (00005's
-- comment) is tracked the same.
--
-- A transition table cannot serve more than one event, so each tracked table gets three
-- triggers in place of its one.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION track_changes() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    cols text;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        r := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
        INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
        VALUES ((r->>'tenant_id')::uuid, TG_TABLE_NAME, (r->>'id')::uuid, lower(TG_OP),
                (r->>'employee_id')::uuid, (r->>'employer_id')::uuid);
        RETURN NULL;
    END IF;
    -- The table's employee_id and employer_id, or NULL where it has no such column.
    SELECT string_agg(CASE WHEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = TG_RELID AND a.attname = u.c
                                         AND NOT a.attisdropped) THEN quote_ident(u.c) ELSE 'NULL::uuid' END, ', ' ORDER BY u.o)
    INTO cols FROM unnest(ARRAY['employee_id', 'employer_id']) WITH ORDINALITY AS u (c, o);
    EXECUTE format('INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
        SELECT tenant_id, %L, id, %L, %s FROM %I', TG_TABLE_NAME, lower(TG_OP), cols,
        CASE WHEN TG_OP = 'DELETE' THEN 'old_rows' ELSE 'new_rows' END);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT g.tgname, c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
             WHERE g.tgfoid = 'track_changes'::regproc AND g.tgtype & 1 = 1 AND NOT g.tgisinternal
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t.tgname, t.relname);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION track_changes()', t.relname || '_changes_insert', t.relname);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION track_changes()', t.relname || '_changes_update', t.relname);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION track_changes()', t.relname || '_changes_delete', t.relname);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
             WHERE g.tgfoid = 'track_changes'::regproc AND g.tgtype & 1 = 0
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t.relname || '_changes_insert', t.relname);
        EXECUTE format('DROP TRIGGER %I ON %I', t.relname || '_changes_update', t.relname);
        EXECUTE format('DROP TRIGGER %I ON %I', t.relname || '_changes_delete', t.relname);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I
            FOR EACH ROW EXECUTE FUNCTION track_changes()', t.relname || '_changes', t.relname);
    END LOOP;
END
$$;
-- +goose StatementEnd
