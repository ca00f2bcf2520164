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

// ctrBundle is a fresh tenant with two employers, an employee of the first, and an employer group.
type ctrBundle struct {
	db              dbtest.DB
	tenant          uuid.UUID
	employer, other org.Employer
	employee        org.Employee
	group           org.EmployerGroup
}

func ctrSetup(t *testing.T) *ctrBundle {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Contract Test", false)
	if err != nil {
		t.Fatal(err)
	}
	b := &ctrBundle{db: db, tenant: tenant.ID}
	b.in(t, func(tx pgx.Tx) (err error) {
		if b.employer, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Bouw B.V.", EmployerNumber: "W-1"}); err != nil {
			return err
		}
		if b.other, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Zorg B.V.", EmployerNumber: "W-2"}); err != nil {
			return err
		}
		if b.group, err = org.CreateEmployerGroup(ctx, tx, access.System(audit.Actor{}), "Holding"); err != nil {
			return err
		}
		b.employee, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: b.employer.ID, PersonnelNumber: "1", LastName: "Jansen"})
		return err
	})
	return b
}

func (b *ctrBundle) in(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := b.try(fn); err != nil {
		t.Fatal(err)
	}
}

func (b *ctrBundle) try(fn func(tx pgx.Tx) error) error {
	return database.InTenant(context.Background(), b.db.Pool, b.tenant, fn)
}

// counts returns how many case.* audit events and changes rows the tenant has for entity.
func (b *ctrBundle) counts(t *testing.T, subject, table string) (events, changes int) {
	t.Helper()
	b.in(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE action LIKE 'case.%' AND subject_type = $1",
			subject).Scan(&events); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM changes WHERE entity = $1", table).Scan(&changes)
	})
	return events, changes
}

