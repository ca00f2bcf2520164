-- +goose Up

-- can_see_employee: whether a user with these facts may see one employee, by the one rule in
-- visible_employees. It exists for speed. As a plain prepared statement the check was planned
-- afresh (0.4–0.6 ms) for its first five runs on every connection, PostgreSQL's custom plans,
-- before settling on the generic plan, which runs in 0.03–0.07 ms. That plan is the right one
-- whatever the facts: look the employee up by primary key, test his facts, probe the blacklist
-- by primary key. PL/pgSQL keeps the plan of its query for the session, and the function's own
-- plan_cache_mode makes it the generic plan from the first call, so a connection plans the
-- check once.
-- +goose StatementBegin
CREATE FUNCTION can_see_employee(p_employee_id uuid, p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[])
    RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan
    AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM visible_employees(p_user_id, p_all_employers, p_reach, p_departments, p_employees,
                                                   p_delegated) e
                   WHERE e.id = p_employee_id);
END
$$;
-- +goose StatementEnd
