package bundle_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// bulkDossier fills the fixture's employer with employees × perEmployee documents of size
// bytes each (PDF-like, incompressible, each different), writing blobs straight to the store and
// rows with COPY. It returns the documents' storage keys.
func (f *fixture) bulkDossier(b *testing.B, employees, perEmployee, size int) []string {
	b.Helper()
	list := make([]org.Employee, employees)
	for i := range list {
		list[i] = org.Employee{ID: uuid.Must(uuid.NewV7()), EmployerID: f.employer.ID, PersonnelNumber: strconv.Itoa(100000 + i),
			FirstName: "Jan", LastName: "Medewerker " + strconv.Itoa(i)}
	}
	content := make([]byte, size)
	rand.Read(content)
	copy(content, "%PDF-1.7\n")
	type row struct {
		id, employee uuid.UUID
		key, sha     string
	}
	rows := make([]row, 0, employees*perEmployee)
	for _, e := range list {
		for range perEmployee {
			id := uuid.Must(uuid.NewV7())
			key := document.StorageKey(f.tenant, id)
			binary.BigEndian.PutUint64(content[9:], uint64(len(rows))) // every document different
			w, err := f.blobs.NewWriter(f.ctx, key, "application/pdf")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(content); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(content)
			rows = append(rows, row{id: id, employee: e.ID, key: key, sha: hex.EncodeToString(sum[:])})
		}
	}
	f.inTenant(b, func(tx pgx.Tx) error {
		if _, err := org.CopyEmployees(f.ctx, tx, list); err != nil {
			return err
		}
		if _, err := tx.Exec(f.ctx, `CREATE TEMPORARY TABLE documents_copy ON COMMIT DROP AS
			SELECT id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256 FROM documents WITH NO DATA`); err != nil {
			return err
		}
		i := 0
		_, err := tx.CopyFrom(f.ctx, pgx.Identifier{"documents_copy"},
			[]string{"id", "employer_id", "employee_id", "category_id", "file_name", "storage_key", "size", "content_type", "sha256"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == len(rows) {
					return nil, nil
				}
				r := rows[i]
				i++
				return []any{r.id, f.employer.ID, r.employee, f.catEmployee.ID, "brief-" + strconv.Itoa(i) + ".pdf", r.key, int64(size),
					"application/pdf", r.sha}, nil
			}))
		if err != nil {
			return err
		}
		_, err = tx.Exec(f.ctx, `INSERT INTO documents (tenant_id, id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256)
			SELECT app_tenant(), id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256 FROM documents_copy`)
		return err
	})
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	return keys
}

// resetPeakRSS returns unused memory to the system and resets the process's peak resident set
// size (VmHWM; Linux: writing 5 to clear_refs), so peakRSS measures from here. It returns the
// resident set size now, the baseline.
func resetPeakRSS(b *testing.B) float64 {
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
	return procStatus(b, "VmRSS:")
}

// peakRSS is the process's peak resident set size in MB since the last reset.
func peakRSS(b *testing.B) float64 { return procStatus(b, "VmHWM:") }

// procStatus reads a size in kB from /proc/self/status, in MB.
func procStatus(b *testing.B, field string) float64 {
	file, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// concatCopy copies every blob into one new blob, one after the other: the same reads and the
// same single sequential write a bundle makes, without the archive.
func (f *fixture) concatCopy(b *testing.B, keys []string) time.Duration {
	b.Helper()
	buf := make([]byte, 256<<10)
	start := time.Now()
	w, err := f.blobs.NewWriter(f.ctx, "copies/all", "application/octet-stream")
	if err != nil {
		b.Fatal(err)
	}
	for _, key := range keys {
		r, err := f.blobs.NewRangeReader(f.ctx, key, 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(w, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if err := f.blobs.Delete(context.Background(), "copies/all"); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// plainCopy copies every blob to a new key through the same store API, as any job copying the
// documents would, and removes the copies again.
func (f *fixture) plainCopy(b *testing.B, keys []string) time.Duration {
	b.Helper()
	buf := make([]byte, 256<<10)
	start := time.Now()
	for i, key := range keys {
		r, err := f.blobs.NewRangeReader(f.ctx, key, 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		w, err := f.blobs.NewWriter(f.ctx, "copies/"+strconv.Itoa(i), "application/pdf")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(w, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
		r.Close()
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	for i := range keys {
		if err := f.blobs.Delete(context.Background(), "copies/"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	return elapsed
}

// BenchmarkBundle bundles a dossier of 1,000 and of 2,000 employees with 5 documents of 100 kB
// each (0.5 and 1 GB) and, side by side in the same run, copies the same blobs plainly: blob by
// blob into new blobs, and all into one blob (the bundle's own pattern of one sequential
// write), each before and after the generation. It reports the throughputs, the bundle's as a
// share of each copy's, and the process's resident memory during the generation: at its start
// (the baseline) and at its peak, which should not grow with the dossier.
func BenchmarkBundle(b *testing.B) {
	for _, employees := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("Employees%d", employees), func(b *testing.B) {
			f := setup(b)
			keys := f.bulkDossier(b, employees, 5, 100_000)
			total := float64(len(keys) * 100_000)
			user := f.user(b, access.KindProvider, f.role(b, access.KindProvider, f.readAll(), fullRights...))
			mbps := func(d ...time.Duration) float64 {
				var sum time.Duration
				for _, x := range d {
					sum += x
				}
				return total / 1e6 / (sum.Seconds() / float64(len(d)))
			}
			for range b.N {
				copyBefore, concatBefore := f.plainCopy(b, keys), f.concatCopy(b, keys)
				base := resetPeakRSS(b)
				args := f.request(b, user)
				start := time.Now()
				if err := f.worker(2<<30).Work(f.ctx, job(args)); err != nil {
					b.Fatal(err)
				}
				generate := time.Since(start)
				peak := peakRSS(b)
				copyAfter, concatAfter := f.plainCopy(b, keys), f.concatCopy(b, keys)
				bundled := f.find(b, args.BundleID)
				if bundled.DocsTotal != len(keys) {
					b.Fatalf("bundle holds %d documents, want %d", bundled.DocsTotal, len(keys))
				}
				copyRate, concatRate, bundleRate := mbps(copyBefore, copyAfter), mbps(concatBefore, concatAfter), mbps(generate)
				b.ReportMetric(copyRate, "copy_MB/s")
				b.ReportMetric(concatRate, "concat_MB/s")
				b.ReportMetric(bundleRate, "bundle_MB/s")
				b.ReportMetric(100*bundleRate/copyRate, "bundle_%_of_copy")
				b.ReportMetric(100*bundleRate/concatRate, "bundle_%_of_concat")
				b.ReportMetric(base, "base_RSS_MB")
				b.ReportMetric(peak, "peak_RSS_MB")
				b.Logf("%d documents, %.0f MB: copy blob by blob %v and %v, copy into one blob %v and %v, bundle %v (%d part(s)); "+
					"bundle at %.0f%% of the first and %.0f%% of the second; RSS %.0f MB at the start of the generation, %.0f MB at its peak",
					len(keys), total/1e6, copyBefore.Round(time.Millisecond), copyAfter.Round(time.Millisecond),
					concatBefore.Round(time.Millisecond), concatAfter.Round(time.Millisecond), generate.Round(time.Millisecond),
					len(bundled.Parts), 100*bundleRate/copyRate, 100*bundleRate/concatRate, base, peak)
			}
		})
	}
}
