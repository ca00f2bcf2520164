package stream_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/benchtest"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
)

// BenchmarkWerknemers1M delivers the demo tenant with one employee in full, tops it up to
// 1,000,001 employees (1,000,000 recorded inserts) and measures, in the same run:
//   - copy: `COPY (SELECT …) TO STDOUT (FORMAT csv)` of the werknemers delivery's own query
//     into a local file — the baseline;
//   - full_unrecorded / full / full_pseudonymised: a full delivery of the werknemers stream (all
//     columns) to a local folder without and then with the record of the employees it carried
//     (datastream_run_employees, what a run that is not pseudonymised writes); then
//     pseudonymised (which records nobody); each rate as a ratio of the baseline's and the growth
//     of the process's peak resident set during it;
//   - full_openssh: the same full delivery (recording its employees) to OpenSSH's sshd on
//     loopback through the external transport (.part, concurrent writes, rename), connection
//     included;
//   - window_read: the read of the 1,000,000 changes since the first delivery, the last per
//     row, into the process (what an increment reads of the change tracking);
//   - incremental: the incremental delivery since the first one, which carries them (and records
//     their million employees).
//
// Run it with
//
//	go test -run '^$' -bench Werknemers1M -benchtime 1x ./internal/datastream/stream/
func BenchmarkWerknemers1M(b *testing.B) {
	const total = 1_000_000
	ctx := context.Background()
	db := dbtest.New(b)
	dir := b.TempDir()
	folder, err := stream.OpenFolder(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer folder.Close()
	srv := sshdtest.Start(b)
	ext := datastream.ExternalConfig{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password, HostKey: srv.HostKey,
		BaseDir: srv.Root}
	cfg := stream.Config{Folder: "bench", Version: stream.V2, Streams: []string{"werknemers"}}
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 1})
	if err != nil {
		b.Fatal(err)
	}
	started := time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)
	first, err := stream.Deliver(ctx, db.Pool, res.TenantID, folder, cfg, stream.Request{Mode: stream.ModeFull, Started: started})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := demo.Load(ctx, db.Pool, demo.Options{Employees: total + 1}); err != nil {
		b.Fatal(err)
	}
	if err := database.Analyze(ctx, db.OwnerURL); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d employees in %v", total, time.Since(start).Round(time.Second))

	for range b.N {
		// The baseline: PostgreSQL's own CSV of the same query, into a file.
		query, err := stream.FullQuery(cfg)
		if err != nil {
			b.Fatal(err)
		}
		file, err := os.Create(filepath.Join(dir, "copy.csv"))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(file, 256<<10)
		copyStart := time.Now()
		err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			tag, err := tx.Conn().PgConn().CopyTo(ctx, w, "COPY ("+query+") TO STDOUT (FORMAT csv)")
			if err == nil && tag.RowsAffected() != total+1 {
				b.Fatalf("COPY wrote %d rows, want %d", tag.RowsAffected(), total+1)
			}
			return err
		})
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = file.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		copyTime := time.Since(copyStart)
		copyRate := total / copyTime.Seconds()
		b.ReportMetric(copyRate, "copy_rows/s")

		for _, run := range []struct {
			name   string
			pseudo bool
			record bool
			sftp   bool
		}{{"full_unrecorded", false, false, false}, {"full", false, true, false}, {"full_pseudonymised", true, true, false},
			{"full_openssh", false, true, true}} {
			c := cfg
			if run.pseudo {
				c.Pseudonymised, c.Key, c.KeyVersion = true, []byte(strings.Repeat("k", 32)), 1
			}
			req := stream.Request{Mode: stream.ModeFull}
			if run.record {
				req.RunID = uuid.New()
			}
			base := benchtest.ResetPeakRSS(b)
			t0, cpu := time.Now(), benchtest.CPUTime()
			started = started.Add(time.Hour)
			req.Started = started
			var tr datastream.Transport = folder
			if run.sftp {
				e, err := datastream.DialExternal(ctx, ext)
				if err != nil {
					b.Fatal(err)
				}
				tr = e
			}
			r, err := stream.Deliver(ctx, db.Pool, res.TenantID, tr, c, req)
			if err != nil {
				b.Fatal(err)
			}
			if e, ok := tr.(*datastream.External); ok {
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				if info, err := os.Stat(srv.Path(srv.Root + "/" + r.Dir + "/werknemers.csv")); err != nil || info.Size() != r.Manifest.Files[0].Bytes {
					b.Fatalf("%s: werknemers.csv on the server: %v, want %d bytes", run.name, err, r.Manifest.Files[0].Bytes)
				}
			}
			if want := map[bool]int64{true: total + 1}[run.record && !run.pseudo]; r.Employees != want {
				b.Fatalf("%s recorded %d employees, want %d", run.name, r.Employees, want)
			}
			elapsed, used := time.Since(t0), benchtest.CPUTime()-cpu
			if n := r.Manifest.Files[0].Rows.Insert; n != total+1 {
				b.Fatalf("%s delivered %d rows, want %d", run.name, n, total+1)
			}
			rate := total / elapsed.Seconds()
			growth := benchtest.PeakRSS(b) - base
			b.ReportMetric(rate, run.name+"_rows/s")
			b.ReportMetric(rate/copyRate, run.name+"_vs_copy")
			b.ReportMetric(growth, run.name+"_RSS_growth_MB")
			b.Logf("%s: %v (CPU %v, %.0f MB) vs COPY %v: %.2f× COPY's rate; peak RSS growth %.1f MB; load %s", run.name,
				elapsed.Round(time.Millisecond), used.Round(time.Millisecond), float64(r.Manifest.Files[0].Bytes)/1e6,
				copyTime.Round(time.Millisecond), rate/copyRate, growth, benchtest.LoadAverage())
		}

		// The change read alone: the window since the first delivery, in its own snapshot.
		window, args, q, qargs, err := stream.IncrementalQueries(cfg, first.Position, "employees")
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		read := 0
		err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT set_config('work_mem', '128MB', true)"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "SELECT row_id::text, op, at FROM ("+window+") w", args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				_ = rows.RawValues()
				read++
			}
			return rows.Err()
		})
		if err != nil {
			b.Fatal(err)
		}
		if read != total {
			b.Fatalf("window read %d changes, want %d", read, total)
		}
		b.ReportMetric(total/time.Since(t0).Seconds(), "window_read_rows/s")
		b.Logf("window read: %d changes in %v, %.0f rows/s", total, time.Since(t0).Round(time.Millisecond), total/time.Since(t0).Seconds())

		base := benchtest.ResetPeakRSS(b)
		t0 = time.Now()
		r, err := stream.Deliver(ctx, db.Pool, res.TenantID, folder, cfg, stream.Request{Mode: stream.ModeIncremental, From: first.Position,
			Started: started.Add(time.Hour), RunID: uuid.New()})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(t0)
		if n := r.Manifest.Files[0].Rows.Insert; n != total || r.Employees != total {
			b.Fatalf("incremental delivered %d inserts and recorded %d employees, want %d", n, r.Employees, total)
		}
		b.ReportMetric(total/elapsed.Seconds(), "incremental_rows/s")
		b.Logf("incremental: %d mutations in %v, %.0f rows/s; peak RSS growth %.1f MB; load %s", total,
			elapsed.Round(time.Millisecond), total/elapsed.Seconds(), benchtest.PeakRSS(b)-base, benchtest.LoadAverage())
		// What the record of carried employees costs on disk: two full deliveries' and one
		// increment's, a million employees each.
		var ids, chunks, size int64
		err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT coalesce(sum(cardinality(employee_ids)), 0), count(*), pg_total_relation_size('datastream_run_employees')
				FROM datastream_run_employees`).Scan(&ids, &chunks, &size)
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size)/float64(ids), "recorded_bytes/employee")
		b.Logf("datastream_run_employees: %d employee ids in %d rows, %.1f MB with its index (%.1f bytes per employee)",
			ids, chunks, float64(size)/1e6, float64(size)/float64(ids))
		// The plan of the increment's read, as the delivery ran it (same snapshot positions).
		err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT set_config('work_mem', '128MB', true)"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q, qargs...)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			b.Logf("plan of the incremental read:\n%s", strings.Join(lines, "\n"))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
