package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the tables of migration 00051: datastream accounts, their employers and the files of
// a hosted account.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, base fixtureBase) error {
		var accountID uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO datastream_accounts (tenant_id, name, type, sftp_user)
			VALUES (app_tenant(), 'Warehouse', 'hosted', 'dk-' || $1) RETURNING id`, base.Tag).Scan(&accountID); err != nil {
			return fmt.Errorf("datastream_accounts: %w", err)
		}
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO datastream_account_employers (tenant_id, account_id, employer_id) VALUES (app_tenant(), $1, $2)`,
				[]any{accountID, base.EmployerID}},
			{`INSERT INTO datastream_files (tenant_id, account_id, path, size, storage_key) VALUES (app_tenant(), $1, 'a/b.csv', 1, 'k-' || $2)`,
				[]any{accountID, base.Tag}},
		} {
			if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
				return fmt.Errorf("fixture %q: %w", stmt.sql, err)
			}
		}
		return nil
	})
}
