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

// editFixture is one item of every kind of the employee's case data, of his employer's
// contracts and of the interventions, made by the system; spare is a policy nothing names.
type editFixture struct {
	absence      casefile.Absence
	report       casefile.Report
	decision     casefile.Decision
	appointment  casefile.Appointment
	consultation casefile.Consultation
	trajectory   casefile.Trajectory
	task         casefile.Task
	policy       casefile.Policy
	spare        casefile.Policy
	agreement    casefile.Agreement
	participant  casefile.Participant
	programme    casefile.Programme
}

// editScope is what a mutation changes, which decides who is refused and what its event names.
type editScope int

const (
	employeeScope editScope = iota // the employee's dossier: his visibility, then the right
	employerScope                  // the employer's contracts: the employer in reach, then the right
	interventions                  // the tenant's interventions: the right alone
)

// caseEdit is one mutation of case data as TestMutationsCheckAndAudit calls it.
type caseEdit struct {
	name  string
	scope editScope
	// right is the right whose absence refuses it (EFORBIDDEN).
	right  access.Right
	action string // the case.* event it writes
	// subject is the event's subject type; in employeeScope the event also names the employee.
	subject string
	run     func(ctx context.Context, tx pgx.Tx, ed access.Editor) error
}

func editMutations(b *ardBundle, f editFixture) []caseEdit {
	e := b.employee.ID
	employer := b.employee.EmployerID
	day := ardDay("2027-06-01")
	period := casefile.ContractPeriod{Start: day}
	return []caseEdit{
		{"CreateAbsence", employeeScope, access.CaseDataWrite, audit.CaseCreated, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateAbsence(ctx, tx, ed, e, casefile.NewAbsence{Absence: casefile.Absence{FirstSickDay: day}, Percentage: 100})
			return err
		}},
		{"UpdateAbsence", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.UpdateAbsence(ctx, tx, ed, e, casefile.Absence{ID: f.absence.ID, FirstSickDay: f.absence.FirstSickDay, Notes: "Bijgewerkt"}, nil)
			return err
		}},
		{"SetAbsencePercentage", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.SetAbsencePercentage(ctx, tx, ed, e, f.absence.ID, ardPtr(ardDay("2027-02-01")), 50, nil)
			return err
		}},
		{"DeleteAbsence", employeeScope, access.DocumentsDelete, audit.CaseDeleted, "absence", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteAbsence(ctx, tx, ed, e, f.absence.ID)
			return err
		}},
		{"CreateReport", employeeScope, access.CaseDataWrite, audit.CaseCreated, "report", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateReport(ctx, tx, ed, e, casefile.Report{Body: "Gebeld", Expertise: "casemanager"}, nil)
			return err
		}},
		{"UpdateReport", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "report", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.UpdateReport(ctx, tx, ed, e, casefile.Report{ID: f.report.ID, Body: "Bijgewerkt", Expertise: "casemanager"}, nil)
			return err
		}},
		{"DeleteReport", employeeScope, access.DocumentsDelete, audit.CaseDeleted, "report", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteReport(ctx, tx, ed, e, f.report.ID)
			return err
		}},
		{"CreateDecision", employeeScope, access.CaseDataWrite, audit.CaseCreated, "decision", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateDecision(ctx, tx, ed, e, casefile.Decision{Kind: "WIA", Date: day}, nil)
			return err
		}},
		{"UpdateDecision", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "decision", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.UpdateDecision(ctx, tx, ed, e, casefile.Decision{ID: f.decision.ID, Kind: "WGA", Date: day}, nil)
			return err
		}},
		{"DeleteDecision", employeeScope, access.DocumentsDelete, audit.CaseDeleted, "decision", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteDecision(ctx, tx, ed, e, f.decision.ID)
			return err
		}},
		{"OpenTrajectory", employeeScope, access.CaseDataWrite, audit.CaseCreated, "trajectory", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, _, err := casefile.OpenTrajectory(ctx, tx, ed, casefile.TrajectoryStart{EmployeeID: e, ProtocolID: f.trajectory.ProtocolID})
			return err
		}},
		{"CloseTrajectory", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "trajectory", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, _, err := casefile.CloseTrajectory(ctx, tx, ed, e, f.trajectory.ID)
			return err
		}},
		{"CompleteTask", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "task", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CompleteTask(ctx, tx, ed, e, f.task.ID)
			return err
		}},
		{"SetTaskDueDate", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "task", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.SetTaskDueDate(ctx, tx, ed, e, f.task.ID, ardPtr(time.Now().AddDate(0, 1, 0).UTC().Truncate(24*time.Hour)))
			return err
		}},
		{"CreateAppointment", employeeScope, access.CaseDataWrite, audit.CaseCreated, "appointment", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateAppointment(ctx, tx, ed, casefile.Appointment{EmployeeID: e, StartsAt: day, WithWhom: "Dr. Visser",
				Kind: casefile.AppointmentCompanyDoctor})
			return err
		}},
		{"UpdateAppointment", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "appointment", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			a := f.appointment
			a.Status = casefile.AppointmentCancelled
			_, err := casefile.UpdateAppointment(ctx, tx, ed, a)
			return err
		}},
		{"DeleteAppointment", employeeScope, access.DocumentsDelete, audit.CaseDeleted, "appointment", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteAppointment(ctx, tx, ed, e, f.appointment.ID)
			return err
		}},
		{"CreateConsultation", employeeScope, access.CaseDataWrite, audit.CaseCreated, "consultation", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateConsultation(ctx, tx, ed, casefile.Consultation{EmployeeID: e, HeldAt: time.Now().Add(-time.Hour),
				HeldBy: "Dr. Visser"})
			return err
		}},
		{"UpdateConsultation", employeeScope, access.CaseDataWrite, audit.CaseUpdated, "consultation", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			c := f.consultation
			c.Outcome = "Bijgewerkt"
			_, err := casefile.UpdateConsultation(ctx, tx, ed, c)
			return err
		}},
		{"DeleteConsultation", employeeScope, access.DocumentsDelete, audit.CaseDeleted, "consultation", func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, _, err := casefile.DeleteConsultation(ctx, tx, ed, e, f.consultation.ID)
			return err
		}},
		{"CreateParticipation", employeeScope, access.UsersManage, audit.CaseCreated, casefile.SubjectParticipant, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateParticipation(ctx, tx, ed, casefile.Participant{EmployeeID: e, PolicyID: f.spare.ID, Period: period})
			return err
		}},
		{"UpdateParticipation", employeeScope, access.UsersManage, audit.CaseUpdated, casefile.SubjectParticipant, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			x := f.participant
			x.Reason = "Uit dienst"
			_, err := casefile.UpdateParticipation(ctx, tx, ed, x)
			return err
		}},
		{"DeleteParticipation", employeeScope, access.DocumentsDelete, audit.CaseDeleted, casefile.SubjectParticipant, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteParticipation(ctx, tx, ed, e, f.participant.ID)
			return err
		}},
		{"CreatePolicy", employerScope, access.UsersManage, audit.CaseCreated, casefile.SubjectPolicy, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreatePolicy(ctx, tx, ed, casefile.Policy{EmployerID: employer, Insurer: "Achmea", PolicyNumber: "P-3", Period: period})
			return err
		}},
		{"UpdatePolicy", employerScope, access.UsersManage, audit.CaseUpdated, casefile.SubjectPolicy, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			x := f.policy
			x.Insurer = "Interpolis"
			_, err := casefile.UpdatePolicy(ctx, tx, ed, x)
			return err
		}},
		{"DeletePolicy", employerScope, access.DocumentsDelete, audit.CaseDeleted, casefile.SubjectPolicy, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeletePolicy(ctx, tx, ed, employer, f.spare.ID)
			return err
		}},
		{"CreateAgreement", employerScope, access.UsersManage, audit.CaseCreated, casefile.SubjectAgreement, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateAgreement(ctx, tx, ed, casefile.Agreement{EmployerID: employer, ContractNumber: "C-2", Period: period})
			return err
		}},
		{"UpdateAgreement", employerScope, access.UsersManage, audit.CaseUpdated, casefile.SubjectAgreement, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			a := f.agreement
			a.ContractNumber = "C-1b"
			_, err := casefile.UpdateAgreement(ctx, tx, ed, a)
			return err
		}},
		{"DeleteAgreement", employerScope, access.DocumentsDelete, audit.CaseDeleted, casefile.SubjectAgreement, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.DeleteAgreement(ctx, tx, ed, employer, f.agreement.ID)
			return err
		}},
		{"CreateProvider", interventions, access.InterventionsManage, audit.CaseCreated, casefile.SubjectProvider, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateProvider(ctx, tx, ed, "Balans")
			return err
		}},
		{"CreateProgramme", interventions, access.InterventionsManage, audit.CaseCreated, casefile.SubjectProgramme, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			_, err := casefile.CreateProgramme(ctx, tx, ed, casefile.Programme{ProviderID: f.programme.ProviderID, Name: "Loopbaancoaching"})
			return err
		}},
		{"UpdateProgramme", interventions, access.InterventionsManage, audit.CaseUpdated, casefile.SubjectProgramme, func(ctx context.Context, tx pgx.Tx, ed access.Editor) error {
			g := f.programme
			g.PriceCents = 120_000
			_, err := casefile.UpdateProgramme(ctx, tx, ed, g)
			return err
		}},
	}
}

