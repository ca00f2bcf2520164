package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
)

// caseBundle is the demo application with the default protocols, an employee of hr@'s
// employer (own) and one of another employer (foreign).
type caseBundle struct {
	*testBundle
	own, foreign uuid.UUID
}

func setupCase(t *testing.T) caseBundle {
	t.Helper()
	b := caseBundle{testBundle: setup(t, 20)}
	ctx := context.Background()
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		hrEmployers := `SELECT ue.employer_id FROM user_employers ue JOIN users u ON u.id = ue.user_id
			WHERE u.email = 'hr@demo.dossierkast.nl'`
		if err := tx.QueryRow(ctx, "SELECT id FROM employees WHERE employer_id IN ("+hrEmployers+") ORDER BY id LIMIT 1").
			Scan(&b.own); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT id FROM employees WHERE employer_id NOT IN ("+hrEmployers+") ORDER BY id LIMIT 1").
			Scan(&b.foreign)
	})
	return b
}

// count runs a counting query in the demo tenant.
func (b caseBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(context.Background(), sql, args...).Scan(&n) })
	return n
}

// caseEvents counts the case.* audit events about one subject.
func (b caseBundle) caseEvents(t *testing.T, action string, subject uuid.UUID) int {
	return b.count(t, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2", action, subject)
}

func (b caseBundle) protocolID(t *testing.T, kind casefile.ProtocolKind) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM protocols WHERE kind = $1", kind).Scan(&id)
	})
	return id
}

// trajectoryRawKeyRE finds message keys of this area that reached a page untranslated.
var trajectoryRawKeyRE = regexp.MustCompile(`\b(trajectory|task|protocol|appointment|consultation|agenda|dossier\.tab)\.[a-z_.]+`)

func noRawTrajectoryKeys(t *testing.T, page, html string) {
	t.Helper()
	if m := trajectoryRawKeyRE.FindString(html); m != "" {
		t.Errorf("%s shows the untranslated key %q", page, m)
	}
}

