package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/org"
)

// auditStory is what TestAuditScreen and the browser test make happen and then look for on the
// audit page: a role whose rights changed and a blacklist entry with its reason.
type auditStory struct {
	role          org.Role
	rightsBefore  []string // labels, as the role had them
	rightsAfter   []string
	manager       org.User // the user put on "Geen toegang tot" for employee
	employee      org.Employee
	reason        string
	roleEvent     uuid.UUID
	blacklistedAt uuid.UUID // the access.blacklisted event
}

// tellAuditStory changes the Casemanager role's rights and puts an employee on the manager's
// blacklist with a reason, both through the screens, as the administrator c.
func tellAuditStory(t *testing.T, b *testBundle, c *http.Client) auditStory {
	t.Helper()
	s := auditStory{role: demoRole(t, b, "Casemanager"), manager: demoUser(t, b, managerEmail), reason: "Bezwaar via FG: familielid"}
	// Rights are named in the order of the catalogue.
	after := []access.Right{access.EmployeeDossierView, access.DocumentsUpload}
	for _, r := range access.Catalogue {
		if slices.Contains(s.role.Rights, r) {
			s.rightsBefore = append(s.rightsBefore, nl("right."+string(r)))
		}
		if slices.Contains(after, r) {
			s.rightsAfter = append(s.rightsAfter, nl("right."+string(r)))
		}
	}
	wantRedirect(t, b.post(t, c, "/admin/roles/"+s.role.ID.String(), url.Values{"name": {s.role.Name},
		"rights": {"employee_dossier.view", "documents.upload"}}), "/admin/roles#role-"+s.role.ID.String())
	s.roleEvent = auditEvents(t, b, audit.Filter{Action: audit.RoleUpdated})[0].ID

	_, _, members := biggestDepartment(t, b, s.manager.EmployerIDs[0])
	clearAccess(t, b, s.manager.ID)
	s.employee = members[0]
	resp := b.post(t, c, "/admin/users/"+s.manager.ID.String()+"/access", url.Values{"op": {"blacklist"},
		"employee_id": {s.employee.ID.String()}, "reason": {s.reason}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("blacklist: status %d, want 303", resp.StatusCode)
	}
	s.blacklistedAt = auditEvents(t, b, audit.Filter{Action: audit.AccessBlacklisted})[0].ID
	return s
}

// The audit page names each event's subject and says what changed; the detail view shows an
// event in full; the employee filter takes a name or personnel number; the all-choices read
// "Alle …".
func TestAuditScreen(t *testing.T) {
	t.Parallel()
	b := setup(t, 40)
	c := b.login(t, adminEmail)
	s := tellAuditStory(t, b, c)

	row := func(t *testing.T, doc *goquery.Document, id uuid.UUID) *goquery.Selection {
		t.Helper()
		sel := doc.Find(`#audit-events tr[data-event="` + id.String() + `"]`)
		if sel.Length() != 1 {
			t.Fatalf("no row for event %s", id)
		}
		return sel
	}

	t.Run("RoleChangeInList", func(t *testing.T) {
		t.Parallel()
		_, doc := b.get(t, c, "/admin/audit?action="+audit.RoleUpdated)
		r := row(t, doc, s.roleEvent)
		if got := strings.TrimSpace(r.Find("td.subject").Text()); !strings.HasPrefix(got, "Casemanager") {
			t.Errorf("subject cell = %q, want the role's name", got)
		}
		want := nl("audit.detail.rights") + ": " + strings.Join(s.rightsBefore, ", ") + " → " + strings.Join(s.rightsAfter, ", ")
		if got := strings.TrimSpace(r.Find("td.details").Text()); !strings.Contains(got, want) {
			t.Errorf("details cell = %q, want it to hold %q", got, want)
		}
	})
	t.Run("RoleChangeDetail", func(t *testing.T) {
		t.Parallel()
		resp, doc := b.get(t, c, "/admin/audit/"+s.roleEvent.String()+"?action="+audit.RoleUpdated)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		lines := map[string]string{}
		doc.Find("#audit-details tr").Each(func(_ int, tr *goquery.Selection) {
			lines[strings.TrimSpace(tr.Find("th").Text())] = strings.Join(strings.Fields(tr.Find("td").Text()), " ")
		})
		if got, want := lines[nl("audit.detail.rights")], strings.Join(s.rightsBefore, ", ")+" → "+strings.Join(s.rightsAfter, ", "); got != want {
			t.Errorf("rights line = %q, want %q", got, want)
		}
		var withdrawn []string
		for _, r := range s.rightsBefore {
			if !slices.Contains(s.rightsAfter, r) {
				withdrawn = append(withdrawn, r)
			}
		}
		if got, want := lines[nl("audit.detail.withdrawn")], strings.Join(withdrawn, ", "); got != want {
			t.Errorf("withdrawn line = %q, want %q", got, want)
		}
		if got := doc.Find(`a[href^="/admin/audit?"]`).AttrOr("href", ""); got != "/admin/audit?action="+url.QueryEscape(audit.RoleUpdated) {
			t.Errorf("back link = %q, want the filtered list", got)
		}
	})
	t.Run("BlacklistInList", func(t *testing.T) {
		t.Parallel()
		_, doc := b.get(t, c, "/admin/audit?action="+url.QueryEscape(audit.AccessBlacklisted))
		r := row(t, doc, s.blacklistedAt)
		if got := strings.TrimSpace(r.Find("td.subject").Text()); !strings.HasPrefix(got, s.manager.Name) {
			t.Errorf("subject cell = %q, want the user %q", got, s.manager.Name)
		}
		if got := strings.TrimSpace(r.Find("td").Eq(4).Text()); got != s.employee.FullName() {
			t.Errorf("employee cell = %q, want %q", got, s.employee.FullName())
		}
		details := r.Find("td.details").Text()
		for _, want := range []string{nl("audit.detail.reason") + ": " + s.reason,
			nl("audit.detail.access") + ": " + nl("audit.detail.access.none") + " → " + nl("audit.detail.access.blacklisted")} {
			if !strings.Contains(details, want) {
				t.Errorf("details cell = %q, want it to hold %q", details, want)
			}
		}
	})
	t.Run("FilterByEmployee", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{s.employee.FullName(), strings.ToUpper(s.employee.LastName), s.employee.PersonnelNumber} {
			resp, doc := b.get(t, c, "/admin/audit?employee="+url.QueryEscape(q))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("employee=%q: status %d", q, resp.StatusCode)
			}
			rows := doc.Find("#audit-events tbody tr")
			if rows.Length() == 0 {
				t.Fatalf("employee=%q: no events", q)
			}
			if doc.Find(`#audit-events tr[data-event="`+s.blacklistedAt.String()+`"]`).Length() != 1 {
				t.Errorf("employee=%q: the blacklist event is not listed", q)
			}
			rows.Each(func(_ int, tr *goquery.Selection) {
				href := tr.Find("td").Eq(4).Find("a").AttrOr("href", "")
				if href != "/employees/"+s.employee.ID.String() {
					t.Errorf("employee=%q: a row of another employee (%q)", q, href)
				}
			})
			if got := doc.Find("#f-employee").AttrOr("value", ""); got != q {
				t.Errorf("employee field = %q, want %q as typed", got, q)
			}
		}
	})
	t.Run("AllChoices", func(t *testing.T) {
		t.Parallel()
		_, doc := b.get(t, c, "/admin/audit")
		for sel, want := range map[string]string{"#f-user option": nl("audit.all_users"), "#f-action option": nl("audit.all_actions")} {
			if got := strings.TrimSpace(doc.Find(sel).First().Text()); got != want {
				t.Errorf("%s first = %q, want %q", sel, got, want)
			}
		}
	})
	t.Run("UnknownEvent", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/admin/audit/" + uuid.NewString(), "/admin/audit/nonsense"} {
			if resp, _ := b.get(t, c, path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
			}
		}
	})
}
