package database_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Rows for the tables of migrations 00010 and 00015: full-dossier bundles, their plans,
// employees and uploads, blobs awaiting deletion, and dossier deletions.
func init() {
	extraFixtures = append(extraFixtures, func(ctx context.Context, tx pgx.Tx, base fixtureBase) error {
		var bundleID uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO bundles (tenant_id, employer_id, requested_by, requester_kind, expires_at)
			VALUES (app_tenant(), $1, $2, 'employer', now() + interval '48 hours') RETURNING id`,
			base.EmployerID, base.UserID).Scan(&bundleID); err != nil {
			return fmt.Errorf("bundles: %w", err)
		}
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO bundle_employees (tenant_id, bundle_id, employee_id) VALUES (app_tenant(), $1, $2)`,
				[]any{bundleID, base.EmployeeID}},
			{`INSERT INTO bundle_uploads (tenant_id, bundle_id, storage_key) VALUES (app_tenant(), $1, 'upload-' || $2)`,
				[]any{bundleID, base.Tag}},
			{`INSERT INTO blob_deletions (tenant_id, storage_key) VALUES (app_tenant(), 'gone-' || $1)`, []any{base.Tag}},
			{`INSERT INTO dossier_deletions (tenant_id, employer_id, requested_by) VALUES (app_tenant(), $1, $2)`,
				[]any{base.EmployerID, base.UserID}},
		} {
			if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
				return fmt.Errorf("fixture %q: %w", stmt.sql, err)
			}
		}
		return nil
	})
}
