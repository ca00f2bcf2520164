package server_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

const adminEmail = "beheerder@demo.dossierkast.nl"

// Each audited action leaves exactly one event, with the right action key, actor and subject.
func TestAuditOneEventPerAction(t *testing.T) {
	t.Parallel()
	asAdmin := func(t *testing.T, b *testBundle) *http.Client { return b.login(t, adminEmail) }
	anonymous := func(t *testing.T, b *testBundle) *http.Client { return b.client(t) }
	// act does the action and returns the subject and the acting user the event must name (Nil:
	// none).
	tests := []struct {
		name    string
		action  string
		prepare func(t *testing.T, b *testBundle) *http.Client
		act     func(t *testing.T, b *testBundle, c *http.Client) (subject, actor uuid.UUID)
	}{
		{"LoginSucceeded", audit.LoginSucceeded, anonymous, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			u := demoUser(t, b, adminEmail)
			wantRedirect(t, b.post(t, c, "/login", url.Values{"email": {adminEmail}, "password": {demo.Password}}), "/")
			return u.ID, u.ID
		}},
		{"LoginFailed", audit.LoginFailed, anonymous, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			u := demoUser(t, b, "casemanager@demo.dossierkast.nl")
			resp := b.post(t, c, "/login", url.Values{"email": {u.Email}, "password": {"wrong-password"}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("log in with a wrong password: status %d, want %d", resp.StatusCode, http.StatusUnauthorized)
			}
			return u.ID, uuid.Nil
		}},
		{"Logout", audit.Logout, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			u := demoUser(t, b, adminEmail)
			wantRedirect(t, b.post(t, c, "/logout", nil), "/login")
			return u.ID, u.ID
		}},
		{"UserCreated", audit.UserCreated, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			role := demoRole(t, b, "Casemanager")
			resp := b.post(t, c, "/admin/users", url.Values{"name": {"Nieuwe Collega"}, "email": {"nieuw@demo.dossierkast.nl"},
				"password": {demo.Password}, "kind": {"provider"}, "role_id": {role.ID.String()}, "language": {"nl"}})
			created := demoUser(t, b, "nieuw@demo.dossierkast.nl")
			wantRedirect(t, resp, "/admin/users/"+created.ID.String())
			return created.ID, demoUser(t, b, adminEmail).ID
		}},
		{"UserUpdated", audit.UserUpdated, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			u := demoUser(t, b, "casemanager@demo.dossierkast.nl")
			path := "/admin/users/" + u.ID.String()
			wantRedirect(t, b.post(t, c, path, url.Values{"name": {"Mark Jansen-de Vries"}, "email": {u.Email},
				"kind": {"provider"}, "role_id": {u.RoleID.String()}, "language": {"nl"}}), path)
			if got := demoUser(t, b, u.Email).Name; got != "Mark Jansen-de Vries" {
				t.Errorf("name after update = %q", got)
			}
			return u.ID, demoUser(t, b, adminEmail).ID
		}},
		{"UserBlocked", audit.UserBlocked, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			u := demoUser(t, b, "casemanager@demo.dossierkast.nl")
			wantRedirect(t, b.post(t, c, "/admin/users/"+u.ID.String()+"/block", nil), "/admin/users/"+u.ID.String())
			if got := demoUser(t, b, u.Email).Status; got != org.StatusBlocked {
				t.Errorf("status after block = %q", got)
			}
			return u.ID, demoUser(t, b, adminEmail).ID
		}},
		{"RoleCreated", audit.RoleCreated, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			resp := b.post(t, c, "/admin/roles", url.Values{"name": {"Verzuimconsulent"}, "kind": {"provider"},
				"rights": {"employee_dossier.view", "documents.upload"}})
			role := demoRole(t, b, "Verzuimconsulent")
			wantRedirect(t, resp, "/admin/roles#role-"+role.ID.String())
			return role.ID, demoUser(t, b, adminEmail).ID
		}},
		{"RoleUpdated", audit.RoleUpdated, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			role := demoRole(t, b, "Casemanager")
			wantRedirect(t, b.post(t, c, "/admin/roles/"+role.ID.String(), url.Values{"name": {"Casemanager"},
				"rights": {"employee_dossier.view"}}), "/admin/roles#role-"+role.ID.String())
			return role.ID, demoUser(t, b, adminEmail).ID
		}},
		{"EmployeeViewed", audit.EmployeeViewed, asAdmin, func(t *testing.T, b *testBundle, c *http.Client) (uuid.UUID, uuid.UUID) {
			e := employeesOf(t, b, uuid.Nil)[0]
			if resp, _ := b.get(t, c, "/employees/"+e.ID.String()); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET employee page = %d, want 200", resp.StatusCode)
			}
			return e.ID, demoUser(t, b, adminEmail).ID
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 3)
			c := tt.prepare(t, b)
			before, beforeAll := b.auditCount(t, tt.action), auditTotal(t, b)
			subject, actor := tt.act(t, b, c)
			if got := b.auditCount(t, tt.action) - before; got != 1 {
				t.Fatalf("%s events added = %d, want 1", tt.action, got)
			}
			if got := auditTotal(t, b) - beforeAll; got != 1 {
				t.Errorf("audit events added in all = %d, want 1", got)
			}
			e := auditEvents(t, b, audit.Filter{Action: tt.action})[0]
			if e.SubjectID == nil || *e.SubjectID != subject {
				t.Errorf("subject = %v, want %s", e.SubjectID, subject)
			}
			if got := uuidOrNil(e.UserID); got != actor {
				t.Errorf("acting user = %s, want %s", got, actor)
			}
			if tt.action == audit.EmployeeViewed && uuidOrNil(e.EmployeeID) != subject {
				t.Errorf("employee = %v, want %s", e.EmployeeID, subject)
			}
		})
	}
}

