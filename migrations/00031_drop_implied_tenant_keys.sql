-- +goose Up

-- The tables the demo and imports fill in bulk lose their foreign key from tenant_id to tenants
-- (issue 14.7): each row already names its tenant in a NOT NULL foreign key (tenant_id, …) to a
-- table whose own tenant is checked (an employee through his employer, an absence percentage
-- through its absence, the rest through their employee), so the key checked nothing more. It
-- cost a row-level check of its own on every insert, about a quarter of the time of the demo's
-- bulk case data. A tenant still cannot be deleted while any of their rows exists (the chain
-- ends at a table that keeps its key), and internal/database's TestTenantKeyedByForeignKeys
-- checks that every table's tenant stays checked, directly or through such a chain.
ALTER TABLE employees DROP CONSTRAINT employees_tenant_id_fkey;
ALTER TABLE absences DROP CONSTRAINT absences_tenant_id_fkey;
ALTER TABLE absence_percentages DROP CONSTRAINT absence_percentages_tenant_id_fkey;
ALTER TABLE reports DROP CONSTRAINT reports_tenant_id_fkey;
ALTER TABLE decisions DROP CONSTRAINT decisions_tenant_id_fkey;
ALTER TABLE trajectories DROP CONSTRAINT trajectories_tenant_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT tasks_tenant_id_fkey;
ALTER TABLE consultations DROP CONSTRAINT consultations_tenant_id_fkey;
ALTER TABLE appointments DROP CONSTRAINT appointments_tenant_id_fkey;
ALTER TABLE policy_participants DROP CONSTRAINT policy_participants_tenant_id_fkey;

-- +goose Down
ALTER TABLE employees ADD CONSTRAINT employees_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE absences ADD CONSTRAINT absences_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE absence_percentages ADD CONSTRAINT absence_percentages_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE reports ADD CONSTRAINT reports_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE decisions ADD CONSTRAINT decisions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE trajectories ADD CONSTRAINT trajectories_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE tasks ADD CONSTRAINT tasks_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE consultations ADD CONSTRAINT consultations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE appointments ADD CONSTRAINT appointments_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE policy_participants ADD CONSTRAINT policy_participants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id);
