-- +goose Up

-- Full-dossier bundles (DESIGN.md §6): one row per generation an employer or provider user asked
-- for. The parts are ordinary documents of the employer dossier (documents.bundle_id); the row
-- carries the job's progress for the screen and the outcome. expires_at is created_at + 48 h:
-- the expiry sweep deletes the bundle, its parts and their blobs after it.
CREATE TABLE bundles (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT uuid_v7(),
    employer_id    uuid NOT NULL,
    requested_by   uuid NOT NULL,
    requester_kind text NOT NULL CHECK (requester_kind IN ('provider', 'employer')),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    docs_total     integer NOT NULL DEFAULT 0 CHECK (docs_total >= 0),
    docs_done      integer NOT NULL DEFAULT 0 CHECK (docs_done >= 0),
    bytes_total    bigint NOT NULL DEFAULT 0 CHECK (bytes_total >= 0),
    left_out       integer NOT NULL DEFAULT 0 CHECK (left_out >= 0),
    parts          integer NOT NULL DEFAULT 0 CHECK (parts >= 0),
    error          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id)
);
-- One running generation per employer and requesting user.
CREATE UNIQUE INDEX bundles_one_active ON bundles (tenant_id, employer_id, requested_by)
    WHERE status IN ('pending', 'running');
CREATE INDEX bundles_employer ON bundles (tenant_id, employer_id, created_at DESC);
CREATE INDEX bundles_expires ON bundles (tenant_id, expires_at);

-- The employees whose documents went into a bundle: the download guard checks the downloader
-- can still see each of them, and the audit trail records a copy of each dossier (NEN 7513).
CREATE TABLE bundle_employees (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    bundle_id   uuid NOT NULL,
    employee_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, bundle_id, employee_id),
    FOREIGN KEY (tenant_id, bundle_id) REFERENCES bundles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id)
);

-- Part blobs being written by a generation attempt, recorded (and committed) before the first
-- byte is written, so that a retry after a crash knows which blobs the previous attempt may have
-- left and deletes them. Publishing a part turns its upload row into a document row in one
-- transaction.
CREATE TABLE bundle_uploads (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    bundle_id   uuid NOT NULL,
    storage_key text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, storage_key),
    FOREIGN KEY (tenant_id, bundle_id) REFERENCES bundles (tenant_id, id)
);
CREATE INDEX bundle_uploads_bundle ON bundle_uploads (tenant_id, bundle_id);

-- Blobs whose document rows are gone: the row is deleted and its key recorded here in one
-- transaction, then the blob is deleted, then this row. A crash in between leaves the key here
-- for the next drain, so no row ever points to a missing blob and no blob is forgotten.
CREATE TABLE blob_deletions (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    storage_key text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, storage_key)
);

-- Bundle parts are documents of the employer dossier that point to their bundle.
ALTER TABLE documents ADD COLUMN bundle_id uuid, ADD COLUMN bundle_part integer,
    ADD FOREIGN KEY (tenant_id, bundle_id) REFERENCES bundles (tenant_id, id),
    ADD CHECK ((bundle_id IS NULL) = (bundle_part IS NULL)),
    ADD CHECK (bundle_part IS NULL OR (bundle_part >= 1 AND employee_id IS NULL));
CREATE INDEX documents_bundle ON documents (tenant_id, bundle_id, bundle_part) WHERE bundle_id IS NOT NULL;

-- Full-dossier deletions (provider users only): every document and blob of an employer and its
-- employees goes; the row carries progress and counts.
CREATE TABLE dossier_deletions (
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    id                uuid NOT NULL DEFAULT uuid_v7(),
    employer_id       uuid NOT NULL,
    requested_by      uuid NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    documents_deleted integer NOT NULL DEFAULT 0 CHECK (documents_deleted >= 0),
    bytes_deleted     bigint NOT NULL DEFAULT 0 CHECK (bytes_deleted >= 0),
    error             text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX dossier_deletions_one_active ON dossier_deletions (tenant_id, employer_id)
    WHERE status IN ('pending', 'running');
CREATE INDEX dossier_deletions_employer ON dossier_deletions (tenant_id, employer_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON bundles, bundle_employees, bundle_uploads, blob_deletions, dossier_deletions
    TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['bundles', 'bundle_employees', 'bundle_uploads', 'blob_deletions', 'dossier_deletions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
