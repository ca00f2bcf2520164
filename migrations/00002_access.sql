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
    -- Where the employee works, copied by triggers (below) so that counting a user's visible
    -- employees can subtract his blacklist without looking each entry up.
    employer_id   uuid NOT NULL,
    department_id uuid,
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

-- employee_counts: how many employees each employer has per department (department_key is the
-- department, or the nil uuid for none), kept by statement triggers on employees. It lets
-- visible_employee_count add up a user's departments instead of visiting their employees.
CREATE TABLE employee_counts (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    employer_id    uuid NOT NULL,
    department_key uuid NOT NULL,
    n              bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (tenant_id, employer_id, department_key)
);
CREATE INDEX employee_counts_department ON employee_counts (tenant_id, department_key);
GRANT SELECT, INSERT, UPDATE, DELETE ON employee_counts TO dossierkast_app;
ALTER TABLE employee_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE employee_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employee_counts USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- +goose StatementBegin
CREATE FUNCTION employee_counts_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE employee_counts c SET n = c.n - o.n
        FROM (SELECT tenant_id, employer_id, coalesce(department_id, '00000000-0000-0000-0000-000000000000') AS department_key,
                     count(*) AS n
              FROM old_rows GROUP BY 1, 2, 3) o
        WHERE c.tenant_id = o.tenant_id AND c.employer_id = o.employer_id AND c.department_key = o.department_key;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO employee_counts (tenant_id, employer_id, department_key, n)
        SELECT tenant_id, employer_id, coalesce(department_id, '00000000-0000-0000-0000-000000000000'), count(*)
        FROM new_rows GROUP BY 1, 2, 3
        ON CONFLICT (tenant_id, employer_id, department_key) DO UPDATE SET n = employee_counts.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER employee_counts_insert AFTER INSERT ON employees
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION employee_counts_apply();
CREATE TRIGGER employee_counts_update AFTER UPDATE ON employees
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION employee_counts_apply();
CREATE TRIGGER employee_counts_delete AFTER DELETE ON employees
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION employee_counts_apply();

-- Employees that exist already are counted once now.
INSERT INTO employee_counts (tenant_id, employer_id, department_key, n)
SELECT tenant_id, employer_id, coalesce(department_id, '00000000-0000-0000-0000-000000000000'), count(*)
FROM employees GROUP BY 1, 2, 3;

-- The blacklist rows follow their employee: filled in when written, moved when he moves.
-- +goose StatementBegin
CREATE FUNCTION user_blacklist_place() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.employer_id, e.department_id INTO NEW.employer_id, NEW.department_id
    FROM employees e WHERE e.id = NEW.employee_id;
    RETURN NEW;
END
$$;
CREATE FUNCTION user_blacklist_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_blacklist b SET employer_id = n.employer_id, department_id = n.department_id
    FROM new_rows n
    WHERE b.employee_id = n.id AND (b.employer_id, b.department_id) IS DISTINCT FROM (n.employer_id, n.department_id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER user_blacklist_place BEFORE INSERT OR UPDATE OF employee_id ON user_blacklist
    FOR EACH ROW EXECUTE FUNCTION user_blacklist_place();
CREATE TRIGGER user_blacklist_follow AFTER UPDATE ON employees
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_blacklist_follow();

-- visible_employee_count: how many employees visible_employees holds, without visiting them:
-- the counts of the employers he sees whole and of his linked departments (employee_counts),
-- plus his individual links and delegations outside those, minus his blacklist entries inside
-- any of them. Its cost grows with his links and blacklist, not with the employees he sees. A
-- property test holds it equal to count(*) of visible_employees. PL/pgSQL keeps its plan for the
-- session; the blacklist rows carry their employee's place, so subtracting them reads only the
-- user's own rows.
-- +goose StatementBegin
CREATE FUNCTION visible_employee_count(p_user_id uuid, p_all_employers uuid[], p_reach uuid[],
        p_departments uuid[], p_employees uuid[], p_delegated uuid[])
    RETURNS bigint
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    n bigint;
BEGIN
    SELECT
        (SELECT coalesce(sum(c.n), 0) FROM employee_counts c WHERE c.employer_id = ANY (p_all_employers))
      + (SELECT coalesce(sum(c.n), 0) FROM employee_counts c
         WHERE c.department_key = ANY (p_departments) AND c.employer_id = ANY (p_reach)
           AND c.employer_id <> ALL (p_all_employers))
      + (SELECT count(*) FROM employees e
         WHERE e.id = ANY (p_employees) AND e.employer_id = ANY (p_reach) AND e.employer_id <> ALL (p_all_employers)
           AND NOT coalesce(e.department_id = ANY (p_departments), false))
      + (SELECT count(*) FROM employees e
         WHERE e.id = ANY (p_delegated)
           AND NOT (e.employer_id = ANY (p_all_employers)
                    OR (coalesce(e.department_id = ANY (p_departments), false) OR e.id = ANY (p_employees))
                       AND e.employer_id = ANY (p_reach)))
      - (SELECT count(*) FROM user_blacklist b
         WHERE b.user_id = p_user_id
           AND (b.employer_id = ANY (p_all_employers)
                OR (coalesce(b.department_id = ANY (p_departments), false) OR b.employee_id = ANY (p_employees))
                   AND b.employer_id = ANY (p_reach)
                OR b.employee_id = ANY (p_delegated)))
    INTO n;
    RETURN n;
END
$$;
-- +goose StatementEnd
