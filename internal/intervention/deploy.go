package intervention

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// GrantTaskTitle is the title of the manual task the confirmation creates when no delegation
// could be granted automatically.
const GrantTaskTitle = "Dossierdelegatie uitdelen"

// Messages of the confirmation.
const (
	MsgNoGuidanceProtocol = "intervention.error.no_guidance_protocol"
	MsgProgrammeRequired  = "intervention.error.programme"
)

// Plan is what completing a confirm task would do, shown on its form before it is completed.
type Plan struct {
	Settings  Settings
	Programme *casefile.Programme // nil until one is chosen
	Provider  Provider
	Executor  Effective      // the resolved default executor
	Refusal   access.Refusal // why he will not receive the delegation; "" when he will
}

// Ready reports whether the confirmation can be completed: a guidance protocol is configured.
func (p Plan) Ready() bool { return p.Settings.GuidanceProtocolID != nil }

// PlanDeployment works out what confirming a deployment of programme programmeID (nil: none
// chosen yet) for the employee would do. It reads only; EINVALID (field programme_id) for an
// unknown programme.
func PlanDeployment(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID, programmeID *uuid.UUID) (Plan, error) {
	var p Plan
	var err error
	if p.Settings, err = FindSettings(ctx, tx); err != nil {
		return Plan{}, err
	}
	if programmeID == nil {
		return p, nil
	}
	g, err := casefile.FindProgrammeByID(ctx, tx, *programmeID)
	if apperr.CodeOf(err) == apperr.ENOTFOUND {
		return Plan{}, apperr.Invalid(map[string]string{"programme_id": "error.choose"})
	}
	if err != nil {
		return Plan{}, err
	}
	p.Programme = &g
	if p.Provider, err = FindProviderByID(ctx, tx, g.ProviderID); err != nil {
		return Plan{}, err
	}
	p.Executor = EffectiveExecutor(g, p.Provider)
	if p.Executor.UserID == nil {
		p.Refusal = access.RefusalNoExecutor
		return p, nil
	}
	p.Refusal, err = access.CheckReceiver(ctx, tx, *p.Executor.UserID, g.ProviderID, employeeID)
	return p, err
}

// Deployment is a confirmed deployment of an intervention.
type Deployment struct {
	ID                   uuid.UUID
	EmployeeID           uuid.UUID
	TrajectoryID         uuid.UUID // the deployment trajectory
	TaskID               uuid.UUID // its confirm task
	ProgrammeID          uuid.UUID
	GuidanceTrajectoryID uuid.UUID
	ExecutorUserID       *uuid.UUID
	DelegationID         *uuid.UUID
	Outcome              string // "delegated" or an access.Refusal
	DeployedBy           *uuid.UUID
	DeployedAt           time.Time
}

// OutcomeDelegated is the outcome of a deployment whose default executor received the delegation.
const OutcomeDelegated = "delegated"

