package casefile_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
)

// errRollback ends a test transaction that must leave nothing behind.
var errRollback = errors.New("roll back")

// editFixture is one item of every kind of the employee's case data, made by the system.
type editFixture struct {
	absence      casefile.Absence
	report       casefile.Report
	decision     casefile.Decision
	appointment  casefile.Appointment
	consultation casefile.Consultation
	trajectory   casefile.Trajectory
	task         casefile.Task
}

// caseEdit is one mutation of case data as TestMutationsCheckAndAudit calls it.
type caseEdit struct {
	name string
	// right is the right whose absence refuses it (EFORBIDDEN).
	right  access.Right
	action string // the case.* event it writes
	// subject is the event's subject type; the event also names the employee.
	subject string
	run     func(ctx context.Context, tx pgx.Tx, ed access.Editor) error
}

func editMutations(b *ardBundle, f editFixture) []caseEdit {
	e := b.employee.ID
	day := ardDay("2027-06-01")
	return []caseEdit{
		{"CreateAbsence", access.CaseDataWrite, audit.CaseCreated, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateAbsence(ctx, tx, ed, e, casefile.NewAbsence{Absence: casefile.Absence{FirstSickDay: day}, Percentage: 100})
			return err
		}},
		{"UpdateAbsence", access.CaseDataWrite, audit.CaseUpdated, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.UpdateAbsence(ctx, tx, ed, e, casefile.Absence{ID: f.absence.ID, FirstSickDay: f.absence.FirstSickDay, Notes: "Bijgewerkt"}, nil)
			return err
		}},
		{"SetAbsencePercentage", access.CaseDataWrite, audit.CaseUpdated, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.SetAbsencePercentage(ctx, tx, ed, e, f.absence.ID, ardPtr(ardDay("2027-02-01")), 50, nil)
			return err
		}},
		{"DeleteAbsence", access.DocumentsDelete, audit.CaseDeleted, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteAbsence(ctx, tx, ed, e, f.absence.ID)
			return err
		}},
		{"CreateReport", access.CaseDataWrite, audit.CaseCreated, "report", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateReport(ctx, tx, ed, e, casefile.Report{Body: "Gebeld", Expertise: "casemanager"}, nil)
			return err
		}},
		{"UpdateReport", access.CaseDataWrite, audit.CaseUpdated, "report", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.UpdateReport(ctx, tx, ed, e, casefile.Report{ID: f.report.ID, Body: "Bijgewerkt", Expertise: "casemanager"}, nil)
			return err
		}},
		{"DeleteReport", access.DocumentsDelete, audit.CaseDeleted, "report", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteReport(ctx, tx, ed, e, f.report.ID)
			return err
		}},
		{"CreateDecision", access.CaseDataWrite, audit.CaseCreated, "decision", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateDecision(ctx, tx, ed, e, casefile.Decision{Kind: "WIA", Date: day}, nil)
			return err
		}},
		{"UpdateDecision", access.CaseDataWrite, audit.CaseUpdated, "decision", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.UpdateDecision(ctx, tx, ed, e, casefile.Decision{ID: f.decision.ID, Kind: "WGA", Date: day}, nil)
			return err
		}},
		{"DeleteDecision", access.DocumentsDelete, audit.CaseDeleted, "decision", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteDecision(ctx, tx, ed, e, f.decision.ID)
			return err
		}},
		{"OpenTrajectory", access.CaseDataWrite, audit.CaseCreated, "trajectory", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, _, err := casefile.OpenTrajectory(ctx, tx, ed, casefile.TrajectoryStart{EmployeeID: e, ProtocolID: f.trajectory.ProtocolID})
			return err
		}},
		{"CloseTrajectory", access.CaseDataWrite, audit.CaseUpdated, "trajectory", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, _, err := casefile.CloseTrajectory(ctx, tx, ed, e, f.trajectory.ID)
			return err
		}},
		{"CompleteTask", access.CaseDataWrite, audit.CaseUpdated, "task", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CompleteTask(ctx, tx, ed, e, f.task.ID)
			return err
		}},
		{"SetTaskDueDate", access.CaseDataWrite, audit.CaseUpdated, "task", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.SetTaskDueDate(ctx, tx, ed, e, f.task.ID, ardPtr(time.Now().AddDate(0, 1, 0).UTC().Truncate(24*time.Hour)))
			return err
		}},
		{"CreateAppointment", access.CaseDataWrite, audit.CaseCreated, "appointment", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateAppointment(ctx, tx, ed, casefile.Appointment{EmployeeID: e, StartsAt: day, WithWhom: "Dr. Visser",
				Kind: casefile.AppointmentCompanyDoctor})
			return err
		}},
		{"UpdateAppointment", access.CaseDataWrite, audit.CaseUpdated, "appointment", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			a := f.appointment
			a.Status = casefile.AppointmentCancelled
			_, err := casefile.UpdateAppointment(ctx, tx, ed, a)
			return err
		}},
		{"DeleteAppointment", access.DocumentsDelete, audit.CaseDeleted, "appointment", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteAppointment(ctx, tx, ed, e, f.appointment.ID)
			return err
		}},
		{"CreateConsultation", access.CaseDataWrite, audit.CaseCreated, "consultation", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateConsultation(ctx, tx, ed, casefile.Consultation{EmployeeID: e, HeldAt: time.Now().Add(-time.Hour),
				HeldBy: "Dr. Visser"})
			return err
		}},
		{"UpdateConsultation", access.CaseDataWrite, audit.CaseUpdated, "consultation", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			c := f.consultation
			c.Outcome = "Bijgewerkt"
			_, err := casefile.UpdateConsultation(ctx, tx, ed, c)
			return err
		}},
		{"DeleteConsultation", access.DocumentsDelete, audit.CaseDeleted, "consultation", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, _, err := casefile.DeleteConsultation(ctx, tx, ed, e, f.consultation.ID)
			return err
		}},
	}
}

