package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/intervention"
)

// TestBrowserInterventionFlow clicks through issue 17 as people do: the administrator makes the
// coach his provider's default executor; the case manager confirms the deployment; the coach
// finds the employee under "Mijn cliënten", opens the dossier, completes a task and uploads a
// result; the case manager closes the guidance trajectory; the coach's list is empty and the
// employee's address answers 404.
func TestBrowserInterventionFlow(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	b := setup(t, 30)
	ctx := context.Background()
	system := access.System(audit.Actor{})
	var coach, provider, programme, employee, confirm, category uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		var guidance, deployment uuid.UUID
		for _, q := range []struct {
			sql  string
			into []any
		}{
			{"SELECT id, provider_id FROM users WHERE email = 'coach@demo.dossierkast.nl'", []any{&coach, &provider}},
			{"SELECT id FROM protocols WHERE kind = 'intervention_guidance' LIMIT 1", []any{&guidance}},
			{"SELECT id FROM protocols WHERE kind = 'intervention_deployment' LIMIT 1", []any{&deployment}},
			{`SELECT e.id FROM employees e WHERE NOT EXISTS (SELECT 1 FROM dossier_delegations d WHERE d.employee_id = e.id)
				AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.employee_id = e.id) ORDER BY e.personnel_number LIMIT 1`, []any{&employee}},
			{`INSERT INTO document_categories (tenant_id, name, dossier) VALUES (app_tenant(), 'Resultaten interventie', 'employee')
				RETURNING id`, []any{&category}},
		} {
			if err := tx.QueryRow(ctx, q.sql).Scan(q.into...); err != nil {
				return fmt.Errorf("%s: %w", q.sql, err)
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO programmes (tenant_id, provider_id, name) VALUES (app_tenant(), $1, 'Werkfit browser')
			RETURNING id`, provider).Scan(&programme); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO category_permissions (tenant_id, role_id, category_id, level)
			SELECT app_tenant(), id, $1, 'write' FROM roles WHERE name = 'Coach'`, category); err != nil {
			return err
		}
		if err := intervention.SetGuidanceProtocol(ctx, tx, system, &guidance); err != nil {
			return err
		}
		_, tasks, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: employee, ProtocolID: deployment})
		for _, k := range tasks {
			if k.Type == casefile.TaskDeployIntervention {
				confirm = k.ID
			}
		}
		return err
	})
	result := filepath.Join(t.TempDir(), "resultaat-intake.pdf")
	if err := os.WriteFile(result, pdfBytes(4<<10), 0o600); err != nil {
		t.Fatal(err)
	}

	flow, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, flow, execPath)
	defer br.close()
	logOutStep := func() {
		br.step("log out", afterLoad(chromedp.Click(chromedp.ID("logout"))), chromedp.WaitVisible(chromedp.ID("email")))
	}
	textOf := func(dst *string, sel string) chromedp.Action[chromedp.Void] {
		return into(dst, chromedp.Text(chromedp.CSS(sel)))
	}
	row := `#providers tr[data-id="` + provider.String() + `"]`

	br.step("log in as administrator", logIn(b.srv.URL, adminEmail)...)
	var executor string
	br.step("make the coach the provider's default executor",
		chromedp.Navigate(b.srv.URL+"/admin/interventions"),
		chromedp.WaitVisible(chromedp.CSS(row+" select")),
		chromedp.SetValue(chromedp.CSS(row+" select"), coach.String()),
		afterLoad(chromedp.Click(chromedp.CSS(row+` button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(row+" .executor")),
		textOf(&executor, row+" .executor"),
		check(func() error {
			if strings.TrimSpace(executor) != "Luuk Smit" {
				return fmt.Errorf("executor cell %q, want Luuk Smit", executor)
			}
			return nil
		}),
	)
	logOutStep()

	br.step("log in as case manager", logIn(b.srv.URL, "casemanager@demo.dossierkast.nl")...)
	var planned string
	br.step("confirm the deployment",
		chromedp.Navigate(b.srv.URL+"/tasks/"+confirm.String()),
		chromedp.WaitVisible(chromedp.ID("f-programme_id")),
		chromedp.SetValue(chromedp.ID("f-programme_id"), programme.String()),
		afterLoad(chromedp.Click(chromedp.CSS(`#preview button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("plan-executor")),
		textOf(&planned, "#plan-executor"),
		check(func() error {
			if strings.TrimSpace(planned) != "Luuk Smit" {
				return fmt.Errorf("the plan names %q, want Luuk Smit", planned)
			}
			return nil
		}),
		afterLoad(chromedp.Click(chromedp.CSS(`#deploy button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("close-trajectory")),
	)
	var guidancePath string
	br.step("remember the guidance trajectory", into(&guidancePath, chromedp.Location()))
	logOutStep()

	employeePath := "/employees/" + employee.String()
	var listed int
	br.step("log in as coach",
		chromedp.Navigate(b.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "coach@demo.dossierkast.nl"),
		chromedp.SendKeys(chromedp.ID("password"), demo.Password),
		afterLoad(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("clients")),
		into(&listed, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('#clients a[href="%s"]').length`, employeePath))),
		check(func() error {
			if listed != 1 {
				return fmt.Errorf("the employee is listed %d times under Mijn cliënten, want once", listed)
			}
			return nil
		}),
	)
	br.step("open the dossier and the guidance trajectory",
		afterLoad(chromedp.Click(chromedp.CSS(`#clients a[href="`+employeePath+`"]`))),
		chromedp.Navigate(b.srv.URL+"/my-clients"),
		chromedp.WaitVisible(chromedp.ID("clients")),
		afterLoad(chromedp.Click(chromedp.CSS(`#clients a[href^="/trajectories/"]`))),
		chromedp.WaitVisible(chromedp.ID("tasks")),
	)
	var done int
	br.step("complete a task",
		afterLoad(chromedp.Click(chromedp.CSS(`#tasks form[action$="/complete"] button`))),
		chromedp.WaitVisible(chromedp.ID("tasks")),
		into(&done, chromedp.Evaluate[int](`document.querySelectorAll('#tasks tr[data-status="done"]').length`)),
		check(func() error {
			if done != 1 {
				return fmt.Errorf("%d tasks done, want 1", done)
			}
			return nil
		}),
	)
	var uploaded int
	br.step("upload a result",
		chromedp.Navigate(b.srv.URL+employeePath+"/documents"),
		chromedp.WaitVisible(chromedp.ID("upload")),
		chromedp.SetValue(chromedp.CSS(`#upload select[name="category_id"]`), category.String()),
		chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{result}),
		afterLoad(chromedp.Submit(chromedp.ID("upload"))),
		chromedp.WaitVisible(chromedp.ID("documents")),
		into(&uploaded, chromedp.Evaluate[int](`document.body.innerText.includes("resultaat-intake.pdf") ? 1 : 0`)),
		check(func() error {
			if uploaded != 1 {
				return fmt.Errorf("the result is not listed after the upload")
			}
			return nil
		}),
	)
	logOutStep()

	br.step("log in as case manager again", logIn(b.srv.URL, "casemanager@demo.dossierkast.nl")...)
	br.step("close the guidance trajectory",
		chromedp.Navigate(guidancePath),
		chromedp.WaitVisible(chromedp.ID("close-trajectory")),
		afterLoad(chromedp.Submit(chromedp.ID("close-trajectory"))),
		chromedp.WaitVisible(chromedp.ID("closed-at")),
	)
	logOutStep()

	var title string
	br.step("the coach has lost the employee",
		chromedp.Navigate(b.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "coach@demo.dossierkast.nl"),
		chromedp.SendKeys(chromedp.ID("password"), demo.Password),
		afterLoad(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("no-clients")),
		chromedp.Navigate(b.srv.URL+employeePath),
		chromedp.WaitVisible(chromedp.ID("error-message")),
		textOf(&title, "main h1"),
		check(func() error {
			if title != nl("error.title.404") {
				return fmt.Errorf("the employee's address shows %q, want the 404 page", title)
			}
			return nil
		}),
	)
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM dossier_delegations WHERE employee_id = $1 AND end_reason = 'trajectory_closed'`,
			employee).Scan(&n)
	})
	if n != 1 {
		t.Errorf("delegations ended by the close = %d, want 1", n)
	}
}
