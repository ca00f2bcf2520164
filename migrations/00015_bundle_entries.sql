-- +goose Up

-- The plan of a bundle generation attempt: every document it writes, in order (seq), with its
-- part and path in the archive and what the metadata workbook says of it, as the attempt saw it
-- when it planned. An attempt writes it with COPY while it plans and reads it back in order, a
-- batch at a time, to write the workbook and the parts: so a generation holds no state per
-- document in memory, whatever the dossier's size. Each attempt replaces what an earlier one
-- left; publishing the bundle (or giving it up) removes the rows, and they go with the bundle.
-- No foreign key to documents, employees or categories: the plan is a snapshot, and a dossier
-- deletion must not wait for it.
CREATE TABLE bundle_entries (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    bundle_id        uuid NOT NULL,
    seq              integer NOT NULL CHECK (seq >= 1),
    document_id      uuid NOT NULL,
    storage_key      text NOT NULL,
    size             bigint NOT NULL CHECK (size >= 0),
    content_type     text NOT NULL,
    sha256           text NOT NULL,
    file_name        text NOT NULL,
    category_id      uuid NOT NULL,
    category_name    text NOT NULL,
    document_date    date,
    uploaded_by_name text NOT NULL,
    uploaded_at      timestamptz NOT NULL,
    employee_id      uuid, -- NULL: the employer dossier
    personnel_number text NOT NULL,
    employee_name    text NOT NULL,
    path             text NOT NULL,
    part             integer NOT NULL CHECK (part >= 1),
    PRIMARY KEY (tenant_id, bundle_id, seq),
    FOREIGN KEY (tenant_id, bundle_id) REFERENCES bundles (tenant_id, id) ON DELETE CASCADE
);

GRANT SELECT, INSERT, UPDATE, DELETE ON bundle_entries TO dossierkast_app;

ALTER TABLE bundle_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE bundle_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bundle_entries USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
