package server_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dossierkast/dossierkast/internal/audit"
)

// outsideViewport is a script that lists the elements matching a selector whose box is not
// within the viewport's width (left of 0 or right of the window's inner width), and fails when
// none match at all.
const outsideViewport = `((sel) => {
	const els = document.querySelectorAll(sel);
	if (els.length === 0) return ["nothing matches " + sel];
	const width = document.documentElement.clientWidth;
	const out = [];
	for (const el of els) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.left < 0 || r.right > width + 0.5) {
			out.push((el.id || el.textContent.trim().replace(/\s+/g, " ").slice(0, 40)) + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "] of " + width);
		}
	}
	return out;
})(%q)`

// menuOnOneLine lists the parts of the top bar (brand, menu items, account) that are not on
// the line of the brand.
const menuOnOneLine = `(() => {
	const brand = document.querySelector("header.top .brand").getBoundingClientRect();
	const out = [];
	for (const el of document.querySelectorAll("header.top nav > *, header.top .account")) {
		const r = el.getBoundingClientRect();
		if (r.top >= brand.bottom || r.bottom <= brand.top) {
			out.push(el.textContent.trim().replace(/\s+/g, " ").slice(0, 40) + " at " + Math.round(r.top) + "–" + Math.round(r.bottom));
		}
	}
	return out;
})()`

// noneOutside fails when a script listing misplaced elements lists any.
func noneOutside(what string, got *[]string) chromedp.Action[chromedp.Void] {
	return check(func() error {
		if len(*got) > 0 {
			return fmt.Errorf("%s: %s", what, strings.Join(*got, "; "))
		}
		return nil
	})
}

