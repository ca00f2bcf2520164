package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/intervention"
)

// coachClient is a demo employee deployed to the demo coach: the guidance trajectory and the
// employee's last name, for the coach's search.
type coachClient struct {
	employee, guidance uuid.UUID
	lastName           string
}

// deployToCoach makes the demo coach the default executor of his provider, configures the
// guidance protocol, and confirms a deployment for the n-th demo employee the coach has no
// delegation for, as the system.
func (b *testBundle) deployToCoach(t *testing.T, n int) coachClient {
	t.Helper()
	ctx := context.Background()
	var c coachClient
	system := access.System(audit.Actor{})
	b.inTenant(t, func(tx pgx.Tx) error {
		var coach, provider, programme, guidance, deployment uuid.UUID
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id, provider_id FROM users WHERE email = 'coach@demo.dossierkast.nl'").Scan(&coach, &provider); err != nil {
			return fmt.Errorf("coach: %w", err)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO programmes (tenant_id, provider_id, name) VALUES (app_tenant(), $1, 'Testprogramma ' || $2::int)
			RETURNING id`, provider, n).Scan(&programme); err != nil {
			return fmt.Errorf("programme: %w", err)
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_guidance' ORDER BY name LIMIT 1").Scan(&guidance); err != nil {
			return fmt.Errorf("guidance protocol: %w", err)
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_deployment' ORDER BY name LIMIT 1").Scan(&deployment); err != nil {
			return fmt.Errorf("deployment protocol: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT e.id, e.last_name FROM employees e WHERE NOT EXISTS (SELECT 1 FROM dossier_delegations d
			WHERE d.employee_id = e.id) ORDER BY e.personnel_number OFFSET $1 LIMIT 1`, n).Scan(&c.employee, &c.lastName); err != nil {
			return fmt.Errorf("employee: %w", err)
		}
		if err := intervention.SetGuidanceProtocol(ctx, tx, system, &guidance); err != nil {
			return err
		}
		if err := intervention.SetProviderExecutor(ctx, tx, system, provider, &coach); err != nil {
			return err
		}
		_, tasks, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: c.employee, ProtocolID: deployment})
		if err != nil {
			return err
		}
		for _, k := range tasks {
			if k.Type == casefile.TaskDeployIntervention {
				d, err := intervention.ConfirmDeployment(ctx, tx, system, c.employee, k.ID, &programme)
				if d.Outcome != intervention.OutcomeDelegated {
					t.Fatalf("deployment outcome %q, want delegated", d.Outcome)
				}
				c.guidance = d.GuidanceTrajectoryID
				return err
			}
		}
		t.Fatal("no confirm task")
		return nil
	})
	return c
}

// The coach works in his client's dossier while the guidance runs; the moment the case manager
// closes the guidance trajectory, every URL of that employee, his list and his search refuse.
func TestCoachLosesClientOnClose(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	client := b.deployToCoach(t, 0)
	coach := b.login(t, "coach@demo.dossierkast.nl")
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	employeePath := "/employees/" + client.employee.String()

	// The coach's start page is his clients.
	if r, _ := b.get(t, coach, "/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/my-clients" {
		t.Errorf("coach's start: status %d to %q, want 303 to /my-clients", r.StatusCode, r.Header.Get("Location"))
	}
	r, doc := b.get(t, coach, "/my-clients")
	if r.StatusCode != http.StatusOK || doc.Find(`#clients tr[data-employee="`+client.employee.String()+`"]`).Length() != 1 {
		t.Fatalf("my clients: status %d, client listed %d times", r.StatusCode, doc.Find(`tr[data-employee="`+client.employee.String()+`"]`).Length())
	}
	if r, _ := b.get(t, cm, "/my-clients"); r.StatusCode != http.StatusForbidden {
		t.Errorf("a case manager's /my-clients: status %d, want 403", r.StatusCode)
	}

	// He uploads a result document into the category his role may write.
	var category uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		// A category of results the Coach role may write, as an administrator sets it up.
		if err := tx.QueryRow(context.Background(), `INSERT INTO document_categories (tenant_id, name, dossier)
			VALUES (app_tenant(), 'Resultaten interventie (test)', 'employee') RETURNING id`).Scan(&category); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), `INSERT INTO category_permissions (tenant_id, role_id, category_id, level)
			SELECT app_tenant(), id, $1, 'write' FROM roles WHERE name = 'Coach'`, category)
		return err
	})
	resp, _ := b.upload(t, coach, employeePath+"/documents", []uploadField{{"category_id", category.String()}}, "resultaat.pdf", pdfBytes(2<<10))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("coach upload: status %d, want 303", resp.StatusCode)
	}
	var documentID uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM documents WHERE employee_id = $1 AND file_name = 'resultaat.pdf'",
			client.employee).Scan(&documentID)
	})

	sees := func() map[string]bool {
		got := map[string]bool{}
		for _, path := range []string{employeePath, employeePath + "/documents", "/documents/" + documentID.String(),
			"/trajectories/" + client.guidance.String()} {
			r, _ := b.fetch(t, coach, path, nil)
			got[path] = r.StatusCode == http.StatusOK
			if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 200 or 404", path, r.StatusCode)
			}
		}
		_, doc := b.get(t, coach, "/my-clients")
		got["/my-clients"] = doc.Find(`tr[data-employee="`+client.employee.String()+`"]`).Length() > 0
		_, doc = b.get(t, coach, "/employees")
		got["/employees"] = doc.Find(`a[href="`+employeePath+`"]`).Length() > 0
		_, doc = b.get(t, coach, "/employees?q="+client.lastName)
		got["search"] = doc.Find(`a[href="`+employeePath+`"]`).Length() > 0
		return got
	}
	for path, ok := range sees() {
		if !ok {
			t.Errorf("before the close the coach cannot reach %s", path)
		}
	}
	if r := b.post(t, cm, "/trajectories/"+client.guidance.String()+"/close", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: status %d", r.StatusCode)
	}
	for path, ok := range sees() {
		if ok {
			t.Errorf("after the close the coach still reaches %s", path)
		}
	}
	if r, doc := b.get(t, coach, "/my-clients"); r.StatusCode != http.StatusOK || doc.Find("#no-clients").Length() != 1 {
		t.Errorf("my clients after the close: status %d, empty notice %d", r.StatusCode, doc.Find("#no-clients").Length())
	}
}

