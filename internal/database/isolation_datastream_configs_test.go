package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the tables of migrations 00072 and 00075: a datastream configuration, one of its runs
// and an employee it carried.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, base fixtureBase) error {
		var accountID, configID uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO datastream_accounts (tenant_id, name, type, sftp_user)
			VALUES (app_tenant(), 'Configs', 'hosted', 'dk-c-' || $1) RETURNING id`, base.Tag).Scan(&accountID); err != nil {
			return fmt.Errorf("datastream_accounts: %w", err)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO datastream_configs (tenant_id, account_id, name, folder)
			VALUES (app_tenant(), $1, 'BI', 'bi') RETURNING id`, accountID).Scan(&configID); err != nil {
			return fmt.Errorf("datastream_configs: %w", err)
		}
		var runID uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO datastream_runs (tenant_id, config_id, mode) VALUES (app_tenant(), $1, 'full') RETURNING id`,
			configID).Scan(&runID); err != nil {
			return fmt.Errorf("datastream_runs: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO datastream_run_employees (tenant_id, run_id, first_employee_id, employee_ids)
			VALUES (app_tenant(), $1, $2, ARRAY[$2::uuid])`,
			runID, base.EmployeeID); err != nil {
			return fmt.Errorf("datastream_run_employees: %w", err)
		}
		return nil
	})
}
