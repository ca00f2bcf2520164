package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/benchtest"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/server"
)

// exportPageRounds is how many times each page is fetched; the median is reported.
const exportPageRounds = 50

// BenchmarkExportPage renders an employee's export page with 200 past exports (issue 16:
// ≤ 50 ms), 150 of them deleted by expiry, over HTTP as the administrator; the baseline in the
// same run is the same employee's dossier overview page. Each figure is the median of
// exportPageRounds fetches.
//
//	go test -run '^$' -bench ExportPage -benchtime 1x ./internal/server/
func BenchmarkExportPage(b *testing.B) {
	ctx := context.Background()
	db := dbtest.New(b)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 10})
	if err != nil {
		b.Fatal(err)
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	sender, err := mail.NewSender("", "", db.Pool)
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	s := server.New(server.Options{Pool: db.Pool, River: rc, Mail: sender, Logger: discard, Blobs: blobs, MaxUploadSize: 1 << 20})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)

	var employee uuid.UUID
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT id FROM employees ORDER BY id LIMIT 1").Scan(&employee); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO employee_exports (tenant_id, employee_id, employer_id, requested_by, reason, status,
				sections_done, sections_total, rows_done, medical, xlsx_size, xlsx_sha256, json_size, json_sha256,
				created_at, finished_at, expires_at, deleted_at)
			SELECT app_tenant(), e.id, e.employer_id, u.id, 'Verzoek ' || i, 'done', 15, 15, 1000 + i, true,
				100000 + i, repeat('a', 64), 200000 + i, repeat('b', 64),
				now() - i * interval '1 hour', now() - i * interval '1 hour' + interval '5 seconds',
				now() - i * interval '1 hour' + interval '24 hours',
				CASE WHEN i > 50 THEN now() - i * interval '1 hour' + interval '24 hours' END
			FROM employees e, users u, generate_series(1, 200) i
			WHERE e.id = $1 AND u.email = $2`, employee, adminEmail)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	c := benchLogin(b, srv, nil, adminEmail, demo.Password)

	median := func(path, mustContain string) time.Duration {
		b.Helper()
		var took []time.Duration
		for range exportPageRounds {
			start := time.Now()
			body, err := benchGet(c, srv.URL+path)
			took = append(took, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			if !strings.Contains(string(body), mustContain) {
				b.Fatalf("%s: the page lacks %s", path, mustContain)
			}
		}
		slices.Sort(took)
		return took[len(took)/2]
	}
	for range b.N {
		page := median("/employees/"+employee.String()+"/exports", `id="deleted-exports"`)
		overview := median("/employees/"+employee.String(), `id="employee-name"`)
		b.ReportMetric(float64(page.Microseconds())/1000, "ms/export_page")
		b.ReportMetric(float64(overview.Microseconds())/1000, "ms/overview_baseline")
		b.Logf("export page with 200 exports: median %s; dossier overview (baseline): median %s; load %s",
			page.Round(10*time.Microsecond), overview.Round(10*time.Microsecond), benchtest.LoadAverage())
	}
}
