// Package database connects to PostgreSQL as the application role, runs every piece of tenant
// work in a transaction bound to one tenant, applies migrations, and finds or starts a server.
package database

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/apperr"
)

// AppRole is the role the application works as. It owns no table and is no superuser, so
// row-level security applies to every query it makes.
const AppRole = "dossierkast_app"

// Open connects a pool for the application. When setRole is true (a DATABASE_URL naming an owner
// or superuser), every new connection switches to AppRole; otherwise the URL must already log in
// as a role without ownership or superuser rights. The pool has pgxpool's size: the URL's
// pool_max_conns, else the larger of 4 and the number of processors.
func Open(ctx context.Context, url string, setRole bool) (*pgxpool.Pool, error) {
	return OpenSized(ctx, url, setRole, 0)
}

// OpenSized is Open with at most maxConns connections (0: pgxpool's size, as Open), without
// PostgreSQL's JIT compilation unless the URL asks for it. The web
// server's pool is sized so: a connection more than PostgreSQL's processors can serve at once
// only makes the requests in flight take turns on them, each one slower.
func OpenSized(ctx context.Context, url string, setRole bool, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	// Compiling a query (JIT) pays off for long analytical queries; ours are short, and one whose
	// estimated cost passes jit_above_cost waited tens of milliseconds for the compiler: planning
	// a full dossier of 10,000 documents took 125-144 ms with it, 85-90 ms without. A URL that
	// sets jit itself keeps its own.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(min(maxConns, math.MaxInt32))
		cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	}
	if setRole {
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET ROLE "+AppRole)
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

// Beginner is what InTenant needs of a pool: *pgxpool.Pool and *pgx.Conn satisfy it.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// InTenant runs fn in one transaction with app.tenant_id set to tenantID, and commits when fn
// returns nil. It is the only way the application reaches tenant data: without it, row-level
// security shows no rows and refuses every write. Unique violations become ECONFLICT and values
// PostgreSQL cannot store (a text too long, a date out of range) EINVALID; a foreign-key or
// check violation is left as it is, a 500: a capability checks its input before it writes, so
// such a violation is a bug to find in the log, not a user's mistake.
func InTenant(ctx context.Context, db Beginner, tenantID uuid.UUID, fn func(pgx.Tx) error) error {
	if tenantID == uuid.Nil {
		return errors.New("in tenant: no tenant")
	}
	// BEGIN and setting the tenant travel in one message (one round trip, not two). A uuid's
	// text is hex digits and hyphens only, so it is safe as a literal.
	begin := pgx.TxOptions{BeginQuery: "BEGIN; SELECT set_config('app.tenant_id', '" + tenantID.String() + "', true)"}
	return pgx.BeginTxFunc(ctx, db, begin, func(tx pgx.Tx) error {
		return mapError(fn(tx))
	})
}

// Batcher is what Read needs of a pool: *pgxpool.Pool and *pgx.Conn satisfy it.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Read runs the queries of b in tenantID in one round trip: PostgreSQL runs the statements of
// one pipeline (up to its Sync) as one implicit transaction, so app.tenant_id, set first and
// local to that transaction, holds for every query of b and for nothing after. The queries'
// callbacks (QueuedQuery.Query, QueryRow, Exec) read the results; the first error stops the
// rest. For reads on a hot path: writes belong in InTenant.
func Read(ctx context.Context, db Batcher, tenantID uuid.UUID, b *pgx.Batch) error {
	if tenantID == uuid.Nil {
		return errors.New("read in tenant: no tenant")
	}
	full := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(b.QueuedQueries)+1)}
	full.Queue("SELECT set_config('app.tenant_id', $1, true)", tenantID.String())
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	return mapError(db.SendBatch(ctx, full).Close())
}

func mapError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w: %w", apperr.New(apperr.ECONFLICT, "error.conflict"), err)
		case "22001", "22007", "22008": // string_data_right_truncation, invalid_datetime_format, datetime_field_overflow
			return fmt.Errorf("%w: %w", apperr.New(apperr.EINVALID, "error.invalid"), err)
		}
	}
	return err
}

// IsNoRows reports whether err means a query found no row.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// Querier runs queries: pgx.Tx and *pgxpool.Pool satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// FindAll runs a query and scans every row's columns by position into a T, in the query's order;
// no row is an empty list. what names the things sought in errors.
func FindAll[T any](ctx context.Context, q Querier, what, sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", what, err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", what, err)
	}
	return list, nil
}

// FindOne runs a query that selects one row and scans its columns by position into a T. No row
// is ENOTFOUND; what names the thing sought in other errors.
func FindOne[T any](ctx context.Context, q Querier, what, sql string, args ...any) (T, error) {
	var zero T
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return zero, fmt.Errorf("find %s: %w", what, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[T])
	if IsNoRows(err) {
		return zero, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return zero, fmt.Errorf("find %s: %w", what, err)
	}
	return v, nil
}

// Analyze gathers the planner's statistics for every table of the database behind ownerURL, as
// its owner (the application role may not). Run it after a bulk load: without autovacuum (or
// before it comes round) the planner guesses the sizes of tables it has no statistics for, and
// a list of 100,000 employees was then 35 times slower. The tables named in vacuum are vacuumed
// first: a table whose index is meant to answer without its rows (an index-only scan) needs
// the visibility map VACUUM sets, and autovacuum may be off or not yet come round.
func Analyze(ctx context.Context, ownerURL string, vacuum ...string) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer conn.Close(ctx)
	for _, t := range vacuum {
		if _, err := conn.Exec(ctx, "VACUUM "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// TableRows is a table and about how many rows it holds.
type TableRows struct {
	Table string
	Rows  int64
}

// MissingStatistics lists the tables with at least minRows rows that were never analysed, by
// hand or by autovacuum: the planner guesses their sizes, which makes lists slow.
func MissingStatistics(ctx context.Context, q Querier, minRows int64) ([]TableRows, error) {
	return FindAll[TableRows](ctx, q, "tables without statistics", `SELECT relname::text, n_live_tup FROM pg_stat_user_tables
		WHERE n_live_tup >= $1 AND last_analyze IS NULL AND last_autoanalyze IS NULL ORDER BY n_live_tup DESC, relname`, minRows)
}
