package demo

import (
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/intervention"
)

// Demo programmes of the coach's provider: one that follows the provider's default executor
// (the demo coach), one with a setting of its own and no user, whose deployments need the
// manual delegation task.
const (
	demoProgrammeFollows = "Werkfit traject"
	demoProgrammeOwn     = "Leefstijlcoaching"
)

// ensureInterventions sets up the intervention workflow of seed 004 so a new user can walk it:
// the standard guidance protocol, the demo coach as his provider's default executor, the two
// programmes, an employee whose deployment task is ready to confirm, and one whose guidance
// waits for the manual delegation task. It leaves what exists alone, and adds the two employees'
// trajectories only while the tenant has no deployment trajectory at all.
func ensureInterventions(ctx context.Context, tx pgx.Tx, employers []plannedEmployer, out io.Writer) error {
	system := access.System(audit.Actor{})
	if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
		return err
	}
	var guidance, deployment uuid.UUID
	if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_guidance' ORDER BY created_at, id LIMIT 1").Scan(&guidance); err != nil {
		return fmt.Errorf("guidance protocol: %w", err)
	}
	if err := tx.QueryRow(ctx, "SELECT id FROM protocols WHERE kind = 'intervention_deployment' ORDER BY created_at, id LIMIT 1").Scan(&deployment); err != nil {
		return fmt.Errorf("deployment protocol: %w", err)
	}
	settings, err := intervention.FindSettings(ctx, tx)
	if err != nil {
		return err
	}
	if settings.GuidanceProtocolID == nil {
		if err := intervention.SetGuidanceProtocol(ctx, tx, system, &guidance); err != nil {
			return err
		}
	}
	var coach, provider uuid.UUID
	if err := tx.QueryRow(ctx, "SELECT id, provider_id FROM users WHERE email = 'coach@demo.dossierkast.nl'").Scan(&coach, &provider); err != nil {
		return fmt.Errorf("demo coach: %w", err)
	}
	p, err := intervention.FindProviderByID(ctx, tx, provider)
	if err != nil {
		return err
	}
	if p.ExecutorUserID == nil {
		if err := intervention.SetProviderExecutor(ctx, tx, system, provider, &coach); err != nil {
			return err
		}
	}
	programmes := map[string]uuid.UUID{}
	for _, spec := range []struct {
		name string
		mode casefile.ExecutorMode
	}{{demoProgrammeFollows, casefile.ExecutorProvider}, {demoProgrammeOwn, casefile.ExecutorOwn}} {
		var id uuid.UUID
		err := tx.QueryRow(ctx, "SELECT id FROM programmes WHERE provider_id = $1 AND name = $2", provider, spec.name).Scan(&id)
		if err == pgx.ErrNoRows {
			g, err := casefile.CreateProgramme(ctx, tx, system, casefile.Programme{ProviderID: provider, Name: spec.name,
				PriceCents: 1850_00, ExecutorMode: spec.mode})
			if err != nil {
				return fmt.Errorf("programme: %w", err)
			}
			id = g.ID
		} else if err != nil {
			return fmt.Errorf("programme: %w", err)
		}
		programmes[spec.name] = id
	}

	var started bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM trajectories WHERE protocol_id = $1)", deployment).Scan(&started); err != nil || started {
		return err
	}
	// Two employees of the first employer who are sick now, with no delegation and no blacklist
	// entry: an intervention is deployed during an absence.
	if len(employers) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT e.id FROM employees e WHERE e.employer_id = $1
		AND NOT EXISTS (SELECT 1 FROM dossier_delegations d WHERE d.employee_id = e.id)
		AND NOT EXISTS (SELECT 1 FROM user_blacklist b WHERE b.employee_id = e.id)
		AND EXISTS (SELECT 1 FROM absences a WHERE a.employee_id = e.id AND a.recovery_date IS NULL)
		ORDER BY e.personnel_number LIMIT 2`, employers[0].id)
	if err != nil {
		return err
	}
	chosen, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for i, employee := range chosen {
		_, tasks, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: employee, ProtocolID: deployment})
		if err != nil {
			return fmt.Errorf("deployment trajectory: %w", err)
		}
		if i == 0 {
			// The first waits for a case manager to confirm it.
			continue
		}
		for _, k := range tasks {
			if k.Type != casefile.TaskDeployIntervention {
				continue
			}
			own := programmes[demoProgrammeOwn]
			if _, err := intervention.ConfirmDeployment(ctx, tx, system, employee, k.ID, &own); err != nil {
				return fmt.Errorf("deployment: %w", err)
			}
		}
	}
	fmt.Fprintf(out, "demo: interventions for %d employees (one to confirm, one to delegate by hand)\n", len(chosen))
	return nil
}
