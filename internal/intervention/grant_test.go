package intervention_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/internal/mail"
)

// manualTask confirms a deployment without default executor and returns the guidance
// trajectory's task "Dossierdelegatie uitdelen".
func (w *world) manualTask(t *testing.T) (intervention.Deployment, casefile.Task) {
	t.Helper()
	d, err := w.confirm(t, w.deploymentTask(t, w.employee))
	if err != nil {
		t.Fatal(err)
	}
	var task casefile.Task
	w.in(t, func(tx pgx.Tx) error {
		tasks, err := casefile.FindTasks(context.Background(), tx, d.GuidanceTrajectoryID)
		for _, k := range tasks {
			if k.Type == casefile.TaskGrantDelegation {
				task = k
			}
		}
		return err
	})
	if task.ID == uuid.Nil {
		t.Fatal("no manual task")
	}
	return d, task
}

func (w *world) grant(t *testing.T, by uuid.UUID, task casefile.Task, coach uuid.UUID, endsAt *time.Time) (access.Delegation, error) {
	t.Helper()
	ed := w.ed(t, by)
	var d access.Delegation
	err := database.InTenant(context.Background(), w.db.Pool, w.tenant, func(tx pgx.Tx) (err error) {
		d, err = intervention.GrantFromTask(context.Background(), tx, ed, w.employee, task.ID, &coach, endsAt)
		return err
	})
	return d, err
}

