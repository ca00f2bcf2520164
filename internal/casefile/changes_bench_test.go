package casefile

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/org"
)

// BenchmarkReadChanges1M reads 1,000,000 recorded changes of one tenant (another tenant's
// changes interleaved in the same table) from the zero watermark to the end, one transaction
// per page, and reports rows/s per page size. Run it with
//
//	go test -run '^$' -bench ReadChanges -benchtime 1x ./internal/casefile/
func BenchmarkReadChanges1M(b *testing.B) {
	const (
		total = 1_000_000
		perTx = 10_000 // rows per filling transaction: 100 transaction ids, as many writers would leave
		noise = 10     // rows another tenant writes per filling transaction
	)
	ctx := context.Background()
	db := dbtest.New(b)
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbo Meting", false)
	if err != nil {
		b.Fatal(err)
	}
	other, err := org.CreateTenant(ctx, db.Pool, "Arbo Ruis", false)
	if err != nil {
		b.Fatal(err)
	}
	// The rows go straight into changes, as the trigger would write them, inside the tenant's
	// transaction so row-level security lets them in.
	insert := `INSERT INTO changes (tenant_id, entity, row_id, op, employee_id, employer_id)
		SELECT app_tenant(),
			(ARRAY['absences', 'absence_percentages', 'reports', 'decisions', 'employees'])[1 + g % 5],
			gen_random_uuid(), (ARRAY['insert', 'update', 'delete'])[1 + g % 3],
			gen_random_uuid(), $2::uuid
		FROM generate_series(1, $1::int) g`
	start := time.Now()
	employer := uuid.New()
	for done := 0; done < total; done += perTx {
		for _, w := range []struct {
			tenant uuid.UUID
			rows   int
		}{{tenant.ID, perTx}, {other.ID, noise}} {
			err := database.InTenant(ctx, db.Pool, w.tenant, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, insert, w.rows, employer)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, "VACUUM ANALYZE changes"); err != nil {
		b.Fatal(err)
	}
	owner.Close(ctx)
	// Wait until every filling transaction is below the bound: another test's transaction, open
	// anywhere on the server, holds it back.
	var last uint64
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		var bound uint64
		err := database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) (err error) {
			if last == 0 {
				var s string
				if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&s); err != nil {
					return err
				}
				last, err = strconv.ParseUint(s, 10, 64)
				return err
			}
			bound, err = SafeUpperBound(ctx, tx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if bound > last {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("safe upper bound stays at %d, below the filling transactions", bound)
		}
	}
	b.Logf("filled %d changes (+%d of another tenant) in %v", total, total/perTx*noise, time.Since(start).Round(time.Millisecond))

	// The plan of a page from the middle of the stream, as the application role sees it.
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) error {
		var mid string
		var seq int64
		if err := tx.QueryRow(ctx, "SELECT xid::text, seq FROM changes ORDER BY xid, seq OFFSET $1 LIMIT 1", total/2).Scan(&mid, &seq); err != nil {
			return err
		}
		for _, q := range []struct {
			name string
			sql  string
			args []any
		}{
			{"all entities", changesQuery(filterNone), []any{mid, seq, 10_000}},
			{"one entity", changesQuery(filterOne), []any{mid, seq, 10_000, "absences"}},
			{"two entities", changesQuery(filterAny), []any{mid, seq, 10_000, []string{"absences", "reports"}}},
		} {
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql, q.args...)
			if err != nil {
				return err
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			b.Logf("plan, %s:\n%s", q.name, strings.Join(plan, "\n"))
			// The page must come straight off the primary key, watermark and bound as index
			// conditions, with no sort of the rest of the history.
			text := strings.Join(plan, "\n")
			index := map[string]string{"all entities": "changes_pkey", "one entity": "changes_entity"}[q.name]
			if index != "" && (!strings.Contains(text, "Index Scan using "+index) ||
				!strings.Contains(text, "ROW(xid, seq) >") || strings.Contains(text, "Sort")) {
				b.Errorf("%s: the read does not walk %s from the watermark", q.name, index)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	for _, r := range []struct {
		limit    int
		entities []string
		want     int
	}{
		{10_000, nil, total},
		{1_000, nil, total},
		{10_000, []string{"absences"}, total / 5},
	} {
		name := fmt.Sprintf("Page%d", r.limit)
		if r.entities != nil {
			name += "OneEntity"
		}
		b.Run(name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				var w Watermark
				for {
					var page []Change
					err := database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) (err error) {
						page, w, err = ReadChanges(ctx, tx, w, r.entities, r.limit)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					rows += len(page)
				}
			}
			if rows != r.want*b.N {
				b.Fatalf("read %d changes, want %d", rows, r.want*b.N)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
