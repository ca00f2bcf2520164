package access_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/access/accesstest"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/org"
)

// The figures of issue 3's "Speed" at the engine's level, on one tenant of 100,000 employees
// (accesstest.Load): a single can_see check, the employee list's first page with its total,
// and that list under 20 concurrent clients. The figures come from the benchmark's own loops;
// b.N does not matter (make bench runs it once).
const (
	canSeeCalls     = 2_000
	listCalls       = 300
	concurrent      = 20
	concurrentCalls = 2_000
)

func BenchmarkEngine100k(b *testing.B) {
	ctx := context.Background()
	ds := accesstest.Load(b)
	var p access.Principal
	err := database.InTenant(ctx, ds.DB.Pool, ds.TenantID, func(tx pgx.Tx) (err error) {
		_, p, err = org.LoadPrincipal(ctx, tx, ds.TenantID, ds.UserID)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	list := func(tx pgx.Tx) (int, int, error) {
		page, total, err := org.FindEmployees(ctx, tx, org.EmployeeFilter{Viewer: p, Limit: 50})
		return len(page), total, err
	}

	b.Run("CanSee", func(b *testing.B) {
		// A mix of employees visible by department and by link, blacklisted ones and ones of
		// departments he is not linked to, each in a transaction of its own as a request has.
		type probe struct {
			id   uuid.UUID
			want apperr.Code // "" when visible
		}
		var probes []probe
		for i := range canSeeCalls {
			switch i % 4 {
			case 0:
				probes = append(probes, probe{ds.ViaDepartment[i/4%len(ds.ViaDepartment)], ""})
			case 1:
				probes = append(probes, probe{ds.ViaLink[i/4%len(ds.ViaLink)], ""})
			case 2:
				probes = append(probes, probe{ds.Blacklisted[i/4%len(ds.Blacklisted)], apperr.ENOTFOUND})
			case 3:
				probes = append(probes, probe{ds.Unlinked[i/4%len(ds.Unlinked)], apperr.ENOTFOUND})
			}
		}
		var whole, call accesstest.Latencies
		for range b.N {
			whole, call = whole[:0], call[:0]
			for _, pr := range probes {
				start := time.Now()
				var in time.Duration
				err := database.InTenant(ctx, ds.DB.Pool, ds.TenantID, func(tx pgx.Tx) error {
					s := time.Now()
					err := access.CanSeeEmployee(ctx, tx, p, pr.id)
					in = time.Since(s)
					return err
				})
				whole, call = append(whole, time.Since(start)), append(call, in)
				if (pr.want == "" && err != nil) || (pr.want != "" && apperr.CodeOf(err) != pr.want) {
					b.Fatalf("CanSeeEmployee(%s) = %v, want %q", pr.id, err, pr.want)
				}
			}
		}
		// For comparison: the round trip of a query that does nothing, in the same kind of
		// transaction, as many times: the floor that the machine's load puts under call-p99.
		var trip accesstest.Latencies
		for range canSeeCalls {
			err := database.InTenant(ctx, ds.DB.Pool, ds.TenantID, func(tx pgx.Tx) error {
				s := time.Now()
				var one int
				err := tx.QueryRow(ctx, "SELECT 1").Scan(&one)
				trip = append(trip, time.Since(s))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(call.Mean().Nanoseconds()), "ns/op")
		call.Report(b, "call-")
		whole.Report(b, "tx-")
		trip.Report(b, "select1-")
		b.Logf("can_see: %d checks, each in a transaction of its own on a pool of %d connections; call- is the check's "+
			"statement alone, tx- the whole transaction (begin, tenant, check, commit), select1- a SELECT 1 in its place",
			len(call), ds.DB.Pool.Config().MaxConns)
	})

	b.Run("EmployeeListPage", func(b *testing.B) {
		var lat accesstest.Latencies
		for range b.N {
			lat = lat[:0]
			for range listCalls {
				start := time.Now()
				var n, total int
				err := database.InTenant(ctx, ds.DB.Pool, ds.TenantID, func(tx pgx.Tx) (err error) {
					n, total, err = list(tx)
					return err
				})
				lat = append(lat, time.Since(start))
				if err != nil || n != 50 || total != ds.Visible {
					b.Fatalf("FindEmployees: %d rows, total %d, err %v; want 50 of %d", n, total, err, ds.Visible)
				}
			}
		}
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
	})

	b.Run("EmployeeListConcurrent20", func(b *testing.B) {
		var lat accesstest.Latencies
		var elapsed time.Duration
		for range b.N {
			lat = make(accesstest.Latencies, concurrentCalls)
			var wg sync.WaitGroup
			var failed sync.Once
			next := make(chan int, concurrentCalls)
			for i := range concurrentCalls {
				next <- i
			}
			close(next)
			start := time.Now()
			for range concurrent {
				wg.Go(func() {
					for i := range next {
						s := time.Now()
						var total int
						err := database.InTenant(ctx, ds.DB.Pool, ds.TenantID, func(tx pgx.Tx) (err error) {
							_, total, err = list(tx)
							return err
						})
						lat[i] = time.Since(s)
						if err != nil || total != ds.Visible {
							failed.Do(func() { b.Errorf("FindEmployees: total %d, err %v", total, err) })
						}
					}
				})
			}
			wg.Wait()
			elapsed = time.Since(start)
		}
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
		b.ReportMetric(float64(concurrentCalls)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(ds.DB.Pool.Config().MaxConns), "pool-conns")
	})

	b.Run("Plans", func(b *testing.B) {
		// The plans of the user's facts, the list page (the count and the page) and can_see,
		// to show that they use indexes: summaries in the log, whole plans on standard output
		// (the benchmark log keeps only ten lines). No figures.
		b.Logf("dataset: %d employees in %d departments, the user sees %d; loaded in %v",
			ds.Employees, accesstest.Departments, ds.Visible, ds.LoadTime.Round(time.Millisecond))
		for range b.N {
			plans, err := accesstest.Plans(ctx, ds.DB.OwnerURL, ds.TenantID, 10, []string{"visible_", "access_facts", "can_see_employee"}, func(tx pgx.Tx) error {
				if _, _, err := org.LoadPrincipal(ctx, tx, ds.TenantID, ds.UserID); err != nil {
					return err
				}
				if _, _, err := list(tx); err != nil {
					return err
				}
				return access.CanSeeEmployee(ctx, tx, p, ds.ViaDepartment[0])
			})
			if err != nil {
				b.Fatal(err)
			}
			// The whole plans go to standard output: the benchmark log keeps only ten lines.
			for _, pl := range plans {
				b.Log(pl.Summary())
				fmt.Printf("\n=== plan (BenchmarkEngine100k)\n%s\n", pl)
			}
		}
		b.ReportMetric(0, "ns/op")
	})
}
