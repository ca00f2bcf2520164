package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

const (
	hrEmail      = "hr@demo.dossierkast.nl"             // employer user with employees.all
	managerEmail = "leidinggevende@demo.dossierkast.nl" // employer user without employees.all
	coachEmail   = "coach@demo.dossierkast.nl"
)

// accessPath is the links screen of a user.
func accessPath(userID uuid.UUID) string { return "/admin/users/" + userID.String() + "/access" }

// changeAccess posts one change to a user's links screen, wants 303 back to the screen at
// anchor, and exactly one new audit event: action, about the user (and the employee, when
// not Nil), signed by the acting user. It returns that event.
func (b *testBundle) changeAccess(t *testing.T, c *http.Client, actorID, userID uuid.UUID, form url.Values,
	anchor, action string, employeeID uuid.UUID) audit.Event {
	t.Helper()
	before := auditTotal(t, b)
	resp := b.post(t, c, accessPath(userID), form)
	wantLocation := accessPath(userID)
	if q := stateOf(form).Encode(); q != "" {
		wantLocation += "?" + q
	}
	wantRedirect(t, resp, wantLocation+"#"+anchor)
	if n := auditTotal(t, b) - before; n != 1 {
		t.Fatalf("%s: %d new audit events, want 1", form.Get("op"), n)
	}
	e := auditEvents(t, b, audit.Filter{Limit: 1})[0]
	got := []any{e.Action, e.SubjectType, uuidOrNil(e.SubjectID), uuidOrNil(e.UserID), uuidOrNil(e.EmployeeID)}
	want := []any{action, "user", userID, actorID, employeeID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: audit event (-want +got):\n%s", form.Get("op"), diff)
	}
	return e
}

// stateOf is the part of a posted form that the screen keeps in its address.
func stateOf(form url.Values) url.Values {
	v := url.Values{}
	for _, k := range []string{"dq", "doff", "eq", "eoff", "bq", "boff", "cq", "coff"} {
		if s := form.Get(k); s != "" && s != "0" {
			v.Set(k, s)
		}
	}
	return v
}

// canOpen reports whether c may open the employee's dossier: 200 true, 404 false.
func (b *testBundle) canOpen(t *testing.T, c *http.Client, employeeID uuid.UUID) bool {
	t.Helper()
	resp, _ := b.get(t, c, "/employees/"+employeeID.String())
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("GET /employees/%s = %d, want 200 or 404", employeeID, resp.StatusCode)
	return false
}

// listed reports whether the employee list, searched by his last name, holds the employee.
func (b *testBundle) listed(t *testing.T, c *http.Client, e org.Employee) bool {
	t.Helper()
	resp, doc := b.get(t, c, "/employees?q="+url.QueryEscape(e.LastName))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /employees?q=%s = %d", e.LastName, resp.StatusCode)
	}
	return doc.Find(fmt.Sprintf(`#employees a[href="/employees/%s"]`, e.ID)).Length() == 1
}

// visibleBoth checks that the list and the dossier agree on the employee, and returns whether
// c sees him.
func (b *testBundle) visibleBoth(t *testing.T, c *http.Client, e org.Employee) bool {
	t.Helper()
	inList, page := b.listed(t, c, e), b.canOpen(t, c, e.ID)
	if inList != page {
		t.Fatalf("employee %s: listed %v, but dossier opens %v", e.ID, inList, page)
	}
	return page
}

// biggestDepartment returns the employer's department with the most employees (at least
// two), its name and its employees.
func biggestDepartment(t *testing.T, b *testBundle, employerID uuid.UUID) (uuid.UUID, string, []org.Employee) {
	t.Helper()
	var id uuid.UUID
	var name string
	var list []org.Employee
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		err := tx.QueryRow(ctx, `SELECT d.id, d.name FROM departments d JOIN employees e ON e.department_id = d.id
			WHERE d.employer_id = $1 GROUP BY d.id, d.name HAVING count(*) >= 2 ORDER BY count(*) DESC, d.id LIMIT 1`, employerID).
			Scan(&id, &name)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT id FROM employees WHERE department_id = $1 ORDER BY id", id)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		for _, eid := range ids {
			e, err := org.FindEmployeeByID(ctx, tx, eid)
			if err != nil {
				return err
			}
			list = append(list, e)
		}
		return err
	})
	return id, name, list
}