func ctrDay(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func ctrPtr[T any](v T) *T { return &v }

// ctrCode returns the code and field messages of err.
func ctrCode(err error) (apperr.Code, map[string]string) {
	if e, ok := apperr.As(err); ok {
		return e.Code, e.Fields
	}
	return apperr.CodeOf(err), nil
}

func TestPoliciesAndAgreements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := ctrSetup(t)
	system := access.System(audit.Actor{})

	var policy, otherPolicy casefile.Policy
	b.in(t, func(tx pgx.Tx) (err error) {
		policy, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.employer.ID, Insurer: " Achmea ",
			PolicyNumber: "P-1", Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}})
		if err != nil {
			return err
		}
		otherPolicy, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.other.ID, Insurer: "Achmea",
			PolicyNumber: "P-2", Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}})
		return err
	})
	if policy.Insurer != "Achmea" {
		t.Errorf("insurer = %q, want trimmed", policy.Insurer)
	}
	if ev, ch := b.counts(t, casefile.SubjectPolicy, "insurance_policies"); ev != 2 || ch != 2 {
		t.Errorf("after two policies: %d events, %d changes; want 2, 2", ev, ch)
	}

	t.Run("PolicyRefusals", func(t *testing.T) {
		for name, c := range map[string]struct {
			p      casefile.Policy
			code   apperr.Code
			fields map[string]string
		}{
			"EndBeforeStart": {casefile.Policy{EmployerID: b.employer.ID, Insurer: "X", PolicyNumber: "N",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-02-01"), End: ctrPtr(ctrDay("2026-01-31"))}},
				apperr.EINVALID, map[string]string{"ends_on": casefile.MsgEndBeforeStart}},
			"Missing": {casefile.Policy{EmployerID: b.employer.ID}, apperr.EINVALID,
				map[string]string{"insurer": "error.required", "policy_number": "error.required", "starts_on": "error.required"}},
			"Duplicate": {casefile.Policy{EmployerID: b.other.ID, Insurer: "Achmea", PolicyNumber: "P-1",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}},
				apperr.ECONFLICT, map[string]string{"policy_number": casefile.MsgPolicyDuplicate}},
		} {
			err := b.try(func(tx pgx.Tx) error {
				_, err := casefile.CreatePolicy(ctx, tx, system, c.p)
				return err
			})
			code, fields := ctrCode(err)
			if code != c.code || !cmp.Equal(fields, c.fields) {
				t.Errorf("%s: code %s fields %v, want %s %v (%v)", name, code, fields, c.code, c.fields, err)
			}
		}
		if ev, ch := b.counts(t, casefile.SubjectPolicy, "insurance_policies"); ev != 2 || ch != 2 {
			t.Errorf("refusals stored something: %d events, %d changes; want 2, 2", ev, ch)
		}
	})

	t.Run("Agreements", func(t *testing.T) {
		var a casefile.Agreement
		b.in(t, func(tx pgx.Tx) (err error) {
			a, err = casefile.CreateAgreement(ctx, tx, system, casefile.Agreement{EmployerID: b.employer.ID, ContractNumber: "C-1",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}, GroupID: &b.group.ID, PolicyID: &policy.ID})
			return err
		})
		if a.GroupName != "Holding" || a.PolicyLabel != "Achmea P-1" {
			t.Errorf("agreement read back with group %q, policy %q", a.GroupName, a.PolicyLabel)
		}
		a.ContractNumber, a.Period.End, a.PolicyID = "C-1b", ctrPtr(ctrDay("2026-12-31")), nil
		b.in(t, func(tx pgx.Tx) (err error) {
			a, err = casefile.UpdateAgreement(ctx, tx, system, a)
			return err
		})
		var list []casefile.Agreement
		b.in(t, func(tx pgx.Tx) (err error) {
			list, err = casefile.FindAgreements(ctx, tx, b.employer.ID)
			return err
		})
		if len(list) != 1 || list[0].ContractNumber != "C-1b" || list[0].PolicyID != nil || list[0].Period.End == nil {
			t.Errorf("agreements after update = %+v", list)
		}
		if ev, ch := b.counts(t, casefile.SubjectAgreement, "service_agreements"); ev != 2 || ch != 2 {
			t.Errorf("after create and update: %d events, %d changes; want 2, 2", ev, ch)
		}

		for name, c := range map[string]struct {
			a      casefile.Agreement
			code   apperr.Code
			fields map[string]string
		}{
			"PolicyOfOtherEmployer": {casefile.Agreement{EmployerID: b.employer.ID, ContractNumber: "C-2",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}, PolicyID: &otherPolicy.ID},
				apperr.EINVALID, map[string]string{"policy_id": casefile.MsgPolicyOtherEmployer}},
			"EndBeforeStart": {casefile.Agreement{EmployerID: b.employer.ID, ContractNumber: "C-2",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-01-02"), End: ctrPtr(ctrDay("2026-01-01"))}},
				apperr.EINVALID, map[string]string{"ends_on": casefile.MsgEndBeforeStart}},
			"Duplicate": {casefile.Agreement{EmployerID: b.other.ID, ContractNumber: "C-1b",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}},
				apperr.ECONFLICT, map[string]string{"contract_number": casefile.MsgAgreementDuplicate}},
			"UnknownGroup": {casefile.Agreement{EmployerID: b.employer.ID, ContractNumber: "C-3",
				Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}, GroupID: ctrPtr(uuid.New())},
				apperr.EINVALID, map[string]string{"group_id": "error.choose"}},
		} {
			err := b.try(func(tx pgx.Tx) error {
				_, err := casefile.CreateAgreement(ctx, tx, system, c.a)
				return err
			})
			code, fields := ctrCode(err)
			if code != c.code || !cmp.Equal(fields, c.fields) {
				t.Errorf("%s: code %s fields %v, want %s %v (%v)", name, code, fields, c.code, c.fields, err)
			}
		}
		if ev, ch := b.counts(t, casefile.SubjectAgreement, "service_agreements"); ev != 2 || ch != 2 {
			t.Errorf("refusals stored something: %d events, %d changes; want 2, 2", ev, ch)
		}
	})
}

