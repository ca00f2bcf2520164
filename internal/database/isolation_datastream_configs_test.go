package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the tables of migration 00072: a datastream configuration and one of its runs.
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
		if _, err := tx.Exec(ctx, `INSERT INTO datastream_runs (tenant_id, config_id, mode) VALUES (app_tenant(), $1, 'full')`,
			configID); err != nil {
			return fmt.Errorf("datastream_runs: %w", err)
		}
		return nil
	})
}
