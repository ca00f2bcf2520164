package casefile

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// Trajectory and task statuses.
const (
	TrajectoryOpen   = "open"
	TrajectoryClosed = "closed"
	TaskOpen         = "open"
	TaskDone         = "done"
)

// MaxStartAhead is how far in the future a trajectory's start date may lie.
const MaxStartAhead = 366 * 24 * time.Hour

// Trajectory is a course of guidance of one employee along a protocol (traject).
type Trajectory struct {
	ID           uuid.UUID
	EmployeeID   uuid.UUID
	EmployerID   uuid.UUID
	ProtocolID   uuid.UUID
	ProtocolName string
	ProtocolKind ProtocolKind
	Status       string
	StartDate    time.Time // the date task due dates count from
	OpenedAt     time.Time
	OpenedBy     *uuid.UUID
	OpenedByName string
	ClosedAt     *time.Time
	ClosedBy     *uuid.UUID
	ClosedByName string
	ParentID     *uuid.UUID
	ProgrammeID  *uuid.UUID
	TasksOpen    int
	TasksTotal   int
}

// Open reports whether the trajectory still runs.
func (t Trajectory) Open() bool { return t.Status == TrajectoryOpen }

// Task is one step of a trajectory.
type Task struct {
	ID              uuid.UUID
	TrajectoryID    uuid.UUID
	EmployeeID      uuid.UUID
	EmployerID      uuid.UUID
	Position        int
	Type            string
	Title           string
	Status          string
	DueDate         *time.Time
	AssigneeID      *uuid.UUID
	AssigneeName    string
	CompletedAt     *time.Time
	CompletedBy     *uuid.UUID
	CompletedByName string
	Payload         map[string]any
}

// Done reports whether the task has been completed.
func (t Task) Done() bool { return t.Status == TaskDone }

