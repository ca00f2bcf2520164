package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

// A provider user reaches every employee, but without employee_dossier.view he may not open one.
func TestEmployeePageNeedsDossierRight(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	email := "zonder-dossier@demo.dossierkast.nl"
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Zonder dossier", Kind: access.KindProvider,
			Rights: []access.Right{access.EmployerDossierView, access.DocumentsUpload, access.EmployeesAll}})
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(demo.Password)
		if err != nil {
			return err
		}
		_, err = org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: email, Name: "Zonder Dossier", Kind: access.KindProvider,
			RoleID: role.ID, Language: "nl"}, hash)
		return err
	})
	employee := employeesOf(t, b, uuid.Nil)[0]
	c := b.login(t, email)
	tests := []struct{ name, path string }{
		{"EmployeePage", "/employees/" + employee.ID.String()},
		{"EmployeeList", "/employees"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			resp, doc := b.get(t, c, path)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, http.StatusForbidden)
			}
			if got, want := textOf(doc, "h1"), nl("error.title.403"); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
		})
	}
	if n := b.auditCount(t, audit.EmployeeViewed); n != 0 {
		t.Errorf("employee.viewed events = %d, want 0", n)
	}
}

// An employer user reaches only his own employer and its employees; the rest does not exist
// for him.
func TestEmployerUserReach(t *testing.T) {
	t.Parallel()
	b := setup(t, 30)
	hr := demoUser(t, b, "hr@demo.dossierkast.nl")
	if len(hr.EmployerIDs) != 1 {
		t.Fatalf("hr@ has employers %v, want one", hr.EmployerIDs)
	}
	own := hr.EmployerIDs[0]
	if len(employeesOf(t, b, own)) == 0 {
		t.Fatal("the employer of hr@ has no employees")
	}
	var other uuid.UUID
	for _, e := range employers(t, b) {
		if e.ID != own && len(employeesOf(t, b, e.ID)) > 0 {
			other = e.ID
			break
		}
	}
	if other == uuid.Nil {
		t.Fatal("the demo has no other employer with employees")
	}
	c := b.login(t, "hr@demo.dossierkast.nl")

	t.Run("OtherEmployerNotFound", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{
			"/employers/" + other.String(),
			"/employees/" + employeesOf(t, b, other)[0].ID.String(),
			"/employees?employer=" + other.String(),
			"/employees?department=" + departmentOf(t, b, other).String(),
		} {
			resp, doc := b.get(t, c, path)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, http.StatusNotFound)
			}
			if got, want := textOf(doc, "#error-message"), nl("error.not_found"); got != want {
				t.Errorf("GET %s: #error-message = %q, want %q", path, got, want)
			}
		}
	})

	t.Run("OwnEmployerVisible", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/employers/" + own.String(), "/employees/" + employeesOf(t, b, own)[0].ID.String()} {
			if resp, _ := b.get(t, c, path); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
			}
		}
	})

	t.Run("ListHoldsOwnEmployeesOnly", func(t *testing.T) {
		t.Parallel()
		var want []string
		for _, e := range employeesOf(t, b, own) {
			want = append(want, "/employees/"+e.ID.String())
		}
		_, doc := b.get(t, c, "/employees")
		got := doc.Find("#employees tbody tr td:first-child a").Map(func(_ int, s *goquery.Selection) string {
			return s.AttrOr("href", "")
		})
		if diff := cmp.Diff(sortedStrings(want), sortedStrings(got)); diff != "" {
			t.Errorf("employees listed for hr@ (-want +got):\n%s", diff)
		}
	})
}

