package database

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/dossierkast/dossierkast/migrations"
)

// migrateLockKey is the advisory lock that serialises migrations of one database: River's
// migrator takes none, so processes starting together would otherwise race.
const migrateLockKey = 7_453_120_001

// Migrate applies River's migrations and then Dossierkast's own, as the owner that ownerURL
// logs in as, under an advisory lock. It returns the schema version reached.
func Migrate(ctx context.Context, ownerURL string, logger *slog.Logger) (int64, error) {
	pool, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		return 0, fmt.Errorf("migrate: connect: %w", err)
	}
	defer pool.Close()

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)

	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return 0, fmt.Errorf("migrate river: %w", err)
	}
	if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return 0, fmt.Errorf("migrate river: %w", err)
	}

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSlog(logger),
		// Work on several issues lands in parallel, each with its own block of migration numbers;
		// a database that has a later block already still takes an earlier one.
		goose.WithAllowOutofOrder(true))
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	version, err := provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}

	// River's tables and the migration bookkeeping hold no tenant data; the application role
	// needs them to run jobs and to report readiness.
	if _, err := conn.Exec(ctx, `
		DO $$
		DECLARE t text;
		BEGIN
			FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'river\_%' LOOP
				EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO `+AppRole+`', t);
			END LOOP;
		END $$;
		GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO `+AppRole+`;
		GRANT SELECT ON goose_db_version TO `+AppRole+`;
		DO $$ BEGIN EXECUTE format('GRANT `+AppRole+` TO %I', current_user); EXCEPTION WHEN OTHERS THEN NULL; END $$;
	`); err != nil {
		return 0, fmt.Errorf("migrate: grants: %w", err)
	}
	return version, nil
}

// LatestVersion is the highest migration version this binary carries.
func LatestVersion() int64 {
	names, _ := fs.Glob(migrations.FS, "*.sql")
	sort.Strings(names)
	if len(names) == 0 {
		return 0
	}
	v, _ := strconv.ParseInt(strings.SplitN(names[len(names)-1], "_", 2)[0], 10, 64)
	return v
}

// CurrentVersion reads the applied migration version through the application pool.
func CurrentVersion(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var v int64
	err := pool.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	return v, err
}