// The manual task lists the coaches who may receive the delegation, checks the chosen one again
// on submit, and grants the delegation tied to the guidance trajectory.
func TestGrantFromTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := setupWorld(t)
	deployment, task := w.manualTask(t)

	var g intervention.GrantTask
	w.in(t, func(tx pgx.Tx) (err error) {
		g, err = intervention.FindGrantTask(ctx, tx, w.employee, task.ID)
		return err
	})
	var names []string
	for _, c := range g.Candidates {
		names = append(names, c.Name)
	}
	// Anna and Bram are A's coaches who may receive; Dirk lacks the right, Cees is B's.
	if len(names) != 2 || names[0] != "Coach Anna" || names[1] != "Coach Bram" {
		t.Errorf("candidates = %v, want Coach Anna, Coach Bram", names)
	}
	if g.Reason != access.RefusalNoExecutor || g.Programme.ID != w.programme || g.Trajectory.ID != deployment.GuidanceTrajectoryID || g.PlannedEnd == nil {
		t.Errorf("grant task = reason %q, programme %s, trajectory %s, planned end %v", g.Reason, g.Programme.ID, g.Trajectory.ID, g.PlannedEnd)
	}

	// Refusals, each leaving the task open and no delegation.
	w.exec(t, "INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", w.coachA2, w.employee)
	for _, tt := range []struct {
		name  string
		by    uuid.UUID
		coach uuid.UUID
		code  apperr.Code
		msg   string
	}{
		{"coach of another provider", w.manager, w.coachB, apperr.EINVALID, "delegation.error.other_provider"},
		{"coach without delegations.receive", w.manager, w.coachNoReceive, apperr.EINVALID, "delegation.error.cannot_receive"},
		{"coach blacklisted since the form was shown", w.manager, w.coachA2, apperr.EINVALID, "delegation.error.blacklisted"},
		{"granter without delegations.grant", w.coachA, w.coachA, apperr.ENOTFOUND, ""},
	} {
		_, err := w.grant(t, tt.by, task, tt.coach, nil)
		e, ok := apperr.As(err)
		if !ok || e.Code != tt.code || (tt.msg != "" && e.Fields["user_id"] != tt.msg) {
			t.Errorf("%s: %v, want %s %s", tt.name, err, tt.code, tt.msg)
		}
	}
	if n := w.count(t, "SELECT count(*) FROM dossier_delegations"); n != 0 {
		t.Fatalf("refused grants left %d delegations", n)
	}

	d, err := w.grant(t, w.manager, task, w.coachA, g.PlannedEnd)
	if err != nil {
		t.Fatal(err)
	}
	if d.TrajectoryID == nil || *d.TrajectoryID != deployment.GuidanceTrajectoryID || d.UserID != w.coachA || d.EndedAt == nil {
		t.Errorf("delegation = %+v", d)
	}
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'delegation.granted' AND subject_id = $1 AND user_id = $2
		AND details->>'reason' LIKE 'Handmatig uitgedeeld%'`, d.ID, w.manager); n != 1 {
		t.Errorf("grant events = %d, want 1", n)
	}
	if n := w.count(t, "SELECT count(*) FROM tasks WHERE id = $1 AND status = 'done' AND payload->>'user_id' = $2", task.ID, w.coachA.String()); n != 1 {
		t.Error("the manual task is not done with the coach it chose")
	}
	if _, err := w.grant(t, w.manager, task, w.coachA, nil); apperr.CodeOf(err) != apperr.ECONFLICT {
		t.Errorf("granting twice: %v, want ECONFLICT", err)
	}
}

// Access ends with the guidance trajectory, early by a granter, or at its end date; each end is
// audited with its reason.
func TestEndingDelegations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := setupWorld(t)
	w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
	sees := func(user, employee uuid.UUID) bool {
		var err error
		p := w.principal(t, user)
		w.in(t, func(tx pgx.Tx) error { err = access.CanSeeEmployee(ctx, tx, p, employee); return nil })
		return err == nil
	}

	// Closing the guidance trajectory ends its delegation in the same transaction.
	d, err := w.confirm(t, w.deploymentTask(t, w.employee))
	if err != nil {
		t.Fatal(err)
	}
	if !sees(w.coachA, w.employee) {
		t.Fatal("the coach does not see his client")
	}
	w.in(t, func(tx pgx.Tx) error {
		_, ended, err := casefile.CloseTrajectory(ctx, tx, w.ed(t, w.manager), w.employee, d.GuidanceTrajectoryID)
		if len(ended) != 1 || ended[0] != *d.DelegationID {
			t.Errorf("ended = %v, want the deployment's delegation", ended)
		}
		return err
	})
	if sees(w.coachA, w.employee) {
		t.Error("the coach still sees the employee after the trajectory closed")
	}
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'delegation.ended' AND subject_id = $1
		AND details->>'reason' = 'trajectory_closed' AND user_id = $2`, *d.DelegationID, w.manager); n != 1 {
		t.Errorf("end events = %d, want 1 with reason trajectory_closed", n)
	}

	// Early end: refused without delegations.grant, done with a note by a case manager.
	d2, err := w.confirm(t, w.deploymentTask(t, w.employee2))
	if err != nil {
		t.Fatal(err)
	}
	end := func(by uuid.UUID, note string) error {
		ed := w.ed(t, by)
		return database.InTenant(ctx, w.db.Pool, w.tenant, func(tx pgx.Tx) error {
			return access.EndDelegation(ctx, tx, ed, w.employee2, *d2.DelegationID, note)
		})
	}
	w.exec(t, "UPDATE roles SET rights = array_remove(rights, 'delegations.grant') WHERE name = 'Beheerder'")
	if err := end(w.admin, ""); apperr.CodeOf(err) != apperr.EFORBIDDEN {
		t.Errorf("early end without delegations.grant: %v, want EFORBIDDEN", err)
	}
	if err := end(w.manager, "Coach met ziekteverlof"); err != nil {
		t.Fatal(err)
	}
	if sees(w.coachA, w.employee2) {
		t.Error("the coach still sees the employee after the early end")
	}
	if n := w.count(t, `SELECT count(*) FROM dossier_delegations WHERE id = $1 AND end_reason = 'revoked' AND ended_by = $2
		AND end_note = 'Coach met ziekteverlof'`, *d2.DelegationID, w.manager); n != 1 {
		t.Error("the early end is not recorded with reason, user and note")
	}
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'delegation.ended' AND subject_id = $1
		AND details->>'reason' = 'revoked' AND details->>'note' = 'Coach met ziekteverlof'`, *d2.DelegationID); n != 1 {
		t.Errorf("early end events = %d, want 1", n)
	}
	if err := end(w.manager, ""); apperr.CodeOf(err) != apperr.ECONFLICT {
		t.Errorf("ending twice: %v, want ECONFLICT", err)
	}
	// The trajectory's later closing ends nothing more.
	w.in(t, func(tx pgx.Tx) error {
		_, ended, err := casefile.CloseTrajectory(ctx, tx, w.ed(t, w.manager), w.employee2, d2.GuidanceTrajectoryID)
		if len(ended) != 0 {
			t.Errorf("closing after the early end ended %v", ended)
		}
		return err
	})
}

// The sweep with a clock under the test's control: the warning seven days before the end date,
// once; the end at the date, recorded as expired; and the count of running delegations of closed
// trajectories, which only a bug leaves.
func TestSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := setupWorld(t)
	w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
	d, err := w.confirm(t, w.deploymentTask(t, w.employee))
	if err != nil {
		t.Fatal(err)
	}
	var endsAt time.Time
	w.in(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT ended_at FROM dossier_delegations WHERE id = $1", *d.DelegationID).Scan(&endsAt)
	})
	sender := outbox(t, w)
	sweep := func(now time.Time) intervention.SweepResult {
		t.Helper()
		r, err := intervention.Sweep(ctx, w.db.Pool, sender, w.tenant, now)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	mails := func() int { return w.count(t, "SELECT count(*) FROM outbox_messages") }

	if r := sweep(endsAt.Add(-intervention.WarnBefore - time.Hour)); r != (intervention.SweepResult{}) || mails() != 0 {
		t.Errorf("eight days before: %+v, %d mails; want nothing", r, mails())
	}
	if r := sweep(endsAt.Add(-intervention.WarnBefore + time.Hour)); r != (intervention.SweepResult{Warned: 1}) {
		t.Errorf("seven days before: %+v, want one warning", r)
	}
	// One mail to the coach, one to the case manager who deployed.
	var to []string
	w.in(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT recipients[1] FROM outbox_messages ORDER BY recipients[1]")
		if err != nil {
			return err
		}
		to, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if len(to) != 2 || !strings.HasPrefix(to[0], "casemanager-") || !strings.HasPrefix(to[1], "coach.anna-") {
		t.Errorf("warnings to %v, want the coach and the case manager", to)
	}
	if r := sweep(endsAt.Add(-time.Hour)); r != (intervention.SweepResult{}) || mails() != 2 {
		t.Errorf("a sweep later: %+v, %d mails; want no second warning", r, mails())
	}
	if r := sweep(endsAt.Add(time.Minute)); r != (intervention.SweepResult{Expired: 1}) {
		t.Errorf("after the end date: %+v, want one expired", r)
	}
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'delegation.ended' AND subject_id = $1
		AND details->>'reason' = 'expired'`, *d.DelegationID); n != 1 {
		t.Errorf("expiry events = %d, want 1", n)
	}
	// Access ends at the date itself, whether or not a sweep ran: the engine tests ended_at.
	w.exec(t, "UPDATE dossier_delegations SET valid_from = now() - interval '1 hour', ended_at = now() - interval '1 minute', end_reason = NULL WHERE id = $1", *d.DelegationID)
	var seeErr error
	p := w.principal(t, w.coachA)
	w.in(t, func(tx pgx.Tx) error { seeErr = access.CanSeeEmployee(ctx, tx, p, w.employee); return nil })
	if apperr.CodeOf(seeErr) != apperr.ENOTFOUND {
		t.Errorf("after the end date the coach gets %v, want ENOTFOUND", seeErr)
	}
	w.exec(t, "UPDATE dossier_delegations SET end_reason = 'expired' WHERE id = $1", *d.DelegationID)

	// A running delegation of a closed trajectory (a bug elsewhere) is found, ended and counted.
	w.exec(t, "UPDATE trajectories SET status = 'closed', closed_at = now() WHERE id = $1", d.GuidanceTrajectoryID)
	w.exec(t, `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, trajectory_id) VALUES (app_tenant(), $1, $2, $3)`,
		w.coachA, w.employee, d.GuidanceTrajectoryID)
	if r := sweep(time.Now()); r != (intervention.SweepResult{Orphaned: 1}) {
		t.Errorf("with an orphan: %+v, want one orphaned", r)
	}
	if r := sweep(time.Now()); r != (intervention.SweepResult{}) {
		t.Errorf("sweeping again: %+v, want nothing", r)
	}
}

