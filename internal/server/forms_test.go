package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/org"
)

// Invalid input is answered 422 with the form again, the error next to its field, and nothing
// stored.
func TestFormsRefuseInvalidInput(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, adminEmail)
	employer := employers(t, b)[0]
	role := demoRole(t, b, "Casemanager")
	validEmployee := func(change url.Values) url.Values {
		v := url.Values{"employer_id": {employer.ID.String()}, "personnel_number": {"T-100"}, "last_name": {"Testpersoon"}}
		for k, x := range change {
			v[k] = x
		}
		return v
	}
	validUser := func(change url.Values) url.Values {
		v := url.Values{"name": {"Nieuwe Collega"}, "email": {"nieuw@demo.dossierkast.nl"}, "password": {"een-lang-wachtwoord"},
			"kind": {"provider"}, "role_id": {role.ID.String()}, "language": {"nl"}}
		for k, x := range change {
			v[k] = x
		}
		return v
	}
	const (
		employeesT100 = "SELECT count(*) FROM employees WHERE personnel_number = 'T-100'"
		usersNieuw    = "SELECT count(*) FROM users WHERE email = 'nieuw@demo.dossierkast.nl'"
		casemanagers  = "SELECT count(*) FROM users WHERE email = 'casemanager@demo.dossierkast.nl' AND name = 'Mark Jansen'"
		roles         = "SELECT count(*) FROM roles"
	)
	tests := []struct {
		name  string
		path  string
		form  url.Values
		field string // the field whose error shows; "" for the summary above the form
		msg   string // message key
		count string // a count the request must leave as it was
	}{
		{"EmployeeBadBSN", "/employees", validEmployee(url.Values{"bsn": {"123456789"}}), "bsn", "employee.error.bsn", employeesT100},
		{"EmployeeShortBSN", "/employees", validEmployee(url.Values{"bsn": {"12345"}}), "bsn", "employee.error.bsn", employeesT100},
		{"EmployeeBadPostalCode", "/employees", validEmployee(url.Values{"postal_code": {"12345"}}), "postal_code", "employee.error.postal_code", employeesT100},
		{"EmployeeNoLastName", "/employees", validEmployee(url.Values{"last_name": {" "}}), "last_name", "error.required", employeesT100},
		{"EmployeeBadBirthDate", "/employees", validEmployee(url.Values{"birth_date": {"31-02-1980"}}), "birth_date", "error.date", employeesT100},
		{"EmployeeEndBeforeStart", "/employees", validEmployee(url.Values{"employment_start": {"2020-03-01"}, "employment_end": {"2019-03-01"}}),
			"employment_end", "employee.error.end_before_start", employeesT100},
		{"EmployeeMalformedEmployer", "/employees", validEmployee(url.Values{"employer_id": {"not-a-uuid"}}), "employer_id", "error.choose", employeesT100},
		{"EmployeeUnknownDepartment", "/employees", validEmployee(url.Values{"department_id": {uuid.Must(uuid.NewV7()).String()}}),
			"department_id", "employee.error.department", employeesT100},
		{"UserShortPassword", "/admin/users", validUser(url.Values{"password": {"kort"}}), "password", "user.error.password_short", usersNieuw},
		{"UserBadEmail", "/admin/users", validUser(url.Values{"email": {"geen-adres"}}), "email", "error.email", "SELECT count(*) FROM users WHERE email = 'geen-adres'"},
		{"UserDuplicateEmail", "/admin/users", validUser(url.Values{"email": {"casemanager@demo.dossierkast.nl"}}), "", "error.conflict", casemanagers},
		{"UserDuplicateEmailOtherCase", "/admin/users", validUser(url.Values{"email": {"CaseManager@Demo.Dossierkast.nl"}}), "", "error.conflict", casemanagers},
		{"UserRoleOfOtherKind", "/admin/users", validUser(url.Values{"role_id": {demoRole(t, b, "Coach").ID.String()}}), "role_id", "user.error.role_kind", usersNieuw},
		{"EmployerNoName", "/employers", url.Values{"name": {""}, "employer_number": {"990100"}}, "name", "error.required",
			"SELECT count(*) FROM employers WHERE employer_number = '990100'"},
		{"EmployerDuplicateNumber", "/employers", url.Values{"name": {"Dubbel B.V."}, "employer_number": {employer.EmployerNumber}}, "", "error.conflict",
			"SELECT count(*) FROM employers WHERE name = 'Dubbel B.V.'"},
		{"RoleNoName", "/admin/roles", url.Values{"name": {" "}, "kind": {"provider"}}, "name", "error.required", roles},
		{"RoleDuplicateName", "/admin/roles", url.Values{"name": {"Casemanager"}, "kind": {"provider"}}, "", "error.conflict", roles},
		{"DepartmentNoName", "/employers/" + employer.ID.String() + "/departments", url.Values{"name": {""}}, "name", "error.required",
			"SELECT count(*) FROM departments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := countRows(t, b, tt.count)
			resp, doc := b.postPage(t, c, tt.path, tt.form)
			want := http.StatusUnprocessableEntity
			if tt.msg == "error.conflict" { // a clash with existing data, as on every other form
				want = http.StatusConflict
			}
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
			if got, want := fieldError(doc, tt.field), nl(tt.msg); got != want {
				t.Errorf("error shown for %q = %q, want %q", tt.field, got, want)
			}
			if after := countRows(t, b, tt.count); after != before {
				t.Errorf("%s: %d before, %d after", tt.count, before, after)
			}
		})
	}
}

