package casefile_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// trajectoryBundle is a fresh database with one tenant holding the default protocols, one
// employer with two employees and one user.
type trajectoryBundle struct {
	db                  dbtest.DB
	tenant              uuid.UUID
	employer            uuid.UUID
	employee, employee2 uuid.UUID
	user                uuid.UUID
}

// as returns the bundle's user as the engine sees him: he sees the employer's employees and may
// change their case data, with medical.view when medical.
func (b trajectoryBundle) as(medical bool) access.Principal {
	p := access.Principal{TenantID: b.tenant, UserID: b.user, Kind: access.KindProvider,
		Rights: []access.Right{access.EmployeeDossierView, access.CaseDataWrite},
		Facts:  access.Facts{AllEmployers: []uuid.UUID{b.employer}, Reach: []uuid.UUID{b.employer}}}
	if medical {
		p.Rights = append(p.Rights, access.MedicalView)
	}
	return p
}

// ed returns the bundle's user (as) as the editor of a change.
func (b trajectoryBundle) ed(medical bool) access.Editor {
	return access.Editor{Principal: b.as(medical)}
}

func setupTrajectories(t *testing.T) trajectoryBundle {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Trajecten", false)
	if err != nil {
		t.Fatal(err)
	}
	b := trajectoryBundle{db: db, tenant: tenant.ID}
	b.in(t, func(tx pgx.Tx) error {
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO employers (tenant_id, name, employer_number) VALUES (app_tenant(), 'Bakkerij', 'W1')
			RETURNING id`).Scan(&b.employer); err != nil {
			return err
		}
		for _, p := range []struct {
			nr string
			id *uuid.UUID
		}{{"1", &b.employee}, {"2", &b.employee2}} {
			if err := tx.QueryRow(ctx, `INSERT INTO employees (tenant_id, employer_id, personnel_number, last_name)
				VALUES (app_tenant(), $1, $2, 'Visser') RETURNING id`, b.employer, p.nr).Scan(p.id); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO users (tenant_id, email, name, kind, role_id, password_hash)
			SELECT app_tenant(), 'cm-' || app_tenant() || '@example.test', 'Casemanager', 'provider', id, 'x'
			FROM roles WHERE kind = 'provider' LIMIT 1 RETURNING id`).Scan(&b.user)
	})
	return b
}

func (b trajectoryBundle) in(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(context.Background(), b.db.Pool, b.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

func (b trajectoryBundle) protocol(t *testing.T, kind casefile.ProtocolKind) casefile.Protocol {
	t.Helper()
	var found casefile.Protocol
	b.in(t, func(tx pgx.Tx) error {
		list, err := casefile.FindProtocols(context.Background(), tx)
		for _, p := range list {
			if p.Kind == kind {
				found = p
			}
		}
		return err
	})
	if found.ID == uuid.Nil {
		t.Fatalf("no protocol of kind %s", kind)
	}
	return found
}

// changeCount counts the changes rows of an entity and operation.
func changeCount(t *testing.T, b trajectoryBundle, entity, op string) int {
	t.Helper()
	var n int
	b.in(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT count(*) FROM changes WHERE entity = $1 AND op = $2", entity, op).Scan(&n)
	})
	return n
}

func TestEnsureDefaultProtocols(t *testing.T) {
	t.Parallel()
	b := setupTrajectories(t)
	ctx := context.Background()
	var before, after []casefile.Protocol
	b.in(t, func(tx pgx.Tx) (err error) {
		if before, err = casefile.FindProtocols(ctx, tx); err != nil {
			return err
		}
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		after, err = casefile.FindProtocols(ctx, tx)
		return err
	})
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a second EnsureDefaultProtocols changed the protocols (-before +after):\n%s", diff)
	}
	if len(after) != len(casefile.DefaultProtocols()) {
		t.Fatalf("protocols = %d, want %d", len(after), len(casefile.DefaultProtocols()))
	}
	absence := b.protocol(t, casefile.ProtocolAbsence)
	var got []string
	for i, tt := range absence.Tasks {
		if tt.Position != i+1 {
			t.Errorf("task %d has position %d", i, tt.Position)
		}
		got = append(got, tt.Type)
	}
	want := []string{"intake", "problem_analysis", "action_plan", "action_plan_evaluation", "uwv_notification",
		"first_year_evaluation", "wia_application"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("absence protocol tasks (-want +got):\n%s", diff)
	}
}