// employeeOutside returns an employee of the employer outside the department (or without one).
func employeeOutside(t *testing.T, b *testBundle, employerID, departmentID uuid.UUID) org.Employee {
	t.Helper()
	var e org.Employee
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM employees WHERE employer_id = $1 AND department_id IS DISTINCT FROM $2
			ORDER BY id LIMIT 1`, employerID, departmentID).Scan(&id)
		if err != nil {
			return err
		}
		e, err = org.FindEmployeeByID(ctx, tx, id)
		return err
	})
	return e
}

// linkRows counts a user's rows in a link table for one employee or department.
func linkRows(t *testing.T, b *testBundle, table, column string, userID, id uuid.UUID) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(),
			"SELECT count(*) FROM "+table+" WHERE user_id = $1 AND "+column+" = $2", userID, id).Scan(&n)
	})
	return n
}

// rowIDs returns the data-id of every row of the table with that id on the links screen.
func rowIDs(doc *goquery.Document, table string) []string {
	return doc.Find("#" + table + " tbody tr").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-id", "") })
}

// A department link shows its employees to a user without employees.all; removing it hides
// them again. Each change leaves one audit event, and sending a change twice leaves one.
func TestAccessDepartmentLink(t *testing.T) {
	t.Parallel()
	b := setup(t, 80)
	admin := demoUser(t, b, adminEmail)
	mgr := demoUser(t, b, managerEmail)
	dept, deptName, members := biggestDepartment(t, b, mgr.EmployerIDs[0])
	outside := employeeOutside(t, b, mgr.EmployerIDs[0], dept)
	clearAccess(t, b, mgr.ID)
	c := b.login(t, adminEmail)
	mc := b.login(t, managerEmail)
	if b.visibleBoth(t, mc, members[0]) {
		t.Fatalf("leidinggevende@ sees %s before any link", members[0].ID)
	}

	form := url.Values{"op": {"link_department"}, "department_id": {dept.String()}, "dq": {"zorg"}}
	e := b.changeAccess(t, c, admin.ID, mgr.ID, form, "departments", audit.AccessDepartmentLinked, uuid.Nil)
	if got, want := []any{e.Details["department_id"], e.Details["before"], e.Details["after"]},
		[]any{dept.String(), "none", "linked"}; !cmp.Equal(got, want) {
		t.Errorf("event details %v, want department_id, before, after = %v", e.Details, want)
	}
	for _, m := range members {
		if !b.visibleBoth(t, mc, m) {
			t.Errorf("employee %s of the linked department not visible", m.ID)
		}
	}
	if b.visibleBoth(t, mc, outside) {
		t.Errorf("employee %s outside the linked department visible", outside.ID)
	}

	_, doc := b.get(t, c, accessPath(mgr.ID))
	if got := rowIDs(doc, "department-links"); !cmp.Equal(got, []string{dept.String()}) {
		t.Errorf("linked departments on the screen = %v, want [%s]", got, dept)
	}
	row := textOf(doc, "#department-links tbody tr")
	if !strings.Contains(row, deptName) || !strings.Contains(row, nl("user.access.employee_count", fmt.Sprint(len(members)))) {
		t.Errorf("department row %q lacks its name %q or its employee count %d", row, deptName, len(members))
	}
	if doc.Find(fmt.Sprintf(`#f-department_id option[value="%s"]`, dept)).Length() != 0 {
		t.Error("the linked department is still offered for linking")
	}
	t.Run("SizeIsWhatTheEditorSees", func(t *testing.T) {
		// An employee the administrator himself is cut off from is not counted for him either.
		b.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `INSERT INTO user_blacklist (tenant_id, user_id, employee_id, employer_id, department_id)
				SELECT app_tenant(), $1, id, employer_id, department_id FROM employees WHERE id = $2`, admin.ID, members[0].ID)
			return err
		})
		_, doc := b.get(t, c, accessPath(mgr.ID))
		if row := textOf(doc, "#department-links tbody tr"); !strings.Contains(row, nl("user.access.employee_count", fmt.Sprint(len(members)-1))) {
			t.Errorf("department row %q, want the %d employees the administrator sees", row, len(members)-1)
		}
		b.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), "DELETE FROM user_blacklist WHERE user_id = $1", admin.ID)
			return err
		})
	})

	t.Run("SentTwice", func(t *testing.T) {
		before := auditTotal(t, b)
		wantRedirect(t, b.post(t, c, accessPath(mgr.ID), form), accessPath(mgr.ID)+"?dq=zorg#departments")
		if n := auditTotal(t, b) - before; n != 0 {
			t.Errorf("linking a linked department left %d audit events, want 0", n)
		}
	})

	unlink := url.Values{"op": {"unlink_department"}, "department_id": {dept.String()}}
	b.changeAccess(t, c, admin.ID, mgr.ID, unlink, "departments", audit.AccessDepartmentUnlinked, uuid.Nil)
	if b.visibleBoth(t, mc, members[0]) {
		t.Errorf("employee %s still visible after the department was unlinked", members[0].ID)
	}
}

