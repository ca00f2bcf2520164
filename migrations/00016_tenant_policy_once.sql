-- +goose Up

-- The tenant policies compared tenant_id with app_tenant() on every row a scan read, and
-- app_tenant() looks the setting app.tenant_id up and parses it as a uuid each time, about half
-- a microsecond. An index scan on tenant_id pays it once, as its index condition, but the small
-- tables a request reads whole (employee_counts, departments, employers, users, roles, links)
-- are scanned sequentially and paid it per row: the employee list read about 800 such rows per
-- request. As a scalar subquery, (SELECT app_tenant()), the value is computed once per
-- statement (an InitPlan) and still serves as an index condition. The rule is the same: the
-- setting cannot change while a statement runs.
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_policy p
        JOIN pg_class c ON c.oid = p.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND p.polname = 'tenant_isolation'
          AND pg_get_expr(p.polqual, p.polrelid) = '(tenant_id = app_tenant())'
          AND pg_get_expr(p.polwithcheck, p.polrelid) = '(tenant_id = app_tenant())'
    LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %I USING (tenant_id = (SELECT app_tenant())) '
                       'WITH CHECK (tenant_id = (SELECT app_tenant()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
