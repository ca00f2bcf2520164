package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// delItems are the ids of one deletable item of every kind in an employee's dossier and his
// employer's, made by delFixture.
type delItems struct {
	employee, employer uuid.UUID
	ids                map[string]uuid.UUID
}

// delFixture stores, as the application would, one item of every deletable kind for the
// employee, in the transaction's tenant: an absence with its first percentage and one with a
// (medical) cause, a report, a hidden one and a medical one, a decision, a consultation with
// the appointment it fulfilled and a medical consultation, and two policies of the employer
// (the first named by a participation of the employee and by a service agreement, the second
// by nothing). Medical texts start with GEHEIM.
func delFixture(t *testing.T, tx pgx.Tx, employeeID uuid.UUID) delItems {
	t.Helper()
	ctx := context.Background()
	it := delItems{employee: employeeID, ids: map[string]uuid.UUID{}}
	if err := tx.QueryRow(ctx, "SELECT employer_id FROM employees WHERE id = $1", employeeID).Scan(&it.employer); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ name, sql string }{
		{"absence", `INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day) SELECT app_tenant(), id, employer_id, DATE '2027-01-04' FROM employees WHERE id = $1 RETURNING id`},
		{"medical_absence", `INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day, cause) SELECT app_tenant(), id, employer_id, DATE '2026-03-02', 'accident' FROM employees WHERE id = $1 RETURNING id`},
		{"report", `INSERT INTO reports (tenant_id, employee_id, employer_id, body, expertise) SELECT app_tenant(), id, employer_id, 'Gesprek gevoerd', 'casemanager' FROM employees WHERE id = $1 RETURNING id`},
		{"hidden_report", `INSERT INTO reports (tenant_id, employee_id, employer_id, body, expertise, hidden) SELECT app_tenant(), id, employer_id, 'GEHEIM verborgen notitie', 'bedrijfsarts', true FROM employees WHERE id = $1 RETURNING id`},
		{"medical_report", `INSERT INTO reports (tenant_id, employee_id, employer_id, body, expertise, medical) SELECT app_tenant(), id, employer_id, 'GEHEIM medische notitie', 'bedrijfsarts', true FROM employees WHERE id = $1 RETURNING id`},
		{"decision", `INSERT INTO decisions (tenant_id, employee_id, employer_id, kind, decision_date) SELECT app_tenant(), id, employer_id, 'WIA', DATE '2027-06-01' FROM employees WHERE id = $1 RETURNING id`},
		{"consultation", `INSERT INTO consultations (tenant_id, employee_id, employer_id, held_at, held_by, medical) SELECT app_tenant(), id, employer_id, TIMESTAMPTZ '2027-01-10 10:00+01', 'Mark Jansen', false FROM employees WHERE id = $1 RETURNING id`},
		{"medical_consultation", `INSERT INTO consultations (tenant_id, employee_id, employer_id, held_at, held_by, outcome, medical) SELECT app_tenant(), id, employer_id, TIMESTAMPTZ '2027-01-11 10:00+01', 'Dr. Visser', 'GEHEIM diagnose', true FROM employees WHERE id = $1 RETURNING id`},
		{"policy", `INSERT INTO insurance_policies (tenant_id, employer_id, insurer, policy_number, starts_on) SELECT app_tenant(), employer_id, 'Achmea', gen_random_uuid()::text, DATE '2027-01-01' FROM employees WHERE id = $1 RETURNING id`},
		{"free_policy", `INSERT INTO insurance_policies (tenant_id, employer_id, insurer, policy_number, starts_on) SELECT app_tenant(), employer_id, 'Nationale-Nederlanden', gen_random_uuid()::text, DATE '2027-01-01' FROM employees WHERE id = $1 RETURNING id`},
	} {
		var id uuid.UUID
		if err := tx.QueryRow(ctx, q.sql, employeeID).Scan(&id); err != nil {
			t.Fatalf("fixture %s: %v", q.name, err)
		}
		it.ids[q.name] = id
	}
	for _, q := range []struct{ name, sql string }{
		{"appointment", `INSERT INTO appointments (tenant_id, employee_id, employer_id, starts_at, with_whom, kind, consultation_id) SELECT app_tenant(), id, employer_id, TIMESTAMPTZ '2027-01-10 10:00+01', 'Mark Jansen', 'case_manager', $2 FROM employees WHERE id = $1 AND $3::uuid IS NOT NULL RETURNING id`},
		{"participation", `INSERT INTO policy_participants (tenant_id, employee_id, employer_id, policy_id, participating, starts_on) SELECT app_tenant(), id, employer_id, $3, true, DATE '2027-01-01' FROM employees WHERE id = $1 AND $2::uuid IS NOT NULL RETURNING id`},
		{"agreement", `INSERT INTO service_agreements (tenant_id, employer_id, contract_number, starts_on, policy_id) SELECT app_tenant(), employer_id, gen_random_uuid()::text, DATE '2027-01-01', $3 FROM employees WHERE id = $1 AND $2::uuid IS NOT NULL RETURNING id`},
	} {
		var id uuid.UUID
		if err := tx.QueryRow(ctx, q.sql, employeeID, it.ids["consultation"], it.ids["policy"]).Scan(&id); err != nil {
			t.Fatalf("fixture %s: %v", q.name, err)
		}
		it.ids[q.name] = id
	}
	if _, err := tx.Exec(ctx, `INSERT INTO absence_percentages (tenant_id, absence_id, employee_id, employer_id, from_date, percentage)
		SELECT app_tenant(), id, employee_id, employer_id, first_sick_day, 100 FROM absences WHERE id = ANY($1)`,
		[]uuid.UUID{it.ids["absence"], it.ids["medical_absence"]}); err != nil {
		t.Fatal(err)
	}
	return it
}

