package access_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// fixture writes test data with plain SQL in one tenant transaction, so a test says exactly which
// rows exist. Any failure ends the test.
type fixture struct {
	t   testing.TB
	ctx context.Context
	tx  pgx.Tx
	n   int // makes names, numbers and keys unique
}

// build runs fn with a fixture in tenant's transaction and commits.
func build(t testing.TB, pool *pgxpool.Pool, tenant uuid.UUID, fn func(f *fixture)) {
	t.Helper()
	ctx := context.Background()
	err := database.InTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
		fn(&fixture{t: t, ctx: ctx, tx: tx})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newTenant makes a tenant (with its system categories) in a fresh test database.
func newTenant(t testing.TB, pool *pgxpool.Pool, name string) uuid.UUID {
	t.Helper()
	tenant, err := org.CreateTenant(context.Background(), pool, name, false)
	if err != nil {
		t.Fatal(err)
	}
	return tenant.ID
}

func (f *fixture) next() int { f.n++; return f.n }

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.tx.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) id(sql string, args ...any) uuid.UUID {
	f.t.Helper()
	var id uuid.UUID
	if err := f.tx.QueryRow(f.ctx, sql, args...).Scan(&id); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func (f *fixture) employer(name string) uuid.UUID {
	f.t.Helper()
	return f.id("INSERT INTO employers (tenant_id, name, employer_number) VALUES (app_tenant(), $1, $2) RETURNING id",
		name, fmt.Sprint(f.next()))
}

func (f *fixture) department(employer uuid.UUID, name string) uuid.UUID {
	f.t.Helper()
	return f.id("INSERT INTO departments (tenant_id, employer_id, name) VALUES (app_tenant(), $1, $2) RETURNING id",
		employer, name)
}

// employee adds an employee of employer, in department (nil: none).
func (f *fixture) employee(employer uuid.UUID, department *uuid.UUID, lastName string) uuid.UUID {
	f.t.Helper()
	return f.id(`INSERT INTO employees (tenant_id, employer_id, department_id, personnel_number, last_name)
		VALUES (app_tenant(), $1, $2, $3, $4) RETURNING id`, employer, department, fmt.Sprint(f.next()), lastName)
}

func (f *fixture) role(kind access.Kind, rights ...access.Right) uuid.UUID {
	f.t.Helper()
	if rights == nil {
		rights = []access.Right{}
	}
	return f.id("INSERT INTO roles (tenant_id, name, kind, rights) VALUES (app_tenant(), $1, $2, $3) RETURNING id",
		fmt.Sprintf("role %d", f.next()), kind, rights)
}

// user adds an active user of kind with a role of that kind holding rights. Employer users belong
// to employers; a coach gets an intervention provider of his own.
func (f *fixture) user(kind access.Kind, rights []access.Right, employers ...uuid.UUID) uuid.UUID {
	f.t.Helper()
	role := f.role(kind, rights...)
	var provider *uuid.UUID
	if kind == access.KindCoach {
		id := f.id("INSERT INTO intervention_providers (tenant_id, name) VALUES (app_tenant(), $1) RETURNING id",
			fmt.Sprintf("provider %d", f.next()))
		provider = &id
	}
	n := f.next()
	id := f.id(`INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, 'x') RETURNING id`,
		fmt.Sprintf("user%d-%s@example.nl", n, uuid.NewString()[:8]), fmt.Sprintf("User %d", n), kind, role, provider)
	for _, e := range employers {
		f.exec("INSERT INTO user_employers (tenant_id, user_id, employer_id) VALUES (app_tenant(), $1, $2)", id, e)
	}
	return id
}

func (f *fixture) block(user uuid.UUID) {
	f.t.Helper()
	f.exec("UPDATE users SET status = 'blocked' WHERE id = $1", user)
}

func (f *fixture) linkDepartment(user, department uuid.UUID) {
	f.t.Helper()
	f.exec("INSERT INTO user_department_links (tenant_id, user_id, department_id) VALUES (app_tenant(), $1, $2)", user, department)
}

func (f *fixture) linkEmployee(user, employee uuid.UUID) {
	f.t.Helper()
	f.exec("INSERT INTO user_employee_links (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", user, employee)
}

func (f *fixture) blacklist(user, employee uuid.UUID) {
	f.t.Helper()
	f.exec("INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", user, employee)
}

// delegate gives user a delegation for employee from now() + from hours until now() + until
// hours (until nil: open-ended).
func (f *fixture) delegate(user, employee uuid.UUID, from float64, until *float64) {
	f.t.Helper()
	f.exec(`INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, ended_at)
		VALUES (app_tenant(), $1, $2, now() + $3 * interval '1 hour', now() + $4 * interval '1 hour')`,
		user, employee, from, until)
}

func hours(h float64) *float64 { return &h }

func (f *fixture) category(name, dossier string, medical bool) uuid.UUID {
	f.t.Helper()
	return f.id("INSERT INTO document_categories (tenant_id, name, dossier, medical) VALUES (app_tenant(), $1, $2, $3) RETURNING id",
		name, dossier, medical)
}

func (f *fixture) systemCategory(system string) uuid.UUID {
	f.t.Helper()
	return f.id("SELECT id FROM document_categories WHERE system = $1", system)
}

// permit sets a role's level in a category (LevelNone: no row).
func (f *fixture) permit(role, category uuid.UUID, level access.Level) {
	f.t.Helper()
	if level == access.LevelNone {
		return
	}
	f.exec("INSERT INTO category_permissions (tenant_id, role_id, category_id, level) VALUES (app_tenant(), $1, $2, $3)",
		role, category, string(level))
}

func (f *fixture) roleOf(user uuid.UUID) uuid.UUID {
	f.t.Helper()
	return f.id("SELECT role_id FROM users WHERE id = $1", user)
}

// document adds a document to employer's dossier (employee nil) or to employee's.
func (f *fixture) document(employer uuid.UUID, employee *uuid.UUID, category uuid.UUID) uuid.UUID {
	f.t.Helper()
	n := f.next()
	return f.id(`INSERT INTO documents (tenant_id, employer_id, employee_id, category_id, file_name, storage_key, size,
		content_type, sha256) VALUES (app_tenant(), $1, $2, $3, $4, $5, 1, 'text/plain', $6) RETURNING id`,
		employer, employee, category, fmt.Sprintf("doc%d.txt", n), uuid.NewString(), fmt.Sprintf("%064x", n))
}

// outcome names an engine answer: "ok", an apperr code, or the text of any other error.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := apperr.As(err); ok {
		return string(e.Code)
	}
	return err.Error()
}