// Individual links, the blacklist and moves between them, through the screen.
func TestAccessEmployeeLinkAndMove(t *testing.T) {
	t.Parallel()
	b := setup(t, 80)
	admin := demoUser(t, b, adminEmail)
	mgr := demoUser(t, b, managerEmail)
	dept, deptName, members := biggestDepartment(t, b, mgr.EmployerIDs[0])
	clearAccess(t, b, mgr.ID)
	c := b.login(t, adminEmail)
	mc := b.login(t, managerEmail)
	emp := members[0]
	id := emp.ID.String()

	b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"link_employee"}, "employee_id": {id}, "cq": {emp.LastName}},
		"employees", audit.AccessEmployeeLinked, emp.ID)
	if !b.visibleBoth(t, mc, emp) {
		t.Fatal("individually linked employee not visible")
	}
	if b.visibleBoth(t, mc, members[1]) {
		t.Error("a colleague of the linked employee is visible")
	}

	t.Run("LinkedToBlacklist", func(t *testing.T) {
		e := b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"move_to_blacklist"}, "employee_id": {id}, "reason": {" Bezwaar via FG "}},
			"blacklist", audit.AccessBlacklisted, emp.ID)
		got := []any{e.Details["before"], e.Details["after"], e.Details["reason"]}
		if want := []any{"linked", "blacklisted", "Bezwaar via FG"}; !cmp.Equal(got, want) {
			t.Errorf("event before, after, reason = %v, want %v", got, want)
		}
		if b.visibleBoth(t, mc, emp) {
			t.Error("blacklisted employee still visible")
		}
		if n := linkRows(t, b, "user_employee_links", "employee_id", mgr.ID, emp.ID); n != 0 {
			t.Errorf("%d individual links left after the move, want 0", n)
		}
		_, doc := b.get(t, c, accessPath(mgr.ID))
		if got := rowIDs(doc, "blacklist-entries"); !slices.Contains(got, id) {
			t.Errorf("blacklist on the screen = %v, want it to hold %s", got, id)
		}
		if got := rowIDs(doc, "employee-links"); slices.Contains(got, id) {
			t.Errorf("linked employees on the screen = %v still hold %s", got, id)
		}
		if got, want := textOf(doc, "#blacklist-entries .reason"), nl("user.access.reason_shown", "Bezwaar via FG"); got != want {
			t.Errorf("reason shown = %q, want %q", got, want)
		}
	})

	t.Run("LinkBlacklistedRefused", func(t *testing.T) {
		before := auditTotal(t, b)
		resp, doc := b.postPage(t, c, accessPath(mgr.ID), url.Values{"op": {"link_employee"}, "employee_id": {id}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("linking a blacklisted employee = %d, want 422", resp.StatusCode)
		}
		if got, want := textOf(doc, "#access-warning"), nl("user.access.error.link_blacklisted", emp.FullName()); got != want {
			t.Errorf("warning = %q, want %q", got, want)
		}
		if n := auditTotal(t, b) - before; n != 0 {
			t.Errorf("refused link left %d audit events", n)
		}
	})

	t.Run("BlacklistToLinked", func(t *testing.T) {
		e := b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"move_to_linked"}, "employee_id": {id}},
			"employees", audit.AccessEmployeeLinked, emp.ID)
		if got, want := []any{e.Details["before"], e.Details["after"]}, []any{"blacklisted", "linked"}; !cmp.Equal(got, want) {
			t.Errorf("event before, after = %v, want %v", got, want)
		}
		if !b.visibleBoth(t, mc, emp) {
			t.Error("employee moved back to linked is not visible")
		}
		if n := linkRows(t, b, "user_blacklist", "employee_id", mgr.ID, emp.ID); n != 0 {
			t.Errorf("%d blacklist entries left after the move, want 0", n)
		}
	})

	t.Run("UnlinkUnderLinkedDepartmentRefused", func(t *testing.T) {
		b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"link_department"}, "department_id": {dept.String()}},
			"departments", audit.AccessDepartmentLinked, uuid.Nil)
		before := auditTotal(t, b)
		resp, doc := b.postPage(t, c, accessPath(mgr.ID), url.Values{"op": {"unlink_employee"}, "employee_id": {id}, "eq": {emp.LastName}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("unlinking under a linked department = %d, want 422", resp.StatusCode)
		}
		warning := textOf(doc, "#access-warning")
		if want := nl("user.access.error.unlink_under_department", emp.FullName(), deptName); warning != want {
			t.Errorf("warning = %q, want %q", warning, want)
		}
		if !strings.Contains(warning, nl("user.access.blacklist")) {
			t.Errorf("warning %q does not point to %q", warning, nl("user.access.blacklist"))
		}
		// The screen comes back as it was, with the link still there.
		if got := doc.Find("#search-eq").AttrOr("value", ""); got != emp.LastName {
			t.Errorf("linked employees search = %q, want %q kept", got, emp.LastName)
		}
		if got := rowIDs(doc, "employee-links"); !slices.Contains(got, id) {
			t.Errorf("linked employees on the screen = %v, want %s still there", got, id)
		}
		if n := linkRows(t, b, "user_employee_links", "employee_id", mgr.ID, emp.ID); n != 1 {
			t.Errorf("individual links = %d after the refused removal, want 1", n)
		}
		if n := auditTotal(t, b) - before; n != 0 {
			t.Errorf("refused removal left %d audit events", n)
		}
		// The blacklist is the way out: the move works under the linked department.
		b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"move_to_blacklist"}, "employee_id": {id}},
			"blacklist", audit.AccessBlacklisted, emp.ID)
		if b.visibleBoth(t, mc, emp) {
			t.Error("blacklisted employee visible through the linked department")
		}
		if !b.visibleBoth(t, mc, members[1]) {
			t.Error("colleague in the linked department not visible")
		}
	})

	t.Run("UnlinkAndUnblacklist", func(t *testing.T) {
		b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"unblacklist"}, "employee_id": {id}},
			"blacklist", audit.AccessUnblacklisted, emp.ID)
		b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"unlink_department"}, "department_id": {dept.String()}},
			"departments", audit.AccessDepartmentUnlinked, uuid.Nil)
		other := members[1]
		b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"link_employee"}, "employee_id": {other.ID.String()}},
			"employees", audit.AccessEmployeeLinked, other.ID)
		b.changeAccess(t, c, admin.ID, mgr.ID, url.Values{"op": {"unlink_employee"}, "employee_id": {other.ID.String()}},
			"employees", audit.AccessEmployeeUnlinked, other.ID)
		if b.visibleBoth(t, mc, other) || b.visibleBoth(t, mc, emp) {
			t.Error("employee visible with no link left")
		}
	})
}

