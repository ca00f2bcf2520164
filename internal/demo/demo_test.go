package demo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

type bundle struct {
	ctx  context.Context
	pool *pgxpool.Pool
}

func setup(t testing.TB) bundle {
	t.Helper()
	return bundle{ctx: context.Background(), pool: dbtest.New(t).Pool}
}

func (b bundle) load(t testing.TB, opts demo.Options) demo.Result {
	t.Helper()
	res, err := demo.Load(b.ctx, b.pool, opts)
	if err != nil {
		t.Fatalf("Load(%+v): %v", opts, err)
	}
	return res
}

// inTenant runs fn under the tenant and fails the test on error.
func (b bundle) inTenant(t testing.TB, tenantID uuid.UUID, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(b.ctx, b.pool, tenantID, fn); err != nil {
		t.Fatal(err)
	}
}

// counts returns the number of rows per tenant table.
func (b bundle) counts(t testing.TB, tenantID uuid.UUID) map[string]int {
	t.Helper()
	got := map[string]int{}
	b.inTenant(t, tenantID, func(tx pgx.Tx) error {
		for _, table := range []string{"employer_groups", "employers", "departments", "employees",
			"intervention_providers", "roles", "users", "user_employers"} {
			var n int
			if err := tx.QueryRow(b.ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				return err
			}
			got[table] = n
		}
		return nil
	})
	return got
}

// employeeRow is an employee as the demo describes it, without generated ids and timestamps.
type employeeRow struct {
	EmployerNumber, Department                             string
	PersonnelNumber, Initials, FirstName, Prefix, LastName string
	BirthDate                                              time.Time
	BSN, Email, Phone, Street, HouseNumber, PostalCode     string
	City                                                   string
	Start                                                  time.Time
	End                                                    *time.Time
}

func (b bundle) employees(t testing.TB, tenantID uuid.UUID) []employeeRow {
	t.Helper()
	var list []employeeRow
	b.inTenant(t, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(b.ctx, `SELECT r.employer_number, coalesce(d.name, ''), e.personnel_number, e.initials,
			e.first_name, e.name_prefix, e.last_name, e.birth_date, e.bsn, e.email, e.phone, e.street, e.house_number,
			e.postal_code, e.city, e.employment_start, e.employment_end
			FROM employees e JOIN employers r ON r.id = e.employer_id LEFT JOIN departments d ON d.id = e.department_id
			ORDER BY e.personnel_number`)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, pgx.RowToStructByPos[employeeRow])
		return err
	})
	return list
}

