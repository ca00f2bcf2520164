package casefile_test

import (
	"context"
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
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// ardBundle is a fresh tenant with one employee and two principals who see him and may change
// and delete his case data: one with medical.view and one without.
type ardBundle struct {
	db       dbtest.DB
	tenant   uuid.UUID
	employee org.Employee
	medical  access.Principal
	plain    access.Principal
}

func ardSetup(t *testing.T) *ardBundle {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Test", false)
	if err != nil {
		t.Fatal(err)
	}
	b := &ardBundle{db: db, tenant: tenant.ID}
	b.in(t, func(tx pgx.Tx) error {
		em, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Bakkerij Test", EmployerNumber: "W-1"})
		if err != nil {
			return err
		}
		b.employee, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: em.ID, PersonnelNumber: "1", LastName: "Jansen"})
		return err
	})
	facts := access.Facts{AllEmployers: []uuid.UUID{b.employee.EmployerID}, Reach: []uuid.UUID{b.employee.EmployerID}}
	write := []access.Right{access.EmployeeDossierView, access.CaseDataWrite, access.DocumentsDelete}
	b.medical = access.Principal{TenantID: tenant.ID, Kind: access.KindProvider, Facts: facts,
		Rights: append(slices.Clone(write), access.MedicalView)}
	b.plain = access.Principal{TenantID: tenant.ID, Kind: access.KindProvider, Facts: facts, Rights: write}
	return b
}

// editor returns p as the editor of a change.
func editor(p access.Principal) access.Editor { return access.Editor{Principal: p} }