// The blacklist beats employees.all, a department link and an active delegation, in the list
// and on the dossier's address.
func TestAccessBlacklistWins(t *testing.T) {
	t.Parallel()
	b := setup(t, 40)
	admin := demoUser(t, b, adminEmail)
	hr := demoUser(t, b, hrEmail)
	if !slices.Contains(hr.Rights, access.EmployeesAll) {
		t.Fatalf("hr@ lacks employees.all: rights %v", hr.Rights)
	}
	dept, _, members := biggestDepartment(t, b, hr.EmployerIDs[0])
	emp := members[0]
	clearAccess(t, b, hr.ID)
	c := b.login(t, adminEmail)
	hc := b.login(t, hrEmail)
	b.changeAccess(t, c, admin.ID, hr.ID, url.Values{"op": {"link_department"}, "department_id": {dept.String()}},
		"departments", audit.AccessDepartmentLinked, uuid.Nil)
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, reason)
			VALUES (app_tenant(), $1, $2, now() - interval '1 day', 'test')`, hr.ID, emp.ID)
		return err
	})
	if !b.visibleBoth(t, hc, emp) {
		t.Fatal("employee not visible to hr@ before the blacklist")
	}

	e := b.changeAccess(t, c, admin.ID, hr.ID, url.Values{"op": {"blacklist"}, "employee_id": {emp.ID.String()},
		"reason": {"AVG-bezwaar"}, "cq": {emp.LastName}}, "blacklist", audit.AccessBlacklisted, emp.ID)
	if got, want := []any{e.Details["before"], e.Details["after"], e.Details["reason"]}, []any{"none", "blacklisted", "AVG-bezwaar"}; !cmp.Equal(got, want) {
		t.Errorf("event before, after, reason = %v, want %v", got, want)
	}
	if b.listed(t, hc, emp) {
		t.Error("blacklisted employee still in hr@'s list")
	}
	resp, doc := b.get(t, hc, "/employees/"+emp.ID.String())
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /employees/%s as hr@ = %d, want 404", emp.ID, resp.StatusCode)
	}
	if got, want := textOf(doc, "#error-message"), nl("error.not_found"); got != want {
		t.Errorf("#error-message = %q, want %q", got, want)
	}
	if !b.visibleBoth(t, hc, members[1]) {
		t.Error("a colleague of the blacklisted employee disappeared for hr@")
	}
	// Candidates leave out the blacklisted employee.
	_, doc = b.get(t, c, accessPath(hr.ID)+"?cq="+url.QueryEscape(emp.LastName))
	if slices.Contains(rowIDs(doc, "candidate-list"), emp.ID.String()) {
		t.Error("blacklisted employee offered as a candidate")
	}
	if doc.Find("#access-sees-all").Length() != 1 {
		t.Error("the screen does not say that hr@ sees all employees")
	}
}

// The rules refuse, with their reason and without a trace: links for a coach, links outside
// the user's reach, an unknown operation.
func TestAccessRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, 40)
	mgr := demoUser(t, b, managerEmail)
	coach := demoUser(t, b, coachEmail)
	var other uuid.UUID
	for _, e := range employers(t, b) {
		if e.ID != mgr.EmployerIDs[0] && len(employeesOf(t, b, e.ID)) > 0 {
			other = e.ID
			break
		}
	}
	foreign := employeesOf(t, b, other)[0]
	own := fullEmployee(t, b, employeesOf(t, b, mgr.EmployerIDs[0])[0].ID)
	clearAccess(t, b, mgr.ID, coach.ID)
	c := b.login(t, adminEmail)
	tests := []struct {
		name    string
		user    uuid.UUID
		form    url.Values
		status  int
		warning string
	}{
		{"CoachDepartment", coach.ID, url.Values{"op": {"link_department"}, "department_id": {departmentOf(t, b, other).String()}},
			http.StatusUnprocessableEntity, nl("user.access.error.coach")},
		{"CoachEmployee", coach.ID, url.Values{"op": {"link_employee"}, "employee_id": {own.ID.String()}},
			http.StatusUnprocessableEntity, nl("user.access.error.coach")},
		{"DepartmentOutOfReach", mgr.ID, url.Values{"op": {"link_department"}, "department_id": {departmentOf(t, b, other).String()}},
			http.StatusUnprocessableEntity, nl("user.access.error.out_of_reach")},
		{"EmployeeOutOfReach", mgr.ID, url.Values{"op": {"link_employee"}, "employee_id": {foreign.ID.String()}},
			http.StatusUnprocessableEntity, nl("user.access.error.out_of_reach")},
		{"BlacklistOutOfReach", mgr.ID, url.Values{"op": {"blacklist"}, "employee_id": {foreign.ID.String()}},
			http.StatusUnprocessableEntity, nl("user.access.error.out_of_reach")},
		{"NoDepartment", mgr.ID, url.Values{"op": {"link_department"}},
			http.StatusUnprocessableEntity, nl("user.access.error.choose_department")},
		{"ReasonTooLong", mgr.ID, url.Values{"op": {"blacklist"}, "employee_id": {own.ID.String()}, "reason": {strings.Repeat("x", 501)}},
			http.StatusUnprocessableEntity, nl("user.access.error.reason_long", 500)},
		{"MoveNeither", mgr.ID, url.Values{"op": {"move_to_blacklist"}, "employee_id": {own.ID.String()}},
			http.StatusUnprocessableEntity, nl("user.access.error.move_none", own.FullName())},
		{"UnknownEmployee", mgr.ID, url.Values{"op": {"link_employee"}, "employee_id": {uuid.Must(uuid.NewV7()).String()}},
			http.StatusNotFound, ""},
		{"UnknownOperation", mgr.ID, url.Values{"op": {"delete_everything"}, "employee_id": {own.ID.String()}},
			http.StatusBadRequest, ""},
	}
	linksBefore := allLinkRows(t, b)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := auditTotal(t, b)
			resp, doc := b.postPage(t, c, accessPath(tt.user), tt.form)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.warning != "" {
				if got := textOf(doc, "#access-warning"); got != tt.warning {
					t.Errorf("warning = %q, want %q", got, tt.warning)
				}
			}
			if n := auditTotal(t, b) - before; n != 0 {
				t.Errorf("refused change left %d audit events", n)
			}
		})
	}
	if n := allLinkRows(t, b) - linksBefore; n != 0 {
		t.Errorf("%d link rows written by refused changes", n)
	}

	t.Run("CoachBlacklist", func(t *testing.T) {
		// A coach gets no links, but the blacklist works for him, also ahead of delegations.
		_, doc := b.get(t, c, accessPath(coach.ID)+"?cq="+url.QueryEscape(own.LastName))
		if doc.Find("#access-coach").Length() != 1 || doc.Find("#add-department").Length() != 0 {
			t.Error("the coach's screen offers department links or does not explain why not")
		}
		if doc.Find(`#candidate-list button[value="link_employee"]`).Length() != 0 {
			t.Error("the coach's screen offers to link employees")
		}
		admin := demoUser(t, b, adminEmail)
		b.changeAccess(t, c, admin.ID, coach.ID, url.Values{"op": {"blacklist"}, "employee_id": {own.ID.String()}},
			"blacklist", audit.AccessBlacklisted, own.ID)
	})
}