func TestLoad(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var out bytes.Buffer
	res := b.load(t, demo.Options{Employees: 500, Out: &out})

	if !res.Created || res.Employees != 500 || res.EmployeesAdded != 500 || res.TenantName != demo.TenantName {
		t.Errorf("Result = %+v, want a created tenant %q with 500 employees added", res, demo.TenantName)
	}
	if diff := cmp.Diff(demo.Logins(), res.Logins); diff != "" {
		t.Errorf("Result.Logins (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.String(), "500 of 500 employees loaded") {
		t.Errorf("progress does not report the load:\n%s", out.String())
	}

	tenant, err := org.FindTenantByID(b.ctx, b.pool, res.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if !tenant.IsDemo || tenant.Name != demo.TenantName {
		t.Errorf("tenant = %+v, want demo tenant %q", tenant, demo.TenantName)
	}

	wantCounts := map[string]int{"employer_groups": 1, "employers": 3, "employees": 500,
		"intervention_providers": 2, "roles": len(org.DefaultRoles()), "users": 6, "user_employers": 2}
	got := b.counts(t, res.TenantID)
	delete(got, "departments") // checked per employer below
	if diff := cmp.Diff(wantCounts, got); diff != "" {
		t.Errorf("row counts (-want +got):\n%s", diff)
	}

	b.inTenant(t, res.TenantID, func(tx pgx.Tx) error {
		employers, err := org.FindAllEmployers(b.ctx, tx)
		if err != nil {
			return err
		}
		grouped, withProduct, total := 0, 0, 0
		for _, e := range employers {
			if e.GroupID != nil {
				grouped++
			}
			if e.HasProduct(org.ProductFullDossier) {
				withProduct++
			}
			depts, err := org.FindDepartments(b.ctx, tx, e.ID)
			if err != nil {
				return err
			}
			if len(depts) < 4 || len(depts) > 8 {
				t.Errorf("employer %s has %d departments, want 4-8", e.Name, len(depts))
			}
			var employees, inDepts int
			err = tx.QueryRow(b.ctx, "SELECT count(*), count(department_id) FROM employees WHERE employer_id = $1", e.ID).Scan(&employees, &inDepts)
			if err != nil {
				return err
			}
			total += employees
			if employees == 0 || inDepts != employees {
				t.Errorf("employer %s: %d employees, %d of them in its departments", e.Name, employees, inDepts)
			}
		}
		if grouped != 2 || withProduct != 1 {
			t.Errorf("%d employers in a group and %d with %q, want 2 and 1", grouped, withProduct, org.ProductFullDossier)
		}

		users, _, err := org.FindUsers(b.ctx, tx, org.UserFilter{Limit: 100})
		if err != nil {
			return err
		}
		type userFacts struct {
			Kind      access.Kind
			Role      string
			Employers int
			Provider  string
		}
		gotUsers := map[string]userFacts{}
		for _, u := range users {
			gotUsers[u.Email] = userFacts{u.Kind, u.RoleName, len(u.EmployerIDs), u.ProviderName}
		}
		wantUsers := map[string]userFacts{
			"beheerder@demo.dossierkast.nl":      {access.KindProvider, "Beheerder", 0, ""},
			"casemanager@demo.dossierkast.nl":    {access.KindProvider, "Casemanager", 0, ""},
			"bedrijfsarts@demo.dossierkast.nl":   {access.KindProvider, "Bedrijfsarts", 0, ""},
			"hr@demo.dossierkast.nl":             {access.KindEmployer, "HR-medewerker", 1, ""},
			"leidinggevende@demo.dossierkast.nl": {access.KindEmployer, "Leidinggevende", 1, ""},
			"coach@demo.dossierkast.nl":          {access.KindCoach, "Coach", 0, "Vitaal Verder Coaching"},
		}
		if diff := cmp.Diff(wantUsers, gotUsers); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		for _, u := range users {
			if u.Email == "beheerder@demo.dossierkast.nl" && len(u.Rights) != len(access.Catalogue) {
				t.Errorf("beheerder has %d rights, want all %d", len(u.Rights), len(access.Catalogue))
			}
		}
		return nil
	})

	// The printed password works.
	for _, l := range res.Logins {
		id, _, err := auth.Login(b.ctx, b.pool, auth.Attempt{Email: l.Email, Password: l.Password, Actor: audit.Actor{IP: "192.0.2.1"}})
		if err != nil || id.TenantID != res.TenantID {
			t.Errorf("Login(%s) = %+v, %v; want a log-in into the demo tenant", l.Email, id, err)
		}
	}

	checkEmployees(t, b.employees(t, res.TenantID))
}

var (
	postalCodeRE = regexp.MustCompile(`^[1-9][0-9]{3} [A-Z]{2}$`)
	phoneRE      = regexp.MustCompile(`^06-[1-9][0-9]{7}$`)
	emailRE      = regexp.MustCompile(`^[a-z0-9.-]+@[a-z0-9-]+\.example$`)
	houseRE      = regexp.MustCompile(`^[1-9][0-9]*[A-Z]?$`)
)

// checkEmployees checks that every generated employee is valid and plausible.
func checkEmployees(t *testing.T, list []employeeRow) {
	t.Helper()
	bsns := map[string]bool{}
	personnel := map[string]bool{}
	prefixed, ended := 0, 0
	for _, e := range list {
		name := fmt.Sprintf("employee %s (%s %s %s)", e.PersonnelNumber, e.FirstName, e.Prefix, e.LastName)
		if !org.ValidBSN(e.BSN) {
			t.Errorf("%s: BSN %s fails the eleven test", name, e.BSN)
		}
		if bsns[e.BSN] {
			t.Errorf("%s: BSN %s is not unique", name, e.BSN)
		}
		bsns[e.BSN] = true
		key := e.EmployerNumber + "/" + e.PersonnelNumber
		if personnel[key] {
			t.Errorf("%s: personnel number not unique at employer %s", name, e.EmployerNumber)
		}
		personnel[key] = true
		if e.FirstName == "" || e.LastName == "" || e.Department == "" {
			t.Errorf("%s: missing first name, last name or department", name)
		}
		if !strings.HasPrefix(e.Initials, strings.ToUpper(string([]rune(e.FirstName)[:1]))+".") {
			t.Errorf("%s: initials %q do not come from the first name", name, e.Initials)
		}
		if e.Prefix != "" {
			prefixed++
		}
		if y := e.BirthDate.Year(); y < 1960 || y > 2004 {
			t.Errorf("%s: born %s, want 1960-2004", name, e.BirthDate.Format(time.DateOnly))
		}
		if e.Start.Before(e.BirthDate.AddDate(18, 0, 0)) {
			t.Errorf("%s: hired %s before the age of 18", name, e.Start.Format(time.DateOnly))
		}
		if e.End != nil {
			ended++
			if e.End.Before(e.Start) {
				t.Errorf("%s: employment ends %s before it starts %s", name, e.End.Format(time.DateOnly), e.Start.Format(time.DateOnly))
			}
		}
		for field, ok := range map[string]bool{
			"postal code " + e.PostalCode:   postalCodeRE.MatchString(e.PostalCode),
			"phone " + e.Phone:              phoneRE.MatchString(e.Phone),
			"e-mail " + e.Email:             emailRE.MatchString(e.Email),
			"house number " + e.HouseNumber: houseRE.MatchString(e.HouseNumber),
			"street " + e.Street:            e.Street != "",
			"city " + e.City:                e.City != "",
		} {
			if !ok {
				t.Errorf("%s: bad %s", name, field)
			}
		}
	}
	if share := prefixed * 100 / len(list); share < 20 || share > 40 {
		t.Errorf("%d%% of names have a prefix, want about 30%%", share)
	}
	if ended == 0 || ended == len(list) {
		t.Errorf("%d of %d employments ended, want some", ended, len(list))
	}
}

func TestLoadTwiceCreatesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.load(t, demo.Options{Employees: 500})
	before := b.counts(t, first.TenantID)
	rows := b.employees(t, first.TenantID)

	for _, n := range []int{500, 100} {
		again := b.load(t, demo.Options{Employees: n})
		if again.Created || again.TenantID != first.TenantID || again.EmployeesAdded != 0 || again.Employees != 500 {
			t.Errorf("Load(%d) again = %+v, want the same tenant, 500 employees, nothing added", n, again)
		}
		if diff := cmp.Diff(before, b.counts(t, first.TenantID)); diff != "" {
			t.Errorf("row counts after Load(%d) again (-before +after):\n%s", n, diff)
		}
	}
	if diff := cmp.Diff(rows, b.employees(t, first.TenantID)); diff != "" {
		t.Errorf("employees changed (-before +after):\n%s", diff)
	}
	tenants, err := org.FindTenants(b.ctx, b.pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 {
		t.Errorf("%d tenants, want 1", len(tenants))
	}
}

// A load in two steps gives the same people as one load: generation is deterministic and a
// top-up continues the sequence.
func TestLoadTopUpIsDeterministic(t *testing.T) {
	t.Parallel()
	once, steps := setup(t), setup(t)
	a := once.load(t, demo.Options{Employees: 500})
	steps.load(t, demo.Options{Employees: 200})
	res := steps.load(t, demo.Options{Employees: 500})
	if res.Created || res.EmployeesAdded != 300 || res.Employees != 500 {
		t.Errorf("top-up Result = %+v, want 300 added to reach 500", res)
	}
	if diff := cmp.Diff(once.employees(t, a.TenantID), steps.employees(t, res.TenantID)); diff != "" {
		t.Errorf("employees of a load in one step (-) and in two (+):\n%s", diff)
	}
}

func TestLoadRefusesNonDemoTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := org.CreateTenant(b.ctx, b.pool, "Arbodienst Werkelijk", false); err != nil {
		t.Fatal(err)
	}

	_, err := demo.Load(b.ctx, b.pool, demo.Options{Employees: 10})
	if !errors.Is(err, demo.ErrNonDemoTenants) || !strings.Contains(err.Error(), "Arbodienst Werkelijk") {
		t.Fatalf("Load with a real tenant present: err = %v, want ErrNonDemoTenants naming the tenant", err)
	}
	tenants, err := org.FindTenants(b.ctx, b.pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 {
		t.Fatalf("refused Load left %d tenants, want 1", len(tenants))
	}

	res := b.load(t, demo.Options{Employees: 10, Force: true})
	if !res.Created || res.Employees != 10 {
		t.Errorf("forced Load = %+v, want a created tenant with 10 employees", res)
	}
	if got := b.counts(t, res.TenantID)["employees"]; got != 10 {
		t.Errorf("forced Load: %d employees, want 10", got)
	}
}

// Two processes starting at once (make run with several servers) make one demo tenant.
func TestLoadConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t)
	results := make(chan demo.Result, 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			res, err := demo.Load(b.ctx, b.pool, demo.Options{Employees: 50})
			results <- res
			errs <- err
		}()
	}
	a, c := <-results, <-results
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if a.TenantID != c.TenantID || a.Created == c.Created || a.EmployeesAdded+c.EmployeesAdded != 50 {
		t.Errorf("concurrent Loads = %+v and %+v, want one tenant, created once, 50 employees added once", a, c)
	}
	if got := b.counts(t, a.TenantID)["employees"]; got != 50 {
		t.Errorf("%d employees, want 50", got)
	}
}