func TestParticipations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := ctrSetup(t)
	system := access.System(audit.Actor{})
	var policy, otherPolicy casefile.Policy
	b.in(t, func(tx pgx.Tx) (err error) {
		if policy, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.employer.ID, Insurer: "Nationale-Nederlanden",
			PolicyNumber: "V-1", Period: casefile.ContractPeriod{Start: ctrDay("2025-01-01")}}); err != nil {
			return err
		}
		otherPolicy, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.other.ID, Insurer: "Nationale-Nederlanden",
			PolicyNumber: "V-2", Period: casefile.ContractPeriod{Start: ctrDay("2025-01-01")}})
		return err
	})

	var p casefile.Participant
	b.in(t, func(tx pgx.Tx) (err error) {
		p, err = casefile.CreateParticipation(ctx, tx, system, casefile.Participant{EmployeeID: b.employee.ID, PolicyID: policy.ID,
			Participating: true, Reason: "Valt onder de cao", Period: casefile.ContractPeriod{Start: ctrDay("2025-03-01")}})
		return err
	})
	if p.EmployerID != b.employer.ID || p.PolicyLabel != "Nationale-Nederlanden V-1" {
		t.Errorf("participation = %+v", p)
	}
	p.Participating, p.Reason = false, "Eigen verzekering"
	b.in(t, func(tx pgx.Tx) (err error) {
		p, err = casefile.UpdateParticipation(ctx, tx, system, p)
		return err
	})
	var list []casefile.Participant
	b.in(t, func(tx pgx.Tx) (err error) {
		list, err = casefile.FindParticipations(ctx, tx, b.employee.ID)
		return err
	})
	if len(list) != 1 || list[0].Participating || list[0].Reason != "Eigen verzekering" {
		t.Errorf("participations = %+v", list)
	}
	// Changes rows carry the employee and employer, for the datastream's scope.
	var withIDs int
	b.in(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM changes WHERE entity = 'policy_participants' AND employee_id = $1 AND employer_id = $2",
			b.employee.ID, b.employer.ID).Scan(&withIDs)
	})
	if withIDs != 2 {
		t.Errorf("changes with employee and employer = %d, want 2", withIDs)
	}
	var employeeEvents int
	b.in(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE subject_type = $1 AND employee_id = $2",
			casefile.SubjectParticipant, b.employee.ID).Scan(&employeeEvents)
	})
	if employeeEvents != 2 {
		t.Errorf("audit events with the employee = %d, want 2", employeeEvents)
	}

	for name, c := range map[string]struct {
		p      casefile.Participant
		code   apperr.Code
		fields map[string]string
	}{
		"PolicyOfOtherEmployer": {casefile.Participant{EmployeeID: b.employee.ID, PolicyID: otherPolicy.ID,
			Period: casefile.ContractPeriod{Start: ctrDay("2025-03-01")}},
			apperr.EINVALID, map[string]string{"policy_id": casefile.MsgPolicyOtherEmployer}},
		"EndBeforeStart": {casefile.Participant{EmployeeID: b.employee.ID, PolicyID: policy.ID,
			Period: casefile.ContractPeriod{Start: ctrDay("2025-03-02"), End: ctrPtr(ctrDay("2025-03-01"))}},
			apperr.EINVALID, map[string]string{"ends_on": casefile.MsgEndBeforeStart}},
		"Duplicate": {casefile.Participant{EmployeeID: b.employee.ID, PolicyID: policy.ID,
			Period: casefile.ContractPeriod{Start: ctrDay("2025-03-01")}},
			apperr.ECONFLICT, map[string]string{"starts_on": casefile.MsgParticipantDup}},
		"NoPolicy": {casefile.Participant{EmployeeID: b.employee.ID, Period: casefile.ContractPeriod{Start: ctrDay("2025-03-01")}},
			apperr.EINVALID, map[string]string{"policy_id": "error.required"}},
		"UnknownEmployee": {casefile.Participant{EmployeeID: uuid.New(), PolicyID: policy.ID,
			Period: casefile.ContractPeriod{Start: ctrDay("2025-03-01")}}, apperr.ENOTFOUND, nil},
	} {
		err := b.try(func(tx pgx.Tx) error {
			_, err := casefile.CreateParticipation(ctx, tx, system, c.p)
			return err
		})
		code, fields := ctrCode(err)
		if code != c.code || !cmp.Equal(fields, c.fields) {
			t.Errorf("%s: code %s fields %v, want %s %v (%v)", name, code, fields, c.code, c.fields, err)
		}
	}
	if ev, ch := b.counts(t, casefile.SubjectParticipant, "policy_participants"); ev != 2 || ch != 2 {
		t.Errorf("after create, update and refusals: %d events, %d changes; want 2, 2", ev, ch)
	}
}