// allLinkRows counts the demo tenant's department links, employee links and blacklist entries.
func allLinkRows(t *testing.T, b *testBundle) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM user_department_links)
			+ (SELECT count(*) FROM user_employee_links) + (SELECT count(*) FROM user_blacklist)`).Scan(&n)
	})
	return n
}

// clearAccess removes the users' links and blacklist entries, so a test starts from users whose
// access comes from their role and reach only, whatever links the demo data holds.
func clearAccess(t *testing.T, b *testBundle, users ...uuid.UUID) {
	t.Helper()
	b.inTenant(t, func(tx pgx.Tx) error {
		for _, table := range []string{"user_department_links", "user_employee_links", "user_blacklist"} {
			if _, err := tx.Exec(context.Background(), "DELETE FROM "+table+" WHERE user_id = ANY ($1)", users); err != nil {
				return err
			}
		}
		return nil
	})
}

// fullEmployee reads one employee with every field.
func fullEmployee(t *testing.T, b *testBundle, id uuid.UUID) org.Employee {
	t.Helper()
	var e org.Employee
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		e, err = org.FindEmployeeByID(context.Background(), tx, id)
		return err
	})
	return e
}

// The access engine's refusals are message keys; the catalogue test does not read that package,
// so this one does.
func TestAccessMessagesExist(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../access/links.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`"(user\.access\.[a-z_.]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(keys) == 0 {
		t.Fatal("no message keys found in links.go")
	}
	for _, lang := range i18n.Languages {
		catalogue := i18n.Keys(lang)
		for _, m := range keys {
			if !slices.Contains(catalogue, m[1]) {
				t.Errorf("message key %q missing from %s.json", m[1], lang)
			}
		}
	}
}

