package database_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Rows for the table of migration 00050: sealed secrets.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, base fixtureBase) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (tenant_id, key_id, sealed) VALUES (app_tenant(), 'k-' || $1, '\x00')`,
			base.Tag); err != nil {
			return fmt.Errorf("secrets: %w", err)
		}
		return nil
	})
}
