package database_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Rows for the table of migration 00030: employee dossier exports.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, base fixtureBase) error {
		if _, err := tx.Exec(ctx, `INSERT INTO employee_exports (tenant_id, employee_id, employer_id, requested_by, expires_at)
			VALUES (app_tenant(), $1, $2, $3, now() + interval '24 hours')`, base.EmployeeID, base.EmployerID, base.UserID); err != nil {
			return fmt.Errorf("employee_exports: %w", err)
		}
		return nil
	})
}