// Without access.manage the screen and every change answer 403, and nothing changes.
func TestAccessNeedsRight(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	mgr := demoUser(t, b, managerEmail)
	emp := employeesOf(t, b, mgr.EmployerIDs[0])[0].ID.String()
	dept := departmentOf(t, b, mgr.EmployerIDs[0]).String()
	path := accessPath(mgr.ID)
	forms := []url.Values{
		{"op": {"link_department"}, "department_id": {dept}},
		{"op": {"unlink_department"}, "department_id": {dept}},
		{"op": {"link_employee"}, "employee_id": {emp}},
		{"op": {"unlink_employee"}, "employee_id": {emp}},
		{"op": {"blacklist"}, "employee_id": {emp}},
		{"op": {"unblacklist"}, "employee_id": {emp}},
		{"op": {"move_to_blacklist"}, "employee_id": {emp}},
		{"op": {"move_to_linked"}, "employee_id": {emp}},
	}
	// casemanager@ is a provider user with employees.all but not access.manage; hr@ an employer
	// user; leidinggevende@ changes his own access.
	for _, email := range []string{"casemanager@demo.dossierkast.nl", hrEmail, managerEmail} {
		t.Run(strings.Split(email, "@")[0], func(t *testing.T) {
			c := b.login(t, email)
			before := auditTotal(t, b)
			if resp, doc := b.get(t, c, path); resp.StatusCode != http.StatusForbidden || textOf(doc, "h1") != nl("error.title.403") {
				t.Errorf("GET %s = %d %q, want 403", path, resp.StatusCode, textOf(doc, "h1"))
			}
			for _, form := range forms {
				if resp, _ := b.postPage(t, c, path, form); resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s op=%s = %d, want 403", path, form.Get("op"), resp.StatusCode)
				}
			}
			if n := auditTotal(t, b) - before; n != 0 {
				t.Errorf("refused requests left %d audit events", n)
			}
		})
	}
	if n := linkRows(t, b, "user_employee_links", "employee_id", mgr.ID, uuid.MustParse(emp)) +
		linkRows(t, b, "user_blacklist", "employee_id", mgr.ID, uuid.MustParse(emp)) +
		linkRows(t, b, "user_department_links", "department_id", mgr.ID, uuid.MustParse(dept)); n != 0 {
		t.Errorf("%d link rows written by refused requests", n)
	}

	t.Run("ScreenLinkedFromUserPage", func(t *testing.T) {
		_, doc := b.get(t, b.login(t, adminEmail), "/admin/users/"+mgr.ID.String())
		if got := doc.Find("#manage-access").AttrOr("href", ""); got != path {
			t.Errorf("user page links to %q, want %q", got, path)
		}
	})
}

