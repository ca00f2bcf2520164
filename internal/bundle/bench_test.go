package bundle_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/benchtest"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// bulkDossier fills the fixture's employer with employees × perEmployee documents of size
// bytes each (PDF-like, incompressible, each different) of contentType, writing blobs straight
// to the store and rows with COPY. It returns the documents' storage keys.
func (f *fixture) bulkDossier(b *testing.B, employees, perEmployee, size int, contentType string) []string {
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
	folder := filepath.Join(f.dir, "documents", f.tenant.String())
	if err := os.MkdirAll(folder, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, e := range list {
		for range perEmployee {
			id := uuid.Must(uuid.NewV7())
			key := document.StorageKey(f.tenant, id)
			binary.BigEndian.PutUint64(content[9:], uint64(len(rows))) // every document different
			// Straight into the folder, as the store lays it out, and synced once at the end
			// (syncfs below): a sync per blob would make tens of thousands of them slow to set up.
			if err := os.WriteFile(filepath.Join(f.dir, filepath.FromSlash(key)), content, 0o644); err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(content)
			rows = append(rows, row{id: id, employee: e.ID, key: key, sha: hex.EncodeToString(sum[:])})
		}
	}
	if err := syncFS(folder); err != nil {
		b.Fatal(err)
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
					contentType, r.sha}, nil
			}))
		if err != nil {
			return err
		}
		_, err = tx.Exec(f.ctx, `INSERT INTO documents (tenant_id, id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256)
			SELECT app_tenant(), id, employer_id, employee_id, category_id, file_name, storage_key, size, content_type, sha256 FROM documents_copy`)
		return err
	})
	// A live database has statistics on its tables; without them the planner guesses a bulk
	// load holds one row and picks plans made for that.
	owner, err := pgx.Connect(f.ctx, f.db.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(f.ctx)
	if _, err := owner.Exec(f.ctx, "ANALYZE documents, employees, document_categories, users"); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	return keys
}