// The audit log cannot be changed: the application role lacks the privilege, and a trigger refuses
// even the owner.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	b.login(t, adminEmail)
	ctx := context.Background()
	tests := []struct {
		name  string
		owner bool
		sql   string
	}{
		{"AppUpdate", false, "UPDATE audit_events SET action = 'tampered'"},
		{"AppDelete", false, "DELETE FROM audit_events"},
		{"OwnerUpdate", true, "UPDATE audit_events SET action = 'tampered'"},
		{"OwnerDelete", true, "DELETE FROM audit_events"},
		{"OwnerTruncate", true, "TRUNCATE audit_events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.owner {
				conn, cerr := pgx.Connect(ctx, b.db.OwnerURL)
				if cerr != nil {
					t.Fatal(cerr)
				}
				defer conn.Close(ctx)
				_, err = conn.Exec(ctx, tt.sql)
			} else {
				err = database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, tt.sql)
					return err
				})
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: error %v, want insufficient_privilege (42501)", tt.sql, err)
			}
			if n := b.auditCount(t, audit.LoginSucceeded); n != 1 {
				t.Errorf("login.succeeded events = %d, want 1", n)
			}
		})
	}
}

// The CSV download starts with a header row and shows cells a spreadsheet would run as a formula
// as text.
func TestAuditCSV(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	admin := b.login(t, adminEmail)
	role := demoRole(t, b, "Casemanager")
	formulas := []struct{ name, user string }{
		{"Equals", `=cmd|' /C calc'!A0`},
		{"Plus", "+SUM(1;1)"},
		{"Minus", "-2+3"},
		{"At", "@SUM(A1)"},
	}
	for i, f := range formulas {
		name := f.user
		email := "formule" + string(rune('a'+i)) + "@demo.dossierkast.nl"
		resp := b.post(t, admin, "/admin/users", url.Values{"name": {name}, "email": {email}, "password": {demo.Password},
			"kind": {"provider"}, "role_id": {role.ID.String()}, "language": {"nl"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create user %q: status %d", name, resp.StatusCode)
		}
		b.login(t, email) // so the name appears as the acting user
	}

	records := getCSV(t, b, admin, "/admin/audit.csv")
	wantHeader := []string{nl("audit.at"), nl("audit.user"), nl("audit.action"), nl("audit.employee"),
		nl("audit.employee_id"), nl("audit.subject"), nl("audit.ip"), nl("audit.user_agent"), nl("audit.details")}
	if diff := cmp.Diff(wantHeader, records[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	for _, f := range formulas {
		t.Run("Neutralises"+f.name, func(t *testing.T) {
			found := false
			for _, rec := range records[1:] {
				if rec[1] == "'"+f.user && rec[2] == nl("action.login.succeeded") {
					found = true
				}
			}
			if !found {
				t.Errorf("no log-in row whose user cell is %q", "'"+f.user)
			}
		})
	}
	t.Run("NoFormulaCells", func(t *testing.T) {
		for i, rec := range records {
			for j, cell := range rec {
				if cell != "" && strings.ContainsAny(cell[:1], "=+-@\t\r") {
					t.Errorf("row %d column %d = %q starts like a formula", i, j, cell)
				}
			}
		}
	})
	t.Run("FilterByAction", func(t *testing.T) {
		records := getCSV(t, b, admin, "/admin/audit.csv?action="+audit.UserCreated)
		var bySystem int // the demo's users, made by the system (from no address)
		b.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE action = $1 AND ip = ''",
				audit.UserCreated).Scan(&bySystem)
		})
		if got, want := len(records)-1, len(formulas)+bySystem; got != want {
			t.Errorf("rows for %s = %d, want %d", audit.UserCreated, got, want)
		}
		for _, rec := range records[1:] {
			if rec[2] != nl("action.user.created") {
				t.Errorf("action cell = %q, want %q", rec[2], nl("action.user.created"))
			}
		}
	})
}

// The audit page filters by action.
func TestAuditFilterByAction(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	wantRedirect(t, b.post(t, cm, "/logout", nil), "/login")
	b.post(t, b.client(t), "/login", url.Values{"email": {"bedrijfsarts@demo.dossierkast.nl"}, "password": {"wrong-password"}})
	admin := b.login(t, adminEmail)

	tests := []struct {
		name   string
		action string
		users  []string // acting users' names, newest first
	}{
		{"Logout", audit.Logout, []string{"Mark Jansen"}},
		{"LoginSucceeded", audit.LoginSucceeded, []string{"Ingrid van Dam", "Mark Jansen"}},
		{"LoginFailed", audit.LoginFailed, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, doc := b.get(t, admin, "/admin/audit?action="+url.QueryEscape(tt.action))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := doc.Find("#f-action option[selected]").AttrOr("value", ""); got != tt.action {
				t.Errorf("selected action = %q, want %q", got, tt.action)
			}
			var users []string
			doc.Find("main table tbody tr").Each(func(_ int, row *goquery.Selection) {
				cells := row.Find("td")
				if got, want := strings.TrimSpace(cells.Eq(2).Text()), nl("action."+tt.action); got != want {
					t.Errorf("action cell = %q, want %q", got, want)
				}
				users = append(users, strings.TrimSpace(cells.Eq(1).Text()))
			})
			if diff := cmp.Diff(tt.users, users); diff != "" {
				t.Errorf("rows by acting user (-want +got):\n%s", diff)
			}
		})
	}
}