// ConfirmDeployment completes the employee's confirm task taskID ("Definitief inzetten
// interventie & starten begeleiding") choosing programme programmeID, by ed, all in tx (DESIGN.md
// §8): it records the deployment, opens a guidance trajectory of the configured protocol (child
// of the deployment trajectory, carrying the programme), and grants the resolved default
// executor a delegation tied to it — ending at the guidance's planned end, the day after its
// last task is due — when access.CheckReceiver lets him; otherwise it adds the task
// "Dossierdelegatie uitdelen" to the guidance trajectory with the reason. The grant is the
// workflow's, made on the tenant's configuration, so ed needs no delegations.grant; every event
// carries ed's actor (case.updated, case.created, delegation.granted, intervention.deployed).
//
// ed must see the employee and may change his case data (ENOTFOUND, EFORBIDDEN); ENOTFOUND when
// the task is not the employee's confirm task; ECONFLICT when it is done or its trajectory
// closed; EINVALID with field "" (MsgNoGuidanceProtocol) when no guidance protocol is configured
// and field programme_id when no known programme is chosen.
func ConfirmDeployment(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, taskID uuid.UUID, programmeID *uuid.UUID) (Deployment, error) {
	if err := ed.Allow(access.CanSeeEmployee(ctx, tx, ed.Principal, employeeID)); err != nil {
		return Deployment{}, err
	}
	if err := ed.Allow(access.CanWriteCaseData(ed.Principal)); err != nil {
		return Deployment{}, err
	}
	task, err := casefile.FindTaskByID(ctx, tx, employeeID, taskID)
	if err != nil {
		return Deployment{}, err
	}
	if task.Type != casefile.TaskDeployIntervention {
		return Deployment{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if programmeID == nil {
		return Deployment{}, apperr.Invalid(map[string]string{"programme_id": MsgProgrammeRequired})
	}
	plan, err := PlanDeployment(ctx, tx, employeeID, programmeID)
	if err != nil {
		return Deployment{}, err
	}
	if !plan.Ready() {
		return Deployment{}, apperr.Invalid(map[string]string{"": MsgNoGuidanceProtocol})
	}
	g := *plan.Programme
	guidance, tasks, err := casefile.OpenTrajectory(ctx, tx, ed, casefile.TrajectoryStart{EmployeeID: employeeID,
		ProtocolID: *plan.Settings.GuidanceProtocolID, ParentID: &task.TrajectoryID, ProgrammeID: &g.ID})
	if err != nil {
		return Deployment{}, err
	}
	d := Deployment{ID: uuid.Must(uuid.NewV7()), EmployeeID: employeeID, TrajectoryID: task.TrajectoryID, TaskID: taskID,
		ProgrammeID: g.ID, GuidanceTrajectoryID: guidance.ID, ExecutorUserID: plan.Executor.UserID, Outcome: string(plan.Refusal),
		DeployedBy: ed.Actor.UserID}
	if plan.Refusal == access.RefusalNone {
		grant, err := access.GrantTrajectoryDelegation(ctx, tx, access.System(ed.Actor), access.TrajectoryGrant{
			UserID: *plan.Executor.UserID, EmployeeID: employeeID, ProviderID: g.ProviderID, TrajectoryID: guidance.ID,
			EndsAt: plannedEnd(tasks), Reason: "Standaard uitvoerder van programma " + g.Name})
		if err != nil {
			return Deployment{}, err
		}
		d.Outcome, d.DelegationID = OutcomeDelegated, &grant.ID
	} else {
		if _, err := casefile.AddTask(ctx, tx, ed, employeeID, guidance.ID, casefile.TaskGrantDelegation, GrantTaskTitle,
			map[string]any{"reason": string(plan.Refusal), "programme_id": g.ID.String()}); err != nil {
			return Deployment{}, err
		}
	}
	if _, err := casefile.CompleteFormTask(ctx, tx, ed, employeeID, taskID, casefile.TaskDeployIntervention, map[string]any{
		"programme_id": g.ID.String(), "guidance_trajectory_id": guidance.ID.String(), "outcome": d.Outcome}); err != nil {
		return Deployment{}, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO intervention_deployments (tenant_id, id, employee_id, trajectory_id, task_id, programme_id,
			guidance_trajectory_id, executor_user_id, delegation_id, outcome, deployed_by)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING deployed_at`,
		d.ID, d.EmployeeID, d.TrajectoryID, d.TaskID, d.ProgrammeID, d.GuidanceTrajectoryID, d.ExecutorUserID, d.DelegationID,
		d.Outcome, d.DeployedBy).Scan(&d.DeployedAt)
	if err != nil {
		return Deployment{}, fmt.Errorf("record deployment: %w", err)
	}
	return d, audit.Write(ctx, tx, ed.Actor, audit.Event{Action: audit.InterventionDeployed, SubjectType: "deployment",
		SubjectID: &d.ID, EmployeeID: &employeeID, EmployerID: &guidance.EmployerID, Details: map[string]any{
			"programme_id": g.ID, "programme": g.Name, "guidance_trajectory_id": guidance.ID, "outcome": d.Outcome,
			"executor_user_id": d.ExecutorUserID}})
}

// plannedEnd is when a guidance trajectory with these tasks is planned to end: the start of
// the day after its last due date, in Amsterdam; nil when no task has a due date.
func plannedEnd(tasks []casefile.Task) *time.Time {
	var last *time.Time
	for _, t := range tasks {
		if t.DueDate != nil && (last == nil || t.DueDate.After(*last)) {
			last = t.DueDate
		}
	}
	if last == nil {
		return nil
	}
	y, m, d := last.Date()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, i18n.Amsterdam)
	return &end
}

// FindDeploymentByGuidance returns the deployment that opened a guidance trajectory, or ENOTFOUND.
func FindDeploymentByGuidance(ctx context.Context, tx pgx.Tx, guidanceTrajectoryID uuid.UUID) (Deployment, error) {
	return database.FindOne[Deployment](ctx, tx, "deployment", `SELECT id, employee_id, trajectory_id, task_id, programme_id,
		guidance_trajectory_id, executor_user_id, delegation_id, outcome, deployed_by, deployed_at
		FROM intervention_deployments WHERE guidance_trajectory_id = $1`, guidanceTrajectoryID)
}
