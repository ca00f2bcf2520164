-- +goose Up

-- visible_employees is the set of employees a user may see; every list and the single check
-- (access.CanSeeEmployee) read it, so a list never shows what a page refuses. At this stage that
-- is reach: provider users reach every employee of the tenant, employer users the employees of
-- their employers, coach users nobody; blocked users nobody. Row-level security keeps it inside
-- the tenant.
--
-- It is written as one SELECT with uncorrelated sub-selects so that PostgreSQL inlines it into
-- the calling query and evaluates the user's facts once: a list can then walk the sort index
-- and stop after one page.
CREATE FUNCTION visible_employees(p_user_id uuid) RETURNS SETOF employees
    LANGUAGE sql STABLE
    AS $$
    SELECT e.* FROM employees e
    WHERE (SELECT u.kind = 'provider' FROM users u WHERE u.id = p_user_id AND u.status = 'active')
       OR e.employer_id = ANY (ARRAY(
            SELECT ue.employer_id FROM user_employers ue JOIN users u ON u.id = ue.user_id
            WHERE ue.user_id = p_user_id AND u.kind = 'employer' AND u.status = 'active'))
    $$;

-- visible_employers is the set of employers in a user's reach, by the same rule.
CREATE FUNCTION visible_employers(p_user_id uuid) RETURNS SETOF employers
    LANGUAGE sql STABLE
    AS $$
    SELECT r.* FROM employers r
    WHERE (SELECT u.kind = 'provider' FROM users u WHERE u.id = p_user_id AND u.status = 'active')
       OR r.id = ANY (ARRAY(
            SELECT ue.employer_id FROM user_employers ue JOIN users u ON u.id = ue.user_id
            WHERE ue.user_id = p_user_id AND u.kind = 'employer' AND u.status = 'active'))
    $$;