// wantRedirect fails the test unless resp is a 303 to location.
func wantRedirect(t *testing.T, resp *http.Response, location string) {
	t.Helper()
	if !redirectsTo(resp, location) {
		t.Fatalf("status %d, location %q; want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), location)
	}
}

// demoRole returns the demo tenant's role with that name.
func demoRole(t *testing.T, b *testBundle, name string) org.Role {
	t.Helper()
	var r org.Role
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		r, err = org.FindRoleByName(context.Background(), tx, name)
		return err
	})
	return r
}

// auditEvents returns the demo tenant's audit events matching f, newest first.
func auditEvents(t *testing.T, b *testBundle, f audit.Filter) []audit.Event {
	t.Helper()
	var list []audit.Event
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		list, _, err = audit.FindEvents(context.Background(), tx, f)
		return err
	})
	return list
}

// auditTotal counts all of the demo tenant's audit events.
func auditTotal(t *testing.T, b *testBundle) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT count(*) FROM audit_events").Scan(&n)
	})
	return n
}

func uuidOrNil(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

// getCSV downloads path and parses it as CSV.
func getCSV(t *testing.T, b *testBundle, c *http.Client, path string) [][]string {
	t.Helper()
	resp, err := c.Get(b.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d: %.200s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q, want text/csv", ct)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) == 0 {
		t.Fatal("empty CSV")
	}
	return records
}
