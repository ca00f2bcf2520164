package intervention_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/intervention"
)

// Every branch of the confirm task: who the default executor resolves to and whether he may
// receive the delegation decide between a delegation tied to the guidance trajectory and the
// manual task with the reason.
func TestConfirmDeploymentBranches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		arrange  func(t *testing.T, w *world)
		executor func(w *world) *uuid.UUID
		outcome  string
	}{
		{"programme executor", func(t *testing.T, w *world) {
			w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA2)
			w.exec(t, "UPDATE programmes SET executor_mode = 'own', executor_user_id = $2 WHERE id = $1", w.programme, w.coachA)
		}, func(w *world) *uuid.UUID { return &w.coachA }, intervention.OutcomeDelegated},
		{"provider executor", func(t *testing.T, w *world) {
			w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA2)
		}, func(w *world) *uuid.UUID { return &w.coachA2 }, intervention.OutcomeDelegated},
		{"no executor", func(t *testing.T, w *world) {},
			func(w *world) *uuid.UUID { return nil }, string(access.RefusalNoExecutor)},
		{"programme with its own setting but no user", func(t *testing.T, w *world) {
			w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA2)
			w.exec(t, "UPDATE programmes SET executor_mode = 'own' WHERE id = $1", w.programme)
		}, func(w *world) *uuid.UUID { return nil }, string(access.RefusalNoExecutor)},
		{"executor without delegations.receive", func(t *testing.T, w *world) {
			// Set while he could; his role lost the right since.
			w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachNoReceive)
		}, func(w *world) *uuid.UUID { return &w.coachNoReceive }, string(access.RefusalCannotReceive)},
		{"executor of another provider", func(t *testing.T, w *world) {
			w.exec(t, "UPDATE programmes SET executor_mode = 'own', executor_user_id = $2 WHERE id = $1", w.programme, w.coachB)
		}, func(w *world) *uuid.UUID { return &w.coachB }, string(access.RefusalOtherProvider)},
		{"blocked executor", func(t *testing.T, w *world) {
			w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
			w.exec(t, "UPDATE users SET status = 'blocked' WHERE id = $1", w.coachA)
		}, func(w *world) *uuid.UUID { return &w.coachA }, string(access.RefusalBlocked)},
		{"blacklisted executor", func(t *testing.T, w *world) {
			w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
			w.exec(t, "INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", w.coachA, w.employee)
		}, func(w *world) *uuid.UUID { return &w.coachA }, string(access.RefusalBlacklisted)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := setupWorld(t)
			tt.arrange(t, w)
			task := w.deploymentTask(t, w.employee)
			d, err := w.confirm(t, task)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != tt.outcome {
				t.Errorf("outcome = %q, want %q", d.Outcome, tt.outcome)
			}
			if diff := cmp.Diff(tt.executor(w), d.ExecutorUserID); diff != "" {
				t.Errorf("executor (-want +got):\n%s", diff)
			}
			// The guidance trajectory: the configured protocol, child of the deployment trajectory,
			// carrying the programme, opened by the case manager.
			var guidance casefile.Trajectory
			var guidanceTasks []casefile.Task
			var confirmed casefile.Task
			w.in(t, func(tx pgx.Tx) (err error) {
				if guidance, err = casefile.FindTrajectoryByID(ctx, tx, w.employee, d.GuidanceTrajectoryID); err != nil {
					return err
				}
				if guidanceTasks, err = casefile.FindTasks(ctx, tx, guidance.ID); err != nil {
					return err
				}
				confirmed, err = casefile.FindTaskByID(ctx, tx, w.employee, task.ID)
				return err
			})
			if guidance.ProtocolID != w.guidance.ID || guidance.ParentID == nil || *guidance.ParentID != task.TrajectoryID ||
				guidance.ProgrammeID == nil || *guidance.ProgrammeID != w.programme || guidance.OpenedBy == nil || *guidance.OpenedBy != w.manager {
				t.Errorf("guidance trajectory = %+v", guidance)
			}
			if !confirmed.Done() || confirmed.Payload["outcome"] != tt.outcome || confirmed.Payload["programme_id"] != w.programme.String() {
				t.Errorf("confirm task = %+v", confirmed)
			}
			var manual []casefile.Task
			for _, k := range guidanceTasks {
				if k.Type == casefile.TaskGrantDelegation {
					manual = append(manual, k)
				}
			}
			delegations := w.count(t, "SELECT count(*) FROM dossier_delegations WHERE employee_id = $1", w.employee)
			grants := w.count(t, "SELECT count(*) FROM audit_events WHERE action = 'delegation.granted' AND employee_id = $1", w.employee)
			if tt.outcome == intervention.OutcomeDelegated {
				if delegations != 1 || grants != 1 || len(manual) != 0 || d.DelegationID == nil {
					t.Errorf("delegations %d, grant events %d, manual tasks %d, delegation %v; want 1, 1, 0, set", delegations, grants, len(manual), d.DelegationID)
				}
				var user, trajectory uuid.UUID
				var planned bool
				w.in(t, func(tx pgx.Tx) error {
					return tx.QueryRow(ctx, `SELECT user_id, trajectory_id, ended_at > now() + interval '80 days'
						FROM dossier_delegations WHERE id = $1`, *d.DelegationID).Scan(&user, &trajectory, &planned)
				})
				if user != *tt.executor(w) || trajectory != guidance.ID || !planned {
					t.Errorf("delegation to %s for %s (planned end after the last task: %v); want %s for %s", user, trajectory, planned, *tt.executor(w), guidance.ID)
				}
				// The coach now sees the employee, through the engine.
				if err := func() error {
					var err error
					w.in(t, func(tx pgx.Tx) error {
						err = access.CanSeeEmployee(ctx, tx, w.principal(t, user), w.employee)
						return nil
					})
					return err
				}(); err != nil {
					t.Errorf("the executor cannot see the employee: %v", err)
				}
			} else {
				if delegations != 0 || grants != 0 || len(manual) != 1 || d.DelegationID != nil {
					t.Fatalf("delegations %d, grant events %d, manual tasks %d; want 0, 0, 1", delegations, grants, len(manual))
				}
				if manual[0].Title != intervention.GrantTaskTitle || manual[0].Payload["reason"] != tt.outcome || manual[0].Done() {
					t.Errorf("manual task = %+v", manual[0])
				}
			}
			if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'intervention.deployed' AND subject_id = $1
				AND employee_id = $2 AND user_id = $3 AND details->>'outcome' = $4`, d.ID, w.employee, w.manager, tt.outcome); n != 1 {
				t.Errorf("intervention.deployed events = %d, want 1", n)
			}
			if n := w.count(t, "SELECT count(*) FROM intervention_deployments WHERE id = $1 AND outcome = $2", d.ID, tt.outcome); n != 1 {
				t.Errorf("deployment rows = %d, want 1", n)
			}
			// Done once: a second confirmation is refused and changes nothing.
			if _, err := w.confirm(t, task); apperr.CodeOf(err) != apperr.ECONFLICT {
				t.Errorf("confirming twice: %v, want ECONFLICT", err)
			}
			if n := w.count(t, "SELECT count(*) FROM trajectories WHERE parent_id = $1", task.TrajectoryID); n != 1 {
				t.Errorf("guidance trajectories after a second confirmation = %d, want 1", n)
			}
		})
	}
}

// Without a configured guidance protocol the confirm task cannot be completed, and nothing of it
// is written.
func TestConfirmDeploymentWithoutGuidanceProtocol(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := setupWorld(t)
	w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
	w.in(t, func(tx pgx.Tx) error {
		return intervention.SetGuidanceProtocol(ctx, tx, w.ed(t, w.admin), nil)
	})
	task := w.deploymentTask(t, w.employee)
	var plan intervention.Plan
	w.in(t, func(tx pgx.Tx) (err error) {
		plan, err = intervention.PlanDeployment(ctx, tx, w.employee, &w.programme)
		return err
	})
	if plan.Ready() {
		t.Error("the plan is ready without a guidance protocol")
	}
	before := snapshot(t, w)
	_, err := w.confirm(t, task)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.EINVALID || e.Fields[""] != intervention.MsgNoGuidanceProtocol {
		t.Errorf("confirm without guidance protocol: %v, want EINVALID %s", err, intervention.MsgNoGuidanceProtocol)
	}
	if diff := cmp.Diff(before, snapshot(t, w)); diff != "" {
		t.Errorf("rows changed by a refused confirmation (-before +after):\n%s", diff)
	}
}

// A failure in any step of the confirmation leaves nothing behind: the guidance trajectory, its
// tasks, the delegation, the manual task, the deployment and the events all roll back together.
func TestConfirmDeploymentIsOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, step := range []struct{ name, table string }{
		{"delegation", "dossier_delegations"},
		{"manual task", "tasks"},
		{"deployment", "intervention_deployments"},
		{"audit event", "audit_events"},
	} {
		t.Run(step.name, func(t *testing.T) {
			t.Parallel()
			w := setupWorld(t)
			if step.name != "manual task" {
				w.exec(t, "UPDATE intervention_providers SET executor_user_id = $2 WHERE id = $1", w.providerA, w.coachA)
			}
			task := w.deploymentTask(t, w.employee)
			before := snapshot(t, w)
			// The step fails in the database, after the steps before it succeeded.
			owner, err := pgx.Connect(ctx, w.db.OwnerURL)
			if err != nil {
				t.Fatal(err)
			}
			defer owner.Close(ctx)
			cond := "true"
			switch step.table {
			case "tasks":
				cond = "NEW.type = 'grant_delegation'"
			case "audit_events":
				cond = "NEW.action = 'intervention.deployed'"
			}
			if _, err := owner.Exec(ctx, `CREATE FUNCTION fail_step() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF `+cond+` THEN RAISE EXCEPTION 'step fails'; END IF; RETURN NEW; END $$;
				CREATE TRIGGER fail_step BEFORE INSERT ON `+step.table+` FOR EACH ROW EXECUTE FUNCTION fail_step()`); err != nil {
				t.Fatal(err)
			}
			if _, err := w.confirm(t, task); err == nil {
				t.Fatal("the confirmation succeeded although a step failed")
			}
			if diff := cmp.Diff(before, snapshot(t, w)); diff != "" {
				t.Errorf("rows left by a failed confirmation (-before +after):\n%s", diff)
			}
		})
	}
}

// snapshot counts the rows a confirmation writes, and the open tasks.
func snapshot(t *testing.T, w *world) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, sql := range map[string]string{
		"trajectories": "SELECT count(*) FROM trajectories",
		"tasks":        "SELECT count(*) FROM tasks",
		"tasks done":   "SELECT count(*) FROM tasks WHERE status = 'done'",
		"delegations":  "SELECT count(*) FROM dossier_delegations",
		"deployments":  "SELECT count(*) FROM intervention_deployments",
		"audit events": "SELECT count(*) FROM audit_events",
	} {
		out[name] = w.count(t, sql)
	}
	return out
}
