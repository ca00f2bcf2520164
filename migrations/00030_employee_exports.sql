-- +goose Up

-- Employee dossier exports (DESIGN.md §7, issue 16): one row per export a user started of one
-- employee's dossier. The job writes two files, a workbook and its JSON twin, as blobs under
-- keys fixed by the export's id (exports/<tenant>/<id>.xlsx and .json), so a retried attempt
-- overwrites what an interrupted one left and no blob is ever orphaned. The row turns 'done'
-- only once both blobs are stored and read back (size and SHA-256 recorded here). expires_at is
-- created_at + 24 h: the expiry sweep deletes both blobs and sets deleted_at, and the row stays
-- as the deleted-export record. Exports cannot be deleted by hand: there is no other delete.
CREATE TABLE employee_exports (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT uuid_v7(),
    employee_id    uuid NOT NULL,
    employer_id    uuid NOT NULL,
    requested_by   uuid NOT NULL,
    reason         text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    rows_done      integer NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    sections_done  integer NOT NULL DEFAULT 0 CHECK (sections_done >= 0),
    sections_total integer NOT NULL DEFAULT 0 CHECK (sections_total >= 0),
    medical        boolean NOT NULL DEFAULT false,
    error          text NOT NULL DEFAULT '',
    xlsx_size      bigint NOT NULL DEFAULT 0,
    xlsx_sha256    text NOT NULL DEFAULT '',
    json_size      bigint NOT NULL DEFAULT 0,
    json_sha256    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    expires_at     timestamptz NOT NULL,
    deleted_at     timestamptz,
    heartbeat_at   timestamptz,
    interrupted_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id),
    CHECK (status = 'done' OR deleted_at IS NULL OR status = 'failed')
);
-- One export on its way per employee and requesting user.
CREATE UNIQUE INDEX employee_exports_one_active ON employee_exports (tenant_id, employee_id, requested_by)
    WHERE status IN ('pending', 'running');
CREATE INDEX employee_exports_employee ON employee_exports (tenant_id, employee_id, created_at DESC);
CREATE INDEX employee_exports_expires ON employee_exports (tenant_id, expires_at) WHERE deleted_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON employee_exports TO dossierkast_app;

ALTER TABLE employee_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE employee_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employee_exports USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- +goose Down
DROP TABLE employee_exports;