// newEditFixture makes the items the mutations change, as the system.
func newEditFixture(t *testing.T, b *ardBundle) editFixture {
	t.Helper()
	ctx := context.Background()
	var f editFixture
	system := access.System(audit.Actor{})
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
		if f.policy, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.employee.EmployerID,
			Insurer: "Achmea", PolicyNumber: "P-1", Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}}); err != nil {
			return err
		}
		if f.spare, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.employee.EmployerID,
			Insurer: "Achmea", PolicyNumber: "P-2", Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}}); err != nil {
			return err
		}
		if f.agreement, err = casefile.CreateAgreement(ctx, tx, system, casefile.Agreement{EmployerID: b.employee.EmployerID,
			ContractNumber: "C-1", Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}, PolicyID: &f.policy.ID}); err != nil {
			return err
		}
		if f.participant, err = casefile.CreateParticipation(ctx, tx, system, casefile.Participant{EmployeeID: e,
			PolicyID: f.policy.ID, Participating: true, Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}}); err != nil {
			return err
		}
		provider, err := casefile.CreateProvider(ctx, tx, system, "Vitaal Verder")
		if err != nil {
			return err
		}
		f.programme, err = casefile.CreateProgramme(ctx, tx, system, casefile.Programme{ProviderID: provider.ID, Name: "Herstelcoaching"})
		return err
	})
	return f
}

