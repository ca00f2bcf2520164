package database_test

// These tests are generated from the schema: they list the tables in schema public and check
// every one of them. A table added by a later migration without tenant_id, without forced
// row-level security, without a tenant policy or without fixture rows fails the suite.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
)

// platformTables hold no tenant data and so carry no tenant_id. Every other table must.
var platformTables = []string{"tenants", "sessions", "login_failures", "login_devices", "goose_db_version", "platform_secrets"}

// platformPrefixes name families of platform tables: River's job queue.
var platformPrefixes = []string{"river_"}

func isPlatformTable(name string) bool {
	if slices.Contains(platformTables, name) {
		return true
	}
	for _, p := range platformPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// table is what the schema says about one table of schema public.
type table struct {
	Name        string
	HasTenantID bool
	HasID       bool
	RLS         bool
	ForceRLS    bool
	// Columns are those an INSERT may name: no generated or always-identity columns.
	Columns []string
}

// listTables lists every ordinary and partitioned table of schema public, partitions included.
func listTables(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []table {
	t.Helper()
	rows, err := q.Query(context.Background(), `
		SELECT c.relname,
		       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped),
		       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped),
		       c.relrowsecurity, c.relforcerowsecurity,
		       coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
		                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		                   AND a.attgenerated = '' AND a.attidentity <> 'a'), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
		ORDER BY c.relname`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var tb table
		err := r.Scan(&tb.Name, &tb.HasTenantID, &tb.HasID, &tb.RLS, &tb.ForceRLS, &tb.Columns)
		return tb, err
	})
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(tables) == 0 {
		t.Fatal("list tables: schema public has no tables; did the migrations run?")
	}
	return tables
}

func tenantTables(t *testing.T, tables []table) []table {
	t.Helper()
	var out []table
	for _, tb := range tables {
		if tb.HasTenantID {
			out = append(out, tb)
		}
	}
	if len(out) == 0 {
		t.Fatal("no tenant-scoped tables found")
	}
	return out
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// TestAppRole checks that the test pool works as the application role and that row-level
// security binds that role: no superuser, no BYPASSRLS, owner of nothing.
func TestAppRole(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	var got struct {
		Role      string
		Super     bool
		BypassRLS bool
		Owns      []string
	}
	err := db.Pool.QueryRow(context.Background(), `
		SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		       coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c WHERE c.relowner = r.oid), '{}')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&got.Role, &got.Super, &got.BypassRLS, &got.Owns)
	if err != nil {
		t.Fatal(err)
	}
	want := got
	want.Role, want.Super, want.BypassRLS, want.Owns = database.AppRole, false, false, []string{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("application role (-want +got):\n%s", diff)
	}
}

// TestEveryTableIsTenantScoped checks the schema: every table either is an allow-listed platform
// table or carries tenant_id, and every table with tenant_id has forced row-level security and a
// policy binding the application role to app_tenant() for reading and writing.
func TestEveryTableIsTenantScoped(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()

	type policy struct {
		Name       string
		Permissive bool
		Cmd        string // '*' all, 'r' select, 'a' insert, 'w' update, 'd' delete
		Qual       *string
		WithCheck  *string
	}
	// Policies that apply to the application role: to PUBLIC or to a role whose privileges it has.
	policiesOf := func(t *testing.T, name string) []policy {
		t.Helper()
		rows, err := db.Pool.Query(ctx, `
			SELECT p.polname, p.polpermissive, p.polcmd::text,
			       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
			FROM pg_policy p
			WHERE p.polrelid = ('public.' || quote_ident($1))::regclass
			  AND (0::oid = ANY (p.polroles)
			       OR EXISTS (SELECT 1 FROM unnest(p.polroles) r WHERE r <> 0 AND pg_has_role($2, r, 'USAGE')))
			ORDER BY p.polname`, name, database.AppRole)
		if err != nil {
			t.Fatalf("policies: %v", err)
		}
		ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (policy, error) {
			var p policy
			err := r.Scan(&p.Name, &p.Permissive, &p.Cmd, &p.Qual, &p.WithCheck)
			return p, err
		})
		if err != nil {
			t.Fatalf("policies: %v", err)
		}
		return ps
	}
	mentionsTenant := func(expr *string) bool {
		return expr != nil && strings.Contains(*expr, "app_tenant()")
	}

	for _, tb := range listTables(t, db.Pool) {
		t.Run(tb.Name, func(t *testing.T) {
			if !tb.HasTenantID {
				if !isPlatformTable(tb.Name) {
					t.Fatalf("table %s has no tenant_id column: give it tenant_id with row-level security, "+
						"or, if it really holds no tenant data, add it to platformTables in isolation_test.go", tb.Name)
				}
				return
			}
			if !tb.RLS {
				t.Errorf("table %s: row-level security not enabled (ALTER TABLE %s ENABLE ROW LEVEL SECURITY)", tb.Name, tb.Name)
			}
			if !tb.ForceRLS {
				t.Errorf("table %s: row-level security not forced (ALTER TABLE %s FORCE ROW LEVEL SECURITY)", tb.Name, tb.Name)
			}
			ps := policiesOf(t, tb.Name)
			isolating := false
			for _, p := range ps {
				if p.Permissive && p.Cmd == "*" && mentionsTenant(p.Qual) && mentionsTenant(p.WithCheck) {
					isolating = true
				}
				if !p.Permissive {
					continue // restrictive policies can only narrow what the role reaches
				}
				// Permissive policies are ORed: any one that ignores the tenant opens the table.
				reads := p.Cmd == "*" || p.Cmd == "r" || p.Cmd == "w" || p.Cmd == "d"
				writes := p.Cmd == "*" || p.Cmd == "a" || p.Cmd == "w"
				if reads && !mentionsTenant(p.Qual) {
					t.Errorf("table %s: policy %s (cmd %s) USING %v does not mention app_tenant()", tb.Name, p.Name, p.Cmd, deref(p.Qual))
				}
				check := p.WithCheck
				if check == nil {
					check = p.Qual // without WITH CHECK, USING checks new rows
				}
				if writes && !mentionsTenant(check) {
					t.Errorf("table %s: policy %s (cmd %s) WITH CHECK %v does not mention app_tenant()", tb.Name, p.Name, p.Cmd, deref(check))
				}
			}
			if !isolating {
				t.Errorf("table %s: no permissive policy FOR ALL to %s or PUBLIC with USING and WITH CHECK on app_tenant(); "+
					"want CREATE POLICY tenant_isolation ON %s USING (tenant_id = (SELECT app_tenant())) WITH CHECK (tenant_id = (SELECT app_tenant())); have %+v",
					tb.Name, database.AppRole, tb.Name, ps)
			}
		})
	}

	// Views run as their owner, who may bypass row-level security: they must run as the caller.
	rows, err := db.Pool.Query(ctx, `
		SELECT c.relname, coalesce('security_invoker=true' = ANY (c.reloptions) OR 'security_invoker=on' = ANY (c.reloptions), false)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
		ORDER BY c.relname`)
	if err != nil {
		t.Fatalf("list views: %v", err)
	}
	var name string
	var invoker bool
	if _, err := pgx.ForEachRow(rows, []any{&name, &invoker}, func() error {
		if !invoker {
			t.Errorf("view %s: not WITH (security_invoker = true), so it bypasses row-level security", name)
		}
		return nil
	}); err != nil {
		t.Fatalf("list views: %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

// insertFixture fills every tenant-scoped table with rows of the current tenant. When a migration
// adds a tenant-scoped table, add rows for it here.
func insertFixture(ctx context.Context, tx pgx.Tx, tag string) error {
	var err error
	// returning runs sql and scans the id it returns; after the first error it does nothing.
	returning := func(sql string, args ...any) (id uuid.UUID) {
		if err == nil {
			if err = tx.QueryRow(ctx, sql+" RETURNING id", args...).Scan(&id); err != nil {
				err = fmt.Errorf("fixture %q: %w", strings.Join(strings.Fields(sql), " "), err)
			}
		}
		return id
	}
	exec := func(sql string, args ...any) {
		if err == nil {
			if _, err = tx.Exec(ctx, sql, args...); err != nil {
				err = fmt.Errorf("fixture %q: %w", strings.Join(strings.Fields(sql), " "), err)
			}
		}
	}

	groupID := returning(`INSERT INTO employer_groups (tenant_id, name) VALUES (app_tenant(), 'Group ' || $1)`, tag)
	employerID := returning(`INSERT INTO employers (tenant_id, name, employer_number, group_id)
		VALUES (app_tenant(), 'Employer ' || $1, 'E-' || $1, $2)`, tag, groupID)
	exec(`INSERT INTO employers (tenant_id, name, employer_number) VALUES (app_tenant(), 'Second employer ' || $1, 'E2-' || $1)`, tag)
	departmentID := returning(`INSERT INTO departments (tenant_id, employer_id, name) VALUES (app_tenant(), $1, 'Department ' || $2)`,
		employerID, tag)
	employeeID := returning(`INSERT INTO employees (tenant_id, employer_id, department_id, personnel_number, last_name)
		VALUES (app_tenant(), $1, $2, 'P-' || $3, 'Employee ' || $3)`, employerID, departmentID, tag)
	providerID := returning(`INSERT INTO intervention_providers (tenant_id, name) VALUES (app_tenant(), 'Provider ' || $1)`, tag)
	employerRoleID := returning(`INSERT INTO roles (tenant_id, name, kind, rights) VALUES (app_tenant(), 'Employer role ' || $1, 'employer', '{}')`, tag)
	coachRoleID := returning(`INSERT INTO roles (tenant_id, name, kind) VALUES (app_tenant(), 'Coach role ' || $1, 'coach')`, tag)
	userID := returning(`INSERT INTO users (tenant_id, email, name, kind, role_id, password_hash)
		VALUES (app_tenant(), 'user-' || $1 || '@example.test', 'User ' || $1, 'employer', $2, 'not-a-hash')`, tag, employerRoleID)
	returning(`INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
		VALUES (app_tenant(), 'coach-' || $1 || '@example.test', 'Coach ' || $1, 'coach', $2, $3, 'not-a-hash')`, tag, coachRoleID, providerID)
	exec(`INSERT INTO user_employers (tenant_id, user_id, employer_id) VALUES (app_tenant(), $1, $2)`, userID, employerID)
	exec(`INSERT INTO audit_events (tenant_id, user_id, action, subject_type, subject_id, employee_id, employer_id)
		VALUES (app_tenant(), $1, 'employee.view', 'employee', $2, $2, $3)`, userID, employeeID, employerID)
	exec(`INSERT INTO audit_events (tenant_id, user_id, action) VALUES (app_tenant(), $1, 'login')`, userID)
	exec(`INSERT INTO outbox_messages (tenant_id, recipients, subject, body)
		VALUES (app_tenant(), ARRAY['x-' || $1 || '@example.test'], 'Subject', 'Body')`, tag)
	exec(`INSERT INTO user_department_links (tenant_id, user_id, department_id) VALUES (app_tenant(), $1, $2)`, userID, departmentID)
	exec(`INSERT INTO user_employee_links (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)`, userID, employeeID)
	exec(`INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)`, userID, employeeID)
	exec(`INSERT INTO dossier_delegations (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)`, userID, employeeID)
	categoryID := returning(`INSERT INTO document_categories (tenant_id, name, dossier) VALUES (app_tenant(), 'Category ' || $1, 'employee')`, tag)
	exec(`INSERT INTO category_permissions (tenant_id, role_id, category_id, level) VALUES (app_tenant(), $1, $2, 'read')`,
		employerRoleID, categoryID)
	exec(`INSERT INTO documents (tenant_id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256)
		VALUES (app_tenant(), $1, $2, $3, 'brief.pdf', 'key-' || $4, 3, 'application/pdf', repeat('a', 64))`,
		employerID, employeeID, categoryID, tag)
	exec(`INSERT INTO changes (tenant_id, entity, row_id, op, employee_id) VALUES (app_tenant(), 'employees', $1, 'update', $1)`, employeeID)
	if err != nil {
		return err
	}
	base := fixtureBase{Tag: tag, GroupID: groupID, EmployerID: employerID, DepartmentID: departmentID, EmployeeID: employeeID,
		ProviderID: providerID, UserID: userID}
	for _, extra := range extraFixtures {
		if err := extra(ctx, tx, base); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
	}
	return nil
}

// fixtureBase holds the ids of the base fixture rows of one tenant, for extraFixtures.
type fixtureBase struct {
	Tag                                                       string
	GroupID, EmployerID, DepartmentID, EmployeeID, ProviderID uuid.UUID
	UserID                                                    uuid.UUID
}

// extraFixtures add rows for the tables of one area each (a file of their own registers them in
// init), so that every tenant-scoped table has rows for both tenants.
var extraFixtures []func(ctx context.Context, tx pgx.Tx, base fixtureBase) error

// snapshot identifies one tenant's rows in a table, read as a superuser.
type snapshot struct {
	Count int64
	Hash  string
}

func takeSnapshot(t *testing.T, owner *pgxpool.Pool, tb table, tenant uuid.UUID) snapshot {
	t.Helper()
	var s snapshot
	err := owner.QueryRow(context.Background(), fmt.Sprintf(`
		SELECT count(*), coalesce(md5(string_agg(to_jsonb(x)::text, ',' ORDER BY to_jsonb(x)::text)), '')
		FROM %s x WHERE tenant_id = $1`, ident(tb.Name)), tenant).Scan(&s.Count, &s.Hash)
	if err != nil {
		t.Fatalf("snapshot %s: %v", tb.Name, err)
	}
	return s
}

// sqlState is the SQLSTATE of err, or "" when err is nil or no PostgreSQL error.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

const insufficientPrivilege = "42501"

// inSavepoint runs fn in a savepoint of tx, keeping its effects when it succeeds (so a leak shows
// up in the snapshots) and rolling back when it fails, so that tx can go on.
func inSavepoint(ctx context.Context, tx pgx.Tx, fn func(pgx.Tx) (pgconn.CommandTag, error)) (pgconn.CommandTag, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := fn(sp)
	if err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return tag, errors.Join(err, rbErr)
		}
		return tag, err
	}
	return tag, sp.Commit(ctx)
}

// insertCopySQL inserts one row of the table built from the jsonb document doc (a row as to_jsonb
// gives it), read from from, with tenant_id set to $1 and, if the table has one, a fresh id.
func insertCopySQL(tb table, from, doc string) string {
	cols := make([]string, len(tb.Columns))
	sel := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		cols[i] = ident(c)
		sel[i] = "r." + ident(c)
	}
	override := `jsonb_build_object('tenant_id', $1::text)`
	if tb.HasID {
		override = `jsonb_build_object('tenant_id', $1::text, 'id', gen_random_uuid())`
	}
	return "INSERT INTO " + ident(tb.Name) + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM " + from + ", jsonb_populate_record(NULL::" + ident(tb.Name) + ", " + doc + " || " + override + ") r"
}

// TestTenantIsolation fills every tenant-scoped table with rows of two tenants and checks, table by
// table, that tenant A can neither see nor change nor create tenant B's rows, and that without a
// tenant nothing is visible or writable.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()

	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	var seesAll bool
	if err := owner.QueryRow(ctx, "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&seesAll); err != nil {
		t.Fatal(err)
	}
	if !seesAll {
		t.Fatal("dbtest's OwnerURL must log in as a superuser or BYPASSRLS role to check the fixture")
	}

	newTenant := func(name string) uuid.UUID {
		var id uuid.UUID
		if err := db.Pool.QueryRow(ctx, "INSERT INTO tenants (name) VALUES ($1) RETURNING id", name).Scan(&id); err != nil {
			t.Fatalf("create tenant %s: %v", name, err)
		}
		return id
	}
	tenantA, tenantB := newTenant("Tenant A"), newTenant("Tenant B")
	for tag, id := range map[string]uuid.UUID{"a-" + tenantA.String(): tenantA, "b-" + tenantB.String(): tenantB} {
		if err := database.InTenant(ctx, db.Pool, id, func(tx pgx.Tx) error { return insertFixture(ctx, tx, tag) }); err != nil {
			t.Fatalf("insert fixture: %v", err)
		}
	}

	for _, tb := range tenantTables(t, listTables(t, owner)) {
		t.Run(tb.Name, func(t *testing.T) {
			q := ident(tb.Name)

			// (a) The fixture covers this table for both tenants.
			beforeA, beforeB := takeSnapshot(t, owner, tb, tenantA), takeSnapshot(t, owner, tb, tenantB)
			if beforeA.Count == 0 || beforeB.Count == 0 {
				t.Fatalf("table %s has no fixture rows (tenant A: %d, tenant B: %d): extend insertFixture in "+
					"internal/database/isolation_test.go with rows for this table", tb.Name, beforeA.Count, beforeB.Count)
			}
			var rowA string
			if err := owner.QueryRow(ctx, fmt.Sprintf("SELECT to_jsonb(x)::text FROM %s x WHERE tenant_id = $1 LIMIT 1", q), tenantA).Scan(&rowA); err != nil {
				t.Fatalf("read a row of tenant A: %v", err)
			}

			// (b) Working as tenant A.
			err := database.InTenant(ctx, db.Pool, tenantA, func(tx pgx.Tx) error {
				var ofB, visible int64
				if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE tenant_id = $1", q), tenantB).Scan(&ofB); err != nil {
					return fmt.Errorf("count B: %w", err)
				}
				if ofB != 0 {
					t.Errorf("tenant A sees %d rows of tenant B", ofB)
				}
				if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s", q)).Scan(&visible); err != nil {
					return fmt.Errorf("count: %w", err)
				}
				if visible != beforeA.Count {
					t.Errorf("tenant A sees %d rows, has %d", visible, beforeA.Count)
				}

				for _, c := range []struct {
					stmt    string
					refused bool // must fail with 42501; otherwise it may, or must affect no row
				}{
					{fmt.Sprintf("UPDATE %s SET tenant_id = tenant_id WHERE tenant_id = $1", q), false},
					{fmt.Sprintf("DELETE FROM %s WHERE tenant_id = $1", q), false},
					// Moving A's own rows to B violates WITH CHECK (or A may not update at all).
					{fmt.Sprintf("UPDATE %s SET tenant_id = $1", q), true},
				} {
					tag, err := inSavepoint(ctx, tx, func(sp pgx.Tx) (pgconn.CommandTag, error) { return sp.Exec(ctx, c.stmt, tenantB) })
					switch {
					case err != nil && sqlState(err) != insufficientPrivilege:
						t.Errorf("%s as tenant A: %v, want SQLSTATE %s", c.stmt, err, insufficientPrivilege)
					case err == nil && c.refused:
						t.Errorf("%s as tenant A: %d rows affected, want SQLSTATE %s", c.stmt, tag.RowsAffected(), insufficientPrivilege)
					case err == nil && tag.RowsAffected() != 0:
						t.Errorf("%s as tenant A: %d rows affected, want 0", c.stmt, tag.RowsAffected())
					case err != nil:
						t.Logf("%s as tenant A: refused: %v", c.stmt, err)
					}
				}

				insert := insertCopySQL(tb, "(SELECT $2::jsonb AS doc) x", "x.doc")
				tag, err := inSavepoint(ctx, tx, func(sp pgx.Tx) (pgconn.CommandTag, error) {
					return sp.Exec(ctx, insert, tenantB.String(), rowA)
				})
				if sqlState(err) != insufficientPrivilege {
					t.Errorf("tenant A inserting a row for tenant B: rows %d, error %v; want SQLSTATE %s\n%s", tag.RowsAffected(), err, insufficientPrivilege, insert)
				}
				return nil
			})
			if err != nil {
				t.Errorf("as tenant A: %v", err)
			}

			// (c) Working without a tenant: nothing visible, nothing writable.
			err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
				var tenant *string
				if err := tx.QueryRow(ctx, "SELECT app_tenant()::text").Scan(&tenant); err != nil {
					return err
				}
				if tenant != nil {
					t.Errorf("plain transaction has tenant %s", *tenant)
				}
				var visible int64
				if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s", q)).Scan(&visible); err != nil {
					return fmt.Errorf("count: %w", err)
				}
				if visible != 0 {
					t.Errorf("without a tenant %d rows are visible", visible)
				}
				for _, stmt := range []string{
					fmt.Sprintf("UPDATE %s SET tenant_id = tenant_id", q),
					fmt.Sprintf("DELETE FROM %s", q),
				} {
					tag, err := inSavepoint(ctx, tx, func(sp pgx.Tx) (pgconn.CommandTag, error) { return sp.Exec(ctx, stmt) })
					if err == nil && tag.RowsAffected() != 0 {
						t.Errorf("%s without a tenant: %d rows affected, want 0", stmt, tag.RowsAffected())
					}
					if err != nil && sqlState(err) != insufficientPrivilege {
						t.Errorf("%s without a tenant: %v, want no error or SQLSTATE %s", stmt, err, insufficientPrivilege)
					}
				}
				for _, tenant := range []uuid.UUID{tenantA, tenantB} {
					insert := insertCopySQL(tb, "(SELECT $2::jsonb AS doc) x", "x.doc")
					tag, err := inSavepoint(ctx, tx, func(sp pgx.Tx) (pgconn.CommandTag, error) {
						return sp.Exec(ctx, insert, tenant.String(), rowA)
					})
					if sqlState(err) != insufficientPrivilege {
						t.Errorf("inserting a row for tenant %s without a tenant set: rows %d, error %v; want SQLSTATE %s\n%s",
							tenant, tag.RowsAffected(), err, insufficientPrivilege, insert)
					}
				}
				return nil
			})
			if err != nil {
				t.Errorf("without a tenant: %v", err)
			}

			// Nothing of either tenant changed.
			if diff := cmp.Diff(beforeA, takeSnapshot(t, owner, tb, tenantA)); diff != "" {
				t.Errorf("tenant A's rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeB, takeSnapshot(t, owner, tb, tenantB)); diff != "" {
				t.Errorf("tenant B's rows changed (-before +after):\n%s", diff)
			}
		})
	}

	// (d) Audit events are append-only, for the own tenant too.
	t.Run("audit_events append-only", func(t *testing.T) {
		before := takeSnapshot(t, owner, table{Name: "audit_events"}, tenantA)
		err := database.InTenant(ctx, db.Pool, tenantA, func(tx pgx.Tx) error {
			for _, stmt := range []string{
				"UPDATE audit_events SET action = 'tampered'",
				"UPDATE audit_events SET details = '{\"x\": 1}' WHERE tenant_id = app_tenant()",
				"DELETE FROM audit_events",
				"DELETE FROM audit_events WHERE tenant_id = app_tenant()",
				"TRUNCATE audit_events",
			} {
				tag, err := inSavepoint(ctx, tx, func(sp pgx.Tx) (pgconn.CommandTag, error) { return sp.Exec(ctx, stmt) })
				if sqlState(err) != insufficientPrivilege {
					t.Errorf("%s as the application: rows %d, error %v; want SQLSTATE %s", stmt, tag.RowsAffected(), err, insufficientPrivilege)
				}
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if diff := cmp.Diff(before, takeSnapshot(t, owner, table{Name: "audit_events"}, tenantA)); diff != "" {
			t.Errorf("audit events changed (-before +after):\n%s", diff)
		}
		// The trigger refuses changes even from the owner, who has every privilege.
		for _, stmt := range []string{"UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events"} {
			if _, err := owner.Exec(ctx, stmt); sqlState(err) != insufficientPrivilege {
				t.Errorf("%s as the owner: error %v, want SQLSTATE %s", stmt, err, insufficientPrivilege)
			}
		}
	})
}
