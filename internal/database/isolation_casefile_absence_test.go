package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the tables of migration 00006: absences with a percentage, reports, decisions.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, base fixtureBase) error {
		var absenceID uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO absences (tenant_id, employee_id, employer_id, first_sick_day, cause, created_by)
			VALUES (app_tenant(), $1, $2, DATE '2027-01-04', 'disease', $3) RETURNING id`,
			base.EmployeeID, base.EmployerID, base.UserID).Scan(&absenceID); err != nil {
			return fmt.Errorf("absences: %w", err)
		}
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO absence_percentages (tenant_id, absence_id, employee_id, employer_id, from_date, percentage)
				VALUES (app_tenant(), $1, $2, $3, DATE '2027-01-04', 100)`, []any{absenceID, base.EmployeeID, base.EmployerID}},
			{`INSERT INTO reports (tenant_id, employee_id, employer_id, author_id, body, expertise, hidden, medical)
				VALUES (app_tenant(), $1, $2, $3, 'Rapportage ' || $4, 'bedrijfsarts', true, true)`,
				[]any{base.EmployeeID, base.EmployerID, base.UserID, base.Tag}},
			{`INSERT INTO decisions (tenant_id, employee_id, employer_id, kind, decision_date, outcome)
				VALUES (app_tenant(), $1, $2, 'WIA', DATE '2029-01-01', 'Toegekend')`, []any{base.EmployeeID, base.EmployerID}},
		} {
			if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
				return fmt.Errorf("fixture %q: %w", stmt.sql, err)
			}
		}
		return nil
	})
}
