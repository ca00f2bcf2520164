-- +goose Up

-- Document categories of the employer or the employee dossier. The two system categories hold
-- full-dossier bundles; they exist in every tenant and cannot be deleted or renamed.
CREATE TABLE document_categories (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (name <> ''),
    dossier    text NOT NULL CHECK (dossier IN ('employer', 'employee')),
    medical    boolean NOT NULL DEFAULT false,
    system     text CHECK (system IN ('full_dossier_provider', 'full_dossier_employer')),
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, dossier, name),
    UNIQUE (tenant_id, system),
    CHECK (system IS NULL OR (dossier = 'employer' AND NOT medical))
);

-- The authorisation matrix: per role and category, read or write (no row: no access).
CREATE TABLE category_permissions (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    role_id     uuid NOT NULL,
    category_id uuid NOT NULL,
    level       text NOT NULL CHECK (level IN ('read', 'write')),
    PRIMARY KEY (tenant_id, role_id, category_id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, category_id) REFERENCES document_categories (tenant_id, id) ON DELETE CASCADE
);

-- Documents of an employer dossier (employee_id NULL) or an employee dossier (employer_id is the
-- employee's employer, so an employer's whole dossier is one index range).
CREATE TABLE documents (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    employer_id   uuid NOT NULL,
    employee_id   uuid,
    category_id   uuid NOT NULL,
    file_name     text NOT NULL CHECK (file_name <> ''),
    storage_key   text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    content_type  text NOT NULL,
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    document_date date,
    uploaded_by   uuid,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, storage_key),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, category_id) REFERENCES document_categories (tenant_id, id)
);
CREATE INDEX documents_employee ON documents (tenant_id, employee_id, category_id, uploaded_at DESC) WHERE employee_id IS NOT NULL;
CREATE INDEX documents_employer ON documents (tenant_id, employer_id, category_id, uploaded_at DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON document_categories, category_permissions, documents TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['document_categories', 'category_permissions', 'documents']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- Every tenant has the two system categories: a trigger makes them with the tenant, and
-- tenants made before this migration get them now.
-- +goose StatementBegin
CREATE FUNCTION tenants_system_categories() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    previous text := current_setting('app.tenant_id', true);
BEGIN
    -- Row-level security admits the rows only for the new tenant; the setting is restored after.
    PERFORM set_config('app.tenant_id', NEW.id::text, true);
    INSERT INTO document_categories (tenant_id, name, dossier, system, position)
    VALUES (NEW.id, 'Volledig dossier (provider)', 'employer', 'full_dossier_provider', 1000),
           (NEW.id, 'Volledig dossier (werkgever)', 'employer', 'full_dossier_employer', 1001);
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER tenants_system_categories AFTER INSERT ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_system_categories();

INSERT INTO document_categories (tenant_id, name, dossier, system, position)
SELECT t.id, c.name, 'employer', c.system, c.position
FROM tenants t CROSS JOIN (VALUES ('Volledig dossier (provider)', 'full_dossier_provider', 1000),
                                  ('Volledig dossier (werkgever)', 'full_dossier_employer', 1001)) AS c (name, system, position);

-- The system categories cannot be deleted, renamed or changed into something else.
-- +goose StatementBegin
CREATE FUNCTION document_categories_keep_system() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.system IS NOT NULL THEN
            RAISE EXCEPTION 'system category % cannot be deleted', OLD.name USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.system IS NOT NULL AND (NEW.name, NEW.dossier, NEW.medical, NEW.system) IS DISTINCT FROM (OLD.name, OLD.dossier, OLD.medical, OLD.system) THEN
        RAISE EXCEPTION 'system category % cannot be changed', OLD.name USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.system IS NULL AND NEW.system IS NOT NULL THEN
        RAISE EXCEPTION 'a category cannot become a system category' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER document_categories_keep_system BEFORE UPDATE OR DELETE ON document_categories
    FOR EACH ROW EXECUTE FUNCTION document_categories_keep_system();

-- category_levels: the categories a user may read, and whether he may also write, by the matrix
-- of his role: none / read / write. A medical category also needs medical.view; a category of the
-- employer dossier needs employer_dossier.view, of the employee dossier employee_dossier.view.
-- The system categories for full-dossier bundles are read by user kind (provider or employer,
-- with employer_dossier.view) and written only by the bundle job, never by hand.
CREATE FUNCTION category_levels(p_user_id uuid) RETURNS TABLE (category_id uuid, can_write boolean)
    LANGUAGE sql STABLE
    AS $$
    SELECT c.id, c.system IS NULL AND p.level = 'write'
    FROM users u JOIN roles ro ON ro.id = u.role_id
    CROSS JOIN document_categories c
    LEFT JOIN category_permissions p ON p.category_id = c.id AND p.role_id = u.role_id
    WHERE u.id = p_user_id AND u.status = 'active'
      AND CASE c.system
          WHEN 'full_dossier_provider' THEN u.kind = 'provider' AND 'employer_dossier.view' = ANY (ro.rights)
          WHEN 'full_dossier_employer' THEN u.kind = 'employer' AND 'employer_dossier.view' = ANY (ro.rights)
          ELSE p.level IS NOT NULL
               AND (NOT c.medical OR 'medical.view' = ANY (ro.rights))
               AND (CASE c.dossier WHEN 'employer' THEN 'employer_dossier.view' ELSE 'employee_dossier.view' END) = ANY (ro.rights)
          END
    $$;

-- visible_documents: the documents a user with these facts may read: a readable category, and
-- a dossier visible to him (an employer in reach for the employer dossier, a visible employee
-- for his). p_categories is what category_levels returned for the user.
CREATE FUNCTION visible_documents(p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[], p_categories uuid[])
    RETURNS SETOF documents
    LANGUAGE sql STABLE
    AS $$
    SELECT d.* FROM documents d
    WHERE d.category_id = ANY (p_categories)
      AND CASE WHEN d.employee_id IS NULL
               THEN d.employer_id = ANY (p_reach)
               ELSE EXISTS (SELECT 1 FROM visible_employees(p_user_id, p_all_employers, p_reach, p_departments,
                                                            p_employees, p_delegated) e
                            WHERE e.id = d.employee_id)
          END
    $$;
