package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

// TestBrowserBlacklist clicks through the blacklist as a person would: the administrator opens
// the access screen of hr@, finds one of hr@'s employees and chooses "Geen toegang"; then hr@
// logs in, no longer finds that employee, and the employee's address shows the 404 page.
func TestBrowserBlacklist(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	b := setup(t, 50)
	hr := demoUser(t, b, hrEmail)
	clearAccess(t, b, hr.ID)
	want := rarestEmployeeOf(t, b, hr.EmployerIDs[0])
	if !b.visibleBoth(t, b.login(t, hrEmail), want) {
		t.Fatalf("hr@ does not see %s before the blacklist", want.ID)
	}

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	br.step("log in as administrator", logIn(b.srv.URL, adminEmail)...)

	row := fmt.Sprintf(`#candidate-list tr[data-id="%s"]`, want.ID)
	var loc string
	br.step("open hr@'s access screen",
		chromedp.Navigate(b.srv.URL+"/admin/users?q="+hrEmail),
		afterLoad(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/admin/users/%s"]`, hr.ID)))),
		afterLoad(chromedp.Click(chromedp.ID("manage-access"))),
		chromedp.WaitVisible(chromedp.ID("search-cq")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, b.srv.URL+"/admin/users/"+hr.ID.String()+"/access") }),
	)
	br.step("find the employee",
		chromedp.SendKeys(chromedp.ID("search-cq"), want.LastName),
		afterLoad(chromedp.Click(chromedp.ID("search-cq-submit"))),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	var blacklisted string
	br.step("put the employee under Geen toegang tot",
		chromedp.SendKeys(chromedp.CSS(row+` input[name="reason"]`), "Bezwaar via de FG"),
		afterLoad(chromedp.Click(chromedp.CSS(row+` button[value="blacklist"]`))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#blacklist-entries tr[data-id="%s"]`, want.ID))),
		into(&blacklisted, chromedp.Text(chromedp.CSS(fmt.Sprintf(`#blacklist-entries tr[data-id="%s"] .name`, want.ID)))),
		check(func() error {
			if blacklisted != want.FullName() {
				return fmt.Errorf("blacklist row names %q, want %q", blacklisted, want.FullName())
			}
			return nil
		}),
	)
	br.step("log out",
		afterLoad(chromedp.Click(chromedp.ID("logout"))),
		chromedp.WaitVisible(chromedp.ID("email")),
	)

	br.step("log in as hr@", logIn(b.srv.URL, hrEmail)...)
	var searched string
	var found, listed int
	br.step("search the employee as hr@",
		chromedp.Navigate(b.srv.URL+"/employees"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), want.LastName),
		afterLoad(chromedp.Click(chromedp.ID("search"))),
		chromedp.WaitVisible(chromedp.ID("q")),
		into(&searched, chromedp.Evaluate[string](`document.getElementById("q").value`)),
		into(&found, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('#employees a[href="/employees/%s"]').length`, want.ID))),
		into(&listed, chromedp.Evaluate[int](`document.querySelectorAll("#employees tbody tr").length`)),
		check(func() error {
			if searched != want.LastName {
				return fmt.Errorf("search box holds %q, want %q: not the search result", searched, want.LastName)
			}
			if found != 0 {
				return fmt.Errorf("the blacklisted employee is listed (%d rows in all)", listed)
			}
			return nil
		}),
	)
	var title, message string
	br.step("open the employee's address as hr@",
		chromedp.Navigate(b.srv.URL+"/employees/"+want.ID.String()),
		chromedp.WaitVisible(chromedp.ID("error-message")),
		into(&title, chromedp.Text(chromedp.CSS("main h1"))),
		into(&message, chromedp.Text(chromedp.ID("error-message"))),
		check(func() error {
			if title != nl("error.title.404") || message != nl("error.not_found") {
				return fmt.Errorf("page says %q / %q, want the 404 page", title, message)
			}
			return nil
		}),
	)

	events := auditEvents(t, b, audit.Filter{Action: audit.AccessBlacklisted})
	if len(events) != 1 || uuidOrNil(events[0].SubjectID) != hr.ID || uuidOrNil(events[0].EmployeeID) != want.ID ||
		events[0].Details["reason"] != "Bezwaar via de FG" {
		t.Errorf("access.blacklisted events = %+v, want one for hr@ and %s with the reason", events, want.ID)
	}
}

// logIn is the steps of logging in on the log-in page as the demo user with that address.
func logIn(base, email string) []chromedp.Action[chromedp.Void] {
	var loc string
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), demo.Password),
		afterLoad(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("home-q")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, base+"/") }),
	}
}

// rarestEmployeeOf returns the employer's employee whose last name the fewest others in the
// tenant share, so a search for it gives a short list.
func rarestEmployeeOf(t *testing.T, b *testBundle, employerID uuid.UUID) org.Employee {
	t.Helper()
	var id uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `
			SELECT e.id FROM employees e WHERE e.employer_id = $1
			ORDER BY (SELECT count(*) FROM employees o WHERE lower(o.last_name) = lower(e.last_name)), e.last_name, e.id
			LIMIT 1`, employerID).Scan(&id)
	})
	e := fullEmployee(t, b, id)
	if strings.TrimSpace(e.LastName) == "" {
		t.Fatalf("employee %s has no last name", id)
	}
	return e
}