// path returns the address of deleting the item called name (its confirmation, and the form's
// target).
func (it delItems) path(name string) string {
	id := it.ids[name].String()
	e, r := "/employees/"+it.employee.String(), "/employers/"+it.employer.String()
	switch name {
	case "absence", "medical_absence":
		return e + "/absences/" + id + "/delete"
	case "report", "hidden_report", "medical_report":
		return e + "/reports/" + id + "/delete"
	case "decision":
		return e + "/decisions/" + id + "/delete"
	case "appointment":
		return "/appointments/" + id + "/delete"
	case "consultation", "medical_consultation":
		return "/consultations/" + id + "/delete"
	case "participation":
		return e + "/policies/" + id + "/delete"
	case "agreement":
		return r + "/agreements/" + id + "/delete"
	case "policy", "free_policy":
		return r + "/policies/" + id + "/delete"
	}
	panic("no item " + name)
}

// deletable are the items a user with every right deletes, in an order that leaves nothing
// referring to what goes next.
var deletable = []string{"absence", "medical_absence", "report", "hidden_report", "medical_report", "decision", "consultation",
	"medical_consultation", "appointment", "participation", "agreement", "free_policy", "policy"}

// ownerQuery runs a one-value query as the owner, who sees every tenant's rows.
func ownerQuery(t *testing.T, b *testBundle, dst any, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
		t.Fatal(err)
	}
}

// caseDataLeft counts the rows of the case tables, every tenant's.
func caseDataLeft(t *testing.T, b *testBundle) string {
	t.Helper()
	var s string
	ownerQuery(t, b, &s, `SELECT concat_ws(' ',
		(SELECT count(*) FROM absences), (SELECT count(*) FROM absence_percentages), (SELECT count(*) FROM reports),
		(SELECT count(*) FROM decisions), (SELECT count(*) FROM appointments), (SELECT count(*) FROM consultations),
		(SELECT count(*) FROM policy_participants), (SELECT count(*) FROM service_agreements),
		(SELECT count(*) FROM insurance_policies))`)
	return s
}

// itemsLeft counts how many of the items still exist, in any tenant.
func itemsLeft(t *testing.T, b *testBundle, it delItems) int {
	t.Helper()
	var ids []uuid.UUID
	for _, id := range it.ids {
		ids = append(ids, id)
	}
	var n int
	ownerQuery(t, b, &n, `SELECT count(*) FROM (
		SELECT id FROM absences UNION ALL SELECT id FROM reports UNION ALL SELECT id FROM decisions
		UNION ALL SELECT id FROM appointments UNION ALL SELECT id FROM consultations
		UNION ALL SELECT id FROM policy_participants UNION ALL SELECT id FROM service_agreements
		UNION ALL SELECT id FROM insurance_policies) x WHERE id = ANY($1)`, ids)
	return n
}