// outbox is the mail sender without SMTP: messages stay in the tenant's outbox.
func outbox(t *testing.T, w *world) mail.Sender {
	t.Helper()
	s, err := mail.NewSender("", "", w.db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The periodic worker sweeps every tenant and reports its counts in the log, orphans as an error.
func TestSweepWorkerLogs(t *testing.T) {
	t.Parallel()
	w := setupWorld(t)
	var buf bytes.Buffer
	worker := &intervention.SweepDelegationsWorker{Pool: w.db.Pool, Log: slog.New(slog.NewJSONHandler(&buf, nil)),
		NowFunc: func() time.Time { return time.Now().Add(24 * time.Hour) }}
	if err := worker.Work(context.Background(), &river.Job[intervention.SweepDelegationsArgs]{}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, `"msg":"delegation sweep","orphaned":0,"expired":0,"warned":0`) || !strings.Contains(got, `"level":"INFO"`) {
		t.Errorf("log = %s", got)
	}
}

// The coach's clients: his running delegations, by the engine's delegation rule; a blacklist
// entry or an end removes the employee at once.
func TestFindClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := setupWorld(t)
	w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
	d1, err := w.confirm(t, w.deploymentTask(t, w.employee))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.confirm(t, w.deploymentTask(t, w.employee2)); err != nil {
		t.Fatal(err)
	}
	page := func(offset, limit int) ([]uuid.UUID, int) {
		var ids []uuid.UUID
		var total int
		p := w.principal(t, w.coachA)
		w.in(t, func(tx pgx.Tx) error {
			page, err := intervention.FindClients(ctx, tx, p, offset, limit)
			for _, c := range page.Clients {
				ids = append(ids, c.EmployeeID)
				if c.ProgrammeName != "Loopbaancoaching" || c.TrajectoryID == nil || c.OpenTasks != 3 || c.NextTaskTitle == "" || c.EndsAt == nil {
					t.Errorf("client = %+v", c)
				}
			}
			total = page.Total
			return err
		})
		return ids, total
	}
	clients := func() []uuid.UUID {
		ids, total := page(0, 50)
		if total != len(ids) {
			t.Errorf("clients total = %d, listed %d", total, len(ids))
		}
		return ids
	}
	both := clients()
	if len(both) != 2 {
		t.Fatalf("clients = %v, want both employees", both)
	}
	// Pages of one, by name, each with the total; past the last one none, with the total.
	for offset, want := range append(both, uuid.Nil) {
		got, total := page(offset, 1)
		if total != 2 || (want == uuid.Nil) != (len(got) == 0) || (len(got) == 1 && got[0] != want) {
			t.Errorf("page at %d = %v of %d, want %v of 2", offset, got, total, want)
		}
	}
	w.exec(t, "INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", w.coachA, w.employee2)
	if got := clients(); len(got) != 1 || got[0] != w.employee {
		t.Errorf("clients after a blacklist entry = %v, want only the first employee", got)
	}
	w.in(t, func(tx pgx.Tx) error {
		_, _, err := casefile.CloseTrajectory(ctx, tx, w.ed(t, w.manager), w.employee, d1.GuidanceTrajectoryID)
		return err
	})
	if got := clients(); len(got) != 0 {
		t.Errorf("clients after the close = %v, want none", got)
	}
}