// TestBrowserScreensFit opens the administrator's screens in Chromium at 1366 × 768 (and the
// roles page at 1920 × 1080): the menu is on one line in both languages, every role card and
// every column of the authorisation matrix is within the window, and the audit log shows a
// role change as before → after and a blacklist entry with its subject and reason, and filters
// by an employee's name.
func TestBrowserScreensFit(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	b := setup(t, 40)
	loadExamples(t, b) // the demo's document categories, for the matrix
	s := tellAuditStory(t, b, b.login(t, adminEmail))

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	br.step("window 1366 × 768", chromedp.EmulateViewport(1366, 768))
	br.step("log in", logIn(b.srv.URL, adminEmail)...)

	var bad []string
	br.step("menu on one line",
		into(&bad, chromedp.Evaluate[[]string](menuOnOneLine)),
		noneOutside("not on the menu's line", &bad),
	)
	br.step("Beheer menu opens within the window",
		chromedp.Click(chromedp.CSS("#nav-admin summary")),
		chromedp.WaitVisible(chromedp.CSS(`#nav-admin a[href="/admin/audit"]`)),
		into(&bad, chromedp.Evaluate[[]string](fmt.Sprintf(outsideViewport, "#nav-admin .menu-items a"))),
		noneOutside("menu items outside the window", &bad),
	)

	rolesFit := func(size string) {
		br.step("roles page "+size,
			chromedp.Navigate(b.srv.URL+"/admin/roles"),
			chromedp.WaitVisible(chromedp.ID("matrix")),
			into(&bad, chromedp.Evaluate[[]string](fmt.Sprintf(outsideViewport, ".role-card, .role-card fieldset, .role-card button"))),
			noneOutside("role cards outside the window", &bad),
			into(&bad, chromedp.Evaluate[[]string](fmt.Sprintf(outsideViewport, "table.matrix th, table.matrix td"))),
			noneOutside("matrix cells outside the window", &bad),
		)
	}
	rolesFit("at 1366 px")

	// The audit log: the role change and the blacklist entry, in words.
	var details, subject string
	br.step("audit: role change before → after",
		chromedp.Navigate(b.srv.URL+"/admin/audit?action="+url.QueryEscape(audit.RoleUpdated)),
		chromedp.WaitVisible(chromedp.ID("audit-events")),
		into(&details, chromedp.Text(chromedp.CSS(`tr[data-event="`+s.roleEvent.String()+`"] td.details`))),
		check(func() error {
			want := strings.Join(s.rightsBefore, ", ") + " → " + strings.Join(s.rightsAfter, ", ")
			if !strings.Contains(details, want) {
				return fmt.Errorf("details = %q, want it to hold %q", details, want)
			}
			return nil
		}),
	)
	br.step("audit: blacklist entry's subject and reason",
		chromedp.Navigate(b.srv.URL+"/admin/audit?action="+url.QueryEscape(audit.AccessBlacklisted)),
		chromedp.WaitVisible(chromedp.ID("audit-events")),
		into(&subject, chromedp.Text(chromedp.CSS(`tr[data-event="`+s.blacklistedAt.String()+`"] td.subject`))),
		into(&details, chromedp.Text(chromedp.CSS(`tr[data-event="`+s.blacklistedAt.String()+`"] td.details`))),
		check(func() error {
			if !strings.Contains(subject, s.manager.Name) || !strings.Contains(details, s.reason) {
				return fmt.Errorf("subject %q, details %q; want %q and reason %q", subject, details, s.manager.Name, s.reason)
			}
			return nil
		}),
		into(&bad, chromedp.Evaluate[[]string](fmt.Sprintf(outsideViewport, "#audit-events th"))),
		noneOutside("audit columns outside the window", &bad),
	)
	var rows []string
	br.step("audit: filter by employee name",
		chromedp.Navigate(b.srv.URL+"/admin/audit"),
		chromedp.WaitVisible(chromedp.ID("f-employee")),
		chromedp.SendKeys(chromedp.ID("f-employee"), s.employee.FullName()),
		afterLoad(chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("audit-events")),
		into(&rows, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#audit-events tbody tr")].map(tr => tr.dataset.event + " " + tr.cells[4].textContent.trim())`)),
		check(func() error {
			found := false
			for _, r := range rows {
				id, name, _ := strings.Cut(r, " ")
				if name != s.employee.FullName() {
					return fmt.Errorf("row %s is of %q, want only %q", id, name, s.employee.FullName())
				}
				found = found || id == s.blacklistedAt.String()
			}
			if !found {
				return fmt.Errorf("the blacklist event is not among %d rows", len(rows))
			}
			return nil
		}),
	)

	var overflow string
	br.step("access page: the department select stays in its column",
		chromedp.Navigate(b.srv.URL+"/admin/users/"+s.manager.ID.String()+"/access"),
		chromedp.WaitVisible(chromedp.ID("departments")),
		into(&overflow, chromedp.Evaluate[string](`(() => {
			const col = document.getElementById("departments").getBoundingClientRect();
			const out = [];
			for (const el of document.querySelectorAll("#departments select")) {
				const r = el.getBoundingClientRect();
				if (r.right > col.right + 0.5) out.push(Math.round(r.right) + " > " + Math.round(col.right));
			}
			return out.join("; ");
		})()`)),
		check(func() error {
			if overflow != "" {
				return fmt.Errorf("select past its column: %s", overflow)
			}
			return nil
		}),
	)

	br.step("English", afterLoad(chromedp.Click(chromedp.CSS(`form[action="/language"] button[value="en"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/language"] button[value="nl"]`)),
		into(&bad, chromedp.Evaluate[[]string](menuOnOneLine)),
		noneOutside("not on the menu's line (English)", &bad),
	)
	rolesFit("in English at 1366 px")
	var wrapped []string
	br.step("dossier in English: numbers do not wrap",
		chromedp.Navigate(b.srv.URL+"/employees/"+s.employee.ID.String()),
		chromedp.WaitVisible(chromedp.ID("employee-name")),
		into(&wrapped, chromedp.Evaluate[[]string](`(() => {
			const dds = [...document.querySelectorAll("dl.details dd.nowrap")];
			if (dds.length === 0) return ["no numbers on the page"];
			return dds.filter(d => { const r = document.createRange(); r.selectNodeContents(d); return r.getClientRects().length > 1; })
				.map(d => d.textContent.trim());
		})()`)),
		noneOutside("numbers broken over lines", &wrapped),
	)
	br.step("window 1920 × 1080", chromedp.EmulateViewport(1920, 1080))
	rolesFit("at 1920 px")
}
