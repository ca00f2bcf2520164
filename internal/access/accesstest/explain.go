package accesstest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dossierkast/dossierkast/internal/database"
)

// Plan is one statement the engine sent and how PostgreSQL ran it.
type Plan struct {
	SQL string
	// Used is the plan PostgreSQL used when the application ran the statement (a prepared
	// statement, as pgx sends it, after warm-up runs), from auto_explain with ANALYZE, with the
	// plans of the statements it ran inside functions first.
	Used string
	// Explained is EXPLAIN (ANALYZE, BUFFERS) of the statement with the same arguments, which
	// also shows planning time.
	Explained string
	// GenericPlans and CustomPlans count how often the connection's prepared statement ran a
	// generic plan or planned anew with the arguments' values (pg_prepared_statements).
	GenericPlans, CustomPlans int64
}

func (p Plan) String() string {
	return fmt.Sprintf("%s\n-- prepared statement: %d generic plans, %d custom plans\n"+
		"-- plan used by the prepared statement (auto_explain):\n%s\n-- EXPLAIN (ANALYZE, BUFFERS):\n%s",
		strings.TrimSpace(p.SQL), p.GenericPlans, p.CustomPlans, strings.TrimSpace(p.Used), strings.TrimSpace(p.Explained))
}

// recorder remembers the statements a connection sends while on, and the notices that arrive.
type recorder struct {
	mu      sync.Mutex
	on      bool
	notices []string
	queries []recorded
	// batchFrom is the first notice of the batch statement whose results come next.
	batchFrom int
}

type recorded struct {
	sql  string
	args []any
	from int // the first notice that arrived after it started
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.queries = append(r.queries, recorded{sql: data.SQL, args: data.Args, from: len(r.notices)})
	}
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart marks where the notices of a batch's first statement begin. The statements
// of a batch run one after the other, so each one's notices begin where the previous one's
// results were read (TraceBatchQuery).
func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batchFrom = len(r.notices)
	return ctx
}

func (r *recorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.queries = append(r.queries, recorded{sql: data.SQL, args: data.Args, from: r.batchFrom})
	}
	r.batchFrom = len(r.notices)
}

func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// used returns the auto_explain plans of q: its own, which PostgreSQL may send only while the
// next statement runs (when the portal closes), preceded by those of the statements it ran
// inside functions, which arrive after q started and before its own.
func (r *recorder) used(q recorded) string {
	own := "Query Text: " + q.sql + "\n"
	known := func(n string) bool {
		return slices.ContainsFunc(r.queries, func(o recorded) bool { return strings.Contains(n, "Query Text: "+o.sql+"\n") })
	}
	var plans []string
	for _, n := range r.notices[q.from:] {
		if strings.Contains(n, own) {
			return strings.Join(append(plans, n), "\n")
		}
		if !known(n) {
			plans = append(plans, n)
		}
	}
	return ""
}

func (r *recorder) notice(_ *pgconn.PgConn, n *pgconn.Notice) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.notices = append(r.notices, n.Message)
	}
}

func (r *recorder) switchOn(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = on
}

// Plans runs fn warm times and once more in tenant, as the application role on a connection of
// its own, and returns, for each statement of the last run whose text contains one of marks,
// the plan PostgreSQL used and an EXPLAIN ANALYZE of it. ownerURL must log in as a superuser
// (auto_explain is loaded per session).
func Plans(ctx context.Context, ownerURL string, tenant uuid.UUID, warm int, marks []string, fn func(tx pgx.Tx) error) ([]Plan, error) {
	cfg, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	cfg.Tracer = rec
	cfg.OnNotice = rec.notice
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	for _, s := range []string{"LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
		"SET auto_explain.log_analyze = on", "SET auto_explain.log_buffers = on", "SET auto_explain.log_level = notice",
		"SET auto_explain.log_nested_statements = on",
		"SET ROLE " + database.AppRole} {
		if _, err := conn.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	for range warm {
		if err := database.InTenant(ctx, conn, tenant, fn); err != nil {
			return nil, err
		}
	}
	rec.switchOn(true)
	err = database.InTenant(ctx, conn, tenant, fn)
	rec.switchOn(false)
	if err != nil {
		return nil, err
	}
	marked := func(sql string) bool {
		for _, m := range marks {
			if strings.Contains(sql, m) {
				return true
			}
		}
		return false
	}
	type counts struct{ generic, custom int64 }
	prepared := map[string]counts{}
	rows, err := conn.Query(ctx, "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
	if err != nil {
		return nil, err
	}
	var stmt string
	var c counts
	if _, err := pgx.ForEachRow(rows, []any{&stmt, &c.generic, &c.custom}, func() error {
		prepared[stmt] = c
		return nil
	}); err != nil {
		return nil, err
	}
	var plans []Plan
	for _, q := range rec.queries {
		if !marked(q.sql) {
			continue
		}
		p := Plan{SQL: q.sql, Used: rec.used(q), GenericPlans: prepared[q.sql].generic, CustomPlans: prepared[q.sql].custom}
		err := database.InTenant(ctx, conn, tenant, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql, q.args...)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			p.Explained = strings.Join(lines, "\n")
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", q.sql, err)
		}
		plans = append(plans, p)
	}
	return plans, nil
}

var (
	planningRE  = regexp.MustCompile(`Planning Time: ([0-9.]+) ms`)
	executionRE = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)
	indexRE     = regexp.MustCompile(`(?:Index|Index Only|Bitmap Index) Scan (?:Backward )?(?:using|on) (\w+)`)
	seqRE       = regexp.MustCompile(`Seq Scan on (\w+)`)
)

// Summary is one line: the statement's start, its planning and execution time from EXPLAIN
// ANALYZE, and the indexes and sequential scans of the plan it used.
func (p Plan) Summary() string {
	sql := strings.Join(strings.Fields(p.SQL), " ")
	if len(sql) > 70 {
		sql = sql[:70] + "…"
	}
	find := func(re *regexp.Regexp, s string) []string {
		var out []string
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		return out
	}
	at := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(p.Explained); m != nil {
			return m[1]
		}
		return "?"
	}
	return fmt.Sprintf("%s — planning %s ms, execution %s ms; prepared: %d generic, %d custom plans; indexes %v; sequential scans %v",
		sql, at(planningRE), at(executionRE), p.GenericPlans, p.CustomPlans, find(indexRE, p.Used), find(seqRE, p.Used))
}