func (b *ardBundle) in(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(context.Background(), b.db.Pool, b.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// try runs fn in the tenant and returns its error; the transaction rolls back on error.
func (b *ardBundle) try(fn func(tx pgx.Tx) error) error {
	return database.InTenant(context.Background(), b.db.Pool, b.tenant, fn)
}

func ardDay(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func ardPtr[T any](v T) *T { return &v }

func ardFields(err error) map[string]string {
	if e, ok := apperr.As(err); ok && e.Code == apperr.EINVALID {
		return e.Fields
	}
	return nil
}

func TestAbsenceLifecycle(t *testing.T) {
	t.Parallel()
	b := ardSetup(t)
	ctx := context.Background()
	var a casefile.Absence
	b.in(t, func(tx pgx.Tx) (err error) {
		a, err = casefile.CreateAbsence(ctx, tx, editor(b.medical), b.employee.ID, casefile.NewAbsence{
			Absence:    casefile.Absence{FirstSickDay: ardDay("2027-01-04"), Cause: "accident", Notes: "Gevallen"},
			Percentage: 100,
		})
		return err
	})
	if a.EmployerID != b.employee.EmployerID {
		t.Errorf("employer = %s, want the employee's %s", a.EmployerID, b.employee.EmployerID)
	}
	b.in(t, func(tx pgx.Tx) error {
		if _, err := casefile.SetAbsencePercentage(ctx, tx, editor(b.medical), b.employee.ID, a.ID, ardPtr(ardDay("2027-02-01")), 50, nil); err != nil {
			return err
		}
		_, err := casefile.SetAbsencePercentage(ctx, tx, editor(b.medical), b.employee.ID, a.ID, ardPtr(ardDay("2027-02-01")), 40, nil)
		return err
	})
	var got casefile.Absence
	b.in(t, func(tx pgx.Tx) (err error) {
		got, err = casefile.FindAbsenceByID(ctx, tx, b.medical, b.employee.ID, a.ID)
		return err
	})
	type pct struct {
		From string
		P    int
	}
	var pcts []pct
	for _, p := range got.Percentages {
		pcts = append(pcts, pct{p.FromDate.Format("2006-01-02"), p.Percentage})
	}
	if diff := cmp.Diff([]pct{{"2027-01-04", 100}, {"2027-02-01", 40}}, pcts); diff != "" {
		t.Errorf("percentages (-want +got):\n%s", diff)
	}
	if got.Cause != "accident" || got.Percentage(ardDay("2027-01-20")) != 100 || got.Current() != 40 {
		t.Errorf("cause %q, percentage on 20 January %d, current %d", got.Cause, got.Percentage(ardDay("2027-01-20")), got.Current())
	}

	// Without medical.view the cause is not read, and an update keeps it.
	b.in(t, func(tx pgx.Tx) error {
		list, err := casefile.FindAbsences(ctx, tx, b.plain, b.employee.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Cause != "" {
			t.Errorf("plain viewer reads %+v, want one absence without cause", list)
		}
		_, err = casefile.UpdateAbsence(ctx, tx, editor(b.plain), b.employee.ID, casefile.Absence{ID: a.ID,
			FirstSickDay: ardDay("2027-01-03"), RecoveryDate: ardPtr(ardDay("2027-03-01")), Notes: "Hersteld"}, nil)
		return err
	})
	b.in(t, func(tx pgx.Tx) (err error) {
		got, err = casefile.FindAbsenceByID(ctx, tx, b.medical, b.employee.ID, a.ID)
		return err
	})
	if got.Cause != "accident" || got.Notes != "Hersteld" || !got.Percentages[0].FromDate.Equal(ardDay("2027-01-03")) {
		t.Errorf("after update: cause %q, notes %q, first percentage from %s", got.Cause, got.Notes, got.Percentages[0].FromDate)
	}

	// Refusals: nothing changes.
	for name, tc := range map[string]struct {
		fn   func(tx pgx.Tx) error
		want map[string]string
		code apperr.Code
	}{
		"RecoveryBeforeStart": {fn: func(tx pgx.Tx) error {
			_, err := casefile.UpdateAbsence(ctx, tx, editor(b.medical), b.employee.ID, casefile.Absence{ID: a.ID,
				FirstSickDay: ardDay("2027-01-03"), RecoveryDate: ardPtr(ardDay("2027-01-02"))}, nil)
			return err
		}, want: map[string]string{"recovery_date": "absence.error.recovery_before_start"}},
		"StartAfterChange": {fn: func(tx pgx.Tx) error {
			_, err := casefile.UpdateAbsence(ctx, tx, editor(b.medical), b.employee.ID, casefile.Absence{ID: a.ID,
				FirstSickDay: ardDay("2027-02-01")}, nil)
			return err
		}, want: map[string]string{"first_sick_day": "absence.error.start_after_change"}},
		"PercentageTooHigh": {fn: func(tx pgx.Tx) error {
			_, err := casefile.SetAbsencePercentage(ctx, tx, editor(b.medical), b.employee.ID, a.ID, ardPtr(ardDay("2027-02-10")), 120, nil)
			return err
		}, want: map[string]string{"percentage": "absence.error.percentage"}},
		"ChangeAfterRecovery": {fn: func(tx pgx.Tx) error {
			_, err := casefile.SetAbsencePercentage(ctx, tx, editor(b.medical), b.employee.ID, a.ID, ardPtr(ardDay("2027-04-01")), 20, nil)
			return err
		}, want: map[string]string{"from_date": "absence.error.change_after_recovery"}},
		"CauseWithoutMedical": {fn: func(tx pgx.Tx) error {
			_, err := casefile.CreateAbsence(ctx, tx, editor(b.plain), b.employee.ID, casefile.NewAbsence{
				Absence: casefile.Absence{FirstSickDay: ardDay("2027-05-01"), Cause: "disease"}, Percentage: 100})
			return err
		}, code: apperr.EFORBIDDEN},
		"OtherEmployee": {fn: func(tx pgx.Tx) error {
			_, err := casefile.FindAbsenceByID(ctx, tx, b.medical, uuid.Must(uuid.NewV7()), a.ID)
			return err
		}, code: apperr.ENOTFOUND},
	} {
		t.Run(name, func(t *testing.T) {
			err := b.try(tc.fn)
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, ardFields(err)); diff != "" {
					t.Errorf("field errors (-want +got):\n%s (err %v)", diff, err)
				}
			} else if apperr.CodeOf(err) != tc.code {
				t.Errorf("err = %v, want %s", err, tc.code)
			}
		})
	}
	var n int
	b.in(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM absences) + (SELECT count(*) FROM absence_percentages)").Scan(&n)
	})
	if n != 3 {
		t.Errorf("absence rows = %d, want 3 (one absence, two percentages)", n)
	}
}

