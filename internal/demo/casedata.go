package demo

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// CaseEmployees is how many employees (the first by personnel number) the demo gives case data:
// a third of them an absence history with reports, a trajectory and an appointment.
const CaseEmployees = 300

// ensureCaseData fills the demo's case data once: protocols, programmes, a policy and a service
// agreement per employer, policy participation, and for a third of the first CaseEmployees
// employees (casefile.DemoAbsence, when their employment covers it) an absence with percentage
// changes, reports (one medical), a first consultation with the appointment it fulfilled
// (held) and, while the absence runs, a trajectory with the tasks due by now done (some late
// ones left open), a coming appointment and, for long absences, a decision. It does nothing
// when absences exist.
func ensureCaseData(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, employers []plannedEmployer, out io.Writer) error {
	var has bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM absences)").Scan(&has); err != nil || has {
		return err
	}
	if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
		return err
	}
	doctorUsers, _, err := org.FindUsers(ctx, tx, org.UserFilter{Query: "bedrijfsarts@demo.dossierkast.nl", Limit: 1})
	if err != nil || len(doctorUsers) == 0 {
		return fmt.Errorf("demo company doctor: %w", err)
	}
	_, principal, err := org.LoadPrincipal(ctx, tx, tenantID, doctorUsers[0].ID)
	if err != nil {
		return err
	}
	// The company doctor records the employees' case data, medical parts included. The
	// programmes and contracts are administration he may not do: the demo loader enters them as
	// the system (access.System), and their events name no user.
	doctor := access.Editor{Principal: principal, Actor: audit.Actor{UserID: &principal.UserID}}
	system := access.System(audit.Actor{})

	providers, err := org.FindProviders(ctx, tx)
	if err != nil {
		return err
	}
	for i, pr := range providers {
		for j, name := range []string{"Werkfit traject", "Coaching bij psychische klachten"} {
			p := casefile.Programme{ProviderID: pr.ID, Name: name, PriceCents: int64(1850_00 + 400_00*i + 650_00*j),
				ExecutorMode: casefile.ExecutorProvider}
			if _, err := casefile.CreateProgramme(ctx, tx, system, p); err != nil {
				return fmt.Errorf("programme: %w", err)
			}
		}
	}

	policies := map[uuid.UUID]uuid.UUID{}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, e := range employers {
		pol, err := casefile.CreatePolicy(ctx, tx, system, casefile.Policy{EmployerID: e.id, Insurer: []string{"Zilveren Verzekeringen", "Amstel Verzuim NV", "Noorderlicht Inkomen"}[i%3],
			PolicyNumber: fmt.Sprintf("VZ-%06d", 482100+i*37), Period: casefile.ContractPeriod{Start: start}})
		if err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		policies[e.id] = pol.ID
		if _, err := casefile.CreateAgreement(ctx, tx, system, casefile.Agreement{EmployerID: e.id, ContractNumber: fmt.Sprintf("DVO-2025-%03d", 11+i),
			Period: casefile.ContractPeriod{Start: start}, PolicyID: &pol.ID}); err != nil {
			return fmt.Errorf("agreement: %w", err)
		}
	}

	protocols, err := casefile.FindProtocols(ctx, tx)
	if err != nil {
		return err
	}
	var absenceProtocol uuid.UUID
	for _, p := range protocols {
		if p.Kind == casefile.ProtocolAbsence {
			absenceProtocol = p.ID
		}
	}

	rows, err := tx.Query(ctx, `SELECT id, employer_id, employment_start, employment_end FROM employees
		ORDER BY personnel_number, id LIMIT $1`, CaseEmployees)
	if err != nil {
		return err
	}
	type emp struct {
		id, employer uuid.UUID
		start, end   *time.Time
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (emp, error) {
		var e emp
		err := r.Scan(&e.id, &e.employer, &e.start, &e.end)
		return e, err
	})
	if err != nil {
		return err
	}
	absences := 0
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i, e := range list {
		participating := i%7 != 0
		reason := "Valt onder de collectieve verzuimverzekering"
		if !participating {
			reason = "Uitgezonderd: tijdelijk contract korter dan zes maanden"
		}
		if _, err := casefile.CreateParticipation(ctx, tx, system, casefile.Participant{EmployeeID: e.id, PolicyID: policies[e.employer],
			Participating: participating, Reason: reason, Period: casefile.ContractPeriod{Start: start}}); err != nil {
			return fmt.Errorf("participation: %w", err)
		}
		if i%3 != 0 {
			continue
		}
		first, back := casefile.DemoAbsence(i, today)
		// Only an absence his employment covers, from the first day to the recovery or today.
		last := today
		if back != nil {
			last = *back
		}
		if e.start != nil && e.start.After(first) || e.end != nil && e.end.Before(last) {
			continue
		}
		absences++
		a := casefile.Absence{FirstSickDay: first, RecoveryDate: back, Cause: casefile.AbsenceCauses[i%len(casefile.AbsenceCauses)],
			Notes: "Ziekmelding telefonisch ontvangen door de leidinggevende."}
		abs, err := casefile.CreateAbsence(ctx, tx, doctor, e.id, casefile.NewAbsence{Absence: a, Percentage: 100})
		if err != nil {
			return fmt.Errorf("absence: %w", err)
		}
		if back == nil || back.Sub(first) > 10*24*time.Hour {
			from := first.AddDate(0, 0, 10)
			if from.Before(today) {
				if _, err := casefile.SetAbsencePercentage(ctx, tx, doctor, e.id, abs.ID, &from, 50, nil); err != nil {
					return fmt.Errorf("absence percentage: %w", err)
				}
			}
		}
		for _, r := range []casefile.Report{
			{Body: "Werknemer gebeld; verwacht binnen twee weken gedeeltelijk te hervatten.", Expertise: "casemanager"},
			{Body: "Spreekuur gehad. Belastbaarheid beperkt; geen tilwerk tot de volgende afspraak.", Expertise: "bedrijfsarts", Medical: true},
		} {
			if _, err := casefile.CreateReport(ctx, tx, doctor, e.id, r, nil); err != nil {
				return fmt.Errorf("report: %w", err)
			}
		}
		held := first.AddDate(0, 0, 7).Add(10 * time.Hour)
		cons, err := casefile.CreateConsultation(ctx, tx, doctor, casefile.Consultation{EmployeeID: e.id, HeldAt: held,
			HeldBy: "Bedrijfsarts M. de Wit", Outcome: casefile.FirstConsultationOutcome, Medical: true})
		if err != nil {
			return fmt.Errorf("consultation: %w", err)
		}
		if _, err := casefile.CreateAppointment(ctx, tx, doctor, casefile.Appointment{EmployeeID: e.id, StartsAt: held,
			WithWhom: "Bedrijfsarts M. de Wit", Kind: "company_doctor", Status: casefile.AppointmentHeld, ConsultationID: &cons.ID}); err != nil {
			return fmt.Errorf("fulfilled appointment: %w", err)
		}
		if back != nil {
			// A recovered absence needs no guidance any more: no trajectory, no coming appointment.
			continue
		}
		_, tasks, err := casefile.OpenTrajectory(ctx, tx, doctor, casefile.TrajectoryStart{EmployeeID: e.id,
			ProtocolID: absenceProtocol, StartDate: first})
		if err != nil {
			return fmt.Errorf("trajectory: %w", err)
		}
		for _, t := range tasks {
			if t.DueDate != nil && casefile.DemoTaskDone(i, *t.DueDate, today) {
				if _, err := casefile.CompleteTask(ctx, tx, doctor, e.id, t.ID); err != nil {
					return fmt.Errorf("task: %w", err)
				}
			}
		}
		if _, err := casefile.CreateAppointment(ctx, tx, doctor, casefile.Appointment{EmployeeID: e.id,
			StartsAt: today.AddDate(0, 0, 3+i%20).Add(10 * time.Hour), WithWhom: "Bedrijfsarts M. de Wit", Kind: "company_doctor",
			Status: casefile.AppointmentPlanned}); err != nil {
			return fmt.Errorf("appointment: %w", err)
		}
		if today.Sub(first) > 300*24*time.Hour {
			if _, err := casefile.CreateDecision(ctx, tx, doctor, e.id, casefile.Decision{Kind: "ZW", Date: first.AddDate(0, 0, 300),
				Outcome: "Recht op ziektewetuitkering vastgesteld."}, nil); err != nil {
				return fmt.Errorf("decision: %w", err)
			}
		}
	}
	fmt.Fprintf(out, "demo: case data for %d employees (%d absences)\n", len(list), absences)
	return nil
}

