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
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// dossierPage is a page of an employee dossier and the part (tab) its view is audited as.
type dossierPage struct{ path, tab string }

// dossierPages stores delFixture's items and a trajectory for the employee and returns every
// page of his dossier: the tabs first, then the trajectory, each edit form and each delete
// confirmation.
func dossierPages(t *testing.T, b *testBundle, employeeID uuid.UUID) (delItems, []dossierPage) {
	t.Helper()
	ctx := context.Background()
	var it delItems
	var trajectory uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		it = delFixture(t, tx, employeeID)
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		var protocol uuid.UUID
		if err := tx.QueryRow(ctx, "SELECT id FROM protocols ORDER BY name LIMIT 1").Scan(&protocol); err != nil {
			return err
		}
		tr, _, err := casefile.OpenTrajectory(ctx, tx, access.System(audit.Actor{}), casefile.TrajectoryStart{EmployeeID: employeeID, ProtocolID: protocol})
		trajectory = tr.ID
		return err
	})
	e := "/employees/" + employeeID.String()
	var pages []dossierPage
	for _, tab := range employee.Tabs {
		pages = append(pages, dossierPage{e + tab.Path, tab.Key})
	}
	pages = append(pages,
		dossierPage{"/trajectories/" + trajectory.String(), "trajectory"},
		dossierPage{e + "/absences/" + it.ids["absence"].String() + "/edit", "absences"},
		dossierPage{e + "/absences/" + it.ids["medical_absence"].String() + "/edit", "absences"},
		dossierPage{e + "/reports/" + it.ids["report"].String() + "/edit", "reports"},
		dossierPage{e + "/decisions/" + it.ids["decision"].String() + "/edit", "decisions"},
		dossierPage{"/appointments/" + it.ids["appointment"].String() + "/edit", "agenda"},
		dossierPage{"/consultations/" + it.ids["consultation"].String() + "/edit", "agenda"},
		dossierPage{"/consultations/" + it.ids["medical_consultation"].String() + "/edit", "agenda"},
		dossierPage{e + "/policies/" + it.ids["participation"].String() + "/edit", "policies"},
	)
	for _, name := range []string{"absence", "report", "decision", "appointment", "consultation", "participation"} {
		tab := map[string]string{"absence": "absences", "report": "reports", "decision": "decisions", "appointment": "agenda",
			"consultation": "agenda", "participation": "policies"}[name]
		pages = append(pages, dossierPage{it.path(name), tab})
	}
	return it, pages
}

// TestEveryDossierPageAudited: every page of an employee dossier records one employee.viewed
// event with the employee and the part viewed (NEN 7513: who saw which dossier, when).
func TestEveryDossierPageAudited(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	e := employeesOf(t, b, uuid.Nil)[0]
	_, pages := dossierPages(t, b, e.ID)
	admin := b.login(t, beheerder)
	for _, p := range pages {
		before := len(auditEvents(t, b, audit.Filter{Action: audit.EmployeeViewed, EmployeeID: &e.ID}))
		if resp, _ := b.get(t, admin, p.path); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", p.path, resp.StatusCode)
			continue
		}
		events := auditEvents(t, b, audit.Filter{Action: audit.EmployeeViewed, EmployeeID: &e.ID})
		if len(events) != before+1 {
			t.Errorf("GET %s: %d employee.viewed events, want 1", p.path, len(events)-before)
			continue
		}
		if latest := events[0]; latest.Details["tab"] != p.tab || uuidOrNil(latest.SubjectID) != e.ID {
			t.Errorf("GET %s: event subject %s, tab %v; want %s, %q", p.path, uuidOrNil(latest.SubjectID), latest.Details["tab"], e.ID, p.tab)
		}
	}
}

// TestMedicalOnNoDossierPage: a user without medical.view (the case manager, here also allowed
// to delete, and an employer's HR user) receives no medical item, hidden report or medical
// field on any page of the dossier, whatever the page answers; the company doctor receives them.
func TestMedicalOnNoDossierPage(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	hr := demoUser(t, b, hrUser)
	list := employeesOf(t, b, hr.EmployerIDs[0])
	e := list[len(list)-1]
	it, pages := dossierPages(t, b, e.ID)
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE roles SET rights = rights || '{documents.delete}' WHERE name = 'Casemanager'")
		return err
	})
	// The medical consultation itself is listed (its outcome withheld); the reports are not.
	secrets := []string{"GEHEIM", nl("absence.cause.accident"), `name="cause"`, `name="hidden"`, `name="medical"`,
		it.ids["hidden_report"].String(), it.ids["medical_report"].String()}

	doctor := b.login(t, bedrijfsarts)
	var seen strings.Builder
	for _, p := range pages {
		_, doc := b.get(t, doctor, p.path)
		html, _ := doc.Html()
		seen.WriteString(html)
	}
	for _, s := range append(secrets[:1], "GEHEIM verborgen notitie", "GEHEIM medische notitie", "GEHEIM diagnose", nl("absence.cause.accident")) {
		if !strings.Contains(seen.String(), s) {
			t.Errorf("the company doctor does not receive %q", s)
		}
	}

	for _, email := range []string{casemanager, hrUser} {
		t.Run(strings.Split(email, "@")[0], func(t *testing.T) {
			c := b.login(t, email)
			for i, p := range pages {
				resp, doc := b.get(t, c, p.path)
				if i < len(employee.Tabs) && resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d", p.path, resp.StatusCode)
				}
				html, _ := doc.Html()
				for _, s := range secrets {
					if strings.Contains(html, s) {
						t.Errorf("GET %s (status %d) holds %q", p.path, resp.StatusCode, s)
					}
				}
			}
		})
	}
}