func TestReportsHiddenAndMedical(t *testing.T) {
	t.Parallel()
	b := ardSetup(t)
	ctx := context.Background()
	b.in(t, func(tx pgx.Tx) error {
		for _, r := range []casefile.Report{
			{Body: "Gewoon", Expertise: "casemanager"},
			{Body: "Verborgen", Expertise: "bedrijfsarts", Hidden: true},
			{Body: "Medisch", Expertise: "bedrijfsarts", Medical: true},
		} {
			if _, err := casefile.CreateReport(ctx, tx, editor(b.medical), b.employee.ID, r, nil); err != nil {
				return err
			}
		}
		return nil
	})
	bodies := func(p access.Principal) []string {
		var out []string
		b.in(t, func(tx pgx.Tx) error {
			list, err := casefile.FindReports(ctx, tx, p, b.employee.ID)
			for _, r := range list {
				out = append(out, r.Body)
			}
			return err
		})
		return out
	}
	if diff := cmp.Diff([]string{"Medisch", "Verborgen", "Gewoon"}, bodies(b.medical)); diff != "" {
		t.Errorf("medical viewer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Gewoon"}, bodies(b.plain)); diff != "" {
		t.Errorf("plain viewer (-want +got):\n%s", diff)
	}
	err := b.try(func(tx pgx.Tx) error {
		_, err := casefile.CreateReport(ctx, tx, editor(b.plain), b.employee.ID, casefile.Report{Body: "x", Expertise: "werkgever", Medical: true}, nil)
		return err
	})
	if apperr.CodeOf(err) != apperr.EFORBIDDEN {
		t.Errorf("medical report without medical.view: %v, want EFORBIDDEN", err)
	}
	err = b.try(func(tx pgx.Tx) error {
		_, err := casefile.CreateReport(ctx, tx, editor(b.plain), b.employee.ID, casefile.Report{Body: " ", Expertise: "tandarts"}, nil)
		return err
	})
	if diff := cmp.Diff(map[string]string{"body": "error.required", "expertise": "error.choose"}, ardFields(err)); diff != "" {
		t.Errorf("invalid report (-want +got):\n%s", diff)
	}
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	b := ardSetup(t)
	ctx := context.Background()
	var d casefile.Decision
	b.in(t, func(tx pgx.Tx) (err error) {
		d, err = casefile.CreateDecision(ctx, tx, editor(b.plain), b.employee.ID, casefile.Decision{Kind: "WIA", Date: ardDay("2029-01-01"), Outcome: "35-80% arbeidsongeschikt"}, nil)
		return err
	})
	if d.Issuer != "UWV" {
		t.Errorf("issuer = %q, want the default UWV", d.Issuer)
	}
	b.in(t, func(tx pgx.Tx) (err error) {
		d.Kind, d.Issuer = "WGA", "Eigenrisicodrager"
		d, err = casefile.UpdateDecision(ctx, tx, editor(b.plain), b.employee.ID, d, nil)
		return err
	})
	if d.Kind != "WGA" || d.Issuer != "Eigenrisicodrager" {
		t.Errorf("after update: %+v", d)
	}
	err := b.try(func(tx pgx.Tx) error {
		_, err := casefile.CreateDecision(ctx, tx, editor(b.plain), b.employee.ID, casefile.Decision{Kind: "AOW"}, nil)
		return err
	})
	if diff := cmp.Diff(map[string]string{"kind": "error.choose", "decision_date": "error.required"}, ardFields(err)); diff != "" {
		t.Errorf("invalid decision (-want +got):\n%s", diff)
	}
}
