package export_test

import (
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/benchtest"
	"github.com/dossierkast/dossierkast/internal/export"
)

// largeDossier gives the fixture's employee the large dossier: 10,000 reports, 2,000
// absences with two percentages each, and 20,000 audit events; then ANALYZE.
func (f *fixture) largeDossier(b *testing.B, author any) {
	b.Helper()
	e, r := f.employee.ID, f.employer.ID
	f.exec(b, `INSERT INTO reports (tenant_id, employee_id, employer_id, author_id, body, expertise, hidden, medical, created_at)
		SELECT app_tenant(), $1, $2, $3, 'Gesprek ' || i || ': ' || repeat('De werknemer geeft aan dat het herstel voorspoedig verloopt. ', 4),
			(ARRAY['bedrijfsarts', 'casemanager', 'werkgever', 'arbeidsdeskundige'])[1 + i % 4], i % 7 = 0, i % 5 = 0,
			now() - i * interval '1 hour'
		FROM generate_series(1, 10000) i`, e, r, author)
	f.exec(b, `INSERT INTO absences (tenant_id, id, employee_id, employer_id, first_sick_day, recovery_date, cause, notes)
		SELECT app_tenant(), ('00000000-0000-7000-8000-' || lpad(i::text, 12, '0'))::uuid, $1, $2,
			date '2000-01-01' + i * 4, date '2000-01-01' + i * 4 + 3, 'disease', 'Griep'
		FROM generate_series(1, 2000) i`, e, r)
	f.exec(b, `INSERT INTO absence_percentages (tenant_id, absence_id, employee_id, employer_id, from_date, percentage)
		SELECT app_tenant(), a.id, $1, $2, a.first_sick_day + d, 100 - d * 50
		FROM absences a, generate_series(0, 1) d WHERE a.employee_id = $1`, e, r)
	f.exec(b, `INSERT INTO audit_events (tenant_id, user_id, action, subject_type, employee_id, at)
		SELECT app_tenant(), $2, 'employee.viewed', 'employee', $1, now() - i * interval '1 minute' FROM generate_series(1, 20000) i`, e, author)
	if _, err := f.db.Pool.Exec(f.ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkExportLargeDossier exports (both files, stored and read back) an employee with
// 10,000 reports, 2,000 absences with their percentages and 20,000 audit events, and reports
// the time and the process's peak RSS growth (issue 16: ≤ 3 s, ≤ 60 MB). The baseline, in the
// same run, reads the same rows of the four large tables with COPY into io.Discard: the least
// any export of them must do.
//
//	go test -run '^$' -bench ExportLargeDossier -benchtime 1x ./internal/export/
func BenchmarkExportLargeDossier(b *testing.B) {
	f := setup(b)
	u := f.user(b, access.KindProvider, "Bench", append(exportRights, access.MedicalView)...)
	f.largeDossier(b, u)
	for range b.N {
		x := f.request(b, u, "")
		base := benchtest.ResetPeakRSS(b)
		live := benchtest.WatchLiveHeap()
		start, cpu := time.Now(), benchtest.CPUTime()
		if err := f.work(f.worker, x, 1); err != nil {
			b.Fatal(err)
		}
		took, cpuTook := time.Since(start), benchtest.CPUTime()-cpu
		growth, heap := benchtest.PeakRSS(b)-base, live()/1e6
		x = f.find(b, x.ID)
		if x.Status != export.StatusDone {
			b.Fatalf("export: %s (%s)", x.Status, x.Error)
		}

		bstart := time.Now()
		f.inTenant(b, func(tx pgx.Tx) error {
			id := f.employee.ID.String()
			for _, q := range []string{
				"COPY (SELECT * FROM reports WHERE employee_id = '" + id + "') TO STDOUT",
				"COPY (SELECT * FROM absences WHERE employee_id = '" + id + "') TO STDOUT",
				"COPY (SELECT * FROM absence_percentages WHERE employee_id = '" + id + "') TO STDOUT",
				"COPY (SELECT * FROM audit_events WHERE employee_id = '" + id + "') TO STDOUT",
			} {
				if _, err := tx.Conn().PgConn().CopyTo(f.ctx, io.Discard, q); err != nil {
					return err
				}
			}
			return nil
		})
		baseline := time.Since(bstart)
		b.ReportMetric(took.Seconds(), "s/export")
		b.ReportMetric(cpuTook.Seconds(), "cpu_s/export")
		b.ReportMetric(growth, "peak_RSS_growth_MB")
		b.ReportMetric(heap, "peak_live_heap_MB")
		b.ReportMetric(float64(x.XLSXSize)/1e6, "xlsx_MB")
		b.ReportMetric(float64(x.JSONSize)/1e6, "json_MB")
		b.ReportMetric(baseline.Seconds(), "baseline_copy_s")
		b.Logf("export of %d rows: %s (cpu %s), peak RSS growth %.1f MB (from %.1f MB; live heap at most %.1f MB), xlsx %.1f MB, json %.1f MB; "+
			"baseline COPY of the same tables %s; load %s", x.RowsDone, took.Round(time.Millisecond), cpuTook.Round(time.Millisecond),
			growth, base, heap, float64(x.XLSXSize)/1e6, float64(x.JSONSize)/1e6, baseline.Round(time.Millisecond), benchtest.LoadAverage())
	}
}