// Valid input is stored and answered with a redirect to the page that shows it.
func TestFormsCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, adminEmail)
	employer := employers(t, b)[0]
	role := demoRole(t, b, "Casemanager")
	ctx := context.Background()
	tests := []struct {
		name     string
		path     string
		form     url.Values
		location string // prefix of the redirect; the new record's id follows it
		stored   func(t *testing.T, tx pgx.Tx, id uuid.UUID) error
	}{
		{
			name: "Employer", path: "/employers", location: "/employers/",
			form: url.Values{"name": {"Nieuw B.V."}, "employer_number": {"990200"}, "products": {org.Products[0]}},
			stored: func(t *testing.T, tx pgx.Tx, id uuid.UUID) error {
				e, err := org.FindEmployerByID(ctx, tx, id)
				if err == nil && (e.Name != "Nieuw B.V." || e.EmployerNumber != "990200" || len(e.Products) != 1) {
					t.Errorf("stored employer = %+v", e)
				}
				return err
			},
		},
		{
			name: "Employee", path: "/employees", location: "/employees/",
			form: url.Values{"employer_id": {employer.ID.String()}, "personnel_number": {"T-200"}, "first_name": {"Anouk"},
				"name_prefix": {"van der"}, "last_name": {"Berg"}, "bsn": {"111222333"}, "postal_code": {"1234 ab"},
				"birth_date": {"2-1-1980"}},
			stored: func(t *testing.T, tx pgx.Tx, id uuid.UUID) error {
				e, err := org.FindEmployeeByID(ctx, tx, id)
				if err != nil {
					return err
				}
				if e.EmployerID != employer.ID || e.FullName() != "Anouk van der Berg" || e.BSN != "111222333" ||
					e.PostalCode != "1234 AB" || e.BirthDate == nil || e.BirthDate.Format("2006-01-02") != "1980-01-02" {
					t.Errorf("stored employee = %+v", e)
				}
				return nil
			},
		},
		{
			name: "User", path: "/admin/users", location: "/admin/users/",
			form: url.Values{"name": {"Nieuwe Collega"}, "email": {"Nieuw@Demo.Dossierkast.nl"}, "password": {"een-lang-wachtwoord"},
				"kind": {"provider"}, "role_id": {role.ID.String()}, "language": {"en"}},
			stored: func(t *testing.T, tx pgx.Tx, id uuid.UUID) error {
				u, err := org.FindUserByID(ctx, tx, id)
				if err == nil && (u.Email != "nieuw@demo.dossierkast.nl" || u.RoleID != role.ID || u.Language != "en" ||
					u.Status != org.StatusActive) {
					t.Errorf("stored user = %+v", u)
				}
				return err
			},
		},
		{
			name: "Role", path: "/admin/roles", location: "/admin/roles#role-",
			form: url.Values{"name": {"Verzuimconsulent"}, "kind": {"employer"}, "rights": {"employee_dossier.view", "documents.upload"}},
			stored: func(t *testing.T, tx pgx.Tx, id uuid.UUID) error {
				r, err := org.FindRoleByID(ctx, tx, id)
				if err == nil && (r.Name != "Verzuimconsulent" || r.Kind != "employer" || len(r.Rights) != 2) {
					t.Errorf("stored role = %+v", r)
				}
				return err
			},
		},
		{
			// A role may start without rights; they are ticked in the matrix later.
			name: "RoleWithoutRights", path: "/admin/roles", location: "/admin/roles#role-",
			form: url.Values{"name": {"Nog zonder rechten"}, "kind": {"provider"}},
			stored: func(t *testing.T, tx pgx.Tx, id uuid.UUID) error {
				r, err := org.FindRoleByID(ctx, tx, id)
				if err == nil && (r.Name != "Nog zonder rechten" || len(r.Rights) != 0) {
					t.Errorf("stored role = %+v", r)
				}
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := b.post(t, c, tt.path, tt.form)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, tt.location) {
				t.Fatalf("status %d, location %q; want 303 to %s…", resp.StatusCode, loc, tt.location)
			}
			id, err := uuid.Parse(strings.TrimPrefix(loc, tt.location))
			if err != nil {
				t.Fatalf("location %q names no id", loc)
			}
			b.inTenant(t, func(tx pgx.Tx) error { return tt.stored(t, tx, id) })
		})
	}

	t.Run("RoleRightsCleared", func(t *testing.T) {
		t.Parallel()
		role := demoRole(t, b, "Bedrijfsarts")
		wantRedirect(t, b.post(t, c, "/admin/roles/"+role.ID.String(), url.Values{"name": {"Bedrijfsarts"}}),
			"/admin/roles#role-"+role.ID.String())
		if got := demoRole(t, b, "Bedrijfsarts").Rights; len(got) != 0 {
			t.Errorf("rights after clearing = %v, want none", got)
		}
	})

	t.Run("Department", func(t *testing.T) {
		t.Parallel()
		path := "/employers/" + employer.ID.String()
		wantRedirect(t, b.post(t, c, path+"/departments", url.Values{"name": {"Nieuwe afdeling"}}), path)
		if n := countRows(t, b, "SELECT count(*) FROM departments WHERE name = 'Nieuwe afdeling' AND employer_id = '"+employer.ID.String()+"'"); n != 1 {
			t.Errorf("departments stored = %d, want 1", n)
		}
	})
}

