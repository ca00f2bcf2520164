-- +goose Up

-- The application works as dossierkast_app: no table owner, no superuser, subject to row-level
-- security. Roles are cluster-wide, so another database may have created it already.
-- +goose StatementBegin
DO $$
BEGIN
    CREATE ROLE dossierkast_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO dossierkast_app;

-- Trigram indexes serve the employee search (pg_trgm is a trusted extension).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- app_tenant is the tenant the current transaction works for, or NULL when none is set.
-- After a transaction the setting reads '' rather than NULL, hence NULLIF.
CREATE FUNCTION app_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- uuid_v7 makes time-ordered identifiers (RFC 9562) on servers without uuidv7().
CREATE FUNCTION uuid_v7() RETURNS uuid
    LANGUAGE sql VOLATILE
    AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
    $$;

-- tenants is platform data: the application may read it; tenants are created by operators.
CREATE TABLE tenants (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (name <> ''),
    is_demo    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON tenants TO dossierkast_app;

CREATE TABLE employer_groups (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (name <> ''),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE employers (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL DEFAULT uuid_v7(),
    name            text NOT NULL CHECK (name <> ''),
    employer_number text NOT NULL CHECK (employer_number <> ''),
    group_id        uuid,
    products        text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employer_number),
    FOREIGN KEY (tenant_id, group_id) REFERENCES employer_groups (tenant_id, id)
);
CREATE INDEX employers_name ON employers (tenant_id, lower(name));

CREATE TABLE departments (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT uuid_v7(),
    employer_id uuid NOT NULL,
    name        text NOT NULL CHECK (name <> ''),
    code        text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employer_id, name),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id)
);

CREATE TABLE employees (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT uuid_v7(),
    employer_id      uuid NOT NULL,
    department_id    uuid,
    personnel_number text NOT NULL CHECK (personnel_number <> ''),
    initials         text NOT NULL DEFAULT '',
    first_name       text NOT NULL DEFAULT '',
    name_prefix      text NOT NULL DEFAULT '',
    last_name        text NOT NULL CHECK (last_name <> ''),
    birth_date       date,
    bsn              text NOT NULL DEFAULT '' CHECK (bsn = '' OR bsn ~ '^[0-9]{9}$'),
    email            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    street           text NOT NULL DEFAULT '',
    house_number     text NOT NULL DEFAULT '',
    postal_code      text NOT NULL DEFAULT '',
    city             text NOT NULL DEFAULT '',
    employment_start date,
    employment_end   date CHECK (employment_end IS NULL OR employment_start IS NULL OR employment_end >= employment_start),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employer_id, personnel_number),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
);
CREATE INDEX employees_sort ON employees (tenant_id, last_name, first_name, id);
CREATE INDEX employees_employer ON employees (tenant_id, employer_id, last_name, first_name, id);
CREATE INDEX employees_department ON employees (tenant_id, department_id);
CREATE INDEX employees_search ON employees USING gin (
    (lower(first_name || ' ' || name_prefix || ' ' || last_name || ' ' || personnel_number || ' ' || bsn)) gin_trgm_ops);

CREATE TABLE intervention_providers (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT uuid_v7(),
    name      text NOT NULL CHECK (name <> ''),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE roles (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT uuid_v7(),
    name      text NOT NULL CHECK (name <> ''),
    kind      text NOT NULL CHECK (kind IN ('provider', 'employer', 'coach')),
    rights    text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    email         text NOT NULL CHECK (email <> ''),
    name          text NOT NULL CHECK (name <> ''),
    kind          text NOT NULL CHECK (kind IN ('provider', 'employer', 'coach')),
    role_id       uuid NOT NULL,
    provider_id   uuid,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    language      text NOT NULL DEFAULT 'nl' CHECK (language IN ('nl', 'en')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES intervention_providers (tenant_id, id),
    CHECK ((kind = 'coach') = (provider_id IS NOT NULL))
);
-- One log-in per e-mail address on the whole platform.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_name ON users (tenant_id, lower(name));

CREATE TABLE user_employers (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL,
    employer_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, user_id, employer_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id)
);
CREATE INDEX user_employers_employer ON user_employers (tenant_id, employer_id);

-- find_login is the one way to find a user without knowing the tenant: the log-in form only
-- has an e-mail address. It runs as the owner, so it bypasses row-level security, and returns
-- only what a log-in needs.
-- +goose StatementBegin
CREATE FUNCTION find_login(p_email text)
    RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text, status text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
    SELECT u.tenant_id, u.id, u.password_hash, u.status FROM users u WHERE lower(u.email) = lower(p_email)
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION find_login(text) FROM PUBLIC;
-- The owner is subject to row-level security too (FORCE), so find_login needs a policy of its own
-- that only the owning role can use.
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_find_login ON users FOR SELECT TO %I USING (true)', current_user);
END
$$;
-- +goose StatementEnd
GRANT EXECUTE ON FUNCTION find_login(text) TO dossierkast_app;

-- Audit events are append-only: the application may insert and read, and a trigger refuses
-- changes from anyone, owner included.
CREATE TABLE audit_events (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT uuid_v7(),
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_id      uuid,
    action       text NOT NULL CHECK (action <> ''),
    subject_type text NOT NULL DEFAULT '',
    subject_id   uuid,
    employee_id  uuid,
    employer_id  uuid,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_at ON audit_events (tenant_id, at DESC);
CREATE INDEX audit_events_user ON audit_events (tenant_id, user_id, at DESC);
CREATE INDEX audit_events_employee ON audit_events (tenant_id, employee_id, at DESC) WHERE employee_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

CREATE TABLE outbox_messages (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT uuid_v7(),
    created_at timestamptz NOT NULL DEFAULT now(),
    recipients text[] NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_messages_created ON outbox_messages (tenant_id, created_at DESC);

-- Sessions belong to no tenant until log-in; the store (scs pgxstore) owns this shape.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- Failed log-ins, keyed by account and by address, to slow down guessing.
CREATE TABLE login_failures (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (key, at);

GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, login_failures TO dossierkast_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON employer_groups, employers, departments, employees,
    intervention_providers, roles, users, user_employers, outbox_messages TO dossierkast_app;
GRANT SELECT, INSERT ON audit_events TO dossierkast_app;

-- Every business table: tenant isolation enforced for everyone but superusers.
-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['employer_groups', 'employers', 'departments', 'employees',
        'intervention_providers', 'roles', 'users', 'user_employers', 'audit_events', 'outbox_messages']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
