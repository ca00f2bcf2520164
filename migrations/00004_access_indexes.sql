-- +goose Up

-- The links screen and the engine read links and the blacklist by user: their primary keys
-- (tenant_id, user_id, …) serve that. These indexes serve the other direction, by employee or
-- department: deleting an employee or a department cascades into the link tables, and an
-- administrator asks who is linked to, or barred from, one dossier. Without them each of those
-- reads the whole table.
CREATE INDEX user_blacklist_employee ON user_blacklist (tenant_id, employee_id);
CREATE INDEX user_employee_links_employee ON user_employee_links (tenant_id, employee_id);
CREATE INDEX user_department_links_department ON user_department_links (tenant_id, department_id);

-- employee_search returns the current tenant's employees whose search text holds every pattern
-- (LIKE patterns, the most selective first), with what lists sort them by. It exists for speed:
-- under row-level security PostgreSQL evaluates a condition that is not leakproof, such as LIKE
-- on an expression, only after the tenant policy, so it never uses the trigram index
-- employees_search and reads all employees instead. Run as the owner, this function can use the
-- index; it filters on app_tenant() itself, so it returns nothing the caller could not read. When
-- the owner is itself subject to row-level security (not a superuser, no BYPASSRLS), the answer is
-- the same, only without the index.
-- +goose StatementBegin
CREATE FUNCTION employee_search(p_patterns text[])
    RETURNS TABLE (id uuid, employer_id uuid, last_name text, first_name text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 1000
    AS $$
    SELECT e.id, e.employer_id, e.last_name, e.first_name FROM employees e
    WHERE e.tenant_id = app_tenant()
      AND lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn) LIKE p_patterns[1]
      AND lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn) LIKE ALL (p_patterns)
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION employee_search(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION employee_search(text[]) TO dossierkast_app;
