-- +goose Up

-- The intervention delegation workflow (DESIGN.md §8, seed 004): default executors of providers,
-- the tenant's standard guidance protocol, the recorded deployments, and how a delegation ended.

-- A provider's default executor (standaard uitvoerder): one of its coach users who may receive
-- delegations. Programmes that follow their provider use it.
ALTER TABLE intervention_providers ADD COLUMN executor_user_id uuid;
ALTER TABLE intervention_providers ADD FOREIGN KEY (tenant_id, executor_user_id) REFERENCES users (tenant_id, id);

-- One row per tenant: the protocol a guidance trajectory is opened with when an intervention is
-- deployed. Without it (no row, or an empty protocol) no deployment can be confirmed.
CREATE TABLE intervention_settings (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    guidance_protocol_id uuid,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           uuid,
    PRIMARY KEY (tenant_id),
    FOREIGN KEY (tenant_id, guidance_protocol_id) REFERENCES protocols (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);

-- A confirmed deployment: the confirm task of a deployment trajectory chose a programme and opened
-- the guidance trajectory. outcome says what became of the delegation: granted to the default
-- executor, or why not (the guidance trajectory then holds the manual task).
CREATE TABLE intervention_deployments (
    tenant_id              uuid NOT NULL REFERENCES tenants (id),
    id                     uuid NOT NULL DEFAULT uuid_v7(),
    employee_id            uuid NOT NULL,
    trajectory_id          uuid NOT NULL,
    task_id                uuid NOT NULL,
    programme_id           uuid NOT NULL,
    guidance_trajectory_id uuid NOT NULL,
    executor_user_id       uuid,
    delegation_id          uuid,
    outcome                text NOT NULL CHECK (outcome IN ('delegated', 'no_executor', 'cannot_receive', 'other_provider',
                                                           'blocked', 'blacklisted')),
    deployed_by            uuid,
    deployed_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, task_id),
    UNIQUE (tenant_id, guidance_trajectory_id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, trajectory_id) REFERENCES trajectories (tenant_id, id),
    FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id),
    FOREIGN KEY (tenant_id, programme_id) REFERENCES programmes (tenant_id, id),
    FOREIGN KEY (tenant_id, guidance_trajectory_id) REFERENCES trajectories (tenant_id, id),
    FOREIGN KEY (tenant_id, executor_user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, delegation_id) REFERENCES dossier_delegations (tenant_id, id),
    FOREIGN KEY (tenant_id, deployed_by) REFERENCES users (tenant_id, id),
    CHECK ((outcome = 'delegated') = (delegation_id IS NOT NULL))
);
CREATE INDEX intervention_deployments_employee ON intervention_deployments (tenant_id, employee_id, deployed_at DESC);

-- How a delegation ended. ended_at is when access ends, past or planned: the engine counts a
-- delegation while now < ended_at. end_reason is set once the end is recorded (and audited): a
-- planned end date that passed is recorded by the sweep as 'expired'. warned_at: when the mail
-- seven days before the planned end went out.
ALTER TABLE dossier_delegations
    ADD COLUMN end_reason text CHECK (end_reason IN ('trajectory_closed', 'revoked', 'expired')),
    ADD COLUMN ended_by uuid,
    ADD COLUMN end_note text NOT NULL DEFAULT '',
    ADD COLUMN warned_at timestamptz,
    ADD CHECK (end_reason IS NULL OR ended_at IS NOT NULL);
ALTER TABLE dossier_delegations ADD FOREIGN KEY (tenant_id, ended_by) REFERENCES users (tenant_id, id);
-- The sweep looks for delegations with a planned end that are not recorded as ended.
CREATE INDEX dossier_delegations_planned_end ON dossier_delegations (tenant_id, ended_at) WHERE end_reason IS NULL AND ended_at IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON intervention_settings, intervention_deployments TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['intervention_settings', 'intervention_deployments']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