// CaseChunk is how many employees one transaction of generated case data covers.
const CaseChunk = 20_000

// generateCaseData gives the employees beyond the first CaseEmployees their case data in bulk,
// so a demo of any size has it; the company doctor is recorded as its author. The employees
// are taken in chunks of CaseChunk, each in a transaction of its own, by loaders connections
// at once: an employee has all his case data or none, and a rerun completes what an
// interrupted load left.
func generateCaseData(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, out io.Writer) error {
	var by uuid.UUID
	var ids []uuid.UUID
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		doctors, _, err := org.FindUsers(ctx, tx, org.UserFilter{Query: "bedrijfsarts@demo.dossierkast.nl", Limit: 1})
		if err != nil || len(doctors) == 0 {
			return fmt.Errorf("demo company doctor: %w", err)
		}
		by = doctors[0].ID
		ids, err = casefile.CaseDataEmployees(ctx, tx, CaseEmployees)
		return err
	})
	if err != nil {
		return err
	}
	chunkCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan int)
	go func() {
		defer close(chunks)
		for from := 0; from < len(ids); from += CaseChunk {
			select {
			case chunks <- from:
			case <-chunkCtx.Done():
				return
			}
		}
	}()
	var made atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range connections(pool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range chunks {
				var n int64
				err := database.InTenant(chunkCtx, pool, tenantID, func(tx pgx.Tx) error {
					var err error
					n, err = casefile.GenerateCaseData(chunkCtx, tx, ids[from:min(from+CaseChunk, len(ids))], CaseEmployees+from, by)
					return err
				})
				if err != nil {
					// The first error stops the others; theirs is then the cancellation.
					once.Do(func() { first = err })
					cancel()
					return
				}
				made.Add(n)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := made.Load(); n > 0 {
		fmt.Fprintf(out, "demo: case data generated for %d more absences\n", n)
	}
	return nil
}