// A user's mistake gets a Dutch page with the right status, never a 500.
func TestFormsUserMistakes(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, adminEmail)
	self := demoUser(t, b, adminEmail)
	tests := []struct {
		name   string
		method string
		path   string
		form   url.Values
		status int
		h1     string // message key of the page's heading
	}{
		{"EmployeeMalformedEmployer", http.MethodPost, "/employees", url.Values{"employer_id": {"not-a-uuid"},
			"personnel_number": {"T-1"}, "last_name": {"X"}}, http.StatusUnprocessableEntity, "employee.new"},
		{"NegativeOffset", http.MethodGet, "/employees?offset=-5", nil, http.StatusOK, "employee.list.title"},
		{"TextOffset", http.MethodGet, "/employees?offset=veel", nil, http.StatusOK, "employee.list.title"},
		{"HugeOffset", http.MethodGet, "/employees?offset=99999999999999999999", nil, http.StatusOK, "employee.list.title"},
		{"MalformedEmployerID", http.MethodGet, "/employers/not-a-uuid", nil, http.StatusNotFound, "error.title.404"},
		{"UnknownEmployerID", http.MethodGet, "/employers/" + uuid.Must(uuid.NewV7()).String(), nil, http.StatusNotFound, "error.title.404"},
		{"UnknownEmployerFilter", http.MethodGet, "/employees?employer=" + uuid.Must(uuid.NewV7()).String(), nil, http.StatusNotFound, "error.title.404"},
		{"UnknownDepartmentFilter", http.MethodGet, "/employees?department=" + uuid.Must(uuid.NewV7()).String(), nil, http.StatusNotFound, "error.title.404"},
		{"UnknownPage", http.MethodGet, "/bestaat-niet", nil, http.StatusNotFound, "error.title.404"},
		{"AuditBadDate", http.MethodGet, "/admin/audit?from=gisteren", nil, http.StatusUnprocessableEntity, "audit.title"},
		{"AuditBadEmployee", http.MethodGet, "/admin/audit?employee=pi", nil, http.StatusUnprocessableEntity, "audit.title"},
		{"AuditCSVBadDate", http.MethodGet, "/admin/audit.csv?until=morgen", nil, http.StatusUnprocessableEntity, "error.title.422"},
		{"JobsBadCursor", http.MethodGet, "/admin/jobs?after=rommel", nil, http.StatusBadRequest, "error.title.400"},
		{"BlockSelf", http.MethodPost, "/admin/users/" + self.ID.String() + "/block", nil, http.StatusUnprocessableEntity, "error.title.422"},
		{"UnknownLanguage", http.MethodPost, "/language", url.Values{"language": {"fr"}}, http.StatusUnprocessableEntity, "error.title.422"},
		{"RoleUnknownRight", http.MethodPost, "/admin/roles", url.Values{"name": {"Raar"}, "kind": {"provider"}, "rights": {"alles.mogen"}},
			http.StatusUnprocessableEntity, "role.title"},
		{"RoleUnknownKind", http.MethodPost, "/admin/roles", url.Values{"name": {"Raar"}, "kind": {"robot"}}, http.StatusUnprocessableEntity, "role.title"},
		{"UserMalformedRole", http.MethodPost, "/admin/users", url.Values{"name": {"X"}, "email": {"x@demo.dossierkast.nl"},
			"password": {"een-lang-wachtwoord"}, "kind": {"provider"}, "role_id": {"rol"}}, http.StatusUnprocessableEntity, "user.new"},
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
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			if got, want := textOf(doc, "main h1"), nl(tt.h1); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
			if lang := doc.Find("html").AttrOr("lang", ""); lang != "nl" {
				t.Errorf("html lang = %q, want nl", lang)
			}
		})
	}

	t.Run("MalformedFormBody", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/employers", strings.NewReader("name=%zz"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want %d", resp.StatusCode, http.StatusBadRequest)
		}
		if got, want := textOf(doc, "#error-message"), nl("error.bad_form"); got != want {
			t.Errorf("#error-message = %q, want %q", got, want)
		}
	})
}