func TestLoadRejectsBadCount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, n := range []int{-1, demo.MaxEmployees + 1} {
		if _, err := demo.Load(b.ctx, b.pool, demo.Options{Employees: n}); err == nil {
			t.Errorf("Load(Employees: %d) succeeded, want an error", n)
		}
	}
}

// BenchmarkLoad100k loads 100,000 employees into a fresh database per iteration.
func BenchmarkLoad100k(b *testing.B) {
	const n = 100_000
	for range b.N {
		b.StopTimer()
		bb := setup(b)
		b.StartTimer()
		res, err := demo.Load(bb.ctx, bb.pool, demo.Options{Employees: n})
		if err != nil {
			b.Fatal(err)
		}
		if res.EmployeesAdded != n {
			b.Fatalf("added %d employees, want %d", res.EmployeesAdded, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/load")
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "employees/s")
}

// BenchmarkLoad100kWithCaseData loads 100,000 employees with the examples and their case data
// (no documents) into a fresh database: the figure issue 4 names (under 3 minutes).
func BenchmarkLoad100kWithCaseData(b *testing.B) {
	const n = 100_000
	for range b.N {
		b.StopTimer()
		bb := setup(b)
		b.StartTimer()
		if _, err := demo.Load(bb.ctx, bb.pool, demo.Options{Employees: n, Examples: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/load")
}