func TestContractPeriodContains(t *testing.T) {
	t.Parallel()
	p := casefile.ContractPeriod{Start: ctrDay("2026-01-01"), End: ctrPtr(ctrDay("2026-01-31"))}
	for day, want := range map[string]bool{"2025-12-31": false, "2026-01-01": true, "2026-01-31": true, "2026-02-01": false} {
		if got := p.Contains(ctrDay(day)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", day, got, want)
		}
	}
	if !(casefile.ContractPeriod{Start: ctrDay("2026-01-01")}).Contains(ctrDay("2099-01-01")) {
		t.Error("an open period does not contain a day far ahead")
	}
}

// A contract is found, changed and deleted through its parent (the employer, or the employee
// for a participation): under another parent it does not exist, and nothing changes.
func TestContractsUnderAnotherParent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := ctrSetup(t)
	system := access.System(audit.Actor{})
	var policy casefile.Policy
	var agreement casefile.Agreement
	var participant casefile.Participant
	var colleague org.Employee
	b.in(t, func(tx pgx.Tx) (err error) {
		if policy, err = casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: b.employer.ID, Insurer: "Achmea",
			PolicyNumber: "P-1", Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}}); err != nil {
			return err
		}
		if agreement, err = casefile.CreateAgreement(ctx, tx, system, casefile.Agreement{EmployerID: b.employer.ID,
			ContractNumber: "C-1", Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}}); err != nil {
			return err
		}
		if participant, err = casefile.CreateParticipation(ctx, tx, system, casefile.Participant{EmployeeID: b.employee.ID,
			PolicyID: policy.ID, Participating: true, Period: casefile.ContractPeriod{Start: ctrDay("2026-01-01")}}); err != nil {
			return err
		}
		colleague, err = org.CreateEmployee(ctx, tx, access.System(audit.Actor{}), org.Employee{EmployerID: b.employer.ID, PersonnelNumber: "2", LastName: "Bakker"})
		return err
	})
	movedPolicy, movedAgreement, movedParticipant := policy, agreement, participant
	movedPolicy.EmployerID, movedPolicy.Insurer = b.other.ID, "Elders"
	movedAgreement.EmployerID, movedAgreement.ContractNumber = b.other.ID, "C-elders"
	movedParticipant.EmployeeID, movedParticipant.Reason = colleague.ID, "elders"

	for name, f := range map[string]func(tx pgx.Tx) error{
		"FindPolicy": func(tx pgx.Tx) error {
			_, err := casefile.FindPolicyByID(ctx, tx, b.other.ID, policy.ID)
			return err
		},
		"UpdatePolicy": func(tx pgx.Tx) error {
			_, err := casefile.UpdatePolicy(ctx, tx, system, movedPolicy)
			return err
		},
		"FindAgreement": func(tx pgx.Tx) error {
			_, err := casefile.FindAgreementByID(ctx, tx, b.other.ID, agreement.ID)
			return err
		},
		"UpdateAgreement": func(tx pgx.Tx) error {
			_, err := casefile.UpdateAgreement(ctx, tx, system, movedAgreement)
			return err
		},
		"FindParticipation": func(tx pgx.Tx) error {
			_, err := casefile.FindParticipationByID(ctx, tx, colleague.ID, participant.ID)
			return err
		},
		"UpdateParticipation": func(tx pgx.Tx) error {
			_, err := casefile.UpdateParticipation(ctx, tx, system, movedParticipant)
			return err
		},
	} {
		if code, _ := ctrCode(b.try(f)); code != apperr.ENOTFOUND {
			t.Errorf("%s under another parent: %s, want ENOTFOUND", name, code)
		}
	}
	b.in(t, func(tx pgx.Tx) error {
		p, err := casefile.FindPolicyByID(ctx, tx, b.employer.ID, policy.ID)
		if err != nil {
			return err
		}
		a, err := casefile.FindAgreementByID(ctx, tx, b.employer.ID, agreement.ID)
		if err != nil {
			return err
		}
		x, err := casefile.FindParticipationByID(ctx, tx, b.employee.ID, participant.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]any{policy, agreement, participant}, []any{p, a, x}); diff != "" {
			t.Errorf("contracts changed by refused updates (-want +got):\n%s", diff)
		}
		return nil
	})
}