// plainCopy copies the blob files of keys the plain way, as a reader of "copying the same
// blobs" would: straight from the folder, each read in full and appended to one output file per
// part (a new file when the next blob would take the current one past partSize, as the bundle
// splits), each file synced to disk and then its folder, as the bundle's parts are. No archive,
// no hashing, no database. It removes the copies again and returns the time the copy took.
func (f *fixture) plainCopy(b *testing.B, keys []string, partSize int64) time.Duration {
	b.Helper()
	out := b.TempDir()
	buf := make([]byte, 256<<10)
	start := time.Now()
	var part *os.File
	var written int64
	finish := func() {
		if err := part.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := part.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, key := range keys {
		in, err := os.Open(filepath.Join(f.dir, filepath.FromSlash(key)))
		if err != nil {
			b.Fatal(err)
		}
		if st, err := in.Stat(); err != nil {
			b.Fatal(err)
		} else if part == nil || (written > 0 && written+st.Size() > partSize) {
			if part != nil {
				finish()
			}
			if part, err = os.Create(filepath.Join(out, "part-"+strconv.Itoa(int(written))+".bin")); err != nil {
				b.Fatal(err)
			}
			written = 0
		}
		// Only Read and Write: io.Copy would hand the work to the kernel (copy_file_range), which
		// no archive writer can do.
		n, err := io.CopyBuffer(struct{ io.Writer }{part}, struct{ io.Reader }{in}, buf)
		if err != nil {
			b.Fatal(err)
		}
		written += n
		in.Close()
	}
	finish()
	if err := syncFolder(out); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// cpCopy runs cp -r on the blob folder and returns how long it took; without a sync, so the
// copy may still be in the page cache when it returns (the bundle and plainCopy wait for the
// disk). It removes the copy again.
func (f *fixture) cpCopy(b *testing.B) time.Duration {
	b.Helper()
	out := filepath.Join(b.TempDir(), "copy")
	start := time.Now()
	if msg, err := exec.Command("cp", "-r", f.dir, out).CombinedOutput(); err != nil {
		b.Fatalf("cp -r: %v: %s", err, msg)
	}
	elapsed := time.Since(start)
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// syncFS writes everything of the file system that holds dir to disk.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

func syncFolder(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// warm reads every blob of keys once, so that the page cache holds them all: the copies
// and the bundle then all start warm.
func (f *fixture) warm(b *testing.B, keys []string) {
	b.Helper()
	for _, key := range keys {
		data, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(key)))
		if err != nil || len(data) == 0 {
			b.Fatalf("warm %s: %d bytes, %v", key, len(data), err)
		}
	}
}

// BenchmarkBundle bundles dossiers of 500, 1,000 and 2,000 employees with 5 documents of 100 kB
// each (0.25, 0.5 and 1 GB, in one part) and, side by side in the same run, copies the same blob
// files plainly into one synced file per part (plainCopy), in bundleRounds rounds of a copy and
// a generation, and once with cp -r. Every blob is in the page cache for all of them (warm). It
// reports the throughputs (of each the median of the rounds: one round's figure on this
// machine varies by a tenth and more), the bundle's as a share of the plain copy's, the CPU time
// per GB of the bundle and of the plain copy, and the memory during the generations: the
// resident set at the start of the first (the baseline), the highest peak, the most a
// generation added, and the peak of the live Go heap. None should grow with the dossier beyond a
// few dozen bytes per employee: the plan, the workbook's sheet and the parts' central
// directories wait in temporary files. The baseline of a size includes what the sizes before it
// left in the process (some MB by the third); run one size alone (-bench
// 'BenchmarkBundle$/Employees2000') to compare peaks without that.
func BenchmarkBundle(b *testing.B) {
	const partSize = 2 << 30
	for _, employees := range []int{500, 1000, 2000} {
		b.Run(fmt.Sprintf("Employees%d", employees), func(b *testing.B) {
			f := setup(b)
			keys := f.bulkDossier(b, employees, 5, 100_000, "application/pdf")
			total := float64(len(keys) * 100_000)
			user := f.user(b, access.KindProvider, f.role(b, access.KindProvider, f.readAll(), fullRights...))
			mbps := func(d time.Duration) float64 { return total / 1e6 / d.Seconds() }
			perGB := func(d time.Duration) float64 { return d.Seconds() / (total / 1e9) }
			f.warm(b, keys)
			for range b.N {
				var copies, copyCPUs, generations, generationCPUs []time.Duration
				var base, peak, added, peakLive float64
				var parts int
				for round := range bundleRounds {
					cpu := benchtest.CPUTime()
					copies = append(copies, f.plainCopy(b, keys, partSize))
					copyCPUs = append(copyCPUs, benchtest.CPUTime()-cpu)
					start := benchtest.ResetPeakRSS(b)
					live := benchtest.WatchLiveHeap()
					args := f.request(b, user)
					began, cpu := time.Now(), benchtest.CPUTime()
					if err := f.worker(partSize).Work(f.ctx, job(args)); err != nil {
						b.Fatal(err)
					}
					generations = append(generations, time.Since(began))
					generationCPUs = append(generationCPUs, benchtest.CPUTime()-cpu)
					top, topLive := benchtest.PeakRSS(b), live()
					if round == 0 {
						base = start
					}
					peak, added, peakLive = max(peak, top), max(added, top-start), max(peakLive, topLive)
					bundled := f.find(b, args.BundleID)
					if bundled.DocsTotal != len(keys) {
						b.Fatalf("bundle holds %d documents, want %d", bundled.DocsTotal, len(keys))
					}
					parts = len(bundled.Parts)
				}
				cp := f.cpCopy(b)
				copyRate, bundleRate := mbps(median(copies)), mbps(median(generations))
				b.ReportMetric(copyRate, "copy_MB/s")
				b.ReportMetric(mbps(cp), "cp_r_MB/s")
				b.ReportMetric(bundleRate, "bundle_MB/s")
				b.ReportMetric(100*bundleRate/copyRate, "bundle_%_of_copy")
				b.ReportMetric(perGB(median(generationCPUs)), "bundle_cpu_s/GB")
				b.ReportMetric(perGB(median(copyCPUs)), "copy_cpu_s/GB")
				b.ReportMetric(base, "base_RSS_MB")
				b.ReportMetric(peak, "peak_RSS_MB")
				b.ReportMetric(added, "generation_RSS_MB")
				b.ReportMetric(peakLive/1e6, "peak_live_heap_MB")
				b.Logf("%d documents, %.0f MB: plain copies %v, cp -r %v, generations %v (%d part(s), CPU %v): "+
					"median bundle at %.0f%% of the median plain copy; RSS %.0f MB at the start, %.0f MB at the highest peak, "+
					"at most %.0f MB added by a generation; live heap at most %.1f MB; load %s",
					len(keys), total/1e6, rounded(copies), cp.Round(time.Millisecond), rounded(generations), parts,
					rounded(generationCPUs), 100*bundleRate/copyRate, base, peak, added, peakLive/1e6, benchtest.LoadAverage())
			}
		})
	}
}

// bundleRounds is how many times BenchmarkBundle copies and bundles each dossier.
const bundleRounds = 3

// median is the middle of ds (of the two middle ones, the mean).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// rounded is ds to the millisecond, for the log.
func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// BenchmarkBundleMemory bundles dossiers of 20,000 and 40,000 small documents (4 kB each, 5
// per employee) and reports the memory during the generation: the resident set at its start,
// at its peak and the difference, and the peak of the live Go heap. The plan, the workbook's
// sheet (15 and 31 MB) and the part's central directory (some 300 bytes a document in
// archive/zip's memory) go to temporary files as they are written, and the employees' copies
// are audited 512 at a time, so what the generation holds should not differ between the two
// (measured: peaks of 44-48 MB, 8-9 MB of live heap, for either); BenchmarkBundle shows the
// same for large documents. Those are PDFs, which the archive stores; Docs20000Deflated has
// 20,000 text documents, which it deflates, each with a compressor from flateWriters.
func BenchmarkBundleMemory(b *testing.B) {
	const partSize = 2 << 30
	for _, c := range []struct {
		name        string
		docs        int
		contentType string
	}{
		{"Docs20000", 20_000, "application/pdf"},
		{"Docs40000", 40_000, "application/pdf"},
		{"Docs20000Deflated", 20_000, "text/plain"},
	} {
		docs := c.docs
		b.Run(c.name, func(b *testing.B) {
			f := setup(b)
			keys := f.bulkDossier(b, docs/5, 5, 4<<10, c.contentType)
			user := f.user(b, access.KindProvider, f.role(b, access.KindProvider, f.readAll(), fullRights...))
			for range b.N {
				args := f.request(b, user)
				base := benchtest.ResetPeakRSS(b)
				live := benchtest.WatchLiveHeap()
				start, cpu := time.Now(), benchtest.CPUTime()
				if err := f.worker(partSize).Work(f.ctx, job(args)); err != nil {
					b.Fatal(err)
				}
				generate, generateCPU := time.Since(start), benchtest.CPUTime()-cpu
				peak, peakLive := benchtest.PeakRSS(b), live()
				if got := f.find(b, args.BundleID); got.DocsTotal != len(keys) {
					b.Fatalf("bundle holds %d documents, want %d", got.DocsTotal, len(keys))
				}
				b.ReportMetric(base, "base_RSS_MB")
				b.ReportMetric(peak, "peak_RSS_MB")
				b.ReportMetric(peak-base, "generation_RSS_MB")
				b.ReportMetric(peakLive/1e6, "peak_live_heap_MB")
				b.ReportMetric(generateCPU.Seconds()*1e6/float64(len(keys)), "cpu_us/doc")
				b.Logf("%d documents of 4 kB (%s): bundle %v (CPU %v); RSS %.0f MB at the start of the generation, %.0f MB at its peak; "+
					"live heap at most %.1f MB; load %s", len(keys), c.contentType, generate.Round(time.Millisecond), generateCPU.Round(time.Millisecond),
					base, peak, peakLive/1e6, benchtest.LoadAverage())
			}
		})
	}
}