// Overdue reports whether an open task's due date lies before the day of now.
func (t Task) Overdue(now time.Time) bool {
	if t.Done() || t.DueDate == nil {
		return false
	}
	y, m, d := now.Date()
	return t.DueDate.Before(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

const trajectoryColumns = `t.id, t.employee_id, t.employer_id, t.protocol_id, p.name, p.kind, t.status, t.start_date,
	t.opened_at, t.opened_by, coalesce(uo.name, ''), t.closed_at, t.closed_by, coalesce(uc.name, ''), t.parent_id,
	t.programme_id,
	(SELECT count(*) FROM tasks k WHERE k.trajectory_id = t.id AND k.status = 'open')::int,
	(SELECT count(*) FROM tasks k WHERE k.trajectory_id = t.id)::int`

const trajectoryFrom = ` FROM trajectories t JOIN protocols p ON p.id = t.protocol_id
	LEFT JOIN users uo ON uo.id = t.opened_by LEFT JOIN users uc ON uc.id = t.closed_by`

// FindTrajectoryByID returns the trajectory id of the employee; ENOTFOUND when it does not exist
// or is another employee's. It does not check access.
func FindTrajectoryByID(ctx context.Context, tx pgx.Tx, employeeID, id uuid.UUID) (Trajectory, error) {
	return database.FindOne[Trajectory](ctx, tx, "trajectory",
		"SELECT "+trajectoryColumns+trajectoryFrom+" WHERE t.id = $1 AND t.employee_id = $2", id, employeeID)
}

// FindTrajectoryEmployee returns the employee whose trajectory id is, so that a request
// addressed by the trajectory alone can check access to his dossier before anything of it is
// read; ENOTFOUND when it does not exist.
func FindTrajectoryEmployee(ctx context.Context, tx pgx.Tx, id uuid.UUID) (uuid.UUID, error) {
	return employeeOf(ctx, tx, "SELECT employee_id FROM trajectories WHERE id = $1", "trajectory", id)
}

// FindTrajectories returns an employee's trajectories, open ones first, newest first.
func FindTrajectories(ctx context.Context, tx pgx.Tx, employeeID uuid.UUID) ([]Trajectory, error) {
	list, err := database.FindAll[Trajectory](ctx, tx, "trajectories", "SELECT "+trajectoryColumns+trajectoryFrom+
		" WHERE t.employee_id = $1 ORDER BY t.status = 'closed', t.opened_at DESC, t.id DESC", employeeID)
	if err != nil {
		return nil, err
	}
	return list, nil
}

const taskColumns = `k.id, k.trajectory_id, k.employee_id, k.employer_id, k.position, k.type, k.title, k.status,
	k.due_date, k.assignee_id, coalesce(ua.name, ''), k.completed_at, k.completed_by, coalesce(uc.name, ''), k.payload`

const taskFrom = ` FROM tasks k LEFT JOIN users ua ON ua.id = k.assignee_id LEFT JOIN users uc ON uc.id = k.completed_by`

// FindTaskByID returns the task id of the employee's trajectories; ENOTFOUND when it does not
// exist or is another employee's. It does not check access.
func FindTaskByID(ctx context.Context, tx pgx.Tx, employeeID, id uuid.UUID) (Task, error) {
	return database.FindOne[Task](ctx, tx, "task", "SELECT "+taskColumns+taskFrom+" WHERE k.id = $1 AND k.employee_id = $2",
		id, employeeID)
}

// FindTaskEmployee returns the employee whose trajectory holds task id, so that a request
// addressed by the task alone can check access to his dossier before anything of it is read;
// ENOTFOUND when it does not exist.
func FindTaskEmployee(ctx context.Context, tx pgx.Tx, id uuid.UUID) (uuid.UUID, error) {
	return employeeOf(ctx, tx, "SELECT employee_id FROM tasks WHERE id = $1", "task", id)
}

// FindTasks returns a trajectory's tasks in protocol order.
func FindTasks(ctx context.Context, tx pgx.Tx, trajectoryID uuid.UUID) ([]Task, error) {
	list, err := database.FindAll[Task](ctx, tx, "tasks", "SELECT "+taskColumns+taskFrom+" WHERE k.trajectory_id = $1 ORDER BY k.position, k.id", trajectoryID)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// TrajectoryStart is what opening a trajectory needs.
type TrajectoryStart struct {
	EmployeeID  uuid.UUID
	ProtocolID  uuid.UUID
	StartDate   time.Time  // a calendar date (UTC midnight); the zero time means today
	ParentID    *uuid.UUID // a trajectory of the same employee
	ProgrammeID *uuid.UUID
}

// OpenTrajectory opens a trajectory for an employee, opened by ed (the system when its
// Principal is the zero one), creates its tasks from the protocol's templates, due dates
// counted from the start date, and audits it (case.created, with the protocol and how many
// tasks), all in tx. ed must see the employee and hold access.CaseDataWrite (ENOTFOUND,
// EFORBIDDEN as mayChangeEmployee). EINVALID (fields protocol_id, start_date, parent_id) on an
// unknown protocol, a start date more than MaxStartAhead ahead or a parent of another employee;
// ENOTFOUND when the employee does not exist.
func OpenTrajectory(ctx context.Context, tx pgx.Tx, ed access.Editor, s TrajectoryStart) (Trajectory, []Task, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, s.EmployeeID, access.CanWriteCaseData)
	if err != nil {
		return Trajectory{}, nil, err
	}
	fields := map[string]string{}
	now := time.Now()
	if s.StartDate.IsZero() {
		y, m, d := now.Date()
		s.StartDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if s.StartDate.After(now.Add(MaxStartAhead)) {
		fields["start_date"] = "trajectory.error.start_ahead"
	}
	if s.ProtocolID == uuid.Nil {
		fields["protocol_id"] = "error.choose"
	} else if _, err := FindProtocolByID(ctx, tx, s.ProtocolID); apperr.CodeOf(err) == apperr.ENOTFOUND {
		fields["protocol_id"] = "error.choose"
	} else if err != nil {
		return Trajectory{}, nil, err
	}
	if s.ParentID != nil {
		if _, err := FindTrajectoryByID(ctx, tx, s.EmployeeID, *s.ParentID); err != nil {
			fields["parent_id"] = "trajectory.error.parent"
		}
	}
	if len(fields) > 0 {
		return Trajectory{}, nil, apperr.Invalid(fields)
	}
	id := uuid.Must(uuid.NewV7())
	_, err = tx.Exec(ctx, `INSERT INTO trajectories (tenant_id, id, employee_id, employer_id, protocol_id, start_date,
		opened_by, parent_id, programme_id) VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)`,
		id, s.EmployeeID, employerID, s.ProtocolID, s.StartDate, userOf(ed.Principal), s.ParentID, s.ProgrammeID)
	if err != nil {
		return Trajectory{}, nil, fmt.Errorf("open trajectory: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO tasks (tenant_id, id, trajectory_id, employee_id, employer_id, position, type, title, due_date)
		SELECT app_tenant(), uuid_v7(), $1, $2, $3, pt.position, pt.type, pt.title, $5::date + pt.due_after_days
		FROM protocol_tasks pt WHERE pt.protocol_id = $4 ORDER BY pt.position`,
		id, s.EmployeeID, employerID, s.ProtocolID, s.StartDate)
	if err != nil {
		return Trajectory{}, nil, fmt.Errorf("create tasks: %w", err)
	}
	t, err := FindTrajectoryByID(ctx, tx, s.EmployeeID, id)
	if err != nil {
		return Trajectory{}, nil, err
	}
	tasks, err := FindTasks(ctx, tx, id)
	if err != nil {
		return Trajectory{}, nil, err
	}
	return t, tasks, auditCase(ctx, tx, ed, audit.CaseCreated, "trajectory", t.ID, t.EmployeeID, t.EmployerID,
		map[string]any{"protocol": t.ProtocolName, "tasks": len(tasks)})
}

// CloseTrajectory closes the employee's open trajectory id, closed by ed, and, in tx, ends its
// delegations that are still active or planned (DESIGN.md §8; access.EndTrajectoryDelegations,
// one delegation.ended event each), and audits the closing (case.updated, with the delegations
// it ended). It returns the closed
// trajectory and the ids of the delegations it ended. ENOTFOUND, EFORBIDDEN as OpenTrajectory;
// ENOTFOUND when it is not the employee's; ECONFLICT (trajectory.error.closed) when already
// closed.
func CloseTrajectory(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Trajectory, []uuid.UUID, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData); err != nil {
		return Trajectory{}, nil, err
	}
	tag, err := tx.Exec(ctx, `UPDATE trajectories SET status = 'closed', closed_at = greatest(now(), opened_at), closed_by = $2,
		updated_at = now() WHERE id = $1 AND employee_id = $3 AND status = 'open'`, id, userOf(ed.Principal), employeeID)
	if err != nil {
		return Trajectory{}, nil, fmt.Errorf("close trajectory: %w", err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := FindTrajectoryByID(ctx, tx, employeeID, id); err != nil {
			return Trajectory{}, nil, err
		}
		return Trajectory{}, nil, apperr.New(apperr.ECONFLICT, "trajectory.error.closed")
	}
	// Its delegations end in this transaction (reason trajectory_closed, each audited); one
	// planned to start later ends before it began: its end is its start.
	ended, err := access.EndTrajectoryDelegations(ctx, tx, ed.Actor, id)
	if err != nil {
		return Trajectory{}, nil, err
	}
	t, err := FindTrajectoryByID(ctx, tx, employeeID, id)
	if err != nil {
		return Trajectory{}, nil, err
	}
	endedIDs := make([]string, len(ended))
	for i, d := range ended {
		endedIDs[i] = d.String()
	}
	return t, ended, auditCase(ctx, tx, ed, audit.CaseUpdated, "trajectory", t.ID, t.EmployeeID, t.EmployerID,
		map[string]any{"status": TrajectoryClosed, "delegations_ended": endedIDs})
}

// CompleteTask marks the employee's open task id of an open trajectory done by ed and audits it
// (case.updated). ENOTFOUND, EFORBIDDEN as OpenTrajectory; ENOTFOUND when it is not the
// employee's; ECONFLICT when the task is done already (task.error.done) or its trajectory is
// closed (task.error.trajectory_closed).
func CompleteTask(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID) (Task, error) {
	return completeTask(ctx, tx, ed, employeeID, id, "", nil)
}

// Task types completed through a form of their own (the intervention workflow), never by
// CompleteTask.
const (
	TaskDeployIntervention = "deploy_intervention" // Definitief inzetten interventie & starten begeleiding
	TaskGrantDelegation    = "grant_delegation"    // Dossierdelegatie uitdelen
)

// FormTask reports whether tasks of type typ are completed through their own form.
func FormTask(typ string) bool { return typ == TaskDeployIntervention || typ == TaskGrantDelegation }

// CompleteFormTask completes the employee's open task id of type typ, as CompleteTask does,
// storing payload (what its form decided) with it. The capability that owns the form calls it
// in the transaction of what the form does. Errors as CompleteTask; ENOTFOUND when the task is
// of another type.
func CompleteFormTask(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID, typ string, payload map[string]any) (Task, error) {
	return completeTask(ctx, tx, ed, employeeID, id, typ, payload)
}

func completeTask(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID, typ string, payload map[string]any) (Task, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData); err != nil {
		return Task{}, err
	}
	task, err := FindTaskByID(ctx, tx, employeeID, id)
	if err != nil {
		return Task{}, err
	}
	if typ == "" && FormTask(task.Type) {
		return Task{}, apperr.New(apperr.ECONFLICT, "task.error.form")
	}
	if typ != "" && task.Type != typ {
		return Task{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if payload == nil {
		payload = task.Payload
	}
	var status string
	// Lock the trajectory so a concurrent close cannot slip between the check and the update.
	if err := tx.QueryRow(ctx, "SELECT status FROM trajectories WHERE id = $1 FOR UPDATE", task.TrajectoryID).Scan(&status); err != nil {
		return Task{}, fmt.Errorf("complete task: %w", err)
	}
	if status != TrajectoryOpen {
		return Task{}, apperr.New(apperr.ECONFLICT, "task.error.trajectory_closed")
	}
	tag, err := tx.Exec(ctx, `UPDATE tasks SET status = 'done', completed_at = now(), completed_by = $2, updated_at = now(),
		payload = $3 WHERE id = $1 AND status = 'open'`, id, userOf(ed.Principal), payload)
	if err != nil {
		return Task{}, fmt.Errorf("complete task: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Task{}, apperr.New(apperr.ECONFLICT, "task.error.done")
	}
	if task, err = FindTaskByID(ctx, tx, employeeID, id); err != nil {
		return Task{}, err
	}
	return task, auditCase(ctx, tx, ed, audit.CaseUpdated, "task", task.ID, task.EmployeeID, task.EmployerID,
		map[string]any{"status": TaskDone, "trajectory_id": task.TrajectoryID.String(), "type": task.Type})
}

// SetTaskDueDate moves the due date of the employee's open task id (nil: no due date) and audits
// it (case.updated). ENOTFOUND, EFORBIDDEN as OpenTrajectory; ENOTFOUND when it is not the
// employee's; EINVALID (field due_date) when the date lies before the trajectory's start date;
// ECONFLICT when the task is done (task.error.done) or its trajectory closed
// (task.error.trajectory_closed).
func SetTaskDueDate(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, id uuid.UUID, due *time.Time) (Task, error) {
	if _, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData); err != nil {
		return Task{}, err
	}
	task, err := FindTaskByID(ctx, tx, employeeID, id)
	if err != nil {
		return Task{}, err
	}
	var status string
	var start time.Time
	if err := tx.QueryRow(ctx, "SELECT status, start_date FROM trajectories WHERE id = $1 FOR UPDATE", task.TrajectoryID).
		Scan(&status, &start); err != nil {
		return Task{}, fmt.Errorf("set task due date: %w", err)
	}
	if status != TrajectoryOpen {
		return Task{}, apperr.New(apperr.ECONFLICT, "task.error.trajectory_closed")
	}
	if task.Done() {
		return Task{}, apperr.New(apperr.ECONFLICT, "task.error.done")
	}
	if due != nil && due.Before(start) {
		return Task{}, apperr.Invalid(map[string]string{"due_date": "task.error.due_before_start"})
	}
	if _, err := tx.Exec(ctx, "UPDATE tasks SET due_date = $2, updated_at = now() WHERE id = $1", id, due); err != nil {
		return Task{}, fmt.Errorf("set task due date: %w", err)
	}
	if task, err = FindTaskByID(ctx, tx, employeeID, id); err != nil {
		return Task{}, err
	}
	return task, auditCase(ctx, tx, ed, audit.CaseUpdated, "task", task.ID, task.EmployeeID, task.EmployerID,
		map[string]any{"due_date": auditDay(task.DueDate), "trajectory_id": task.TrajectoryID.String()})
}

// AddTask adds an open task of type typ with title and payload at the end of the employee's open
// trajectory trajectoryID, by ed, and audits it (case.created). ENOTFOUND, EFORBIDDEN as
// OpenTrajectory; ENOTFOUND when the trajectory is not the employee's; ECONFLICT
// (task.error.trajectory_closed) when it is closed.
func AddTask(ctx context.Context, tx pgx.Tx, ed access.Editor, employeeID, trajectoryID uuid.UUID, typ, title string,
	payload map[string]any) (Task, error) {
	employerID, err := mayChangeEmployee(ctx, tx, ed, employeeID, access.CanWriteCaseData)
	if err != nil {
		return Task{}, err
	}
	var status string
	err = tx.QueryRow(ctx, "SELECT status FROM trajectories WHERE id = $1 AND employee_id = $2 FOR UPDATE", trajectoryID, employeeID).Scan(&status)
	if database.IsNoRows(err) {
		return Task{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Task{}, fmt.Errorf("add task: %w", err)
	}
	if status != TrajectoryOpen {
		return Task{}, apperr.New(apperr.ECONFLICT, "task.error.trajectory_closed")
	}
	if payload == nil {
		payload = map[string]any{}
	}
	id := uuid.Must(uuid.NewV7())
	_, err = tx.Exec(ctx, `INSERT INTO tasks (tenant_id, id, trajectory_id, employee_id, employer_id, position, type, title, payload)
		SELECT app_tenant(), $1, $2, $3, $4, coalesce(max(k.position), 0) + 1, $5, $6, $7 FROM tasks k WHERE k.trajectory_id = $2`,
		id, trajectoryID, employeeID, employerID, typ, title, payload)
	if err != nil {
		return Task{}, fmt.Errorf("add task: %w", err)
	}
	task, err := FindTaskByID(ctx, tx, employeeID, id)
	if err != nil {
		return Task{}, err
	}
	return task, auditCase(ctx, tx, ed, audit.CaseCreated, "task", task.ID, employeeID, employerID,
		map[string]any{"trajectory_id": trajectoryID.String(), "type": typ})
}
