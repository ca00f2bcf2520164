-- +goose Up

-- Case data of the employee dossier: absences (verzuimmeldingen) with their percentage over time,
-- reports (rapportages) and decisions (beschikkingen). employer_id is the employee's employer,
-- set when the row is made, so an employer's case data is one index range and a datastream can
-- filter on it without a join.

CREATE TABLE absences (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL DEFAULT uuid_v7(),
    employee_id     uuid NOT NULL,
    employer_id     uuid NOT NULL,
    first_sick_day  date NOT NULL,
    recovery_date   date CHECK (recovery_date IS NULL OR recovery_date >= first_sick_day),
    expected_return date,
    -- Medical: only users with medical.view see or change it. '' when not classified.
    cause           text NOT NULL DEFAULT '' CHECK (cause IN ('', 'disease', 'work_related', 'accident',
                        'pregnancy', 'organ_donation', 'psychological', 'other')),
    notes           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX absences_employee ON absences (tenant_id, employee_id, first_sick_day DESC);
CREATE INDEX absences_employer ON absences (tenant_id, employer_id);

-- The absence percentage from a date on; the first row is made with the absence. One row per day.
CREATE TABLE absence_percentages (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT uuid_v7(),
    absence_id  uuid NOT NULL,
    employee_id uuid NOT NULL,
    employer_id uuid NOT NULL,
    from_date   date NOT NULL,
    percentage  integer NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, absence_id, from_date),
    FOREIGN KEY (tenant_id, absence_id) REFERENCES absences (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX absence_percentages_employee ON absence_percentages (tenant_id, employee_id);

CREATE TABLE reports (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT uuid_v7(),
    employee_id uuid NOT NULL,
    employer_id uuid NOT NULL,
    author_id   uuid,
    body        text NOT NULL CHECK (body <> ''),
    expertise   text NOT NULL CHECK (expertise IN ('bedrijfsarts', 'arbeidsdeskundige', 'casemanager',
                    're-integratiedeskundige', 'werkgever')),
    hidden      boolean NOT NULL DEFAULT false,
    medical     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX reports_employee ON reports (tenant_id, employee_id, created_at DESC);
CREATE INDEX reports_employer ON reports (tenant_id, employer_id);

CREATE TABLE decisions (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    employee_id   uuid NOT NULL,
    employer_id   uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('ZW', 'WIA', 'WGA', 'IVA', 'other')),
    decision_date date NOT NULL,
    outcome       text NOT NULL DEFAULT '',
    issuer        text NOT NULL DEFAULT 'UWV' CHECK (issuer <> ''),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    FOREIGN KEY (tenant_id, employer_id) REFERENCES employers (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX decisions_employee ON decisions (tenant_id, employee_id, decision_date DESC);
CREATE INDEX decisions_employer ON decisions (tenant_id, employer_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON absences, absence_percentages, reports, decisions TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['absences', 'absence_percentages', 'reports', 'decisions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION track_changes()', t || '_changes', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