// fieldError returns the error shown for a form field, or the summary above the form when field
// is "".
func fieldError(doc *goquery.Document, field string) string {
	if field == "" {
		return textOf(doc, "main .error-summary")
	}
	if s := doc.Find("#e-" + field); s.Length() > 0 {
		return strings.TrimSpace(s.Text())
	}
	// Selects and checkbox groups show their error inside the field's container.
	return strings.TrimSpace(doc.Find("#f-" + field).Closest(".field").Find("p.error").Text())
}

// countRows runs a count query in the demo tenant.
func countRows(t *testing.T, b *testBundle, query string) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), query).Scan(&n)
	})
	return n
}

// A refused change shows its form again with what the user entered, and an edit form still
// edits the same record.
func TestFormsKeepInputWhenRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, adminEmail)
	employer := employers(t, b)[0]
	employee := employeesOf(t, b, employer.ID)[0]
	var depts []org.Department
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		depts, err = org.FindDepartments(context.Background(), tx, employer.ID)
		return err
	})
	if len(depts) < 2 {
		t.Fatalf("employer %s has %d departments, want two or more", employer.Name, len(depts))
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		action string // the form that is shown again
		field  string // a field that keeps its value
	}{
		{"NewEmployee", "/employees", url.Values{"employer_id": {employer.ID.String()}, "personnel_number": {"T-200"},
			"last_name": {"Testpersoon"}, "bsn": {"123456789"}}, http.StatusUnprocessableEntity, "/employees", "last_name"},
		{"EditEmployee", "/employees/" + employee.ID.String(), url.Values{"personnel_number": {"T-201"},
			"last_name": {"Testpersoon"}, "bsn": {"123456789"}}, http.StatusUnprocessableEntity, "/employees/" + employee.ID.String(), "last_name"},
		{"NewEmployer", "/employers", url.Values{"name": {"Dubbel B.V."}, "employer_number": {employer.EmployerNumber}},
			http.StatusConflict, "/employers", "name"},
		{"NewDepartment", "/employers/" + employer.ID.String() + "/departments", url.Values{"name": {depts[0].Name}},
			http.StatusConflict, "/employers/" + employer.ID.String() + "/departments", "name"},
		{"EditDepartment", "/departments/" + depts[1].ID.String(), url.Values{"name": {depts[0].Name}},
			http.StatusConflict, "/departments/" + depts[1].ID.String(), "name"},
		{"NewRole", "/admin/roles", url.Values{"name": {"Casemanager"}, "kind": {"provider"}}, http.StatusConflict, "/admin/roles", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, doc := b.postPage(t, c, tt.path, tt.form)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			form := doc.Find(`main form[method="post"][action="` + tt.action + `"]`)
			if form.Length() != 1 {
				t.Fatalf("%d forms posting to %s, want 1", form.Length(), tt.action)
			}
			if got, want := form.Find(`[name="`+tt.field+`"]`).AttrOr("value", ""), tt.form.Get(tt.field); got != want {
				t.Errorf("%s = %q, want %q", tt.field, got, want)
			}
		})
	}
}
