-- +goose Up

-- Links, blacklist and delegations: the facts the access engine decides on (DESIGN.md §4).

-- A user linked to a department sees its employees (within his reach).
CREATE TABLE user_department_links (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    user_id       uuid NOT NULL,
    department_id uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    PRIMARY KEY (tenant_id, user_id, department_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id) ON DELETE CASCADE
);

-- A user linked to an employee sees that employee (within his reach).
CREATE TABLE user_employee_links (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL,
    employee_id uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    PRIMARY KEY (tenant_id, user_id, employee_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);

-- "Geen toegang tot": a blacklisted employee is never visible to the user, whatever else says so.
CREATE TABLE user_blacklist (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL,
    employee_id uuid NOT NULL,
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    PRIMARY KEY (tenant_id, user_id, employee_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE
);

-- Time-bound access to one dossier, granted to a coach while he guides an intervention. The
-- trajectory it belongs to arrives with case data; until then it stays empty.
CREATE TABLE dossier_delegations (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT uuid_v7(),
    user_id       uuid NOT NULL,
    employee_id   uuid NOT NULL,
    valid_from    timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz,
    trajectory_id uuid,
    reason        text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id),
    CHECK (ended_at IS NULL OR ended_at >= valid_from)
);
CREATE INDEX dossier_delegations_user ON dossier_delegations (tenant_id, user_id, employee_id);
CREATE INDEX dossier_delegations_employee ON dossier_delegations (tenant_id, employee_id, valid_from DESC);

-- Employees by department with employer and id, so counting a user's departments is an
-- index-only scan.
DROP INDEX employees_department;
CREATE INDEX employees_department ON employees (tenant_id, department_id, employer_id, id);

GRANT SELECT, INSERT, UPDATE, DELETE ON user_department_links, user_employee_links, user_blacklist,
    dossier_delegations TO dossierkast_app;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['user_department_links', 'user_employee_links', 'user_blacklist', 'dossier_delegations']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- The whole rule of DESIGN.md §4:
--   can_see(u, e) = reach(u, e) ∧ ¬blacklisted(u, e)
--                   ∧ (employees.all ∨ e.department ∈ links ∨ e ∈ links ∨ active_delegation(u, e))
-- Reach: provider users every employer of the tenant, employer users their employers; a coach
-- reaches only the employees delegated to him. Blocked users reach nobody.
--
-- It is split in two so that it is both exact and fast. access_facts gathers a user's facts
-- once (per request or job); visible_employees applies them, taking them as parameters, so
-- PostgreSQL plans every list and check with the real values and each arm of the rule is an
-- index condition. Both are plain SQL, inlined into the calling query.

-- access_facts: the employers whose every employee the user may see (employees.all within
-- reach), the employers in reach, the linked departments and employees, and the employees
-- delegated to him now (within reach, or any for a coach, whose reach they are).
CREATE FUNCTION access_facts(p_user_id uuid)
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

-- visible_employees: the employees a user with these facts may see. Every list, count and
-- check reads it (access.VisibleEmployees), so a list never shows what a page refuses. The
-- blacklist always wins.
CREATE FUNCTION visible_employees(p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[])
    RETURNS SETOF employees
    LANGUAGE sql STABLE
    AS $$
    SELECT e.* FROM employees e
    WHERE (e.employer_id = ANY (p_all_employers)
           OR ((e.department_id = ANY (p_departments) OR e.id = ANY (p_employees)) AND e.employer_id = ANY (p_reach))
           OR e.id = ANY (p_delegated))
      AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = p_user_id AND b.employee_id = e.id)
    $$;

-- visible_employee_count: how many employees visible_employees holds, computed from disjoint
-- arms (all of an employer; a linked department; a linked employee; a delegation) that are each
-- an index-only range, instead of testing every employee against the rule. A property test holds
-- it equal to count(*) of visible_employees.
CREATE FUNCTION visible_employee_count(p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[])
    RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT count(*) FROM (
        SELECT e.id FROM employees e WHERE e.employer_id = ANY (p_all_employers)
        UNION ALL
        SELECT e.id FROM employees e
        WHERE e.department_id = ANY (p_departments) AND e.employer_id = ANY (p_reach)
          AND e.employer_id <> ALL (p_all_employers)
        UNION ALL
        SELECT e.id FROM employees e
        WHERE e.id = ANY (p_employees) AND e.employer_id = ANY (p_reach) AND e.employer_id <> ALL (p_all_employers)
          AND NOT coalesce(e.department_id = ANY (p_departments), false)
        UNION ALL
        SELECT e.id FROM employees e
        WHERE e.id = ANY (p_delegated)
          AND NOT (e.employer_id = ANY (p_all_employers)
                   OR (coalesce(e.department_id = ANY (p_departments), false) OR e.id = ANY (p_employees))
                      AND e.employer_id = ANY (p_reach))
    ) v
    WHERE NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.user_id = p_user_id AND b.employee_id = v.id)
    $$;