func TestOpenTrajectoryCreatesTasks(t *testing.T) {
	t.Parallel()
	b := setupTrajectories(t)
	ctx := context.Background()
	p := b.protocol(t, casefile.ProtocolAbsence)
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var tr casefile.Trajectory
	var tasks []casefile.Task
	b.in(t, func(tx pgx.Tx) (err error) {
		tr, tasks, err = casefile.OpenTrajectory(ctx, tx, b.ed(false), casefile.TrajectoryStart{EmployeeID: b.employee, ProtocolID: p.ID,
			StartDate: start})
		return err
	})
	if tr.Status != casefile.TrajectoryOpen || tr.EmployerID != b.employer || tr.TasksTotal != len(p.Tasks) || tr.TasksOpen != len(p.Tasks) {
		t.Errorf("trajectory = %+v", tr)
	}
	if len(tasks) != len(p.Tasks) {
		t.Fatalf("tasks = %d, want %d", len(tasks), len(p.Tasks))
	}
	for i, task := range tasks {
		tmpl := p.Tasks[i]
		want := start.AddDate(0, 0, *tmpl.DueAfterDays)
		if task.Type != tmpl.Type || task.Title != tmpl.Title || task.Status != casefile.TaskOpen ||
			task.DueDate == nil || !task.DueDate.Equal(want) || task.EmployeeID != b.employee {
			t.Errorf("task %d = %+v, want type %s due %s", i, task, tmpl.Type, want)
		}
	}
	if n := changeCount(t, b, "trajectories", "insert"); n != 1 {
		t.Errorf("trajectory insert changes = %d, want 1", n)
	}
	if n := changeCount(t, b, "tasks", "insert"); n != len(p.Tasks) {
		t.Errorf("task insert changes = %d, want %d", n, len(p.Tasks))
	}

	t.Run("Refusals", func(t *testing.T) {
		other := uuid.Must(uuid.NewV7())
		for name, s := range map[string]casefile.TrajectoryStart{
			"no protocol":      {EmployeeID: b.employee},
			"unknown":          {EmployeeID: b.employee, ProtocolID: other},
			"far ahead":        {EmployeeID: b.employee, ProtocolID: p.ID, StartDate: time.Now().AddDate(2, 0, 0)},
			"foreign parent":   {EmployeeID: b.employee2, ProtocolID: p.ID, ParentID: &tr.ID},
			"unknown parent":   {EmployeeID: b.employee, ProtocolID: p.ID, ParentID: &other},
			"unknown employee": {EmployeeID: other, ProtocolID: p.ID},
		} {
			err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
				_, _, err := casefile.OpenTrajectory(ctx, tx, access.System(audit.Actor{}), s)
				return err
			})
			want := apperr.EINVALID
			if name == "unknown employee" {
				want = apperr.ENOTFOUND
			}
			if apperr.CodeOf(err) != want {
				t.Errorf("%s: error %v, want %s", name, err, want)
			}
		}
		if n := changeCount(t, b, "trajectories", "insert"); n != 1 {
			t.Errorf("after refusals trajectory insert changes = %d, want 1", n)
		}
	})
}

