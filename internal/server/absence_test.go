package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

const hrUser = "hr@demo.dossierkast.nl" // employer user: one employer, no medical.view

// ardPost submits a form like b.post and also returns the page it answered with.
func (b *testBundle) ardPost(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
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
	return resp, doc
}

// ardCounts counts what a change of case data leaves behind: case.* audit events per action and
// subject type, and rows of changes per entity and operation.
func ardCounts(t *testing.T, b *testBundle) map[string]int {
	t.Helper()
	out := map[string]int{}
	b.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `
			SELECT 'audit ' || action || ' ' || subject_type, count(*) FROM audit_events WHERE action LIKE 'case.%' GROUP BY 1
			UNION ALL
			SELECT 'changes ' || entity || ' ' || op, count(*) FROM changes GROUP BY 1`)
		if err != nil {
			return err
		}
		var k string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil })
		return err
	})
	return out
}

// ardDelta is what changed between two ardCounts.
func ardDelta(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for k, n := range after {
		if n != before[k] {
			d[k] = n - before[k]
		}
	}
	return d
}

// ardExpect checks that fn left exactly want behind (see ardCounts).
func ardExpect(t *testing.T, b *testBundle, want map[string]int, fn func()) {
	t.Helper()
	before := ardCounts(t, b)
	fn()
	if diff := cmp.Diff(want, ardDelta(before, ardCounts(t, b))); diff != "" {
		t.Errorf("audit events and changes (-want +got):\n%s", diff)
	}
}

// ardScalar runs a query that returns one value, in the demo tenant.
func ardScalar[T any](t *testing.T, b *testBundle, sql string, args ...any) T {
	t.Helper()
	var v T
	b.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(context.Background(), sql, args...).Scan(&v) })
	return v
}

// wantFieldError checks a 422 page: the field's Dutch message is shown.
func wantFieldError(t *testing.T, resp *http.Response, doc *goquery.Document, field, key string) {
	t.Helper()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	want := i18n.Translate("nl", key)
	if want == key {
		t.Fatalf("message %s is not in the catalogue", key)
	}
	got := strings.TrimSpace(doc.Find("#e-" + field).Text())
	if got == "" {
		got = strings.TrimSpace(doc.Find(".field.invalid .error").First().Text())
	}
	if got != want {
		t.Errorf("error for %s = %q, want %q", field, got, want)
	}
}

