-- +goose Up

-- Intervention programmes (interventieprogramma's) of the intervention providers. A programme
-- either follows its provider's default executor or names its own (executor_user_id, which may
-- stay empty: no default executor). The workflow that uses it comes later; the columns are here.
CREATE TABLE programmes (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT uuid_v7(),
    provider_id      uuid NOT NULL,
    name             text NOT NULL CHECK (name <> ''),
    price_cents      bigint NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    executor_mode    text NOT NULL DEFAULT 'provider' CHECK (executor_mode IN ('provider', 'own')),
    executor_user_id uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, provider_id, name),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES intervention_providers (tenant_id, id),
    FOREIGN KEY (tenant_id, executor_user_id) REFERENCES users (tenant_id, id),
    CHECK (executor_mode = 'own' OR executor_user_id IS NULL)
);
CREATE INDEX programmes_executor ON programmes (tenant_id, executor_user_id) WHERE executor_user_id IS NOT NULL;

-- Insurance policies (polissen) held by an employer. (tenant_id, employer_id, id) is unique so
-- that agreements and participants can require, by foreign key, a policy of their own employer.
CREATE TABLE insurance_policies (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    employer_id   uuid NOT NULL,
    insurer       text NOT NULL CHECK (insurer <> ''),
    policy_number text NOT NULL CHECK (policy_number <> ''),
    starts_on     date NOT NULL,
    ends_on       date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employer_id, id),
    UNIQUE (tenant_id, insurer, policy_number),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id)
);
CREATE INDEX insurance_policies_employer ON insurance_policies (tenant_id, employer_id, starts_on);

-- Service agreements (dienstverleningsovereenkomsten) between the tenant and an employer.
CREATE TABLE service_agreements (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL DEFAULT uuid_v7(),
    employer_id     uuid NOT NULL,
    contract_number text NOT NULL CHECK (contract_number <> ''),
    starts_on       date NOT NULL,
    ends_on         date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    group_id        uuid,
    policy_id       uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, contract_number),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES employer_groups (tenant_id, id),
    -- MATCH SIMPLE: no policy, no check; a policy must be the same employer's.
    FOREIGN KEY (tenant_id, employer_id, policy_id) REFERENCES insurance_policies (tenant_id, employer_id, id)
);
CREATE INDEX service_agreements_employer ON service_agreements (tenant_id, employer_id, starts_on);
CREATE INDEX service_agreements_policy ON service_agreements (tenant_id, policy_id) WHERE policy_id IS NOT NULL;

-- Policy participants (polisdeelnemers): whether an employee takes part in a policy of his
-- employer, why (reason for inclusion or exclusion), and for which period. employer_id is the
-- employee's employer when the row was written; it ties the policy to that employer.
CREATE TABLE policy_participants (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    employee_id   uuid NOT NULL,
    employer_id   uuid NOT NULL,
    policy_id     uuid NOT NULL,
    participating boolean NOT NULL,
    reason        text NOT NULL DEFAULT '',
    starts_on     date NOT NULL,
    ends_on       date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employee_id, policy_id, starts_on),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id, policy_id) REFERENCES insurance_policies (tenant_id, employer_id, id)
);
CREATE INDEX policy_participants_policy ON policy_participants (tenant_id, policy_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON programmes, insurance_policies, service_agreements, policy_participants
    TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['programmes', 'insurance_policies', 'service_agreements', 'policy_participants']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- The datastreams dienstverlening, polissen and polisdeelnemers deliver these incrementally.
CREATE TRIGGER insurance_policies_changes AFTER INSERT OR UPDATE OR DELETE ON insurance_policies
    FOR EACH ROW EXECUTE FUNCTION track_changes();
CREATE TRIGGER service_agreements_changes AFTER INSERT OR UPDATE OR DELETE ON service_agreements
    FOR EACH ROW EXECUTE FUNCTION track_changes();
CREATE TRIGGER policy_participants_changes AFTER INSERT OR UPDATE OR DELETE ON policy_participants
    FOR EACH ROW EXECUTE FUNCTION track_changes();
