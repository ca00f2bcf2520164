-- +goose Up

-- Change tracking for datastreams (DESIGN.md §9): every insert, update and delete of an entity a
-- datastream carries is recorded here by the trigger track_changes, in the writing transaction.
-- xid is that transaction's id: a reader takes the rows with (xid, seq) above its watermark and
-- xid below pg_snapshot_xmin(pg_current_snapshot()), so a transaction still open when it reads
-- is picked up by a later read, never skipped. Deletions are rows too.
CREATE TABLE changes (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    entity      text NOT NULL,
    row_id      uuid NOT NULL,
    op          text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    employee_id uuid,
    employer_id uuid,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, xid, seq)
);
CREATE INDEX changes_entity ON changes (tenant_id, entity, xid, seq);
GRANT SELECT, INSERT ON changes TO dossierkast_app;
ALTER TABLE changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE changes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON changes USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- track_changes records a row's insert, update or delete in changes. Attach it to a table whose
-- rows have tenant_id and id (and, where they exist, employee_id and employer_id):
--   CREATE TRIGGER <table>_changes AFTER INSERT OR UPDATE OR DELETE ON <table>
--       FOR EACH ROW EXECUTE FUNCTION track_changes();
-- +goose StatementBegin
CREATE FUNCTION track_changes() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
    INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
    VALUES ((r->>'tenant_id')::uuid, TG_TABLE_NAME, (r->>'id')::uuid, lower(TG_OP),
            (r->>'employee_id')::uuid, (r->>'employer_id')::uuid);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
