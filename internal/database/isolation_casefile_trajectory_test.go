package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the trajectory and agenda tables (migration 00007) of one tenant.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, b fixtureBase) error {
		var protocolID, trajectoryID, consultationID uuid.UUID
		steps := []struct {
			sql  string
			args []any
			into *uuid.UUID
		}{
			{`INSERT INTO protocols (tenant_id, name, kind) VALUES (app_tenant(), 'Protocol ' || $1, 'absence') RETURNING id`,
				[]any{b.Tag}, &protocolID},
			{`INSERT INTO protocol_tasks (tenant_id, protocol_id, position, type, title, due_after_days)
				VALUES (app_tenant(), $1, 1, 'intake', 'Intake', 7) RETURNING id`, []any{&protocolID}, nil},
			{`INSERT INTO trajectories (tenant_id, employee_id, employer_id, protocol_id, start_date)
				VALUES (app_tenant(), $1, $2, $3, current_date) RETURNING id`, []any{b.EmployeeID, b.EmployerID, &protocolID}, &trajectoryID},
			{`INSERT INTO tasks (tenant_id, trajectory_id, employee_id, employer_id, position, type, title, due_date)
				VALUES (app_tenant(), $1, $2, $3, 1, 'intake', 'Intake', current_date + 7) RETURNING id`,
				[]any{&trajectoryID, b.EmployeeID, b.EmployerID}, nil},
			{`INSERT INTO consultations (tenant_id, employee_id, employer_id, held_at, held_by, outcome)
				VALUES (app_tenant(), $1, $2, now(), 'Bedrijfsarts ' || $3, 'Uitkomst') RETURNING id`,
				[]any{b.EmployeeID, b.EmployerID, b.Tag}, &consultationID},
			{`INSERT INTO appointments (tenant_id, employee_id, employer_id, starts_at, with_whom, kind, consultation_id)
				VALUES (app_tenant(), $1, $2, now(), 'Bedrijfsarts', 'company_doctor', $3) RETURNING id`,
				[]any{b.EmployeeID, b.EmployerID, &consultationID}, nil},
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
				return fmt.Errorf("trajectory fixture %q: %w", s.sql, err)
			}
			if s.into != nil {
				*s.into = id
			}
		}
		return nil
	})
}