func TestAbsenceCreateEditList(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	arts, cm := b.login(t, bedrijfsarts), b.login(t, casemanager)
	e := employeesOf(t, b, uuid.Nil)[0]
	base := "/employees/" + e.ID.String() + "/absences"

	// Create, as the company doctor, with the medical cause.
	ardExpect(t, b, map[string]int{"audit case.created absence": 1, "changes absences insert": 1, "changes absence_percentages insert": 1}, func() {
		resp := b.post(t, arts, base, url.Values{"first_sick_day": {"2027-01-04"}, "percentage": {"100"},
			"expected_return": {"1-3-2027"}, "cause": {"accident"}, "notes": {"Val van de trap"}})
		wantRedirect(t, resp, base)
	})
	id := ardScalar[uuid.UUID](t, b, "SELECT id FROM absences WHERE employee_id = $1", e.ID)
	if got := ardScalar[uuid.UUID](t, b, "SELECT employer_id FROM absences WHERE id = $1", id); got != e.EmployerID {
		t.Errorf("employer_id = %s, want the employee's %s", got, e.EmployerID)
	}
	row := "[data-absence='" + id.String() + "']"

	resp, doc := b.get(t, arts, base)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: status %d", resp.StatusCode)
	}
	for sel, want := range map[string]string{row + " .first-sick-day": "4-1-2027", row + " .percentage": "100%",
		row + " .expected-return": "1-3-2027", row + " .cause": "Ongeval", row + " .notes": "Val van de trap",
		".tabs [aria-current=page]": "Verzuim"} {
		if got := strings.TrimSpace(doc.Find(sel).Text()); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}

	// Edit, as the case manager: no cause field, and the stored cause stays.
	resp, doc = b.get(t, cm, base+"/"+id.String()+"/edit")
	if resp.StatusCode != http.StatusOK || doc.Find("select[name=cause]").Length() != 0 {
		t.Fatalf("edit page: status %d, cause fields %d; want 200 without cause", resp.StatusCode, doc.Find("select[name=cause]").Length())
	}
	if v, _ := doc.Find("input[name=first_sick_day]").Attr("value"); v != "2027-01-04" {
		t.Errorf("edit form first sick day = %q", v)
	}
	ardExpect(t, b, map[string]int{"audit case.updated absence": 1, "changes absences update": 1}, func() {
		resp := b.post(t, cm, base+"/"+id.String(), url.Values{"first_sick_day": {"2027-01-04"}, "recovery_date": {"2027-03-15"},
			"notes": {"Hersteld gemeld"}})
		wantRedirect(t, resp, base)
	})
	if got := ardScalar[string](t, b, "SELECT cause || '/' || notes || '/' || recovery_date::text FROM absences WHERE id = $1", id); got != "accident/Hersteld gemeld/2027-03-15" {
		t.Errorf("after edit: %q", got)
	}

	// A change of the percentage.
	ardExpect(t, b, map[string]int{"audit case.updated absence": 1, "changes absence_percentages insert": 1}, func() {
		resp := b.post(t, cm, base+"/"+id.String()+"/percentages", url.Values{"from_date": {"2027-02-01"}, "percentage": {"50"}})
		wantRedirect(t, resp, base)
	})
	_, doc = b.get(t, arts, base)
	var hist []string
	doc.Find(row + " table.percentages tbody tr").Each(func(_ int, s *goquery.Selection) {
		hist = append(hist, strings.TrimSpace(s.Find("td").First().Text())+" "+strings.TrimSpace(s.Find("td").Last().Text()))
	})
	if diff := cmp.Diff([]string{"4-1-2027 100%", "1-2-2027 50%"}, hist); diff != "" {
		t.Errorf("percentage history (-want +got):\n%s", diff)
	}

	// Invalid input: the Dutch message, status 422, nothing stored.
	t.Run("Invalid", func(t *testing.T) {
		ardExpect(t, b, map[string]int{}, func() {
			resp, doc := b.ardPost(t, cm, base+"/"+id.String(), url.Values{"first_sick_day": {"2027-01-04"}, "recovery_date": {"2027-01-03"}})
			wantFieldError(t, resp, doc, "recovery_date", "absence.error.recovery_before_start")
			if !strings.Contains(doc.Text(), "De hersteldatum kan niet vóór de eerste ziektedag liggen.") {
				t.Error("Dutch message missing")
			}
			resp, doc = b.ardPost(t, cm, base, url.Values{"first_sick_day": {"2027-05-01"}, "percentage": {"120"}})
			wantFieldError(t, resp, doc, "percentage", "absence.error.percentage")
			if v, _ := doc.Find("#new-absence input[name=percentage]").Attr("value"); v != "120" {
				t.Errorf("re-shown percentage = %q, want what was posted", v)
			}
			resp, doc = b.ardPost(t, cm, base, url.Values{"first_sick_day": {"2027-05-01"}, "recovery_date": {"2027-04-01"}, "percentage": {"100"}})
			wantFieldError(t, resp, doc, "recovery_date", "absence.error.recovery_before_start")
			resp, doc = b.ardPost(t, cm, base+"/"+id.String()+"/percentages", url.Values{"from_date": {"2027-02-10"}, "percentage": {"120"}})
			wantFieldError(t, resp, doc, "percentage-"+id.String(), "absence.error.percentage")
			if v, _ := doc.Find("#percentage-" + id.String()).Attr("value"); v != "120" {
				t.Errorf("re-shown percentage change = %q, want what was posted", v)
			}
		})
		if n := ardScalar[int](t, b, "SELECT count(*) FROM absences"); n != 1 {
			t.Errorf("absences = %d, want 1", n)
		}
		if got := ardScalar[string](t, b, "SELECT recovery_date::text FROM absences WHERE id = $1", id); got != "2027-03-15" {
			t.Errorf("recovery date = %q after a refused edit", got)
		}
	})
}