// A user of another tenant does not exist on this tenant's screen: 404 for the screen and
// every change, and his links stay as they were.
func TestAccessOtherTenantUser(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	ctx := context.Background()
	other, err := org.CreateTenant(ctx, b.db.Pool, "Andere arbodienst", false)
	if err != nil {
		t.Fatal(err)
	}
	var user org.User
	var dept org.Department
	var emp org.Employee
	err = database.InTenant(ctx, b.db.Pool, other.ID, func(tx pgx.Tx) (err error) {
		employer, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Vreemd B.V.", EmployerNumber: "777001"})
		if err != nil {
			return err
		}
		if dept, err = org.CreateDepartment(ctx, tx, access.System(audit.Actor{}), org.Department{EmployerID: employer.ID, Name: "Vreemde afdeling"}); err != nil {
			return err
		}
		if emp, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: employer.ID, DepartmentID: &dept.ID,
			PersonnelNumber: "V1", LastName: "Vreemd"}); err != nil {
			return err
		}
		role, err := org.FindRoleByName(ctx, tx, "Casemanager")
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(demo.Password)
		if err != nil {
			return err
		}
		user, err = org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: "cm@andere.example", Name: "Andere Casemanager",
			Kind: access.KindProvider, RoleID: role.ID, Language: "nl"}, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	own := employeesOf(t, b, uuid.Nil)[0].ID.String()
	c := b.login(t, adminEmail)
	path := accessPath(user.ID)
	if resp, _ := b.get(t, c, path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
	}
	for _, form := range []url.Values{
		{"op": {"link_department"}, "department_id": {dept.ID.String()}},
		{"op": {"unlink_department"}, "department_id": {dept.ID.String()}},
		{"op": {"link_employee"}, "employee_id": {emp.ID.String()}},
		{"op": {"link_employee"}, "employee_id": {own}},
		{"op": {"unlink_employee"}, "employee_id": {emp.ID.String()}},
		{"op": {"blacklist"}, "employee_id": {own}},
		{"op": {"unblacklist"}, "employee_id": {emp.ID.String()}},
		{"op": {"move_to_blacklist"}, "employee_id": {emp.ID.String()}},
		{"op": {"move_to_linked"}, "employee_id": {emp.ID.String()}},
	} {
		if resp, _ := b.postPage(t, c, path, form); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s op=%s = %d, want 404", path, form.Get("op"), resp.StatusCode)
		}
	}
	// Another tenant's employee is as absent on this tenant's user.
	mine := demoUser(t, b, managerEmail)
	if resp, _ := b.postPage(t, c, accessPath(mine.ID), url.Values{"op": {"link_employee"}, "employee_id": {emp.ID.String()}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("linking another tenant's employee = %d, want 404", resp.StatusCode)
	}
	// The candidate search runs as the owner, past row-level security, to use its index: it
	// must keep to the transaction's tenant itself.
	var found int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM employee_search(ARRAY['%vreemd%'])").Scan(&found)
	})
	if found != 0 {
		t.Errorf("employee_search in the demo tenant found %d of the other tenant's employees, want 0", found)
	}
	if err := b.db.Pool.QueryRow(ctx, "SELECT count(*) FROM employee_search(ARRAY['%'])").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != 0 {
		t.Errorf("employee_search without a tenant found %d employees, want 0", found)
	}
	err = database.InTenant(ctx, b.db.Pool, other.ID, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM user_department_links) + (SELECT count(*) FROM user_employee_links)
			+ (SELECT count(*) FROM user_blacklist) + (SELECT count(*) FROM audit_events WHERE ip <> '')`).Scan(&n)
		if err == nil && n != 0 {
			t.Errorf("the other tenant has %d link rows or audit events, want 0", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Each column pages by 25 with exact counts and searches on its own; the address keeps the
// other columns' state.
func TestAccessColumnsSearchAndPage(t *testing.T) {
	t.Parallel()
	b := setup(t, 120)
	admin := demoUser(t, b, adminEmail)
	mgr := demoUser(t, b, managerEmail)
	emps := employeesOf(t, b, mgr.EmployerIDs[0])
	if len(emps) < 33 {
		t.Fatalf("employer of leidinggevende@ has %d employees, want at least 33", len(emps))
	}
	clearAccess(t, b, mgr.ID)
	// Linked through the store, as the screen would: 30 links and 2 blacklist entries.
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		_, p, err := org.LoadPrincipal(ctx, tx, b.tenant, admin.ID)
		if err != nil {
			return err
		}
		ed := access.Editor{Principal: p, Actor: audit.Actor{UserID: &admin.ID}}
		for _, e := range emps[:30] {
			if err := access.LinkEmployee(ctx, tx, ed, mgr.ID, e.ID); err != nil {
				return err
			}
		}
		for _, e := range emps[30:32] {
			if err := access.BlacklistEmployee(ctx, tx, ed, mgr.ID, e.ID, ""); err != nil {
				return err
			}
		}
		return nil
	})
	c := b.login(t, adminEmail)

	_, doc := b.get(t, c, accessPath(mgr.ID))
	if n := doc.Find("#employee-links tbody tr").Length(); n != 25 {
		t.Errorf("first page of linked employees has %d rows, want 25", n)
	}
	if got, want := textOf(doc, "#employees .pager span"), nl("pager.position", "1", "25", "30"); got != want {
		t.Errorf("pager = %q, want %q", got, want)
	}
	if n := doc.Find("#blacklist-entries tbody tr").Length(); n != 2 {
		t.Errorf("blacklist has %d rows, want 2", n)
	}
	next := doc.Find(`#employees .pager a[rel="next"]`).AttrOr("href", "")
	if !strings.Contains(next, "eoff=25") || !strings.HasSuffix(next, "#employees") {
		t.Fatalf("next page link %q, want eoff=25 and #employees", next)
	}
	_, doc = b.get(t, c, next)
	if n := doc.Find("#employee-links tbody tr").Length(); n != 5 {
		t.Errorf("second page of linked employees has %d rows, want 5", n)
	}

	// Search a name within the linked employees, keeping the blacklist's search.
	target := emps[3]
	_, doc = b.get(t, c, accessPath(mgr.ID)+"?bq=zzz&eq="+url.QueryEscape(target.LastName))
	got := rowIDs(doc, "employee-links")
	if !slices.Contains(got, target.ID.String()) || len(got) >= 25 {
		t.Errorf("search %q in linked employees gave %v", target.LastName, got)
	}
	if n := doc.Find("#blacklist-entries tbody tr").Length(); n != 0 {
		t.Errorf("blacklist searched for zzz shows %d rows", n)
	}
	if got, want := textOf(doc, "#blacklist .empty"), nl("user.access.no_match", "zzz"); got != want {
		t.Errorf("blacklist searched for zzz says %q, want %q (the list has entries)", got, want)
	}
	if doc.Find(`#employees form[role="search"] input[name="bq"][value="zzz"]`).Length() != 1 {
		t.Error("the linked employees' search does not keep the blacklist's search")
	}

	// Candidates: found by search, neither linked nor blacklisted.
	free := fullEmployee(t, b, emps[len(emps)-1].ID)
	_, doc = b.get(t, c, accessPath(mgr.ID)+"?cq="+url.QueryEscape(free.LastName))
	got = rowIDs(doc, "candidate-list")
	if !slices.Contains(got, free.ID.String()) {
		t.Errorf("candidates for %q = %v, want %s among them", free.LastName, got, free.ID)
	}
	for _, e := range emps[:32] {
		if slices.Contains(got, e.ID.String()) {
			t.Errorf("linked or blacklisted employee %s offered as a candidate", e.ID)
		}
	}
	_, doc = b.get(t, c, accessPath(mgr.ID))
	if doc.Find("#candidate-list").Length() != 0 {
		t.Error("candidates listed without a search")
	}
	_, doc = b.get(t, c, accessPath(mgr.ID)+"?cq=de+j")
	if doc.Find("#candidate-list").Length() != 0 || doc.Find("#search-short").Length() != 1 {
		t.Error("a search without a word of three characters lists candidates or does not say why not")
	}
	// Words match anywhere in the name, in any order; the shorter ones too.
	_, doc = b.get(t, c, accessPath(mgr.ID)+"?cq="+url.QueryEscape(strings.ToLower(free.PersonnelNumber[1:])+" "+free.LastName[:1]))
	if got := rowIDs(doc, "candidate-list"); !slices.Contains(got, free.ID.String()) {
		t.Errorf("search by part of the personnel number and a letter of the name = %v, want %s among them", got, free.ID)
	}

	// An offset past the end (rows removed meanwhile) shows the last page.
	_, doc = b.get(t, c, accessPath(mgr.ID)+"?eoff=75")
	if n := doc.Find("#employee-links tbody tr").Length(); n != 5 {
		t.Errorf("offset past the end shows %d rows, want the last page's 5", n)
	}
}