// postBody submits a form and returns the status and the body.
func (b caseBundle) postBody(t *testing.T, c *http.Client, path string, form url.Values) (int, string) {
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
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestTrajectoryFlow(t *testing.T) {
	t.Parallel()
	b := setupCase(t)
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	protocol := b.protocolID(t, casefile.ProtocolInterventionGuidance)
	templates := b.count(t, "SELECT count(*) FROM protocol_tasks WHERE protocol_id = $1", protocol)

	// Open: 303 to the new trajectory, its tasks made from the protocol.
	resp := b.post(t, cm, "/employees/"+b.own.String()+"/trajectories",
		url.Values{"protocol_id": {protocol.String()}, "start_date": {"2026-11-02"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/trajectories/") {
		t.Fatalf("open: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	trajectoryID := uuid.MustParse(strings.TrimPrefix(resp.Header.Get("Location"), "/trajectories/"))
	if n := b.count(t, "SELECT count(*) FROM tasks WHERE trajectory_id = $1", trajectoryID); n != templates || n == 0 {
		t.Errorf("tasks = %d, want %d from the protocol", n, templates)
	}
	if n := b.caseEvents(t, "case.created", trajectoryID); n != 1 {
		t.Errorf("case.created events for the trajectory = %d, want 1", n)
	}
	if n := b.count(t, "SELECT count(*) FROM changes WHERE entity = 'trajectories' AND row_id = $1 AND op = 'insert'", trajectoryID); n != 1 {
		t.Errorf("trajectory insert changes = %d, want 1", n)
	}
	if n := b.count(t, "SELECT count(*) FROM changes c JOIN tasks k ON k.id = c.row_id WHERE c.entity = 'tasks' AND k.trajectory_id = $1", trajectoryID); n != templates {
		t.Errorf("task insert changes = %d, want %d", n, templates)
	}

	// The tab lists it and the detail page shows its tasks with complete buttons; both views audited.
	views := b.count(t, "SELECT count(*) FROM audit_events WHERE action = 'employee.viewed' AND employee_id = $1", b.own)
	r, doc := b.get(t, cm, "/employees/"+b.own.String()+"/trajectories")
	if r.StatusCode != http.StatusOK || doc.Find(`tr[data-trajectory="`+trajectoryID.String()+`"]`).Length() != 1 {
		t.Errorf("trajectories tab: status %d, trajectory listed %d times", r.StatusCode, doc.Find(`tr[data-trajectory]`).Length())
	}
	r, doc = b.get(t, cm, "/trajectories/"+trajectoryID.String())
	if r.StatusCode != http.StatusOK {
		t.Fatalf("trajectory page: status %d", r.StatusCode)
	}
	noRawTrajectoryKeys(t, "trajectory page", doc.Text())
	if n := doc.Find(`tr[data-task]`).Length(); n != templates {
		t.Errorf("tasks shown = %d, want %d", n, templates)
	}
	if n := doc.Find(`tr[data-task] form[action$="/complete"]`).Length(); n != templates {
		t.Errorf("complete buttons = %d, want %d", n, templates)
	}
	if got := b.count(t, "SELECT count(*) FROM audit_events WHERE action = 'employee.viewed' AND employee_id = $1", b.own); got != views+2 {
		t.Errorf("dossier views audited = %d, want %d", got-views, 2)
	}

	// Move a due date: before the start date is refused with a Dutch message, later is stored.
	firstTask := doc.Find(`tr[data-task]`).First().AttrOr("data-task", "")
	status, body := b.postBody(t, cm, "/tasks/"+firstTask+"/due-date", url.Values{"due_date": {"2026-10-01"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "ligt voor de startdatum van het traject") {
		t.Errorf("due date before the start: status %d, want 422 with the Dutch message", status)
	}
	status, _ = b.postBody(t, cm, "/tasks/"+firstTask+"/due-date", url.Values{"due_date": {"30-2-2027"}})
	if status != http.StatusUnprocessableEntity {
		t.Errorf("impossible due date: status %d, want 422", status)
	}
	if n := b.count(t, "SELECT count(*) FROM changes WHERE entity = 'tasks' AND row_id = $1 AND op = 'update'", uuid.MustParse(firstTask)); n != 0 {
		t.Errorf("refused due dates wrote %d changes", n)
	}
	if r := b.post(t, cm, "/tasks/"+firstTask+"/due-date", url.Values{"due_date": {"2026-12-24"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("move due date: status %d, want 303", r.StatusCode)
	}
	if n := b.count(t, "SELECT count(*) FROM tasks WHERE id = $1 AND due_date = '2026-12-24'", uuid.MustParse(firstTask)); n != 1 {
		t.Error("due date not moved")
	}
	if n := b.count(t, "SELECT count(*) FROM changes WHERE entity = 'tasks' AND row_id = $1 AND op = 'update'", uuid.MustParse(firstTask)); n != 1 {
		t.Errorf("due date move changes = %d, want 1", n)
	}
	if n := b.caseEvents(t, "case.updated", uuid.MustParse(firstTask)); n != 1 {
		t.Errorf("case.updated events for the moved task = %d, want 1", n)
	}

	// Complete a task, then again: 409 with a Dutch message, nothing changed.
	taskID, _ := uuid.Parse(doc.Find(`tr[data-task]`).Eq(2).AttrOr("data-task", ""))
	resp = b.post(t, cm, "/tasks/"+taskID.String()+"/complete", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/trajectories/"+trajectoryID.String() {
		t.Fatalf("complete: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := b.count(t, "SELECT count(*) FROM tasks WHERE id = $1 AND status = 'done' AND completed_by IS NOT NULL", taskID); n != 1 {
		t.Error("task not marked done")
	}
	status, body = b.postBody(t, cm, "/tasks/"+taskID.String()+"/complete", nil)
	if status != http.StatusConflict || !strings.Contains(body, "Deze taak is al afgerond") {
		t.Errorf("completing twice: status %d, want 409 with the Dutch message", status)
	}
	if n := b.caseEvents(t, "case.updated", taskID); n != 1 {
		t.Errorf("case.updated events for the task = %d, want 1", n)
	}
	if n := b.count(t, "SELECT count(*) FROM changes WHERE entity = 'tasks' AND row_id = $1 AND op = 'update'", taskID); n != 1 {
		t.Errorf("task update changes = %d, want 1", n)
	}

	// Close: its delegation (inserted by hand, as the intervention workflow will) ends with it.
	var delegation uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, trajectory_id, valid_from)
			SELECT app_tenant(), u.id, $1, $2, now() - interval '1 day' FROM users u WHERE u.email = 'coach@demo.dossierkast.nl'
			RETURNING id`, b.own, trajectoryID).Scan(&delegation)
	})
	// The coach sees the trajectory through his delegation, and can complete its tasks.
	coach := b.login(t, "coach@demo.dossierkast.nl")
	if r, _ := b.get(t, coach, "/trajectories/"+trajectoryID.String()); r.StatusCode != http.StatusOK {
		t.Errorf("coach with a delegation: status %d, want 200", r.StatusCode)
	}
	secondTask := doc.Find(`tr[data-task]`).Eq(1).AttrOr("data-task", "")
	if r := b.post(t, coach, "/tasks/"+secondTask+"/complete", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("coach completing a task: status %d, want 303", r.StatusCode)
	}
	resp = b.post(t, cm, "/trajectories/"+trajectoryID.String()+"/close", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: status %d", resp.StatusCode)
	}
	if n := b.count(t, "SELECT count(*) FROM dossier_delegations WHERE id = $1 AND ended_at IS NOT NULL", delegation); n != 1 {
		t.Error("the trajectory's delegation did not end")
	}
	if r, _ := b.get(t, coach, "/trajectories/"+trajectoryID.String()); r.StatusCode != http.StatusNotFound {
		t.Errorf("coach after closing: status %d, want 404", r.StatusCode)
	}
	if n := b.count(t, "SELECT count(*) FROM trajectories WHERE id = $1 AND status = 'closed' AND closed_by IS NOT NULL", trajectoryID); n != 1 {
		t.Error("trajectory not closed")
	}
	if n := b.caseEvents(t, "case.updated", trajectoryID); n != 1 {
		t.Errorf("case.updated events for the trajectory = %d, want 1", n)
	}
	if n := b.count(t, "SELECT count(*) FROM changes WHERE entity = 'trajectories' AND row_id = $1 AND op = 'update'", trajectoryID); n != 1 {
		t.Errorf("trajectory update changes = %d, want 1", n)
	}
	if status, body := b.postBody(t, cm, "/trajectories/"+trajectoryID.String()+"/close", nil); status != http.StatusConflict ||
		!strings.Contains(body, "Dit traject is al afgesloten") {
		t.Errorf("closing twice: status %d, want 409 with the Dutch message", status)
	}
	if _, doc := b.get(t, cm, "/trajectories/"+trajectoryID.String()); doc.Find(`form[action$="/complete"], #close-trajectory`).Length() != 0 {
		t.Error("a closed trajectory still offers complete or close buttons")
	}
}

func TestTrajectoryRefusals(t *testing.T) {
	t.Parallel()
	b := setupCase(t)
	ctx := context.Background()
	protocol := b.protocolID(t, casefile.ProtocolAbsence)
	// A trajectory for each employee, opened directly.
	ids := map[uuid.UUID]uuid.UUID{}
	tasks := map[uuid.UUID]uuid.UUID{}
	b.inTenant(t, func(tx pgx.Tx) error {
		for _, e := range []uuid.UUID{b.own, b.foreign} {
			tr, ts, err := casefile.OpenTrajectory(ctx, tx, access.System(audit.Actor{}), casefile.TrajectoryStart{EmployeeID: e, ProtocolID: protocol})
			if err != nil {
				return err
			}
			ids[e], tasks[e] = tr.ID, ts[0].ID
		}
		return nil
	})
	hr := b.login(t, "hr@demo.dossierkast.nl")
	countAll := func() int {
		return b.count(t, "SELECT (SELECT count(*) FROM trajectories) + (SELECT count(*) FROM tasks WHERE status = 'done') + "+
			"(SELECT count(*) FROM audit_events WHERE action LIKE 'case.%') + (SELECT count(*) FROM changes)")
	}
	before := countAll()

	t.Run("NotVisible", func(t *testing.T) {
		refused := b.auditCount(t, "employee.refused")
		for _, path := range []string{"/trajectories/" + ids[b.foreign].String(), "/employees/" + b.foreign.String() + "/trajectories",
			"/employees/" + b.foreign.String() + "/agenda", "/trajectories/" + uuid.Must(uuid.NewV7()).String()} {
			if r, _ := b.get(t, hr, path); r.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", path, r.StatusCode)
			}
		}
		for path, form := range map[string]url.Values{
			"/tasks/" + tasks[b.foreign].String() + "/complete":   nil,
			"/trajectories/" + ids[b.foreign].String() + "/close": nil,
			"/employees/" + b.foreign.String() + "/trajectories":  {"protocol_id": {protocol.String()}},
			"/employees/" + b.foreign.String() + "/appointments":  {"starts_at": {"2027-01-02T10:00"}, "with_whom": {"X"}, "kind": {"other"}},
			"/employees/" + b.foreign.String() + "/consultations": {"held_at": {"2026-01-02T10:00"}, "held_by": {"X"}},
		} {
			if r := b.post(t, hr, path, form); r.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: status %d, want 404", path, r.StatusCode)
			}
		}
		if got := b.auditCount(t, "employee.refused"); got < refused+7 {
			t.Errorf("refusals audited = %d, want at least 7", got-refused)
		}
	})

	t.Run("NoRight", func(t *testing.T) {
		// HR loses documents.upload: he still reads the trajectory, but may change nothing.
		b.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE roles SET rights = array_remove(rights, 'documents.upload') WHERE name = 'HR-medewerker'")
			return err
		})
		r, doc := b.get(t, hr, "/trajectories/"+ids[b.own].String())
		if r.StatusCode != http.StatusOK || doc.Find(`form[action$="/complete"]`).Length() != 0 {
			t.Errorf("trajectory page without the right: status %d, complete buttons %d", r.StatusCode, doc.Find(`form[action$="/complete"]`).Length())
		}
		for path, form := range map[string]url.Values{
			"/tasks/" + tasks[b.own].String() + "/complete":   nil,
			"/trajectories/" + ids[b.own].String() + "/close": nil,
			"/employees/" + b.own.String() + "/trajectories":  {"protocol_id": {protocol.String()}},
			"/employees/" + b.own.String() + "/appointments":  {"starts_at": {"2027-01-02T10:00"}, "with_whom": {"X"}, "kind": {"other"}},
		} {
			if r := b.post(t, hr, path, form); r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s: status %d, want 403", path, r.StatusCode)
			}
		}
	})

	if got := countAll(); got != before {
		t.Errorf("refused requests changed data or wrote case events: %d rows before, %d after", before, got)
	}
}

func TestTrajectoryInvalidInput(t *testing.T) {
	t.Parallel()
	b := setupCase(t)
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	protocol := b.protocolID(t, casefile.ProtocolAbsence)
	path := "/employees/" + b.own.String() + "/trajectories"
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"no protocol":     {url.Values{"start_date": {"2026-11-02"}}, "Kies een van de mogelijkheden"},
		"impossible date": {url.Values{"protocol_id": {protocol.String()}, "start_date": {"31-2-2027"}}, "Vul een datum in als dag-maand-jaar"},
		"far ahead":       {url.Values{"protocol_id": {protocol.String()}, "start_date": {time.Now().AddDate(2, 0, 0).Format("2006-01-02")}}, "meer dan een jaar in de toekomst"},
	} {
		status, body := b.postBody(t, cm, path, tc.form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
			t.Errorf("%s: status %d, want 422 with %q", name, status, tc.want)
		}
	}
	if n := b.count(t, "SELECT count(*) FROM trajectories"); n != 0 {
		t.Errorf("trajectories stored after invalid input: %d", n)
	}
	if n := b.count(t, "SELECT count(*) FROM audit_events WHERE action LIKE 'case.%' AND ip <> ''"); n != 0 { // the demo's providers are the system's
		t.Errorf("case events after invalid input: %d", n)
	}
}

func TestAgendaFlow(t *testing.T) {
	t.Parallel()
	b := setupCase(t)
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	doctor := b.login(t, "bedrijfsarts@demo.dossierkast.nl")
	base := "/employees/" + b.own.String()

	// Invalid: an appointment without a time, a consultation in the future. Nothing stored.
	status, body := b.postBody(t, cm, base+"/appointments", url.Values{"with_whom": {"Dr. Bos"}, "kind": {"company_doctor"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Vul in wanneer de afspraak is") {
		t.Errorf("appointment without time: status %d, want 422 with the Dutch message", status)
	}
	status, body = b.postBody(t, cm, base+"/appointments", url.Values{"starts_at": {"morgen"}, "with_whom": {"Dr. Bos"}, "kind": {"company_doctor"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Vul datum en tijd in") {
		t.Errorf("appointment with a malformed time: status %d, want 422 with the Dutch message", status)
	}
	future := time.Now().Add(48 * time.Hour).In(time.Local).Format("2006-01-02T15:04")
	status, body = b.postBody(t, doctor, base+"/consultations", url.Values{"held_at": {future}, "held_by": {"Dr. Bos"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "ligt nog in de toekomst") {
		t.Errorf("consultation in the future: status %d, want 422 with the Dutch message", status)
	}
	if n := b.count(t, "SELECT (SELECT count(*) FROM appointments) + (SELECT count(*) FROM consultations)"); n != 0 {
		t.Errorf("agenda rows stored after invalid input: %d", n)
	}

	// An appointment, and a medical consultation by the company doctor.
	if r := b.post(t, cm, base+"/appointments", url.Values{"starts_at": {"2027-01-04T10:30"}, "with_whom": {"Dr. Bos"},
		"kind": {"company_doctor"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create appointment: status %d", r.StatusCode)
	}
	if r := b.post(t, doctor, base+"/consultations", url.Values{"held_at": {"2026-11-02T09:00"}, "held_by": {"Dr. Bos"},
		"outcome": {"Geheime diagnose: rugklachten"}, "medical": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create consultation: status %d", r.StatusCode)
	}
	var appointment, consultation uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(context.Background(), "SELECT id FROM appointments").Scan(&appointment); err != nil {
			return err
		}
		return tx.QueryRow(context.Background(), "SELECT id FROM consultations WHERE medical").Scan(&consultation)
	})
	for _, id := range []uuid.UUID{appointment, consultation} {
		if n := b.caseEvents(t, "case.created", id); n != 1 {
			t.Errorf("case.created events for %s = %d, want 1", id, n)
		}
		if n := b.count(t, "SELECT count(*) FROM changes WHERE row_id = $1 AND op = 'insert'", id); n != 1 {
			t.Errorf("insert changes for %s = %d, want 1", id, n)
		}
	}

	// The medical outcome reaches the doctor, not the case manager.
	_, doc := b.get(t, doctor, base+"/agenda")
	if !strings.Contains(doc.Find("#consultations").Text(), "Geheime diagnose") {
		t.Error("the company doctor does not see the medical outcome")
	}
	r, doc := b.get(t, cm, base+"/agenda")
	if r.StatusCode != http.StatusOK || strings.Contains(doc.Text(), "Geheime diagnose") {
		t.Errorf("case manager's agenda: status %d, medical outcome shown: %v", r.StatusCode, strings.Contains(doc.Text(), "Geheime diagnose"))
	}
	if doc.Find(`tr[data-appointment="`+appointment.String()+`"]`).Length() != 1 {
		t.Error("appointment not listed")
	}

	// Edit: match the appointment to the consultation.
	r, doc = b.get(t, cm, "/appointments/"+appointment.String()+"/edit")
	if r.StatusCode != http.StatusOK || doc.Find(`select[name="consultation_id"] option[value="`+consultation.String()+`"]`).Length() != 1 {
		t.Fatalf("edit form: status %d, consultation offered %d", r.StatusCode, doc.Find(`select[name="consultation_id"] option`).Length())
	}
	noRawTrajectoryKeys(t, "appointment form", doc.Text())
	status, body = b.postBody(t, cm, "/appointments/"+appointment.String(), url.Values{"starts_at": {""}, "with_whom": {"Dr. Bos"},
		"kind": {"company_doctor"}, "status": {"planned"}, "consultation_id": {consultation.String()}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Vul in wanneer de afspraak is") {
		t.Errorf("edit without time: status %d, want 422", status)
	}
	if r := b.post(t, cm, "/appointments/"+appointment.String(), url.Values{"starts_at": {"2027-01-04T10:30"}, "with_whom": {"Dr. Bos"},
		"kind": {"company_doctor"}, "status": {"planned"}, "consultation_id": {consultation.String()}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("update appointment: status %d", r.StatusCode)
	}
	if n := b.count(t, "SELECT count(*) FROM appointments WHERE id = $1 AND consultation_id = $2", appointment, consultation); n != 1 {
		t.Error("appointment not matched to the consultation")
	}
	if n := b.caseEvents(t, "case.updated", appointment); n != 1 {
		t.Errorf("case.updated events for the appointment = %d, want 1", n)
	}
	if n := b.count(t, "SELECT count(*) FROM changes WHERE row_id = $1 AND op = 'update'", appointment); n != 1 {
		t.Errorf("update changes for the appointment = %d, want 1", n)
	}
}
