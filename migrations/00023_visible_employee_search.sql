-- +goose Up

-- visible_employee_search: the employees a user with these facts may see (the rule of
-- visible_employees, to the letter) whose search text holds every pattern (as employee_search),
-- with what lists filter and sort them by. It exists for speed (issue 14.7). A search through
-- employee_search and visible_employees reads every match twice: once in the trigram index's
-- heap check, once more by primary key to test the user's facts, the second read as dear as
-- the first; and the list asked it twice, for the count and for the page. Here the facts are
-- tested on the row the index check has already read, so one call per page costs one pass
-- over the matches. It runs as the owner for the same reason as employee_search (row-level
-- security keeps LIKE on an expression from using the index), and filters on app_tenant()
-- itself, employees and blacklist alike, so it returns nothing the caller could not read. The
-- property test in internal/access holds its answer equal to the rule.
-- +goose StatementBegin
CREATE FUNCTION visible_employee_search(p_patterns text[], p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[])
    RETURNS TABLE (id uuid, employer_id uuid, department_id uuid, last_name text, first_name text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 1000
    AS $$
    SELECT e.id, e.employer_id, e.department_id, e.last_name, e.first_name FROM employees e
    WHERE e.tenant_id = app_tenant()
      AND lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn) LIKE p_patterns[1]
      AND lower(e.first_name || ' ' || e.name_prefix || ' ' || e.last_name || ' ' || e.personnel_number || ' ' || e.bsn) LIKE ALL (p_patterns)
      AND (e.employer_id = ANY (p_all_employers)
           OR ((e.department_id = ANY (p_departments) OR e.id = ANY (p_employees)) AND e.employer_id = ANY (p_reach))
           OR e.id = ANY (p_delegated))
      AND NOT EXISTS (SELECT 1 FROM user_blacklist b
                      WHERE b.tenant_id = app_tenant() AND b.user_id = p_user_id AND b.employee_id = e.id)
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION visible_employee_search(text[], uuid, uuid[], uuid[], uuid[], uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION visible_employee_search(text[], uuid, uuid[], uuid[], uuid[], uuid[], uuid[]) TO dossierkast_app;

-- +goose Down
DROP FUNCTION visible_employee_search(text[], uuid, uuid[], uuid[], uuid[], uuid[], uuid[]);
