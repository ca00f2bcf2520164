-- +goose Up
-- Which employees' data a non-pseudonymised datastream run delivered (issue 19, point 4): the
-- employees whose row (werknemers) or whose reference (werknemer_id in every other file about a
-- person) a file of the run carried, deletions aside. The delivery gathers the ids from the rows
-- as it writes them and records them in its own snapshot's transaction, so the record is exactly
-- what its files hold. Only a succeeded run's record counts: a retry replaces its run's record,
-- a run that finally fails has it removed, and readers ask datastream_run_carried of succeeded
-- runs only. The employee export reads it (Verwerking: the datastream recipients; Inzage: each
-- delivery).
--
-- Size: a full delivery of a million employees records a million ids. One row per id costs
-- about 175 bytes with its index (measured: 350 MB for two such runs), so a run's ids are stored
-- sorted, in chunks of at most 100 (1.6 kB, below PostgreSQL's TOAST threshold, so neither
-- compressed nor moved out of line): about 21 bytes an employee with the index (measured), 21 MB
-- for a million, and 10,000 rows to insert instead of 1,000,000. A chunk is found by its lowest
-- id: the one with the greatest first_employee_id not above the id sought.
--
-- Kept as long as the run history, which is not pruned: AVG art. 15 asks for the recipients of
-- the person's data, whenever it went. Pseudonymised runs record nothing.
--
-- No foreign keys: an employee deleted since keeps the record that his data went out.
CREATE TABLE datastream_run_employees (
    tenant_id         uuid NOT NULL,
    run_id            uuid NOT NULL,
    first_employee_id uuid NOT NULL,
    employee_ids      uuid[] NOT NULL CHECK (cardinality(employee_ids) BETWEEN 1 AND 100),
    PRIMARY KEY (tenant_id, run_id, first_employee_id)
);

GRANT SELECT, INSERT, DELETE ON datastream_run_employees TO dossierkast_app;
ALTER TABLE datastream_run_employees ENABLE ROW LEVEL SECURITY;
ALTER TABLE datastream_run_employees FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON datastream_run_employees
    USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- datastream_run_carried says whether run's record holds employee: one probe of the primary
-- key for the chunk that would hold him.
-- +goose StatementBegin
CREATE FUNCTION datastream_run_carried(run uuid, employee uuid) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce((
        SELECT employee = ANY (x.employee_ids) FROM datastream_run_employees x
        WHERE x.tenant_id = app_tenant() AND x.run_id = run AND x.first_employee_id <= employee
        ORDER BY x.first_employee_id DESC LIMIT 1), false)
    $$;
-- +goose StatementEnd
GRANT EXECUTE ON FUNCTION datastream_run_carried(uuid, uuid) TO dossierkast_app;

-- +goose Down
DROP FUNCTION datastream_run_carried(uuid, uuid);
DROP TABLE datastream_run_employees;
