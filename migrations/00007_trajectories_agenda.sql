-- +goose Up

-- Trajectories with their tasks, and the agenda: appointments and consultations (DESIGN.md §5, §8).

-- Protocols are the tenant's trajectory types; each has ordered task templates from which
-- opening a trajectory creates its tasks.
CREATE TABLE protocols (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (name <> ''),
    kind       text NOT NULL CHECK (kind IN ('absence', 'intervention_deployment', 'intervention_guidance', 'other')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE protocol_tasks (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT uuid_v7(),
    protocol_id    uuid NOT NULL,
    position       integer NOT NULL CHECK (position > 0),
    type           text NOT NULL CHECK (type <> ''),
    title          text NOT NULL CHECK (title <> ''),
    due_after_days integer CHECK (due_after_days >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, protocol_id, position),
    FOREIGN KEY (tenant_id, protocol_id) REFERENCES protocols (tenant_id, id) ON DELETE CASCADE
);

-- A trajectory of one employee; employer_id is the employee's employer, so datastreams can
-- filter by employer without a join. start_date is the reference date task due dates count from.
CREATE TABLE trajectories (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT uuid_v7(),
    employee_id  uuid NOT NULL,
    employer_id  uuid NOT NULL,
    protocol_id  uuid NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    start_date   date NOT NULL,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    opened_by    uuid,
    closed_at    timestamptz,
    closed_by    uuid,
    parent_id    uuid,
    -- The intervention programme this trajectory carries out; its table arrives later.
    programme_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, protocol_id) REFERENCES protocols (tenant_id, id),
    FOREIGN KEY (tenant_id, opened_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, closed_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES trajectories (tenant_id, id),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (closed_at IS NULL OR closed_at >= opened_at)
);
CREATE INDEX trajectories_employee ON trajectories (tenant_id, employee_id, opened_at DESC);
CREATE INDEX trajectories_parent ON trajectories (tenant_id, parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE tasks (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    trajectory_id uuid NOT NULL,
    employee_id   uuid NOT NULL,
    employer_id   uuid NOT NULL,
    position      integer NOT NULL CHECK (position > 0),
    type          text NOT NULL CHECK (type <> ''),
    title         text NOT NULL CHECK (title <> ''),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    due_date      date,
    assignee_id   uuid,
    completed_at  timestamptz,
    completed_by  uuid,
    -- Typed per task type (the intervention tasks fill it); {} until then.
    payload       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, trajectory_id) REFERENCES trajectories (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, completed_by) REFERENCES users (tenant_id, id),
    CHECK ((status = 'done') = (completed_at IS NOT NULL)),
    CHECK (jsonb_typeof(payload) = 'object')
);
CREATE INDEX tasks_trajectory ON tasks (tenant_id, trajectory_id, position);
CREATE INDEX tasks_employee ON tasks (tenant_id, employee_id);
CREATE INDEX tasks_assignee_open ON tasks (tenant_id, assignee_id, due_date) WHERE status = 'open' AND assignee_id IS NOT NULL;

-- Consultations (spreekuren) held with the employee. A medical consultation's outcome is for
-- readers with medical.view only.
CREATE TABLE consultations (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT uuid_v7(),
    employee_id uuid NOT NULL,
    employer_id uuid NOT NULL,
    held_at     timestamptz NOT NULL,
    held_by     text NOT NULL CHECK (held_by <> ''),
    outcome     text NOT NULL DEFAULT '',
    medical     boolean NOT NULL DEFAULT true,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX consultations_employee ON consultations (tenant_id, employee_id, held_at DESC);

-- Appointments (agenda), optionally matched to the consultation that fulfilled them.
CREATE TABLE appointments (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL DEFAULT uuid_v7(),
    employee_id     uuid NOT NULL,
    employer_id     uuid NOT NULL,
    starts_at       timestamptz NOT NULL,
    with_whom       text NOT NULL CHECK (with_whom <> ''),
    kind            text NOT NULL CHECK (kind IN ('company_doctor', 'case_manager', 'occupational_expert', 'employer', 'other')),
    status          text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'lapsed', 'cancelled')),
    consultation_id uuid,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, consultation_id) REFERENCES consultations (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX appointments_employee ON appointments (tenant_id, employee_id, starts_at DESC);
CREATE INDEX appointments_consultation ON appointments (tenant_id, consultation_id) WHERE consultation_id IS NOT NULL;

-- A delegation may belong to the (guidance) trajectory whose closing ends it.
ALTER TABLE dossier_delegations ADD FOREIGN KEY (tenant_id, trajectory_id) REFERENCES trajectories (tenant_id, id);
CREATE INDEX dossier_delegations_trajectory ON dossier_delegations (tenant_id, trajectory_id) WHERE trajectory_id IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON protocols, protocol_tasks, trajectories, tasks, consultations, appointments
    TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['protocols', 'protocol_tasks', 'trajectories', 'tasks', 'consultations', 'appointments']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
    -- Dossier data that datastreams carry: every mutation is recorded (00005_changes.sql).
    FOREACH t IN ARRAY ARRAY['trajectories', 'tasks', 'consultations', 'appointments']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION track_changes()',
            t || '_changes', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
