package intervention

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
)

// GrantTask is what the task "Dossierdelegatie uitdelen" shows: the guidance trajectory it
// belongs to, the programme and provider, why no delegation was granted automatically, and the
// coaches who may receive it.
type GrantTask struct {
	Task       casefile.Task
	Trajectory casefile.Trajectory
	Programme  casefile.Programme
	Reason     access.Refusal
	Candidates []Candidate
	PlannedEnd *time.Time // when the delegation will end by itself: the guidance's planned end
}

// Candidate is a coach who may receive the delegation.
type Candidate struct {
	ID   uuid.UUID
	Name string
}

// FindGrantTask returns the employee's task taskID of type casefile.TaskGrantDelegation with
// what its form shows. ENOTFOUND when it is not such a task of the employee, or its trajectory
// carries no programme. It does not check access.
func FindGrantTask(ctx context.Context, tx pgx.Tx, employeeID, taskID uuid.UUID) (GrantTask, error) {
	var g GrantTask
	var err error
	if g.Task, err = casefile.FindTaskByID(ctx, tx, employeeID, taskID); err != nil {
		return GrantTask{}, err
	}
	if g.Task.Type != casefile.TaskGrantDelegation {
		return GrantTask{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if g.Trajectory, err = casefile.FindTrajectoryByID(ctx, tx, employeeID, g.Task.TrajectoryID); err != nil {
		return GrantTask{}, err
	}
	if g.Trajectory.ProgrammeID == nil {
		return GrantTask{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if g.Programme, err = casefile.FindProgrammeByID(ctx, tx, *g.Trajectory.ProgrammeID); err != nil {
		return GrantTask{}, err
	}
	if r, ok := g.Task.Payload["reason"].(string); ok {
		g.Reason = access.Refusal(r)
	}
	g.Candidates, err = database.FindAll[Candidate](ctx, tx, "candidates", `SELECT u.id, u.name FROM users u JOIN roles ro ON ro.id = u.role_id
		WHERE`+access.ReceiverWhere("$1", "$2")+`ORDER BY lower(u.name), u.id`, g.Programme.ProviderID, employeeID)
	if err != nil {
		return GrantTask{}, err
	}
	tasks, err := casefile.FindTasks(ctx, tx, g.Trajectory.ID)
	if err != nil {
		return GrantTask{}, err
	}
	g.PlannedEnd = plannedEnd(tasks)
	return g, nil
}

// GrantFromTask completes the employee's task "Dossierdelegatie uitdelen" taskID by granting
// coach userID a delegation tied to its guidance trajectory, ending at endsAt (nil: only when the
// trajectory closes), by ed, all in tx (delegation.granted, case.updated). ed must see the
// employee, may change his case data and must hold delegations.grant (ENOTFOUND, EFORBIDDEN).
// The coach is checked again by access.CheckReceiver (EINVALID, field user_id); ENOTFOUND when
// it is not such a task; ECONFLICT when it is done or its trajectory closed.
func GrantFromTask(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, taskID uuid.UUID, userID *uuid.UUID,
	endsAt *time.Time) (access.Delegation, error) {
	if err := ed.Allow(access.CanSeeEmployee(ctx, tx, ed.Principal, employeeID)); err != nil {
		return access.Delegation{}, err
	}
	if err := ed.Allow(access.Require(ed.Principal, access.DelegationsGrant)); err != nil {
		return access.Delegation{}, err
	}
	g, err := FindGrantTask(ctx, tx, employeeID, taskID)
	if err != nil {
		return access.Delegation{}, err
	}
	if userID == nil {
		return access.Delegation{}, apperr.Invalid(map[string]string{"user_id": "error.choose"})
	}
	// Complete first: a done task or a closed trajectory refuses before anything is granted.
	if _, err := casefile.CompleteFormTask(ctx, tx, ed, employeeID, taskID, casefile.TaskGrantDelegation, map[string]any{
		"reason": string(g.Reason), "user_id": userID.String()}); err != nil {
		return access.Delegation{}, err
	}
	return access.GrantTrajectoryDelegation(ctx, tx, ed, access.TrajectoryGrant{UserID: *userID, EmployeeID: employeeID,
		ProviderID: g.Programme.ProviderID, TrajectoryID: g.Trajectory.ID, EndsAt: endsAt,
		Reason: "Handmatig uitgedeeld voor programma " + g.Programme.Name})
}
