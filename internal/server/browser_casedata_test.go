package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// browserCaseFlowTimeout bounds the case-data flow: it visits some thirty pages.
const browserCaseFlowTimeout = 3 * time.Minute

// medicalSecrets are texts stored only in medical fields and hidden or medical items of the
// dossier the case-data flow uses; a user without medical.view must never receive one.
var medicalSecrets = []string{"VERTROUWELIJK-VERBORGEN", "VERTROUWELIJK-MEDISCH", "VERTROUWELIJK-SPREEKUUR"}

// TestBrowserCaseData clicks through the case-data tabs as the demo case manager, who has no
// medical.view (his role is given documents.delete for the test, as an administrator would in
// the role editor): he opens a dossier holding medical items, walks every tab without receiving
// any of them, records an absence and changes its percentage, adds a report and a decision,
// opens a trajectory and completes a task, and deletes the decision through its confirmation.
func TestBrowserCaseData(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	b := setup(t, 20)
	ctx := context.Background()
	e, _ := pickEmployee(t, b)
	var protocolID uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE roles SET rights = rights || '{documents.delete}' WHERE name = 'Casemanager'"); err != nil {
			return err
		}
		for _, q := range []string{
			`INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day, recovery_date, cause, notes)
				SELECT app_tenant(), id, employer_id, DATE '2026-03-02', DATE '2026-04-01', 'psychological', 'Eerder verzuim' FROM employees WHERE id = $1`,
			`INSERT INTO reports (tenant_id, employee_id, employer_id, body, expertise, hidden)
				SELECT app_tenant(), id, employer_id, 'VERTROUWELIJK-VERBORGEN', 'bedrijfsarts', true FROM employees WHERE id = $1`,
			`INSERT INTO reports (tenant_id, employee_id, employer_id, body, expertise, medical)
				SELECT app_tenant(), id, employer_id, 'VERTROUWELIJK-MEDISCH', 'bedrijfsarts', true FROM employees WHERE id = $1`,
			`INSERT INTO consultations (tenant_id, employee_id, employer_id, held_at, held_by, outcome, medical)
				SELECT app_tenant(), id, employer_id, TIMESTAMPTZ '2026-03-10 10:00+01', 'Dr. Visser', 'VERTROUWELIJK-SPREEKUUR', true FROM employees WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, e.ID); err != nil {
				return err
			}
		}
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT p.id FROM protocols p WHERE EXISTS (SELECT 1 FROM protocol_tasks t WHERE t.protocol_id = p.id)
			ORDER BY p.name LIMIT 1`).Scan(&protocolID)
	})
	// The medical items are there: the company doctor receives every one of them.
	doctor := b.login(t, bedrijfsarts)
	var seen strings.Builder
	for _, tab := range []string{"/absences", "/reports", "/agenda"} {
		_, doc := b.get(t, doctor, "/employees/"+e.ID.String()+tab)
		html, _ := doc.Html()
		seen.WriteString(html)
	}
	for _, s := range append(medicalSecrets, nl("absence.cause.psychological")) {
		if !strings.Contains(seen.String(), s) {
			t.Fatalf("the company doctor does not receive %q: the fixture is not what the flow expects", s)
		}
	}

	runCtx, cancel := context.WithTimeout(t.Context(), browserCaseFlowTimeout)
	defer cancel()
	br := startBrowser(t, runCtx, execPath)
	defer br.close()
	dossier := b.srv.URL + "/employees/" + e.ID.String()

	br.step("log in as case manager", logIn(b.srv.URL, casemanager)...)
	br.step("open the dossier",
		chromedp.Navigate(dossier),
		chromedp.WaitVisible(chromedp.ID("employee-name")),
	)
	for _, tab := range employee.Tabs {
		var current, name, html string
		br.step("tab "+tab.Key,
			afterLoad(chromedp.Click(chromedp.CSS(fmt.Sprintf(`nav.tabs a[href="/employees/%s%s"]`, e.ID, tab.Path)))),
			chromedp.WaitVisible(chromedp.CSS(`nav.tabs a[aria-current="page"]`)),
			into(&current, chromedp.Text(chromedp.CSS(`nav.tabs a[aria-current="page"]`))),
			into(&name, chromedp.Text(chromedp.ID("employee-name"))),
			into(&html, chromedp.Evaluate[string](`document.documentElement.outerHTML`)),
			check(func() error {
				if current != nl("dossier.tab."+tab.Key) || name != e.FullName() {
					return fmt.Errorf("tab shows %q for %q, want %q for %q", current, name, nl("dossier.tab."+tab.Key), e.FullName())
				}
				return noMedical(html)
			}),
		)
	}

	tabLink := func(key string) chromedp.Action[chromedp.Void] {
		for _, tab := range employee.Tabs {
			if tab.Key == key {
				return afterLoad(chromedp.Click(chromedp.CSS(fmt.Sprintf(`nav.tabs a[href="/employees/%s%s"]`, e.ID, tab.Path))))
			}
		}
		panic("no tab " + key)
	}
	flash := func(key string) chromedp.Action[chromedp.Void] {
		var got string
		return chromedp.Steps(
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
			into(&got, chromedp.Text(chromedp.CSS(`p.flash`))),
			check(func() error {
				if got != nl(key) {
					return fmt.Errorf("flash %q, want %q", got, nl(key))
				}
				return nil
			}),
		)
	}

	// The absence of 4-1-2027 is the one the flow records; the demo may have others.
	const newAbsence = `[...document.querySelectorAll("article.absence")].find(a => a.querySelector(".first-sick-day").textContent.trim() === "4-1-2027")`
	var absenceID, pct string
	br.step("record an absence",
		tabLink("absences"),
		chromedp.SetValue(chromedp.CSS(`#new-absence input[name="first_sick_day"]`), "2027-01-04"),
		chromedp.SetValue(chromedp.CSS(`#new-absence input[name="percentage"]`), "100"),
		chromedp.SetValue(chromedp.CSS(`#new-absence textarea[name="notes"]`), "Griep, gemeld door de werkgever"),
		afterLoad(chromedp.Click(chromedp.CSS(`#new-absence button[type="submit"]`))),
		flash("flash.saved"),
		into(&absenceID, chromedp.Evaluate[string](newAbsence+`.dataset.absence`)),
		into(&pct, chromedp.Evaluate[string](newAbsence+`.querySelector(".percentage").textContent.trim()`)),
		check(func() error {
			if pct != "100%" {
				return fmt.Errorf("the new absence shows %q, want 100%%", pct)
			}
			return nil
		}),
	)
	art := fmt.Sprintf(`article.absence[data-absence="%s"]`, absenceID)
	br.step("change its percentage",
		chromedp.Click(chromedp.CSS(art+` details.change-percentage summary`)),
		chromedp.WaitVisible(chromedp.ID("percentage-"+absenceID)),
		chromedp.SetValue(chromedp.ID("from_date-"+absenceID), "2027-02-01"),
		chromedp.SetValue(chromedp.ID("percentage-"+absenceID), "50"),
		afterLoad(chromedp.Click(chromedp.CSS(art+` details.change-percentage button[type="submit"]`))),
		flash("flash.saved"),
		into(&pct, chromedp.Text(chromedp.CSS(art+` .percentage`))),
		check(func() error {
			if pct != "50%" {
				return fmt.Errorf("after the change the absence shows %q, want 50%%", pct)
			}
			return nil
		}),
	)

	var reports int
	br.step("add a report",
		tabLink("reports"),
		chromedp.SetValue(chromedp.CSS(`#new-report select[name="expertise"]`), "casemanager"),
		chromedp.SetValue(chromedp.CSS(`#new-report textarea[name="body"]`), "Telefonisch contact; werkhervatting besproken."),
		afterLoad(chromedp.Click(chromedp.CSS(`#new-report button[type="submit"]`))),
		flash("flash.saved"),
		into(&reports, chromedp.Evaluate[int](`[...document.querySelectorAll("article.report .body")].filter(b => b.textContent === "Telefonisch contact; werkhervatting besproken.").length`)),
		check(func() error {
			if reports != 1 {
				return fmt.Errorf("%d reports with the text, want 1", reports)
			}
			return nil
		}),
	)

	var decisionID string
	br.step("add a decision",
		tabLink("decisions"),
		chromedp.SetValue(chromedp.CSS(`#new-decision select[name="kind"]`), "WIA"),
		chromedp.SetValue(chromedp.CSS(`#new-decision input[name="decision_date"]`), "2027-06-01"),
		chromedp.SetValue(chromedp.CSS(`#new-decision textarea[name="outcome"]`), "Geen WIA-uitkering"),
		afterLoad(chromedp.Click(chromedp.CSS(`#new-decision button[type="submit"]`))),
		flash("flash.saved"),
		into(&decisionID, chromedp.Evaluate[string](`[...document.querySelectorAll("#decisions tr[data-decision]")].find(r => r.querySelector(".outcome").textContent === "Geen WIA-uitkering").dataset.decision`)),
	)

	var done int
	br.step("open a trajectory",
		tabLink("trajectories"),
		chromedp.SetValue(chromedp.CSS(`#open-trajectory select[name="protocol_id"]`), protocolID.String()),
		afterLoad(chromedp.Click(chromedp.CSS(`#open-trajectory button[type="submit"]`))),
		flash("flash.trajectory_opened"),
		chromedp.WaitVisible(chromedp.CSS(`#tasks tr[data-status="open"]`)),
	)
	br.step("complete a task",
		afterLoad(chromedp.Click(chromedp.CSS(`#tasks tr[data-status="open"] form[action$="/complete"] button`))),
		flash("flash.task_completed"),
		into(&done, chromedp.Evaluate[int](`document.querySelectorAll('#tasks tr[data-status="done"]').length`)),
		check(func() error {
			if done != 1 {
				return fmt.Errorf("%d tasks done, want 1", done)
			}
			return nil
		}),
	)

	var what string
	br.step("ask to delete the decision",
		chromedp.Navigate(dossier+"/decisions"),
		afterLoad(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#decisions tr[data-decision="%s"] a.delete`, decisionID)))),
		chromedp.WaitVisible(chromedp.ID("confirm-delete")),
		into(&what, chromedp.Text(chromedp.ID("delete-details"))),
		check(func() error {
			if !strings.Contains(what, "1-6-2027") || !strings.Contains(what, "Geen WIA-uitkering") {
				return fmt.Errorf("the confirmation says %q: not the decision", what)
			}
			return nil
		}),
	)
	var left int
	var loc string
	br.step("confirm",
		afterLoad(chromedp.Click(chromedp.ID("confirm-delete"))),
		flash("flash.deleted"),
		into(&loc, chromedp.Location()),
		into(&left, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('tr[data-decision="%s"]').length`, decisionID))),
		check(func() error {
			if loc != dossier+"/decisions" || left != 0 {
				return fmt.Errorf("after deleting: at %s with %d rows of the decision; want the decisions tab without it", loc, left)
			}
			return nil
		}),
	)

	events := auditEvents(t, b, audit.Filter{Action: audit.CaseDeleted, EmployeeID: &e.ID})
	if len(events) != 1 || events[0].SubjectType != "decision" || uuidOrNil(events[0].SubjectID).String() != decisionID {
		t.Errorf("case.deleted events = %+v, want one for the decision", events)
	}
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM changes WHERE entity = 'decisions' AND op = 'delete' AND row_id = $1`,
			uuid.MustParse(decisionID)).Scan(&n)
	})
	if n != 1 {
		t.Errorf("changes records %d deletes of the decision, want 1", n)
	}
}

// noMedical returns an error when a page's HTML holds any medical secret or medical field.
func noMedical(html string) error {
	for _, s := range append(medicalSecrets, nl("absence.cause"), nl("absence.cause.psychological"), `name="cause"`,
		`name="hidden"`, `name="medical"`, "hidden-report", "medical-report") {
		if strings.Contains(html, s) {
			return fmt.Errorf("the page holds %q", s)
		}
	}
	return nil
}