// Revocation has no gap: while the coach's requests run in a loop, the trajectory closes; no
// request that started after the close committed succeeds.
func TestCoachRevocationIsImmediate(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	client := b.deployToCoach(t, 1)
	coach := b.login(t, "coach@demo.dossierkast.nl")
	paths := []string{"/employees/" + client.employee.String(), "/trajectories/" + client.guidance.String(),
		"/employees/" + client.employee.String() + "/documents"}

	type outcome struct {
		start  time.Time
		status int
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				resp, err := coach.Get(b.srv.URL + paths[(i+n)%len(paths)])
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				outcomes = append(outcomes, outcome{start, resp.StatusCode})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	err := database.InTenant(context.Background(), b.db.Pool, b.tenant, func(tx pgx.Tx) error {
		_, _, err := casefile.CloseTrajectory(context.Background(), tx, access.System(audit.Actor{}), client.employee, client.guidance)
		return err
	})
	committed := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	var before, after, leaked int
	for _, o := range outcomes {
		if o.start.Before(committed) {
			if o.status == http.StatusOK {
				before++
			}
			continue
		}
		after++
		if o.status != http.StatusNotFound {
			leaked++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d successful requests before the close, %d after it: the loop did not straddle the close", before, after)
	}
	if leaked > 0 {
		t.Errorf("%d of %d requests started after the close committed were not refused with 404", leaked, after)
	}
}

// deployStepPath prepares the audit walk's confirm task: the guidance protocol configured, a
// programme of the demo coach's provider with its own setting and no user, and a deployment trajectory
// of the fixture's employee. It returns the confirm task's path.
func deployStepPath(f *auditFixture) string {
	ctx := context.Background()
	system := access.System(audit.Actor{})
	var task uuid.UUID
	f.b.inTenant(f.t, func(tx pgx.Tx) error {
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		var guidance, deployment uuid.UUID
		if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_guidance' ORDER BY name LIMIT 1").Scan(&guidance); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_deployment' ORDER BY name LIMIT 1").Scan(&deployment); err != nil {
			return err
		}
		if err := intervention.SetGuidanceProtocol(ctx, tx, system, &guidance); err != nil {
			return err
		}
		// Its own setting without a user: whatever the demo made the provider's executor, the
		// deployment needs the manual task, which the next step completes.
		if _, err := tx.Exec(ctx, `INSERT INTO programmes (tenant_id, provider_id, name, executor_mode)
			SELECT app_tenant(), provider_id, 'Inzetprogramma', 'own' FROM users WHERE email = 'coach@demo.dossierkast.nl'`); err != nil {
			return err
		}
		_, tasks, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: f.employee, ProtocolID: deployment})
		for _, k := range tasks {
			if k.Type == casefile.TaskDeployIntervention {
				task = k.ID
			}
		}
		return err
	})
	return "/tasks/" + task.String()
}

// A case manager ends the coach's access early from the employee page, with a note; the coach's
// next request is refused.
func TestEarlyEndFromEmployeePage(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	client := b.deployToCoach(t, 2)
	coach := b.login(t, "coach@demo.dossierkast.nl")
	cm := b.login(t, "casemanager@demo.dossierkast.nl")
	employeePath := "/employees/" + client.employee.String()
	if r, _ := b.get(t, coach, employeePath); r.StatusCode != http.StatusOK {
		t.Fatalf("coach before: status %d", r.StatusCode)
	}
	_, doc := b.get(t, cm, employeePath)
	action, ok := doc.Find("#delegations .end-form").Attr("action")
	if !ok {
		t.Fatal("no end form for the case manager")
	}
	if r := b.post(t, cm, action, url.Values{"note": {"Coach vervangen"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end: status %d, want 303", r.StatusCode)
	}
	if r, _ := b.get(t, coach, employeePath); r.StatusCode != http.StatusNotFound {
		t.Errorf("coach after the early end: status %d, want 404", r.StatusCode)
	}
	_, doc = b.get(t, cm, employeePath)
	if text := doc.Find("#delegations").Text(); !strings.Contains(text, "ingetrokken") || !strings.Contains(text, "Coach vervangen") {
		t.Errorf("delegations after the end = %q, want the reason and the note", text)
	}
	if r := b.post(t, cm, action, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("ending twice: status %d, want 409", r.StatusCode)
	}
}
