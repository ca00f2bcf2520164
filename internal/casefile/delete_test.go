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
)

// TestDeleteTombstones: every delete is a change the read API returns, with the id the row had
// and its employee, so an incremental delivery carries the deletion; deleting an absence also
// deletes its percentages, and deleting a consultation unmatches its appointment.
func TestDeleteTombstones(t *testing.T) {
	t.Parallel()
	b := ardSetup(t)
	ctx := context.Background()
	e := b.employee
	var (
		absence      casefile.Absence
		report       casefile.Report
		decision     casefile.Decision
		consultation casefile.Consultation
		appointment  casefile.Appointment
		policy       casefile.Policy
		participant  casefile.Participant
		agreement    casefile.Agreement
	)
	var xid uint64
	b.in(t, func(tx pgx.Tx) (err error) {
		if xid, err = currentXID(ctx, tx); err != nil {
			return err
		}
		if absence, err = casefile.CreateAbsence(ctx, tx, editor(b.medical), e.ID, casefile.NewAbsence{
			Absence: casefile.Absence{FirstSickDay: ardDay("2027-01-04"), Cause: "accident"}, Percentage: 100}); err != nil {
			return err
		}
		if _, err = casefile.SetAbsencePercentage(ctx, tx, editor(b.medical), e.ID, absence.ID, ardPtr(ardDay("2027-02-01")), 50, nil); err != nil {
			return err
		}
		if report, err = casefile.CreateReport(ctx, tx, editor(b.medical), e.ID, casefile.Report{Body: "Notitie", Expertise: "bedrijfsarts", Hidden: true}, nil); err != nil {
			return err
		}
		if decision, err = casefile.CreateDecision(ctx, tx, editor(b.medical), e.ID, casefile.Decision{Kind: "ZW", Date: ardDay("2027-03-01")}, nil); err != nil {
			return err
		}
		if consultation, err = casefile.CreateConsultation(ctx, tx, editor(b.medical), casefile.Consultation{EmployeeID: e.ID,
			HeldAt: time.Now().Add(-time.Hour), HeldBy: "Dr. Visser", Outcome: "Belastbaar", Medical: true}); err != nil {
			return err
		}
		if appointment, err = casefile.CreateAppointment(ctx, tx, editor(b.medical), casefile.Appointment{EmployeeID: e.ID,
			StartsAt: time.Now().Add(-time.Hour), WithWhom: "Dr. Visser", Kind: casefile.AppointmentCompanyDoctor,
			ConsultationID: &consultation.ID}); err != nil {
			return err
		}
		if policy, err = casefile.CreatePolicy(ctx, tx, access.System(audit.Actor{}), casefile.Policy{EmployerID: e.EmployerID, Insurer: "Achmea",
			PolicyNumber: "P-1", Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}}); err != nil {
			return err
		}
		if participant, err = casefile.CreateParticipation(ctx, tx, access.System(audit.Actor{}), casefile.Participant{EmployeeID: e.ID,
			PolicyID: policy.ID, Participating: true, Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}}); err != nil {
			return err
		}
		agreement, err = casefile.CreateAgreement(ctx, tx, access.System(audit.Actor{}), casefile.Agreement{EmployerID: e.EmployerID,
			ContractNumber: "C-1", Period: casefile.ContractPeriod{Start: ardDay("2027-01-01")}, PolicyID: &policy.ID})
		return err
	})
	_, mark := readAfter(t, b, xid, casefile.Watermark{})

	t.Run("Refused", func(t *testing.T) {
		for name, f := range map[string]func(tx pgx.Tx) error{
			// Without medical.view: a classified absence and a medical consultation are refused,
			// a hidden report does not exist.
			"MedicalAbsence": func(tx pgx.Tx) error {
				_, err := casefile.DeleteAbsence(ctx, tx, editor(b.plain), e.ID, absence.ID)
				return wantCode(err, apperr.EFORBIDDEN)
			},
			"HiddenReport": func(tx pgx.Tx) error {
				_, err := casefile.DeleteReport(ctx, tx, editor(b.plain), e.ID, report.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"MedicalConsultation": func(tx pgx.Tx) error {
				_, _, err := casefile.DeleteConsultation(ctx, tx, editor(b.plain), e.ID, consultation.ID)
				return wantCode(err, apperr.EFORBIDDEN)
			},
			// Every item is deleted through its parent: under another one it does not exist.
			"OtherEmployee": func(tx pgx.Tx) error {
				_, err := casefile.DeleteDecision(ctx, tx, editor(b.medical), uuid.Must(uuid.NewV7()), decision.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"ConsultationOfOtherEmployee": func(tx pgx.Tx) error {
				_, _, err := casefile.DeleteConsultation(ctx, tx, editor(b.medical), uuid.Must(uuid.NewV7()), consultation.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"AppointmentOfOtherEmployee": func(tx pgx.Tx) error {
				_, err := casefile.DeleteAppointment(ctx, tx, editor(b.medical), uuid.Must(uuid.NewV7()), appointment.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"ParticipationOfOtherEmployee": func(tx pgx.Tx) error {
				_, err := casefile.DeleteParticipation(ctx, tx, access.System(audit.Actor{}), uuid.Must(uuid.NewV7()), participant.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"AgreementOfOtherEmployer": func(tx pgx.Tx) error {
				_, err := casefile.DeleteAgreement(ctx, tx, access.System(audit.Actor{}), uuid.Must(uuid.NewV7()), agreement.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"PolicyOfOtherEmployer": func(tx pgx.Tx) error {
				_, err := casefile.DeletePolicy(ctx, tx, access.System(audit.Actor{}), uuid.Must(uuid.NewV7()), policy.ID)
				return wantCode(err, apperr.ENOTFOUND)
			},
			"PolicyInUse": func(tx pgx.Tx) error {
				_, err := casefile.DeletePolicy(ctx, tx, access.System(audit.Actor{}), e.EmployerID, policy.ID)
				if e, ok := apperr.As(err); !ok || e.Code != apperr.ECONFLICT || e.Message != casefile.MsgPolicyInUse ||
					!cmp.Equal(e.Args, []any{1, 1}) {
					return err
				}
				return nil
			},
		} {
			if err := b.try(f); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if list, _ := readAll(t, b.db, b.tenant, mark, nil, 1000); len(list) != 0 {
			t.Errorf("refused deletes recorded %d changes", len(list))
		}
	})

	var unmatched []uuid.UUID
	b.in(t, func(tx pgx.Tx) (err error) {
		if xid, err = currentXID(ctx, tx); err != nil {
			return err
		}
		if _, err = casefile.DeleteAbsence(ctx, tx, editor(b.medical), e.ID, absence.ID); err != nil {
			return err
		}
		if _, err = casefile.DeleteReport(ctx, tx, editor(b.medical), e.ID, report.ID); err != nil {
			return err
		}
		if _, err = casefile.DeleteDecision(ctx, tx, editor(b.medical), e.ID, decision.ID); err != nil {
			return err
		}
		if _, unmatched, err = casefile.DeleteConsultation(ctx, tx, editor(b.medical), e.ID, consultation.ID); err != nil {
			return err
		}
		if _, err = casefile.DeleteAppointment(ctx, tx, editor(b.medical), e.ID, appointment.ID); err != nil {
			return err
		}
		if _, err = casefile.DeleteParticipation(ctx, tx, access.System(audit.Actor{}), e.ID, participant.ID); err != nil {
			return err
		}
		if _, err = casefile.DeleteAgreement(ctx, tx, access.System(audit.Actor{}), e.EmployerID, agreement.ID); err != nil {
			return err
		}
		_, err = casefile.DeletePolicy(ctx, tx, access.System(audit.Actor{}), e.EmployerID, policy.ID)
		return err
	})
	if !cmp.Equal(unmatched, []uuid.UUID{appointment.ID}) {
		t.Errorf("unmatched appointments = %v, want %s", unmatched, appointment.ID)
	}

	type change struct {
		Entity, Op string
		Employee   bool
	}
	var got []change
	var pcts int
	list, _ := readAfter(t, b, xid, mark)
	for _, c := range list {
		if c.Entity == "absence_percentages" {
			pcts++
			continue
		}
		got = append(got, change{c.Entity, c.Op, c.EmployeeID != nil && *c.EmployeeID == e.ID})
		if c.Op == "delete" && !map[uuid.UUID]bool{absence.ID: true, report.ID: true, decision.ID: true, consultation.ID: true,
			appointment.ID: true, participant.ID: true, agreement.ID: true, policy.ID: true}[c.RowID] {
			t.Errorf("delete of %s %s: not a deleted row's id", c.Entity, c.RowID)
		}
	}
	want := []change{
		{"absences", "delete", true},
		{"reports", "delete", true},
		{"decisions", "delete", true},
		{"appointments", "update", true}, // unmatched from the consultation
		{"consultations", "delete", true},
		{"appointments", "delete", true},
		{"policy_participants", "delete", true},
		{"service_agreements", "delete", false},
		{"insurance_policies", "delete", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes after the deletes (-want +got):\n%s", diff)
	}
	if pcts != 2 {
		t.Errorf("absence percentage deletes = %d, want 2 (they go with the absence)", pcts)
	}
}

// readAfter waits until the transaction xid is final, then reads every change after since and
// returns them and the watermark after the last.
func readAfter(t *testing.T, b *ardBundle, xid uint64, since casefile.Watermark) ([]casefile.Change, casefile.Watermark) {
	t.Helper()
	waitFinal(t, b.db, b.tenant, xid)
	return readAll(t, b.db, b.tenant, since, nil, 1000)
}

// wantCode returns nil when err carries code, else an error saying what came instead.
func wantCode(err error, code apperr.Code) error {
	if apperr.CodeOf(err) == code {
		return nil
	}
	if err == nil {
		return apperr.New(apperr.EINTERNAL, "no error, want "+string(code))
	}
	return err
}
