-- +goose Up

-- Change tracking once per statement (issue 14.7). track_changes fired for every row: a plpgsql
-- call, a JSON copy of the row and an INSERT of its own each, a third of the time a bulk write
-- such as the demo's case data took. It now also runs as a statement-level trigger with a
-- transition table and writes the statement's rows into changes with one INSERT … SELECT, in
-- the order the statement wrote them, so seq still rises in statement order and every row
-- still gets exactly one change in the writing transaction. As a row-level trigger it works as
-- before, so a table attached the old way (00005's comment) is tracked the same.
--
-- A transition table cannot serve more than one event, so each tracked table gets three
-- triggers in place of its one.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION track_changes() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        r := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
        INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
        VALUES ((r->>'tenant_id')::uuid, TG_TABLE_NAME, (r->>'id')::uuid, lower(TG_OP),
                (r->>'employee_id')::uuid, (r->>'employer_id')::uuid);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
        SELECT (x.r->>'tenant_id')::uuid, TG_TABLE_NAME, (x.r->>'id')::uuid, 'delete',
               (x.r->>'employee_id')::uuid, (x.r->>'employer_id')::uuid
        FROM (SELECT to_jsonb(o) AS r FROM old_rows o) x;
    ELSE
        INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
        SELECT (x.r->>'tenant_id')::uuid, TG_TABLE_NAME, (x.r->>'id')::uuid, lower(TG_OP),
               (x.r->>'employee_id')::uuid, (x.r->>'employer_id')::uuid
        FROM (SELECT to_jsonb(n) AS r FROM new_rows n) x;
    END IF;
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