func TestCompleteAndClose(t *testing.T) {
	t.Parallel()
	b := setupTrajectories(t)
	ctx := context.Background()
	p := b.protocol(t, casefile.ProtocolInterventionGuidance)
	open := func() (casefile.Trajectory, []casefile.Task) {
		var tr casefile.Trajectory
		var tasks []casefile.Task
		b.in(t, func(tx pgx.Tx) (err error) {
			tr, tasks, err = casefile.OpenTrajectory(ctx, tx, access.System(audit.Actor{}), casefile.TrajectoryStart{EmployeeID: b.employee, ProtocolID: p.ID})
			return err
		})
		return tr, tasks
	}
	tr, tasks := open()
	other, _ := open()
	// A delegation of this trajectory, one of the other, and one of this one that ended already.
	var active, foreign, endedBefore uuid.UUID
	b.in(t, func(tx pgx.Tx) error {
		ins := `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, trajectory_id, valid_from, ended_at)
			VALUES (app_tenant(), $1, $2, $3, $4, $5) RETURNING id`
		past := time.Now().Add(-48 * time.Hour)
		endedAt := time.Now().Add(-24 * time.Hour)
		if err := tx.QueryRow(ctx, ins, b.user, b.employee, tr.ID, past, nil).Scan(&active); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, ins, b.user, b.employee, other.ID, past, nil).Scan(&foreign); err != nil {
			return err
		}
		return tx.QueryRow(ctx, ins, b.user, b.employee, tr.ID, past, endedAt).Scan(&endedBefore)
	})

	call := func(fn func(tx pgx.Tx) error) error {
		return database.InTenant(ctx, b.db.Pool, b.tenant, fn)
	}
	var done casefile.Task
	if err := call(func(tx pgx.Tx) (err error) {
		done, err = casefile.CompleteTask(ctx, tx, b.ed(false), b.employee, tasks[0].ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !done.Done() || done.CompletedAt == nil || done.CompletedBy == nil || *done.CompletedBy != b.user || done.CompletedByName != "Casemanager" {
		t.Errorf("completed task = %+v", done)
	}
	err := call(func(tx pgx.Tx) error {
		_, err := casefile.CompleteTask(ctx, tx, b.ed(false), b.employee, tasks[0].ID)
		return err
	})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.ECONFLICT || e.Message != "task.error.done" {
		t.Errorf("completing a done task: %v, want ECONFLICT task.error.done", err)
	}
	if n := changeCount(t, b, "tasks", "update"); n != 1 {
		t.Errorf("task update changes = %d, want 1", n)
	}

	// Through another employee the trajectory and its tasks do not exist.
	stranger := uuid.Must(uuid.NewV7())
	for name, fn := range map[string]func(tx pgx.Tx) error{
		"FindTrajectory": func(tx pgx.Tx) error { _, err := casefile.FindTrajectoryByID(ctx, tx, stranger, tr.ID); return err },
		"CloseTrajectory": func(tx pgx.Tx) error {
			_, _, err := casefile.CloseTrajectory(ctx, tx, b.ed(false), stranger, tr.ID)
			return err
		},
		"FindTask": func(tx pgx.Tx) error { _, err := casefile.FindTaskByID(ctx, tx, stranger, tasks[1].ID); return err },
		"CompleteTask": func(tx pgx.Tx) error {
			_, err := casefile.CompleteTask(ctx, tx, b.ed(false), stranger, tasks[1].ID)
			return err
		},
		"SetTaskDueDate": func(tx pgx.Tx) error {
			_, err := casefile.SetTaskDueDate(ctx, tx, b.ed(false), stranger, tasks[1].ID, nil)
			return err
		},
	} {
		if err := call(fn); apperr.CodeOf(err) != apperr.ENOTFOUND {
			t.Errorf("%s under another employee: %v, want ENOTFOUND", name, err)
		}
	}
	if n := changeCount(t, b, "tasks", "update"); n != 1 {
		t.Errorf("task update changes after refusals = %d, want 1", n)
	}

	var closed casefile.Trajectory
	var ended []uuid.UUID
	if err := call(func(tx pgx.Tx) (err error) {
		closed, ended, err = casefile.CloseTrajectory(ctx, tx, b.ed(false), b.employee, tr.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if closed.Open() || closed.ClosedAt == nil || closed.ClosedBy == nil || *closed.ClosedBy != b.user {
		t.Errorf("closed trajectory = %+v", closed)
	}
	if diff := cmp.Diff([]uuid.UUID{active}, ended); diff != "" {
		t.Errorf("ended delegations (-want +got):\n%s", diff)
	}
	b.in(t, func(tx pgx.Tx) error {
		var activeEnded, foreignEnded bool
		if err := tx.QueryRow(ctx, "SELECT ended_at IS NOT NULL FROM dossier_delegations WHERE id = $1", active).Scan(&activeEnded); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT ended_at IS NOT NULL FROM dossier_delegations WHERE id = $1", foreign).Scan(&foreignEnded); err != nil {
			return err
		}
		if !activeEnded || foreignEnded {
			t.Errorf("delegation of the closed trajectory ended: %v (want true); of the other: %v (want false)", activeEnded, foreignEnded)
		}
		return nil
	})
	err = call(func(tx pgx.Tx) error {
		_, _, err := casefile.CloseTrajectory(ctx, tx, b.ed(false), b.employee, tr.ID)
		return err
	})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.ECONFLICT || e.Message != "trajectory.error.closed" {
		t.Errorf("closing twice: %v, want ECONFLICT trajectory.error.closed", err)
	}
	err = call(func(tx pgx.Tx) error {
		_, err := casefile.CompleteTask(ctx, tx, b.ed(false), b.employee, tasks[1].ID)
		return err
	})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.ECONFLICT || e.Message != "task.error.trajectory_closed" {
		t.Errorf("completing a task of a closed trajectory: %v, want ECONFLICT task.error.trajectory_closed", err)
	}
	err = call(func(tx pgx.Tx) error {
		_, _, err := casefile.CloseTrajectory(ctx, tx, access.System(audit.Actor{}), b.employee, uuid.Must(uuid.NewV7()))
		return err
	})
	if apperr.CodeOf(err) != apperr.ENOTFOUND {
		t.Errorf("closing an unknown trajectory: %v, want ENOTFOUND", err)
	}
}

func TestAgenda(t *testing.T) {
	t.Parallel()
	b := setupTrajectories(t)
	ctx := context.Background()
	call := func(fn func(tx pgx.Tx) error) error { return database.InTenant(ctx, b.db.Pool, b.tenant, fn) }
	var cons, cons2 casefile.Consultation
	held := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := call(func(tx pgx.Tx) (err error) {
		if cons, err = casefile.CreateConsultation(ctx, tx, b.ed(true), casefile.Consultation{EmployeeID: b.employee, HeldAt: held,
			HeldBy: "Dr. Bos", Outcome: "Belastbaar voor halve dagen", Medical: true}); err != nil {
			return err
		}
		cons2, err = casefile.CreateConsultation(ctx, tx, b.ed(false), casefile.Consultation{EmployeeID: b.employee2, HeldAt: held,
			HeldBy: "Dr. Bos", Outcome: "Afspraak gemaakt", Medical: false})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("MedicalOutcomeWithheld", func(t *testing.T) {
		b.in(t, func(tx pgx.Tx) error {
			for _, medical := range []bool{true, false} {
				list, err := casefile.FindConsultations(ctx, tx, b.as(medical), b.employee)
				if err != nil {
					return err
				}
				if len(list) != 1 {
					t.Fatalf("consultations = %d", len(list))
				}
				got := list[0]
				if medical && (got.Outcome != "Belastbaar voor halve dagen" || got.OutcomeHidden) {
					t.Errorf("medical reader got %+v", got)
				}
				if !medical && (got.Outcome != "" || !got.OutcomeHidden) {
					t.Errorf("non-medical reader got %+v", got)
				}
			}
			return nil
		})
	})

	t.Run("Appointments", func(t *testing.T) {
		starts := time.Now().Add(72 * time.Hour).Truncate(time.Second)
		var a casefile.Appointment
		if err := call(func(tx pgx.Tx) (err error) {
			a, err = casefile.CreateAppointment(ctx, tx, b.ed(false), casefile.Appointment{EmployeeID: b.employee, StartsAt: starts,
				WithWhom: "Dr. Bos", Kind: casefile.AppointmentCompanyDoctor})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if a.Status != casefile.AppointmentPlanned || !a.StartsAt.Equal(starts) || a.EmployerID != b.employer {
			t.Errorf("appointment = %+v", a)
		}
		a.ConsultationID = &cons.ID
		a.Status = casefile.AppointmentPlanned
		if err := call(func(tx pgx.Tx) (err error) { a, err = casefile.UpdateAppointment(ctx, tx, b.ed(false), a); return err }); err != nil {
			t.Fatal(err)
		}
		if a.ConsultationHeldAt == nil || !a.ConsultationHeldAt.Equal(held) {
			t.Errorf("matched appointment = %+v", a)
		}
		for name, tc := range map[string]struct {
			a     casefile.Appointment
			field string
		}{
			"no time":         {casefile.Appointment{EmployeeID: b.employee, WithWhom: "X", Kind: casefile.AppointmentOther}, "starts_at"},
			"nobody":          {casefile.Appointment{EmployeeID: b.employee, StartsAt: starts, Kind: casefile.AppointmentOther}, "with_whom"},
			"kind":            {casefile.Appointment{EmployeeID: b.employee, StartsAt: starts, WithWhom: "X", Kind: "party"}, "kind"},
			"foreign consult": {casefile.Appointment{EmployeeID: b.employee, StartsAt: starts, WithWhom: "X", Kind: casefile.AppointmentOther, ConsultationID: &cons2.ID}, "consultation_id"},
		} {
			err := call(func(tx pgx.Tx) error { _, err := casefile.CreateAppointment(ctx, tx, b.ed(false), tc.a); return err })
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.EINVALID || e.Fields[tc.field] == "" {
				t.Errorf("%s: %v, want EINVALID on %s", name, err, tc.field)
			}
		}
		if n := changeCount(t, b, "appointments", "insert"); n != 1 {
			t.Errorf("appointment inserts = %d, want 1", n)
		}
		if n := changeCount(t, b, "appointments", "update"); n != 1 {
			t.Errorf("appointment updates = %d, want 1", n)
		}
	})

	t.Run("ConsultationRefusals", func(t *testing.T) {
		for name, tc := range map[string]struct {
			c       casefile.Consultation
			medical bool
			field   string
		}{
			"future":                {casefile.Consultation{EmployeeID: b.employee, HeldAt: time.Now().Add(time.Hour), HeldBy: "X"}, true, "held_at"},
			"no time":               {casefile.Consultation{EmployeeID: b.employee, HeldBy: "X"}, true, "held_at"},
			"nobody":                {casefile.Consultation{EmployeeID: b.employee, HeldAt: held}, true, "held_by"},
			"medical without right": {casefile.Consultation{EmployeeID: b.employee, HeldAt: held, HeldBy: "X", Outcome: "Ziek", Medical: true}, false, "medical"},
		} {
			err := call(func(tx pgx.Tx) error {
				_, err := casefile.CreateConsultation(ctx, tx, b.ed(tc.medical), tc.c)
				return err
			})
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.EINVALID || e.Fields[tc.field] == "" {
				t.Errorf("%s: %v, want EINVALID on %s", name, err, tc.field)
			}
		}
		if n := changeCount(t, b, "consultations", "insert"); n != 2 {
			t.Errorf("consultation inserts = %d, want 2", n)
		}
	})

	// An agenda item is found and changed through its employee; under another it does not
	// exist. Its own id tells whose it is, for the access check of a route that names only it.
	t.Run("UnderAnotherEmployee", func(t *testing.T) {
		var a casefile.Appointment
		if err := call(func(tx pgx.Tx) (err error) {
			a, err = casefile.CreateAppointment(ctx, tx, b.ed(true), casefile.Appointment{EmployeeID: b.employee,
				StartsAt: time.Now().Add(24 * time.Hour), WithWhom: "Dr. Bos", Kind: casefile.AppointmentOther})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		movedA, movedC := a, cons
		movedA.EmployeeID, movedC.EmployeeID = b.employee2, b.employee2
		for name, fn := range map[string]func(tx pgx.Tx) error{
			"FindAppointment":   func(tx pgx.Tx) error { _, err := casefile.FindAppointmentByID(ctx, tx, b.employee2, a.ID); return err },
			"UpdateAppointment": func(tx pgx.Tx) error { _, err := casefile.UpdateAppointment(ctx, tx, b.ed(false), movedA); return err },
			"FindConsultation": func(tx pgx.Tx) error {
				_, err := casefile.FindConsultationByID(ctx, tx, b.as(true), b.employee2, cons.ID)
				return err
			},
			"UpdateConsultation": func(tx pgx.Tx) error {
				_, err := casefile.UpdateConsultation(ctx, tx, b.ed(true), movedC)
				return err
			},
			"EmployeeOfUnknownAppointment": func(tx pgx.Tx) error {
				_, err := casefile.FindAppointmentEmployee(ctx, tx, uuid.Must(uuid.NewV7()))
				return err
			},
			"EmployeeOfUnknownConsultation": func(tx pgx.Tx) error {
				_, err := casefile.FindConsultationEmployee(ctx, tx, uuid.Must(uuid.NewV7()))
				return err
			},
		} {
			if err := call(fn); apperr.CodeOf(err) != apperr.ENOTFOUND {
				t.Errorf("%s: %v, want ENOTFOUND", name, err)
			}
		}
		b.in(t, func(tx pgx.Tx) error {
			ofA, err := casefile.FindAppointmentEmployee(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			ofC, err := casefile.FindConsultationEmployee(ctx, tx, cons.ID)
			if err != nil {
				return err
			}
			if ofA != b.employee || ofC != b.employee {
				t.Errorf("employee of appointment %s, of consultation %s; want %s for both", ofA, ofC, b.employee)
			}
			return nil
		})
	})
}