// TestCaseDataRefusals: without the right to add to the dossier 403, outside one's access 404
// (for an employer user, another employer's employee), nothing stored either way.
func TestCaseDataRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	hr := demoUser(t, b, hrUser)
	hrEmployer := ardScalar[uuid.UUID](t, b, "SELECT employer_id FROM user_employers WHERE user_id = $1", hr.ID)
	var other uuid.UUID
	for _, e := range employeesOf(t, b, uuid.Nil) {
		if e.EmployerID != hrEmployer {
			other = e.ID
			break
		}
	}
	if other == uuid.Nil {
		t.Fatal("no employee of another employer")
	}
	own := employeesOf(t, b, hrEmployer)[len(employeesOf(t, b, hrEmployer))-1].ID
	// Fixtures to edit, one per entity, for both employees.
	ids := map[uuid.UUID]map[string]uuid.UUID{}
	b.inTenant(t, func(tx pgx.Tx) error {
		for _, emp := range []uuid.UUID{other, own} {
			ids[emp] = map[string]uuid.UUID{}
			for _, q := range []struct{ kind, sql string }{
				{"absences", "INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day) SELECT app_tenant(), id, employer_id, DATE '2027-01-04' FROM employees WHERE id = $1 RETURNING id"},
				{"reports", "INSERT INTO reports (tenant_id, employee_id, employer_id, body, expertise) SELECT app_tenant(), id, employer_id, 'Tekst', 'casemanager' FROM employees WHERE id = $1 RETURNING id"},
				{"decisions", "INSERT INTO decisions (tenant_id, employee_id, employer_id, kind, decision_date) SELECT app_tenant(), id, employer_id, 'ZW', DATE '2027-06-01' FROM employees WHERE id = $1 RETURNING id"},
			} {
				var id uuid.UUID
				if err := tx.QueryRow(context.Background(), q.sql, emp).Scan(&id); err != nil {
					return err
				}
				ids[emp][q.kind] = id
			}
		}
		return nil
	})
	forms := map[string]url.Values{
		"absences":  {"first_sick_day": {"2027-01-04"}, "percentage": {"100"}},
		"reports":   {"body": {"Tekst"}, "expertise": {"werkgever"}},
		"decisions": {"kind": {"ZW"}, "decision_date": {"2027-06-01"}},
	}
	requests := func(emp uuid.UUID) [][3]string { // method, path, kind
		var out [][3]string
		for kind := range forms {
			base := "/employees/" + emp.String() + "/" + kind
			item := base + "/" + ids[emp][kind].String()
			out = append(out, [3]string{"GET", base, kind}, [3]string{"POST", base, kind},
				[3]string{"GET", item + "/edit", kind}, [3]string{"POST", item, kind})
		}
		return out
	}
	do := func(t *testing.T, c *http.Client, req [3]string) int {
		if req[0] == "GET" {
			resp, _ := b.get(t, c, req[1])
			return resp.StatusCode
		}
		return b.post(t, c, req[1], forms[req[2]]).StatusCode
	}
	hrClient := b.login(t, hrUser)
	before := ardCounts(t, b)
	t.Run("NotVisible", func(t *testing.T) {
		for _, req := range requests(other) {
			if got := do(t, hrClient, req); got != http.StatusNotFound {
				t.Errorf("%s %s as hr: status %d, want 404", req[0], req[1], got)
			}
		}
		if got := b.post(t, hrClient, "/employees/"+other.String()+"/absences/"+ids[other]["absences"].String()+"/percentages",
			url.Values{"from_date": {"2027-02-01"}, "percentage": {"50"}}).StatusCode; got != http.StatusNotFound {
			t.Errorf("percentage change as hr: status %d, want 404", got)
		}
		// Another employee's item under a visible employee is not found either.
		if resp, _ := b.get(t, hrClient, "/employees/"+own.String()+"/reports/"+ids[other]["reports"].String()+"/edit"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("other employee's report under own employee: status %d, want 404", resp.StatusCode)
		}
	})
	t.Run("NoRight", func(t *testing.T) {
		b.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), "UPDATE roles SET rights = array_remove(rights, 'documents.upload') WHERE name = 'HR-medewerker'")
			return err
		})
		for _, req := range requests(own) {
			want := http.StatusForbidden
			if req[0] == "GET" && !strings.HasSuffix(req[1], "/edit") {
				want = http.StatusOK // reading stays allowed, without forms
			}
			if got := do(t, hrClient, req); got != want {
				t.Errorf("%s %s without documents.upload: status %d, want %d", req[0], req[1], got, want)
			}
		}
		_, doc := b.get(t, hrClient, "/employees/"+own.String()+"/reports")
		if n := doc.Find("form.case-form, a.edit").Length(); n != 0 {
			t.Errorf("reports page without the right shows %d forms or edit links", n)
		}
	})
	delete(before, "")
	after := ardCounts(t, b)
	for k, n := range after {
		if strings.HasPrefix(k, "changes ") && n != before[k] {
			t.Errorf("refused requests changed %s: %d → %d", k, before[k], n)
		}
		if strings.HasPrefix(k, "audit ") && n != before[k] {
			t.Errorf("refused requests wrote %s: %d → %d", k, before[k], n)
		}
	}
}