// principal loads user's principal with his facts, as a request does.
func principal(ctx context.Context, t testing.TB, tx pgx.Tx, tenant, user uuid.UUID) access.Principal {
	t.Helper()
	_, p, err := org.LoadPrincipal(ctx, tx, tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// listAll pages through every employee FindEmployees gives p and checks each page's total
// against the whole list.
func listAll(ctx context.Context, t testing.TB, tx pgx.Tx, f org.EmployeeFilter, limit int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	var totals []int
	f.Limit = limit
	for f.Offset = 0; ; f.Offset += limit {
		page, total, err := org.FindEmployees(ctx, tx, f)
		if err != nil {
			t.Fatal(err)
		}
		totals = append(totals, total)
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if len(page) < limit {
			break
		}
	}
	// A page past the last one holds nobody but still says how many there are in all.
	f.Offset = len(ids) + limit
	past, total, err := org.FindEmployees(ctx, tx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(past) > 0 {
		t.Errorf("FindEmployees at offset %d = %d employees, want none", f.Offset, len(past))
	}
	totals = append(totals, total)
	for _, total := range totals {
		if total != len(ids) {
			t.Errorf("FindEmployees total = %d, but the pages hold %d employees", total, len(ids))
			break
		}
	}
	return ids
}

// The employees of TestEmployeeAccess, each named by the paths that could make it visible, and
// whether a user of each kind, without and with employees.all, sees it. Every user of the test
// has the same links, delegations and blacklist; employer users belong to employer A only.
var employeeCases = []struct {
	employee                                                      string
	provider, providerAll, employer, employerAll, coach, coachAll bool
}{
	{"A: department link", true, true, true, true, false, false},
	{"A: employee link", true, true, true, true, false, false},
	{"A: no link (another user's department)", false, true, false, true, false, false},
	{"A: active delegation, no department", true, true, true, true, true, true},
	{"A: ended delegation", false, true, false, true, false, false},
	{"A: delegation not yet started", false, true, false, true, false, false},
	{"A: blacklisted; department, employee link, active delegation", false, false, false, false, false, false},
	{"A: blacklisted only", false, false, false, false, false, false},
	{"B: department link", true, true, false, false, false, false},
	{"B: employee link", true, true, false, false, false, false},
	{"B: active delegation", true, true, false, false, true, true},
	{"B: no link (another user's delegation)", false, true, false, false, false, false},
	{"B: blacklisted; employee link, active delegation", false, false, false, false, false, false},
	{"another tenant's employee", false, false, false, false, false, false},
}

func TestEmployeeAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := newTenant(t, db.Pool, "Arbo Engine")
	other := newTenant(t, db.Pool, "Arbo Elders")

	emp := map[string]uuid.UUID{}
	build(t, db.Pool, other, func(f *fixture) {
		x := f.employer("X")
		x1 := f.department(x, "X1")
		emp["another tenant's employee"] = f.employee(x, &x1, "Elders")
	})

	type user struct {
		name      string
		kind      access.Kind
		all, view bool
		blocked   bool
		id        uuid.UUID
	}
	var users []*user
	for _, kind := range access.Kinds {
		for _, all := range []bool{false, true} {
			for _, view := range []bool{false, true} {
				name := string(kind)
				if all {
					name += "+employees.all"
				}
				if view {
					name += "+employee_dossier.view"
				}
				users = append(users, &user{name: name, kind: kind, all: all, view: view})
			}
		}
	}
	users = append(users,
		&user{name: "blocked provider+employees.all+employee_dossier.view", kind: access.KindProvider, all: true, view: true, blocked: true},
		&user{name: "blocked coach+employee_dossier.view", kind: access.KindCoach, view: true, blocked: true})

	build(t, db.Pool, tenant, func(f *fixture) {
		a, b := f.employer("A"), f.employer("B")
		a1, a2, a3 := f.department(a, "A1"), f.department(a, "A2"), f.department(a, "A3")
		b1, b2 := f.department(b, "B1"), f.department(b, "B2")
		add := func(name string, employer uuid.UUID, department *uuid.UUID) uuid.UUID {
			emp[name] = f.employee(employer, department, strings.ReplaceAll(name, ":", ""))
			return emp[name]
		}
		add("A: department link", a, &a1)
		add("A: employee link", a, &a2)
		add("A: no link (another user's department)", a, &a3)
		add("A: active delegation, no department", a, nil)
		add("A: ended delegation", a, &a2)
		add("A: delegation not yet started", a, &a2)
		add("A: blacklisted; department, employee link, active delegation", a, &a1)
		add("A: blacklisted only", a, &a2)
		add("B: department link", b, &b1)
		add("B: employee link", b, &b2)
		add("B: active delegation", b, &b2)
		add("B: no link (another user's delegation)", b, &b2)
		add("B: blacklisted; employee link, active delegation", b, nil)

		// Another user's facts must not count for anyone else.
		someone := f.user(access.KindProvider, []access.Right{access.EmployeeDossierView})
		f.linkDepartment(someone, a3)
		f.delegate(someone, emp["B: no link (another user's delegation)"], -1, nil)
		f.blacklist(someone, emp["A: department link"])

		for _, u := range users {
			rights := []access.Right{access.EmployerDossierView, access.DocumentsUpload}
			if u.all {
				rights = append(rights, access.EmployeesAll)
			}
			if u.view {
				rights = append(rights, access.EmployeeDossierView)
			}
			var employers []uuid.UUID
			if u.kind == access.KindEmployer {
				employers = []uuid.UUID{a}
			}
			u.id = f.user(u.kind, rights, employers...)
			if u.blocked {
				f.block(u.id)
			}
			f.linkDepartment(u.id, a1)
			f.linkDepartment(u.id, b1)
			f.linkEmployee(u.id, emp["A: employee link"])
			f.linkEmployee(u.id, emp["B: employee link"])
			f.linkEmployee(u.id, emp["A: blacklisted; department, employee link, active delegation"])
			f.linkEmployee(u.id, emp["B: blacklisted; employee link, active delegation"])
			f.delegate(u.id, emp["A: active delegation, no department"], -1, hours(1))
			f.delegate(u.id, emp["B: active delegation"], -2, nil)
			f.delegate(u.id, emp["A: ended delegation"], -2, hours(-1))
			f.delegate(u.id, emp["A: delegation not yet started"], 1, hours(2))
			f.delegate(u.id, emp["A: blacklisted; department, employee link, active delegation"], -1, nil)
			f.delegate(u.id, emp["B: blacklisted; employee link, active delegation"], -1, nil)
			f.blacklist(u.id, emp["A: blacklisted; department, employee link, active delegation"])
			f.blacklist(u.id, emp["A: blacklisted only"])
			f.blacklist(u.id, emp["B: blacklisted; employee link, active delegation"])
		}
	})

	names := map[uuid.UUID]string{}
	for name, id := range emp {
		names[id] = name
	}
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			want := map[string]string{}
			var wantList []string
			for _, c := range employeeCases {
				visible := map[access.Kind][2]bool{
					access.KindProvider: {c.provider, c.providerAll},
					access.KindEmployer: {c.employer, c.employerAll},
					access.KindCoach:    {c.coach, c.coachAll},
				}[u.kind][btoi(u.all)] && !u.blocked
				switch {
				case !visible:
					want[c.employee] = string(apperr.ENOTFOUND)
				case u.view:
					want[c.employee] = "ok"
				default:
					want[c.employee] = string(apperr.EFORBIDDEN)
				}
				if visible {
					wantList = append(wantList, c.employee)
				}
			}
			got := map[string]string{}
			var gotList []string
			err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
				p := principal(ctx, t, tx, tenant, u.id)
				for _, c := range employeeCases {
					got[c.employee] = outcome(access.CanSeeEmployee(ctx, tx, p, emp[c.employee]))
				}
				for _, id := range listAll(ctx, t, tx, org.EmployeeFilter{Viewer: p}, 1000) {
					gotList = append(gotList, names[id])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CanSeeEmployee (-want +got):\n%s", diff)
			}
			slices.Sort(wantList)
			slices.Sort(gotList)
			if diff := cmp.Diff(wantList, gotList); diff != "" {
				t.Errorf("FindEmployees (-want +got):\n%s", diff)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The matrix, the dossier rights, medical.view and the user kind decide each category's level;
// CanUpload also needs documents.upload and the write level.
func TestCategoryLevels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := newTenant(t, db.Pool, "Arbo Matrix")
	const (
		R = access.LevelRead
		W = access.LevelWrite
	)
	edv, eedv, med, up := access.EmployerDossierView, access.EmployeeDossierView, access.MedicalView, access.DocumentsUpload
	rights := func(r ...access.Right) []access.Right { return r }
	everything := map[string]access.Level{"employee": W, "medical": W, "employer": W, "employer medical": W,
		"provider bundle": W, "employer bundle": W}
	tests := []struct {
		name    string
		kind    access.Kind
		rights  []access.Right
		blocked bool
		matrix  map[string]access.Level
		want    map[string]access.Level
		// upload is CanUpload's outcome for the categories not absent from want
		upload map[string]string
	}{
		{"provider: matrix read and write, no medical.view", access.KindProvider, rights(edv, eedv, up), false,
			everything, map[string]access.Level{"employee": W, "employer": W, "provider bundle": R},
			map[string]string{"employee": "ok", "employer": "ok", "provider bundle": "forbidden"}},
		{"provider: the matrix's read stays read", access.KindProvider, rights(edv, eedv, med, up), false,
			map[string]access.Level{"employee": R, "medical": W, "employer": R, "employer medical": R},
			map[string]access.Level{"employee": R, "medical": W, "employer": R, "employer medical": R, "provider bundle": R},
			map[string]string{"employee": "forbidden", "medical": "ok", "employer": "forbidden", "employer medical": "forbidden",
				"provider bundle": "forbidden"}},
		{"provider without employer_dossier.view", access.KindProvider, rights(eedv, med, up), false,
			everything, map[string]access.Level{"employee": W, "medical": W},
			map[string]string{"employee": "ok", "medical": "ok"}},
		{"provider without employee_dossier.view", access.KindProvider, rights(edv, med, up), false,
			everything, map[string]access.Level{"employer": W, "employer medical": W, "provider bundle": R},
			map[string]string{"employer": "ok", "employer medical": "ok", "provider bundle": "forbidden"}},
		{"write without documents.upload", access.KindProvider, rights(edv, eedv), false,
			everything, map[string]access.Level{"employee": W, "employer": W, "provider bundle": R},
			map[string]string{"employee": "forbidden", "employer": "forbidden", "provider bundle": "forbidden"}},
		{"medical.view alone opens nothing", access.KindProvider, rights(med, up), false,
			everything, map[string]access.Level{}, map[string]string{}},
		{"no matrix rows: only the provider bundle", access.KindProvider, access.Catalogue, false,
			map[string]access.Level{}, map[string]access.Level{"provider bundle": R},
			map[string]string{"provider bundle": "forbidden"}},
		{"employer user", access.KindEmployer, rights(edv, eedv, up), false,
			map[string]access.Level{"employee": R, "employer": W, "provider bundle": W},
			map[string]access.Level{"employee": R, "employer": W, "employer bundle": R},
			map[string]string{"employee": "forbidden", "employer": "ok", "employer bundle": "forbidden"}},
		{"employer user without employer_dossier.view", access.KindEmployer, rights(eedv, med, up), false,
			everything, map[string]access.Level{"employee": W, "medical": W},
			map[string]string{"employee": "ok", "medical": "ok"}},
		{"coach: the matrix, no bundles", access.KindCoach, rights(edv, eedv, med, up), false,
			map[string]access.Level{"employee": W, "medical": R, "employer": R, "provider bundle": W, "employer bundle": W},
			map[string]access.Level{"employee": W, "medical": R, "employer": R},
			map[string]string{"employee": "ok", "medical": "forbidden", "employer": "forbidden"}},
		{"blocked provider", access.KindProvider, access.Catalogue, true,
			everything, map[string]access.Level{}, map[string]string{}},
		{"blocked employer user", access.KindEmployer, rights(edv, eedv, med, up), true,
			everything, map[string]access.Level{}, map[string]string{}},
	}

	cats := map[string]uuid.UUID{}
	users := make([]uuid.UUID, len(tests))
	build(t, db.Pool, tenant, func(f *fixture) {
		a := f.employer("A")
		cats["employee"] = f.category("Verzuim", "employee", false)
		cats["medical"] = f.category("Medisch", "employee", true)
		cats["employer"] = f.category("Contract", "employer", false)
		cats["employer medical"] = f.category("Medisch beleid", "employer", true)
		cats["provider bundle"] = f.systemCategory("full_dossier_provider")
		cats["employer bundle"] = f.systemCategory("full_dossier_employer")
		for i, tt := range tests {
			var employers []uuid.UUID
			if tt.kind == access.KindEmployer {
				employers = []uuid.UUID{a}
			}
			users[i] = f.user(tt.kind, tt.rights, employers...)
			if tt.blocked {
				f.block(users[i])
			}
			role := f.roleOf(users[i])
			for name, level := range tt.matrix {
				f.permit(role, cats[name], level)
			}
		}
	})
	names := map[uuid.UUID]string{}
	for name, id := range cats {
		names[id] = name
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c access.Categories
			var p access.Principal
			err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) (err error) {
				p = principal(ctx, t, tx, tenant, users[i])
				c, err = access.LoadCategories(ctx, tx, p)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]access.Level{}
			for id, level := range c {
				got[names[id]] = level
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadCategories (-want +got):\n%s", diff)
			}
			gotUpload, wantUpload := map[string]string{}, map[string]string{}
			for name, id := range cats {
				gotUpload[name] = outcome(access.CanUpload(p, c, id))
				wantUpload[name] = string(apperr.ENOTFOUND)
				if o, ok := tt.upload[name]; ok {
					wantUpload[name] = o
				}
			}
			if diff := cmp.Diff(wantUpload, gotUpload); diff != "" {
				t.Errorf("CanUpload (-want +got):\n%s", diff)
			}
		})
	}
}