// TestCaseDataDelete deletes one item of every kind the way a person does: the confirmation
// page first, then its form, and checks the 303 back to the tab, the one case.deleted event with
// the employee, and the tombstone in changes. Every refusal comes first and leaves all in place.
func TestCaseDataDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	ctx := context.Background()
	hr := demoUser(t, b, hrUser)
	hrEmployer := hr.EmployerIDs[0]
	var own, other uuid.UUID
	for _, e := range employeesOf(t, b, uuid.Nil) {
		if e.EmployerID == hrEmployer {
			own = e.ID
		} else if other == uuid.Nil {
			other = e.ID
		}
	}
	var mine, theirs, foreign delItems
	b.inTenant(t, func(tx pgx.Tx) error {
		mine, theirs = delFixture(t, tx, own), delFixture(t, tx, other)
		return nil
	})
	tenant, err := org.CreateTenant(ctx, b.db.Pool, "Andere arbodienst", false)
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenant(ctx, b.db.Pool, tenant.ID, func(tx pgx.Tx) error {
		em, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Elders BV", EmployerNumber: "9"})
		if err != nil {
			return err
		}
		e, err := org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: em.ID, PersonnelNumber: "V1", LastName: "Vreemd"})
		if err != nil {
			return err
		}
		foreign = delFixture(t, tx, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	admin, cm, hrc := b.login(t, beheerder), b.login(t, casemanager), b.login(t, hrUser)
	status := func(t *testing.T, c *http.Client, method, path string) int {
		t.Helper()
		if method == http.MethodGet {
			resp, _ := b.get(t, c, path)
			return resp.StatusCode
		}
		return b.post(t, c, path, nil).StatusCode
	}
	refuse := func(t *testing.T, c *http.Client, it delItems, names []string, want int) {
		t.Helper()
		for _, name := range names {
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				if got := status(t, c, m, it.path(name)); got != want {
					t.Errorf("%s %s (%s): status %d, want %d", m, it.path(name), name, got, want)
				}
			}
		}
	}
	contracts := []string{"participation", "agreement", "free_policy"}
	caseData := []string{"absence", "report", "decision", "appointment", "consultation"}

	before, left := ardCounts(t, b), caseDataLeft(t, b)
	t.Run("NotVisible", func(t *testing.T) {
		// hr@ sees his own employer's employees only.
		refuse(t, hrc, theirs, append(caseData, "participation"), http.StatusNotFound)
		// Another employer is out of his reach.
		refuse(t, hrc, theirs, []string{"agreement", "free_policy"}, http.StatusNotFound)
	})
	t.Run("OtherTenant", func(t *testing.T) {
		refuse(t, admin, foreign, append(caseData, contracts...), http.StatusNotFound)
	})
	t.Run("OtherEmployeesItem", func(t *testing.T) {
		// An item of another employee under a visible employee's address does not exist there.
		mixed := delItems{employee: mine.employee, employer: mine.employer, ids: theirs.ids}
		refuse(t, admin, mixed, []string{"absence", "report", "decision", "participation", "agreement", "free_policy"}, http.StatusNotFound)
	})
	t.Run("Malformed", func(t *testing.T) {
		for _, p := range []string{"/employees/" + own.String() + "/absences/x/delete", "/appointments/12/delete",
			"/consultations/abc/delete", "/employers/" + mine.employer.String() + "/policies/1/delete"} {
			if got := status(t, admin, http.MethodPost, p); got != http.StatusNotFound {
				t.Errorf("POST %s: status %d, want 404", p, got)
			}
		}
	})
	t.Run("NoRight", func(t *testing.T) {
		// The case manager sees the dossier and adds to it, but holds no documents.delete, and
		// does not administer contracts.
		refuse(t, cm, mine, append(caseData, contracts...), http.StatusForbidden)
		for _, tab := range []string{"absences", "reports", "decisions", "agenda", "policies"} {
			if _, doc := b.get(t, cm, "/employees/"+own.String()+"/"+tab); doc.Find("a.delete").Length() != 0 {
				t.Errorf("%s tab offers the case manager %d delete links", tab, doc.Find("a.delete").Length())
			}
		}
	})
	t.Run("PolicyInUse", func(t *testing.T) {
		resp, doc := b.ardPost(t, admin, mine.path("policy"), nil)
		want := nl("casefile.error.policy_in_use", 1, 1)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(doc.Text(), want) {
			t.Errorf("deleting a policy in use: status %d, want 409 with %q", resp.StatusCode, want)
		}
	})
	if left != caseDataLeft(t, b) {
		t.Fatalf("refused deletes removed case data: %s → %s", left, caseDataLeft(t, b))
	}
	for k, n := range ardDelta(before, ardCounts(t, b)) {
		t.Errorf("refused deletes left %s: %d", k, n)
	}

	t.Run("WithoutMedicalView", func(t *testing.T) {
		b.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE roles SET rights = rights || '{documents.delete}' WHERE name = 'Casemanager'")
			return err
		})
		defer b.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE roles SET rights = array_remove(rights, 'documents.delete') WHERE name = 'Casemanager'")
			return err
		})
		cm := b.login(t, casemanager)
		refuse(t, cm, mine, []string{"medical_absence", "medical_consultation"}, http.StatusForbidden)
		refuse(t, cm, mine, []string{"hidden_report", "medical_report"}, http.StatusNotFound)
		_, doc := b.get(t, cm, "/employees/"+own.String()+"/agenda")
		if n := doc.Find(`a.delete[href="` + mine.path("medical_consultation") + `"]`).Length(); n != 0 {
			t.Error("the agenda offers to delete a medical consultation to a user without medical.view")
		}
		// What he can read he deletes.
		ardExpect(t, b, map[string]int{"audit case.deleted report": 1, "changes reports delete": 1}, func() {
			wantRedirect(t, b.post(t, cm, mine.path("report"), nil), "/employees/"+own.String()+"/reports")
		})
	})

	t.Run("Delete", func(t *testing.T) {
		e, r := "/employees/"+own.String(), "/employers/"+mine.employer.String()
		for _, d := range []struct {
			name, back string
			want       map[string]int
		}{
			{"absence", e + "/absences", map[string]int{"audit case.deleted absence": 1, "changes absences delete": 1, "changes absence_percentages delete": 1}},
			{"medical_absence", e + "/absences", map[string]int{"audit case.deleted absence": 1, "changes absences delete": 1, "changes absence_percentages delete": 1}},
			{"hidden_report", e + "/reports", map[string]int{"audit case.deleted report": 1, "changes reports delete": 1}},
			{"medical_report", e + "/reports", map[string]int{"audit case.deleted report": 1, "changes reports delete": 1}},
			{"decision", e + "/decisions", map[string]int{"audit case.deleted decision": 1, "changes decisions delete": 1}},
			// The appointment it fulfilled stays, no longer matched.
			{"consultation", e + "/agenda", map[string]int{"audit case.deleted consultation": 1, "changes consultations delete": 1, "changes appointments update": 1}},
			{"medical_consultation", e + "/agenda", map[string]int{"audit case.deleted consultation": 1, "changes consultations delete": 1}},
			{"appointment", e + "/agenda", map[string]int{"audit case.deleted appointment": 1, "changes appointments delete": 1}},
			{"participation", e + "/policies", map[string]int{"audit case.deleted policy_participant": 1, "changes policy_participants delete": 1}},
			{"agreement", r + "/agreements", map[string]int{"audit case.deleted service_agreement": 1, "changes service_agreements delete": 1}},
			{"free_policy", r + "/policies", map[string]int{"audit case.deleted insurance_policy": 1, "changes insurance_policies delete": 1}},
			// Nothing names it any more.
			{"policy", r + "/policies", map[string]int{"audit case.deleted insurance_policy": 1, "changes insurance_policies delete": 1}},
		} {
			path := mine.path(d.name)
			resp, doc := b.get(t, admin, d.back)
			if n := doc.Find(`a.delete[href="` + path + `"]`).Length(); resp.StatusCode != http.StatusOK || n != 1 {
				t.Errorf("%s: status %d, %d links to delete %s; want 200 and 1", d.back, resp.StatusCode, n, d.name)
			}
			resp, doc = b.get(t, admin, path)
			if resp.StatusCode != http.StatusOK || doc.Find(`form[method=post][action="`+path+`"] #confirm-delete`).Length() != 1 {
				t.Fatalf("confirmation of %s: status %d, want 200 with its form", d.name, resp.StatusCode)
			}
			if href, _ := doc.Find("#cancel-delete").Attr("href"); href != d.back {
				t.Errorf("cancel on the confirmation of %s goes to %q, want %q", d.name, href, d.back)
			}
			if doc.Find("#delete-details dd").Length() == 0 {
				t.Errorf("the confirmation of %s does not say what goes", d.name)
			}
			ardExpect(t, b, d.want, func() { wantRedirect(t, b.post(t, admin, path, nil), d.back) })
			if got := status(t, admin, http.MethodGet, path); got != http.StatusNotFound {
				t.Errorf("%s after deleting: status %d, want 404", d.name, got)
			}
		}
		events := auditEvents(t, b, audit.Filter{Action: audit.CaseDeleted, EmployeeID: &mine.employee})
		if len(events) != 10 { // the employee's: all but the agreement and the two policies
			t.Errorf("case.deleted events with the employee = %d, want 10", len(events))
		}
		if n := itemsLeft(t, b, mine); n != 0 {
			t.Errorf("%d of the deleted items are still there", n)
		}
		if n := itemsLeft(t, b, theirs) + itemsLeft(t, b, foreign); n != 2*len(deletable) {
			t.Errorf("%d of the other employee's and the other tenant's %d items are left", n, 2*len(deletable))
		}
	})
}