// rawKeyRE matches a message key of this area shown as is: a key missing from the catalogue.
var rawKeyRE = regexp.MustCompile(`\b(absence|report|decision|dossier\.tab)\.[a-z_.-]+\b`)

// TestCaseDataMessagesExist opens every page of the area, with every choice and error shown, in
// both languages, and looks for message keys that were shown instead of their text.
func TestCaseDataMessagesExist(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		values []string
		key    func(string) string
	}{{casefile.AbsenceCauses, employee.AbsenceCauseKey}, {casefile.Expertises, employee.ExpertiseKey}, {casefile.DecisionKinds, employee.DecisionKindKey}} {
		for _, v := range c.values {
			if !i18n.Has(c.key(v)) {
				t.Errorf("message %s missing", c.key(v))
			}
		}
	}
	b := setup(t, 5)
	arts := b.login(t, bedrijfsarts)
	e := employeesOf(t, b, uuid.Nil)[0]
	base := "/employees/" + e.ID.String()
	b.post(t, arts, base+"/absences", url.Values{"first_sick_day": {"2027-01-04"}, "percentage": {"100"}, "cause": {"other"}, "recovery_date": {"2027-02-01"}})
	b.post(t, arts, base+"/reports", url.Values{"body": {"x"}, "expertise": {"werkgever"}, "hidden": {"1"}, "medical": {"1"}})
	b.post(t, arts, base+"/decisions", url.Values{"kind": {"other"}, "decision_date": {"2027-01-04"}})
	aid := ardScalar[uuid.UUID](t, b, "SELECT id FROM absences")
	rid := ardScalar[uuid.UUID](t, b, "SELECT id FROM reports")
	did := ardScalar[uuid.UUID](t, b, "SELECT id FROM decisions")
	for _, lang := range []string{"nl", "en"} {
		if resp := b.post(t, arts, "/language", url.Values{"language": {lang}, "return": {"/"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("switch language: status %d", resp.StatusCode)
		}
		check := func(what string, doc *goquery.Document) {
			t.Helper()
			html, _ := doc.Find("main").Html()
			if html == "" {
				html, _ = doc.Html()
			}
			if m := rawKeyRE.FindAllString(html, -1); len(m) > 0 {
				t.Errorf("%s (%s) shows message keys %v", what, lang, m)
			}
		}
		for _, p := range []string{"/absences", "/absences/" + aid.String() + "/edit", "/reports", "/reports/" + rid.String() + "/edit",
			"/decisions", "/decisions/" + did.String() + "/edit"} {
			_, doc := b.get(t, arts, base+p)
			check(p, doc)
		}
		for p, form := range map[string]url.Values{
			"/absences":                 {"first_sick_day": {"4-1-2027"}, "recovery_date": {"1-1-2027"}, "expected_return": {"1-1-2027"}, "percentage": {"x"}},
			"/absences/" + aid.String(): {"first_sick_day": {"2027-03-01"}},
			"/absences/" + aid.String() + "/percentages": {"from_date": {"2027-03-01"}, "percentage": {"101"}},
			"/reports":   {"body": {""}},
			"/decisions": {"kind": {""}},
		} {
			_, doc := b.ardPost(t, arts, base+p, form)
			check("POST "+p, doc)
		}
	}
}
