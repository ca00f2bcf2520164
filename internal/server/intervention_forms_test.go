package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/intervention"
)

// Every form of the intervention and delegation workflow answers bad input with its own page
// again: status 422 (409 for a clash), the form inside, and the Dutch message of what was
// wrong; never a bare error page. Nothing is changed.
func TestInterventionFormsRefuseWithMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	ctx := context.Background()
	client := b.deployToCoach(t, 3)
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	admin := b.login(t, adminEmail)

	var delegation uuid.UUID
	var deployTask, grantTask uuid.UUID
	system := access.System(audit.Actor{})
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT id FROM dossier_delegations WHERE trajectory_id = $1", client.guidance).Scan(&delegation); err != nil {
			return err
		}
		// A programme of its own setting without a user: its deployment needs the manual task.
		var programme, deployment uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO programmes (tenant_id, provider_id, name, executor_mode)
			SELECT app_tenant(), provider_id, 'Formprogramma', 'own' FROM users WHERE email = 'coach@demo.dossierkast.nl'
			RETURNING id`).Scan(&programme); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_deployment' ORDER BY name LIMIT 1").Scan(&deployment); err != nil {
			return err
		}
		// Two employees without interventions: the first one's deployment is confirmed (to the
		// manual task), the second one's confirm task stays open.
		rows, err := tx.Query(ctx, `SELECT id FROM employees e WHERE NOT EXISTS (SELECT 1 FROM dossier_delegations d WHERE d.employee_id = e.id)
			AND NOT EXISTS (SELECT 1 FROM trajectories t WHERE t.employee_id = e.id) ORDER BY personnel_number DESC LIMIT 2`)
		if err != nil {
			return err
		}
		others, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		if len(others) != 2 {
			t.Fatalf("%d employees without interventions, want 2", len(others))
		}
		for i, e := range others {
			_, tasks, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: e, ProtocolID: deployment})
			if err != nil {
				return err
			}
			for _, k := range tasks {
				if k.Type != casefile.TaskDeployIntervention {
					continue
				}
				if i == 1 {
					deployTask = k.ID
					continue
				}
				d, err := intervention.ConfirmDeployment(ctx, tx, system, e, k.ID, &programme)
				if err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, "SELECT id FROM tasks WHERE trajectory_id = $1 AND type = $2",
					d.GuidanceTrajectoryID, casefile.TaskGrantDelegation).Scan(&grantTask); err != nil {
					return fmt.Errorf("manual delegation task (outcome %q): %w", d.Outcome, err)
				}
			}
		}
		return nil
	})
	if deployTask == uuid.Nil || grantTask == uuid.Nil {
		t.Fatal("no confirm or manual delegation task")
	}

	employeePage := "/employees/" + client.employee.String()
	longNote := strings.Repeat("x", access.MaxEndNote+1)
	tests := []struct {
		name   string
		as     string
		path   string
		form   url.Values
		status int
		form0  string // a selector of the form the page shows again
		field  string // its field that keeps the input ("" for none)
		want   string // message key
	}{
		{"EndDateMalformed", "cm", "/delegations/" + delegation.String() + "/end-date", url.Values{"ends_at": {"31-02-2026"}},
			http.StatusUnprocessableEntity, "#delegations .end-date-form", "ends_at", "error.date"},
		{"EndDatePast", "cm", "/delegations/" + delegation.String() + "/end-date", url.Values{"ends_at": {"2020-01-01"}},
			http.StatusUnprocessableEntity, "#delegations .end-date-form", "ends_at", "delegation.error.end_past"},
		{"EarlyEndNoteTooLong", "cm", "/delegations/" + delegation.String() + "/end", url.Values{"note": {longNote}},
			http.StatusUnprocessableEntity, "#delegations .end-form", "note", "delegation.error.note_long"},
		{"ConfirmProgrammeMalformed", "cm", "/tasks/" + deployTask.String() + "/deploy", url.Values{"programme_id": {"geen-id"}},
			http.StatusUnprocessableEntity, "form", "", "error.choose"},
		{"ConfirmProgrammeUnknown", "cm", "/tasks/" + deployTask.String() + "/deploy", url.Values{"programme_id": {uuid.NewString()}},
			http.StatusUnprocessableEntity, "form", "", "error.choose"},
		{"GrantWithoutCoach", "cm", "/tasks/" + grantTask.String() + "/delegate", url.Values{"ends_at": {"2099-01-01"}},
			http.StatusUnprocessableEntity, "form", "ends_at", "error.choose"},
		{"GrantDateMalformed", "cm", "/tasks/" + grantTask.String() + "/delegate", url.Values{"ends_at": {"morgen"}},
			http.StatusUnprocessableEntity, "form", "ends_at", "error.date"},
		{"SettingsProtocolMalformed", "admin", "/admin/interventions/settings", url.Values{"guidance_protocol_id": {"geen-id"}},
			http.StatusUnprocessableEntity, "#settings-form", "", "error.choose"},
		{"SettingsProtocolNotGuidance", "admin", "/admin/interventions/settings", url.Values{"guidance_protocol_id": {uuid.NewString()}},
			http.StatusUnprocessableEntity, "#settings-form", "", "intervention.error.guidance_kind"},
		{"ProgrammePriceMalformed", "admin", "/admin/interventions/programmes", url.Values{"name": {"Duur"}, "price": {"veel"}},
			http.StatusUnprocessableEntity, "#programme-form", "price", "programme.error.price"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cm
			if tt.as == "admin" {
				c = admin
			}
			resp, doc := b.ctrPost(t, c, tt.path, tt.form)
			checkRefusedForm(t, resp, doc, tt.status, tt.form0, tt.want)
			if tt.field != "" {
				if got := doc.Find(tt.form0+` [name="`+tt.field+`"]`).AttrOr("value", ""); got != tt.form.Get(tt.field) {
					t.Errorf("field %s shows %q, want the input %q", tt.field, got, tt.form.Get(tt.field))
				}
			}
		})
	}

	// Nothing changed: the delegation runs with its end date, and the tasks are open.
	b.inTenant(t, func(tx pgx.Tx) error {
		var running bool
		if err := tx.QueryRow(ctx, `SELECT end_reason IS NULL AND ended_at > now() FROM dossier_delegations WHERE id = $1`,
			delegation).Scan(&running); err != nil {
			return err
		}
		if !running {
			t.Error("a refused form changed the delegation")
		}
		var open int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM tasks WHERE id = ANY ($1) AND status = 'open'",
			[]uuid.UUID{deployTask, grantTask}).Scan(&open); err != nil {
			return err
		}
		if open != 2 {
			t.Errorf("%d of the 2 tasks still open after refused forms", open)
		}
		return nil
	})

	// Ending it twice is a clash, answered on the employee page with its message.
	if r := b.post(t, cm, "/delegations/"+delegation.String()+"/end", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end: status %d, want 303", r.StatusCode)
	}
	resp, doc := b.ctrPost(t, cm, "/delegations/"+delegation.String()+"/end", nil)
	checkRefusedForm(t, resp, doc, http.StatusConflict, "#delegations", "delegation.error.ended")
	if !strings.Contains(doc.Find("h1").Text(), client.lastName) {
		t.Errorf("the clash shows %q, not the page of %s", doc.Find("h1").Text(), employeePage)
	}
}

// checkRefusedForm asserts that a refused form came back with status, the form (selector sel)
// and the Dutch message of key.
func checkRefusedForm(t *testing.T, resp *http.Response, doc *goquery.Document, status int, sel, key string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	if lang := doc.Find("html").AttrOr("lang", ""); lang != "nl" {
		t.Errorf("html lang = %q, want nl", lang)
	}
	if doc.Find(sel).Length() == 0 {
		t.Errorf("the page does not show the form %s again", sel)
	}
	msg := i18n.Translate("nl", key)
	if msg == key {
		t.Fatalf("no Dutch text for %s", key)
	}
	if got := doc.Find(".error, .error-summary").Text(); !strings.Contains(got, msg) {
		t.Errorf("messages %q do not say %q", got, msg)
	}
}
