-- +goose Up

-- can_see_employee decides whether a user may see an employee. At this stage that is reach:
-- provider users reach every employee of the tenant, employer users the employees of their
-- employers, coach users nobody. Row-level security keeps every lookup inside the tenant.
-- Being plain SQL, the planner inlines it into list queries.
CREATE FUNCTION can_see_employee(p_user_id uuid, p_employer_id uuid, p_employee_id uuid) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM users u
        WHERE u.id = p_user_id AND u.status = 'active'
          AND (u.kind = 'provider'
               OR (u.kind = 'employer' AND EXISTS (
                   SELECT 1 FROM user_employers ue WHERE ue.user_id = u.id AND ue.employer_id = p_employer_id))))
    $$;

-- can_see_employer decides whether an employer is in a user's reach: every employer for provider
-- users, their own employers for employer users, none for coaches.
CREATE FUNCTION can_see_employer(p_user_id uuid, p_employer_id uuid) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM users u
        WHERE u.id = p_user_id AND u.status = 'active'
          AND (u.kind = 'provider'
               OR (u.kind = 'employer' AND EXISTS (
                   SELECT 1 FROM user_employers ue WHERE ue.user_id = u.id AND ue.employer_id = p_employer_id))))
    $$;
