package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the intervention tables (migration 00040) of one tenant: the settings and a deployment.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, b fixtureBase) error {
		var protocol, deployment, guidance, task, programme uuid.UUID
		steps := []struct {
			sql  string
			args []any
			into *uuid.UUID
		}{
			{`INSERT INTO protocols (tenant_id, name, kind) VALUES (app_tenant(), 'Begeleiding ' || $1, 'intervention_guidance') RETURNING id`,
				[]any{b.Tag}, &protocol},
			{`INSERT INTO intervention_settings (tenant_id, guidance_protocol_id) VALUES (app_tenant(), $1) RETURNING tenant_id`,
				[]any{&protocol}, nil},
			{`INSERT INTO programmes (tenant_id, provider_id, name) VALUES (app_tenant(), $1, 'Programma ' || $2) RETURNING id`,
				[]any{b.ProviderID, b.Tag}, &programme},
			{`INSERT INTO trajectories (tenant_id, employee_id, employer_id, protocol_id, start_date)
				VALUES (app_tenant(), $1, $2, $3, current_date) RETURNING id`, []any{b.EmployeeID, b.EmployerID, &protocol}, &deployment},
			{`INSERT INTO tasks (tenant_id, trajectory_id, employee_id, employer_id, position, type, title)
				VALUES (app_tenant(), $1, $2, $3, 1, 'deploy_intervention', 'Inzetten') RETURNING id`,
				[]any{&deployment, b.EmployeeID, b.EmployerID}, &task},
			{`INSERT INTO trajectories (tenant_id, employee_id, employer_id, protocol_id, start_date, parent_id, programme_id)
				VALUES (app_tenant(), $1, $2, $3, current_date, $4, $5) RETURNING id`,
				[]any{b.EmployeeID, b.EmployerID, &protocol, &deployment, &programme}, &guidance},
			{`INSERT INTO intervention_deployments (tenant_id, employee_id, trajectory_id, task_id, programme_id, guidance_trajectory_id, outcome)
				VALUES (app_tenant(), $1, $2, $3, $4, $5, 'no_executor') RETURNING id`,
				[]any{b.EmployeeID, &deployment, &task, &programme, &guidance}, nil},
		}
		for _, s := range steps {
			args := make([]any, len(s.args))
			for i, a := range s.args {
				if p, ok := a.(*uuid.UUID); ok {
					a = *p
				}
				args[i] = a
			}
			var id uuid.UUID
			if err := tx.QueryRow(ctx, s.sql, args...).Scan(&id); err != nil {
				return fmt.Errorf("intervention fixture %q: %w", s.sql, err)
			}
			if s.into != nil {
				*s.into = id
			}
		}
		return nil
	})
}