// A coach reaches nobody by default: an empty list, and every employee or employer is absent.
func TestCoachReachesNobody(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	c := b.login(t, "coach@demo.dossierkast.nl")

	t.Run("EmptyEmployeeList", func(t *testing.T) {
		t.Parallel()
		// The Coach role holds employee_dossier.view, so the list opens, but it is empty.
		resp, doc := b.get(t, c, "/employees")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /employees = %d, want 200", resp.StatusCode)
		}
		if n := doc.Find("#employees tbody tr").Length(); n != 0 {
			t.Errorf("employees listed = %d, want 0", n)
		}
		if doc.Find("p.empty").Length() != 1 {
			t.Error("no empty-list notice")
		}
	})

	t.Run("EmployeesNotFound", func(t *testing.T) {
		t.Parallel()
		for _, e := range employeesOf(t, b, uuid.Nil) {
			if resp, _ := b.get(t, c, "/employees/"+e.ID.String()); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET /employees/%s = %d, want %d", e.ID, resp.StatusCode, http.StatusNotFound)
			}
		}
	})

	t.Run("EmployersNotFound", func(t *testing.T) {
		t.Parallel()
		for _, e := range employers(t, b) {
			if resp, _ := b.get(t, c, "/employers/"+e.ID.String()); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET /employers/%s = %d, want %d", e.ID, resp.StatusCode, http.StatusNotFound)
			}
		}
	})
}

// A user without the administration rights is refused every administration page and every
// change to the organisation, and nothing is stored.
func TestNonAdminRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	self := demoUser(t, b, "leidinggevende@demo.dossierkast.nl")
	employer := self.EmployerIDs[0]
	dept := departmentOf(t, b, employer)
	user, role := self.ID.String(), self.RoleID.String()
	tests := []struct {
		name   string
		method string
		path   string
		form   url.Values
	}{
		{"ListUsers", http.MethodGet, "/admin/users", nil},
		{"NewUser", http.MethodGet, "/admin/users/new", nil},
		{"EditUser", http.MethodGet, "/admin/users/" + user, nil},
		{"Roles", http.MethodGet, "/admin/roles", nil},
		{"Audit", http.MethodGet, "/admin/audit", nil},
		{"AuditCSV", http.MethodGet, "/admin/audit.csv", nil},
		{"Jobs", http.MethodGet, "/admin/jobs", nil},
		{"Outbox", http.MethodGet, "/admin/outbox", nil},
		{"NewEmployer", http.MethodGet, "/employers/new", nil},
		{"EditEmployer", http.MethodGet, "/employers/" + employer.String() + "/edit", nil},
		{"NewEmployee", http.MethodGet, "/employees/new", nil},
		{"EditDepartment", http.MethodGet, "/departments/" + dept.String() + "/edit", nil},
		{"CreateUser", http.MethodPost, "/admin/users", url.Values{"name": {"Indringer"}, "email": {"indringer@demo.dossierkast.nl"},
			"password": {"een-lang-wachtwoord"}, "kind": {"provider"}, "role_id": {role}, "language": {"nl"}}},
		{"UpdateUser", http.MethodPost, "/admin/users/" + user, url.Values{"name": {"Gewijzigd"}, "email": {self.Email},
			"kind": {"employer"}, "role_id": {role}, "employer_ids": {employer.String()}, "language": {"nl"}}},
		{"BlockUser", http.MethodPost, "/admin/users/" + user + "/block", nil},
		{"UnblockUser", http.MethodPost, "/admin/users/" + user + "/unblock", nil},
		{"CreateRole", http.MethodPost, "/admin/roles", url.Values{"name": {"Alles"}, "kind": {"employer"}, "rights": {"users.manage"}}},
		{"UpdateRole", http.MethodPost, "/admin/roles/" + role, url.Values{"name": {"Leidinggevende"}, "rights": {"users.manage", "roles.manage"}}},
		{"RetryJob", http.MethodPost, "/admin/jobs/1/retry", nil},
		{"CancelJob", http.MethodPost, "/admin/jobs/1/cancel", nil},
		{"SendTestMail", http.MethodPost, "/admin/outbox/test", url.Values{"to": {"iemand@example.com"}}},
		{"CreateEmployer", http.MethodPost, "/employers", url.Values{"name": {"Nieuw B.V."}, "employer_number": {"990001"}}},
		{"UpdateEmployer", http.MethodPost, "/employers/" + employer.String(), url.Values{"name": {"Hernoemd"}, "employer_number": {"990002"}}},
		{"CreateEmployee", http.MethodPost, "/employees", url.Values{"employer_id": {employer.String()}, "personnel_number": {"X1"}, "last_name": {"Nieuw"}}},
		{"CreateDepartment", http.MethodPost, "/employers/" + employer.String() + "/departments", url.Values{"name": {"Nieuwe afdeling"}}},
		{"UpdateDepartment", http.MethodPost, "/departments/" + dept.String(), url.Values{"name": {"Hernoemd"}}},
	}
	c := b.login(t, "leidinggevende@demo.dossierkast.nl")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var resp *http.Response
			var doc *goquery.Document
			if tt.method == http.MethodGet {
				resp, doc = b.get(t, c, tt.path)
			} else {
				resp, doc = b.postPage(t, c, tt.path, tt.form)
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, http.StatusForbidden)
			}
			if got, want := textOf(doc, "h1"), nl("error.title.403"); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
		})
	}
	t.Cleanup(func() {
		// Runs after the parallel subtests: none of the refused requests left a trace. (The demo's
		// own events, made by the system, come from no address.)
		for _, action := range audit.Actions {
			if action == audit.LoginSucceeded {
				continue
			}
			var n int
			b.inTenant(t, func(tx pgx.Tx) error {
				return tx.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE action = $1 AND ip <> ''",
					action).Scan(&n)
			})
			if n != 0 {
				t.Errorf("%s events of requests = %d, want 0", action, n)
			}
		}
		if got := demoUser(t, b, self.Email); got.Name != self.Name || got.Status != org.StatusActive {
			t.Errorf("leidinggevende@ changed: name %q, status %q", got.Name, got.Status)
		}
	})
}