// A document is readable when its category is and its dossier is visible: the employer's dossier
// within reach, the employee's when the employee is visible. Every user is linked to departments
// A1 and B1 and has one employee of A1 on his blacklist; the coach has a delegation. The list
// (visible_documents) holds exactly the documents CanReadDocument admits.
func TestDocumentAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant := newTenant(t, db.Pool, "Arbo Documenten")
	other := newTenant(t, db.Pool, "Arbo Anders")

	docs := map[string]uuid.UUID{}
	build(t, db.Pool, other, func(f *fixture) {
		x := f.employer("X")
		e := f.employee(x, nil, "Elders")
		c := f.category("Verzuim", "employee", false)
		docs["other tenant"] = f.document(x, &e, c)
	})

	edv, eedv, med := access.EmployerDossierView, access.EmployeeDossierView, access.MedicalView
	tests := []struct {
		name    string
		kind    access.Kind
		rights  []access.Right
		blocked bool
		want    []string
		id      uuid.UUID
	}{
		{"provider", access.KindProvider, []access.Right{edv, eedv}, false,
			[]string{"A employer", "A provider bundle", "A1 employee", "B employer", "B1 employee"}, uuid.Nil},
		{"provider with medical.view", access.KindProvider, []access.Right{edv, eedv, med}, false,
			[]string{"A employer", "A provider bundle", "A1 employee", "A1 medical", "B employer", "B1 employee"}, uuid.Nil},
		{"provider with employees.all", access.KindProvider, []access.Right{edv, eedv, access.EmployeesAll}, false,
			[]string{"A employer", "A provider bundle", "A1 employee", "A2 employee", "B employer", "B1 employee",
				"delegated employee"}, uuid.Nil},
		{"provider without employee_dossier.view", access.KindProvider, []access.Right{edv}, false,
			[]string{"A employer", "A provider bundle", "B employer"}, uuid.Nil},
		{"employer user of A", access.KindEmployer, []access.Right{edv, eedv}, false,
			[]string{"A employer", "A employer bundle", "A1 employee"}, uuid.Nil},
		{"coach with a delegation", access.KindCoach, []access.Right{edv, eedv, med}, false,
			[]string{"delegated employee"}, uuid.Nil},
		{"blocked provider", access.KindProvider, []access.Right{edv, eedv, med, access.EmployeesAll}, true,
			nil, uuid.Nil},
	}
	build(t, db.Pool, tenant, func(f *fixture) {
		a, b := f.employer("A"), f.employer("B")
		a1, a2, b1 := f.department(a, "A1"), f.department(a, "A2"), f.department(b, "B1")
		eA1, eBlack, eA2 := f.employee(a, &a1, "Aa"), f.employee(a, &a1, "Zwart"), f.employee(a, &a2, "Ab")
		eDeleg, eB1 := f.employee(a, nil, "Gedelegeerd"), f.employee(b, &b1, "Ba")
		employee := f.category("Verzuim", "employee", false)
		medical := f.category("Medisch", "employee", true)
		employer := f.category("Contract", "employer", false)
		secret := f.category("Geheim", "employee", false) // no role may read it
		docs["A1 employee"] = f.document(a, &eA1, employee)
		docs["A1 medical"] = f.document(a, &eA1, medical)
		docs["A1 unreadable category"] = f.document(a, &eA1, secret)
		docs["A1 blacklisted employee"] = f.document(a, &eBlack, employee)
		docs["A2 employee"] = f.document(a, &eA2, employee)
		docs["delegated employee"] = f.document(a, &eDeleg, employee)
		docs["B1 employee"] = f.document(b, &eB1, employee)
		docs["A employer"] = f.document(a, nil, employer)
		docs["B employer"] = f.document(b, nil, employer)
		docs["A provider bundle"] = f.document(a, nil, f.systemCategory("full_dossier_provider"))
		docs["A employer bundle"] = f.document(a, nil, f.systemCategory("full_dossier_employer"))
		for i := range tests {
			tt := &tests[i]
			var employers []uuid.UUID
			if tt.kind == access.KindEmployer {
				employers = []uuid.UUID{a}
			}
			tt.id = f.user(tt.kind, tt.rights, employers...)
			if tt.blocked {
				f.block(tt.id)
			}
			role := f.roleOf(tt.id)
			for _, c := range []uuid.UUID{employee, medical, employer} {
				f.permit(role, c, access.LevelRead)
			}
			f.linkDepartment(tt.id, a1)
			f.linkDepartment(tt.id, b1)
			f.blacklist(tt.id, eBlack)
			if tt.kind == access.KindCoach {
				f.delegate(tt.id, eDeleg, -1, nil)
			}
		}
	})
	names := map[uuid.UUID]string{}
	for name, id := range docs {
		names[id] = name
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got, list []string
			err := database.InTenant(ctx, db.Pool, tenant, func(tx pgx.Tx) error {
				p := principal(ctx, t, tx, tenant, tt.id)
				c, err := access.LoadCategories(ctx, tx, p)
				if err != nil {
					return err
				}
				for name, id := range docs {
					switch o := outcome(access.CanReadDocument(ctx, tx, p, c, id)); o {
					case "ok":
						got = append(got, name)
					case string(apperr.ENOTFOUND):
					default:
						t.Errorf("CanReadDocument(%s) = %s, want ok or not_found", name, o)
					}
				}
				from, args := access.VisibleDocuments(p, c, nil)
				rows, err := tx.Query(ctx, "SELECT d.id FROM "+from+" d", args...)
				if err != nil {
					return err
				}
				ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				for _, id := range ids {
					list = append(list, names[id])
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(list)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CanReadDocument (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, list); diff != "" {
				t.Errorf("visible_documents (-want +got):\n%s", diff)
			}
		})
	}
}