// newEditFixture makes the items the mutations change, as the system.
func newEditFixture(t *testing.T, b *ardBundle) editFixture {
	t.Helper()
	ctx := context.Background()
	var f editFixture
	system := access.Editor{}
	e := b.employee.ID
	b.in(t, func(tx pgx.Tx) (err error) {
		if f.absence, err = casefile.CreateAbsence(ctx, tx, system, e, casefile.NewAbsence{
			Absence: casefile.Absence{FirstSickDay: ardDay("2027-01-04")}, Percentage: 100}); err != nil {
			return err
		}
		if f.report, err = casefile.CreateReport(ctx, tx, system, e, casefile.Report{Body: "Notitie", Expertise: "casemanager"}, nil); err != nil {
			return err
		}
		if f.decision, err = casefile.CreateDecision(ctx, tx, system, e, casefile.Decision{Kind: "ZW", Date: ardDay("2027-03-01")}, nil); err != nil {
			return err
		}
		if f.appointment, err = casefile.CreateAppointment(ctx, tx, system, casefile.Appointment{EmployeeID: e,
			StartsAt: ardDay("2027-01-10"), WithWhom: "Dr. Visser", Kind: casefile.AppointmentCompanyDoctor}); err != nil {
			return err
		}
		if f.consultation, err = casefile.CreateConsultation(ctx, tx, system, casefile.Consultation{EmployeeID: e,
			HeldAt: time.Now().Add(-2 * time.Hour), HeldBy: "Dr. Visser", Outcome: "Besproken"}); err != nil {
			return err
		}
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		protocols, err := casefile.FindProtocols(ctx, tx)
		if err != nil {
			return err
		}
		var tasks []casefile.Task
		if f.trajectory, tasks, err = casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: e,
			ProtocolID: protocols[0].ID}); err != nil {
			return err
		}
		f.task = tasks[0]
		return nil
	})
	return f
}

// written counts what a mutation may leave behind: audit events and changes rows.
func written(ctx context.Context, tx pgx.Tx) (int, error) {
	var n int
	err := tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM changes)").Scan(&n)
	return n, err
}

// TestMutationsCheckAndAudit: every caseEdit of case data asks access itself. An editor who
// cannot see the employee is refused with ENOTFOUND, one without the right with EFORBIDDEN,
// before anything is written; the allowed one writes exactly its case.* event, signed by his
// actor, in the same transaction.
func TestMutationsCheckAndAudit(t *testing.T) {
	t.Parallel()
	b := ardSetup(t)
	f := newEditFixture(t, b)
	allowed := access.Principal{TenantID: b.tenant, Kind: access.KindProvider, Rights: access.Catalogue,
		Facts: access.Facts{AllEmployers: []uuid.UUID{b.employee.EmployerID}, Reach: []uuid.UUID{b.employee.EmployerID}}}
	without := func(r access.Right) access.Principal {
		p := allowed
		p.Rights = slices.DeleteFunc(slices.Clone(p.Rights), func(x access.Right) bool { return x == r })
		return p
	}
	unseen := allowed
	unseen.Facts = access.Facts{}
	for _, m := range editMutations(b, f) {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			for _, refused := range []struct {
				who  string
				p    access.Principal
				code apperr.Code
			}{
				{"Unseen", unseen, apperr.ENOTFOUND},
				{"NoDossierView", without(access.EmployeeDossierView), apperr.EFORBIDDEN},
				{"Without " + string(m.right), without(m.right), apperr.EFORBIDDEN},
			} {
				err := b.try(func(tx pgx.Tx) error {
					before, err := written(ctx, tx)
					if err != nil {
						return err
					}
					if err := m.run(ctx, tx, access.Editor{Principal: refused.p}); apperr.CodeOf(err) != refused.code {
						t.Errorf("%s: err = %v, want %s", refused.who, err, refused.code)
					}
					after, err := written(ctx, tx)
					if err != nil {
						return err
					}
					if after != before {
						t.Errorf("%s: refused, yet %d audit events and changes written", refused.who, after-before)
					}
					return errRollback
				})
				if !errors.Is(err, errRollback) {
					t.Errorf("%s: %v", refused.who, err)
				}
			}

			agent := "edit test: " + m.name
			err := b.try(func(tx pgx.Tx) error {
				if err := m.run(ctx, tx, access.Editor{Principal: allowed, Actor: audit.Actor{UserAgent: agent}}); err != nil {
					return err
				}
				type event struct {
					Action, Subject string
					Employee        uuid.UUID
				}
				var got []event
				rows, err := tx.Query(ctx, "SELECT action, subject_type, employee_id FROM audit_events WHERE user_agent = $1", agent)
				if err != nil {
					return err
				}
				if got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[event]); err != nil {
					return err
				}
				if diff := cmp.Diff([]event{{m.action, m.subject, b.employee.ID}}, got); diff != "" {
					t.Errorf("audit events (-want +got):\n%s", diff)
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Errorf("allowed: %v", err)
			}
		})
	}
}