// written counts what a mutation may leave behind: audit events, changes rows, and the
// interventions, which are not tracked in changes.
func written(ctx context.Context, tx pgx.Tx) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM changes)
		+ (SELECT count(*) FROM intervention_providers) + (SELECT count(*) FROM programmes)`).Scan(&n)
	return n, err
}

// editRefusal is an editor a mutation must refuse, and how.
type editRefusal struct {
	who  string
	p    access.Principal
	code apperr.Code
}

// TestMutationsCheckAndAudit: every mutation of case data asks access itself. An editor who
// cannot see the employee (or has the employer outside his reach) is refused with ENOTFOUND,
// one without the dossier view or the right with EFORBIDDEN, before anything is written; the
// allowed one writes exactly its case.* event, signed by his actor, in the same transaction.
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
			refusals := []editRefusal{{"Without " + string(m.right), without(m.right), apperr.EFORBIDDEN}}
			switch m.scope {
			case employeeScope:
				refusals = append(refusals, editRefusal{"Unseen", unseen, apperr.ENOTFOUND},
					editRefusal{"NoDossierView", without(access.EmployeeDossierView), apperr.EFORBIDDEN})
			case employerScope:
				refusals = append(refusals, editRefusal{"OutOfReach", unseen, apperr.ENOTFOUND})
			}
			for _, refused := range refusals {
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
					Employee        *uuid.UUID
				}
				var got []event
				rows, err := tx.Query(ctx, "SELECT action, subject_type, employee_id FROM audit_events WHERE user_agent = $1", agent)
				if err != nil {
					return err
				}
				if got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[event]); err != nil {
					return err
				}
				want := event{Action: m.action, Subject: m.subject}
				if m.scope == employeeScope {
					want.Employee = &b.employee.ID
				}
				if diff := cmp.Diff([]event{want}, got); diff != "" {
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