// Ids of another tenant's records do not exist, whatever the user's rights; malformed ids neither.
func TestOtherTenantAndMalformedIDsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	ctx := context.Background()
	other, err := org.CreateTenant(ctx, b.db.Pool, "Andere arbodienst", false)
	if err != nil {
		t.Fatal(err)
	}
	var employer org.Employer
	var dept org.Department
	var employee org.Employee
	var user org.User
	var role org.Role
	err = database.InTenant(ctx, b.db.Pool, other.ID, func(tx pgx.Tx) (err error) {
		if employer, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Vreemd B.V.", EmployerNumber: "777001"}); err != nil {
			return err
		}
		if dept, err = org.CreateDepartment(ctx, tx, access.System(audit.Actor{}), org.Department{EmployerID: employer.ID, Name: "Vreemde afdeling"}); err != nil {
			return err
		}
		if employee, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: employer.ID, PersonnelNumber: "V1",
			LastName: "Vreemd"}); err != nil {
			return err
		}
		if role, err = org.FindRoleByName(ctx, tx, "Beheerder"); err != nil {
			return err
		}
		hash, err := auth.HashPassword(demo.Password)
		if err != nil {
			return err
		}
		user, err = org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: "beheerder@andere.example", Name: "Andere Beheerder",
			Kind: access.KindProvider, RoleID: role.ID, Language: "nl"}, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	tests := []struct {
		name   string
		method string
		path   string
		form   url.Values
	}{
		{"OtherEmployee", http.MethodGet, "/employees/" + employee.ID.String(), nil},
		{"OtherEmployeeEdit", http.MethodGet, "/employees/" + employee.ID.String() + "/edit", nil},
		{"OtherEmployeeUpdate", http.MethodPost, "/employees/" + employee.ID.String(), url.Values{"personnel_number": {"V1"}, "last_name": {"Overgenomen"}}},
		{"OtherEmployer", http.MethodGet, "/employers/" + employer.ID.String(), nil},
		{"OtherEmployerEdit", http.MethodGet, "/employers/" + employer.ID.String() + "/edit", nil},
		{"OtherEmployerUpdate", http.MethodPost, "/employers/" + employer.ID.String(), url.Values{"name": {"Overgenomen"}, "employer_number": {"777001"}}},
		{"OtherEmployerFilter", http.MethodGet, "/employees?employer=" + employer.ID.String(), nil},
		{"OtherEmployerNewDepartment", http.MethodPost, "/employers/" + employer.ID.String() + "/departments", url.Values{"name": {"Ingebroken"}}},
		{"OtherDepartmentEdit", http.MethodGet, "/departments/" + dept.ID.String() + "/edit", nil},
		{"OtherDepartmentUpdate", http.MethodPost, "/departments/" + dept.ID.String(), url.Values{"name": {"Overgenomen"}}},
		{"OtherDepartmentFilter", http.MethodGet, "/employees?department=" + dept.ID.String(), nil},
		{"OtherUser", http.MethodGet, "/admin/users/" + user.ID.String(), nil},
		{"OtherUserBlock", http.MethodPost, "/admin/users/" + user.ID.String() + "/block", nil},
		{"OtherRoleUpdate", http.MethodPost, "/admin/roles/" + role.ID.String(), url.Values{"name": {"Overgenomen"}}},
		{"MalformedEmployee", http.MethodGet, "/employees/not-a-uuid", nil},
		{"MalformedEmployeeUpdate", http.MethodPost, "/employees/12345", url.Values{"personnel_number": {"1"}, "last_name": {"X"}}},
		{"MalformedEmployer", http.MethodGet, "/employers/not-a-uuid", nil},
		{"MalformedDepartment", http.MethodGet, "/departments/1/edit", nil},
		{"MalformedUser", http.MethodGet, "/admin/users/xyz", nil},
		{"MalformedUserBlock", http.MethodPost, "/admin/users/xyz/block", nil},
		{"MalformedRole", http.MethodPost, "/admin/roles/xyz", url.Values{"name": {"X"}}},
		{"MalformedJob", http.MethodPost, "/admin/jobs/abc/retry", nil},
		{"UnknownEmployee", http.MethodGet, "/employees/" + uuid.Must(uuid.NewV7()).String(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var resp *http.Response
			var doc *goquery.Document
			if tt.method == http.MethodGet {
				resp, doc = b.get(t, c, tt.path)
			} else {
				resp, doc = b.postPage(t, c, tt.path, tt.form)
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, http.StatusNotFound)
			}
			if got, want := textOf(doc, "h1"), nl("error.title.404"); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
		})
	}
	t.Cleanup(func() {
		// The other tenant's records are as they were.
		err := database.InTenant(ctx, b.db.Pool, other.ID, func(tx pgx.Tx) error {
			e, err := org.FindEmployeeByID(ctx, tx, employee.ID)
			if err != nil {
				return err
			}
			r, err := org.FindEmployerByID(ctx, tx, employer.ID)
			if err != nil {
				return err
			}
			d, err := org.FindDepartmentByID(ctx, tx, dept.ID)
			if err != nil {
				return err
			}
			u, err := org.FindUserByID(ctx, tx, user.ID)
			if err != nil {
				return err
			}
			ro, err := org.FindRoleByID(ctx, tx, role.ID)
			if err != nil {
				return err
			}
			depts, err := org.FindDepartments(ctx, tx, employer.ID)
			if err != nil {
				return err
			}
			got := []any{e.LastName, r.Name, d.Name, u.Status, ro.Name, len(depts)}
			want := []any{"Vreemd", "Vreemd B.V.", "Vreemde afdeling", org.StatusActive, "Beheerder", 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("other tenant's records changed (-want +got):\n%s", diff)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
}

// employers returns the demo tenant's employers.
func employers(t *testing.T, b *testBundle) []org.Employer {
	t.Helper()
	var list []org.Employer
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		list, err = org.FindAllEmployers(context.Background(), tx)
		return err
	})
	return list
}

// employeesOf returns the demo tenant's employees of one employer, or of all when employerID is
// Nil.
func employeesOf(t *testing.T, b *testBundle, employerID uuid.UUID) []org.Employee {
	t.Helper()
	var list []org.Employee
	b.inTenant(t, func(tx pgx.Tx) error {
		q := "SELECT id, employer_id, last_name FROM employees WHERE $1::uuid IS NULL OR employer_id = $1 ORDER BY id"
		var arg *uuid.UUID
		if employerID != uuid.Nil {
			arg = &employerID
		}
		rows, err := tx.Query(context.Background(), q, arg)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (org.Employee, error) {
			var e org.Employee
			err := r.Scan(&e.ID, &e.EmployerID, &e.LastName)
			return e, err
		})
		return err
	})
	return list
}

// departmentOf returns the id of one of the employer's departments.
func departmentOf(t *testing.T, b *testBundle, employerID uuid.UUID) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		depts, err := org.FindDepartments(context.Background(), tx, employerID)
		if err == nil && len(depts) > 0 {
			id = depts[0].ID
		}
		return err
	})
	if id == uuid.Nil {
		t.Fatalf("employer %s has no department", employerID)
	}
	return id
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}