// Two administrators changing the same user's access take turns: a blacklist entry made while
// another transaction links the same employee waits for it, sees the link and is refused,
// rather than leaving the employee both linked and blacklisted.
func TestAccessConcurrentChangesTakeTurns(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	ctx := context.Background()
	admin := demoUser(t, b, adminEmail)
	mgr := demoUser(t, b, managerEmail)
	clearAccess(t, b, mgr.ID)
	emp := employeesOf(t, b, mgr.EmployerIDs[0])[0]
	var ed access.Editor
	b.inTenant(t, func(tx pgx.Tx) error {
		_, p, err := org.LoadPrincipal(ctx, tx, b.tenant, admin.ID)
		ed = access.Editor{Principal: p, Actor: audit.Actor{UserID: &admin.ID}}
		return err
	})

	first, err := b.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if _, err := first.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", b.tenant.String()); err != nil {
		t.Fatal(err)
	}
	if err := access.LinkEmployee(ctx, first, ed, mgr.ID, emp.ID); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		second <- database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
			return access.BlacklistEmployee(ctx, tx, ed, mgr.ID, emp.ID, "")
		})
	}()
	// Commit the link only once the blacklist entry waits for it.
	owner, err := pgx.Connect(ctx, b.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the second change never waited for the first")
		}
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-second
	if e, ok := apperr.As(err); !ok || e.Message != "user.access.error.blacklist_linked" {
		t.Errorf("blacklisting during the link: %v, want the refusal user.access.error.blacklist_linked", err)
	}
	got := []int{linkRows(t, b, "user_employee_links", "employee_id", mgr.ID, emp.ID),
		linkRows(t, b, "user_blacklist", "employee_id", mgr.ID, emp.ID)}
	if diff := cmp.Diff([]int{1, 0}, got); diff != "" {
		t.Errorf("links, blacklist entries (-want +got):\n%s", diff)
	}
}
