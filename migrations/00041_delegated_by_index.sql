-- +goose Up

-- Issue 17: a coach with 500 running delegations paid for them on every request. access_facts
-- found his delegations by reading every delegation of the tenant and each delegated employee
-- (to test reach, which a coach does not need); and his employee list walked the tenant's
-- employees in name order, testing each against 500 ids, about 11,000 rows for a page of 50.

-- access_facts: as before (00002), with the delegated employees found through the user's own
-- delegations (index dossier_delegations_user), and an employee read only to test the reach of
-- a user who is not a coach, by primary key (written as a scalar subquery, so that PostgreSQL
-- does not hash every employee of the tenant to test a few).
CREATE OR REPLACE FUNCTION access_facts(p_user_id uuid)
    RETURNS TABLE (all_employers uuid[], reach uuid[], departments uuid[], employees uuid[], delegated uuid[])
    LANGUAGE sql STABLE
    AS $$
    WITH u AS (
        SELECT u.id, u.kind, 'employees.all' = ANY (ro.rights) AS sees_all
        FROM users u JOIN roles ro ON ro.id = u.role_id
        WHERE u.id = p_user_id AND u.status = 'active'
    ), reach AS (
        SELECT r.id FROM u, employers r
        WHERE u.kind = 'provider'
           OR (u.kind = 'employer' AND EXISTS (
               SELECT 1 FROM user_employers ue WHERE ue.user_id = u.id AND ue.employer_id = r.id))
    )
    SELECT
        ARRAY(SELECT reach.id FROM reach, u WHERE u.sees_all),
        ARRAY(SELECT reach.id FROM reach),
        ARRAY(SELECT l.department_id FROM user_department_links l, u WHERE l.user_id = u.id),
        ARRAY(SELECT l.employee_id FROM user_employee_links l, u WHERE l.user_id = u.id),
        ARRAY(SELECT DISTINCT d.employee_id FROM dossier_delegations d, u
              WHERE d.user_id = p_user_id AND u.id = p_user_id
                AND d.valid_from <= now() AND (d.ended_at IS NULL OR d.ended_at > now())
                AND (u.kind = 'coach'
                     OR (SELECT x.employer_id FROM employees x WHERE x.id = d.employee_id) IN (SELECT id FROM reach)))
    $$;

-- visible_delegated: visible_employees for a user whose facts hold delegated employees only
-- (no employees.all, linked departments or linked employees: a coach), to the letter: with the
-- other facts empty, the delegation arm is all that is left of the rule. It looks the delegated
-- employees up by primary key and lets the caller sort only those: OFFSET 0 keeps PostgreSQL
-- from walking every employee of the tenant in name order to find a page of them. The
-- property test in internal/access holds it equal to the rule.
CREATE FUNCTION visible_delegated(p_user_id uuid, p_delegated uuid[])
    RETURNS SETOF employees
    LANGUAGE sql STABLE
    AS $$
    SELECT e.* FROM employees e
    WHERE e.id = ANY (p_delegated)
      AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = p_user_id AND b.employee_id = e.id)
    OFFSET 0
    $$;

-- +goose Down
DROP FUNCTION visible_delegated(uuid, uuid[]);
CREATE OR REPLACE FUNCTION access_facts(p_user_id uuid)
    RETURNS TABLE (all_employers uuid[], reach uuid[], departments uuid[], employees uuid[], delegated uuid[])
    LANGUAGE sql STABLE
    AS $$
    WITH u AS (
        SELECT u.id, u.kind, 'employees.all' = ANY (ro.rights) AS sees_all
        FROM users u JOIN roles ro ON ro.id = u.role_id
        WHERE u.id = p_user_id AND u.status = 'active'
    ), reach AS (
        SELECT r.id FROM u, employers r
        WHERE u.kind = 'provider'
           OR (u.kind = 'employer' AND EXISTS (
               SELECT 1 FROM user_employers ue WHERE ue.user_id = u.id AND ue.employer_id = r.id))
    )
    SELECT
        ARRAY(SELECT reach.id FROM reach, u WHERE u.sees_all),
        ARRAY(SELECT reach.id FROM reach),
        ARRAY(SELECT l.department_id FROM user_department_links l, u WHERE l.user_id = u.id),
        ARRAY(SELECT l.employee_id FROM user_employee_links l, u WHERE l.user_id = u.id),
        ARRAY(SELECT DISTINCT d.employee_id FROM dossier_delegations d JOIN employees x ON x.id = d.employee_id, u
              WHERE d.user_id = u.id AND d.valid_from <= now() AND (d.ended_at IS NULL OR d.ended_at > now())
                AND (u.kind = 'coach' OR x.employer_id IN (SELECT id FROM reach)))
    $$;
