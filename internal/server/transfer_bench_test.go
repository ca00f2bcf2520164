package server_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/server"
)

// Uploading and downloading a 1 GiB document over HTTP (issue 3's "Speed"): both should run at
// 70% or more of this machine's plain file-copy speed for the same file, with the process's peak
// memory under 100 MB. The figures come from the benchmark's own clocks; b.N does not matter
// (make bench runs it once).
const (
	transferSize  = 1 << 30
	transferBlock = 1 << 20 // the source file is one random block repeated
	transferFree  = 4 << 30 // source, copy and blob, with room to spare
	transferIO    = 1 << 20 // the client's copy buffer, so the client is not what limits
	mb            = 1e6     // speeds and memory are reported in MB (10^6 bytes)
	sampleEvery   = 10 * time.Millisecond
	transferLimit = 4 << 30 // the server's upload limit: above the file
)

func BenchmarkDocumentTransfer1GiB(b *testing.B) {
	if testing.Short() {
		b.Skip("moves 1 GiB through the disk and the HTTP stack")
	}
	dir := b.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		b.Fatal(err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < transferFree {
		b.Skipf("%s has %d MiB free, need %d MiB", dir, free>>20, transferFree>>20)
	}
	srcDir, blobDir := filepath.Join(dir, "source"), filepath.Join(dir, "blobs")
	for _, d := range []string{srcDir, blobDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	src := filepath.Join(srcDir, "dossier.bin")
	wantSum := writeSource(b, src)
	app := transferSetup(b, blobDir)

	// Plain copy: what cp does (io.Copy between files is copy_file_range on Linux), made durable.
	var copyTime, copyCPU time.Duration
	for i := range 2 {
		cpu := cpuTime(b)
		d := copyFile(b, src, filepath.Join(srcDir, "copy.bin"))
		cpu = cpuTime(b) - cpu
		b.Logf("copy %d: %v (processor %v)", i+1, d.Round(time.Millisecond), cpu.Round(time.Millisecond))
		if copyTime == 0 || d < copyTime {
			copyTime, copyCPU = d, cpu
		}
	}

	maxRSSBefore := maxRSS(b)
	var up, down, upSync, upCPU, downCPU time.Duration
	var upMem, downMem peaks
	b.ResetTimer()
	for range b.N {
		s, cpu := startSampler(), cpuTime(b)
		start := time.Now()
		id := app.uploadFile(b, src)
		up = time.Since(start)
		upCPU = cpuTime(b) - cpu
		upMem = s.stop()

		// The blob store does not fsync; this is what making the blob durable would add.
		start = time.Now()
		syncFile(b, filepath.Join(blobDir, filepath.FromSlash(document.StorageKey(app.tenant, id))))
		upSync = time.Since(start)

		d := app.document(b, id)
		if d.Size != transferSize || d.SHA256 != wantSum {
			b.Fatalf("stored %d bytes with sha256 %s; want %d bytes, %s", d.Size, d.SHA256, transferSize, wantSum)
		}

		s, cpu = startSampler(), cpuTime(b)
		start = time.Now()
		n, _ := app.download(b, id, io.Discard)
		down = time.Since(start)
		downCPU = cpuTime(b) - cpu
		downMem = s.stop()
		if n != transferSize {
			b.Fatalf("downloaded %d bytes, want %d", n, transferSize)
		}
		// A second, untimed pass checks the bytes: hashing in the timed one would charge the
		// client's SHA-256 to the server on a 2-core machine.
		h := sha256.New()
		if n, etag := app.download(b, id, h); n != transferSize || hex.EncodeToString(h.Sum(nil)) != wantSum || etag != `"`+wantSum+`"` {
			b.Fatalf("downloaded %d bytes with sha256 %x, ETag %s; want %d bytes, %s", n, h.Sum(nil), etag, transferSize, wantSum)
		}
		app.deleteDocument(b, id)
	}
	b.StopTimer()
	maxRSSAfter := maxRSS(b)

	speed := func(d time.Duration) float64 { return transferSize / mb / d.Seconds() }
	cp, u, dl := speed(copyTime), speed(up), speed(down)
	b.ReportMetric(cp, "copy-MB/s")
	b.ReportMetric(u, "upload-MB/s")
	b.ReportMetric(dl, "download-MB/s")
	b.ReportMetric(u/cp, "upload/copy")
	b.ReportMetric(dl/cp, "download/copy")
	b.ReportMetric(speed(up+upSync), "upload+fsync-MB/s")
	b.ReportMetric(max(upMem.goTotal, downMem.goTotal)/mb, "peak-go-MB")
	b.ReportMetric(max(upMem.heap, downMem.heap)/mb, "peak-heap-MB")
	b.ReportMetric(max(upMem.rss, downMem.rss)/mb, "peak-rss-MB")
	b.ReportMetric(maxRSSBefore/mb, "maxrss-before-MB")
	b.ReportMetric(maxRSSAfter/mb, "maxrss-after-MB")
	b.ReportMetric(copyCPU.Seconds(), "copy-cpu-s")
	b.ReportMetric(upCPU.Seconds(), "upload-cpu-s")
	b.ReportMetric(downCPU.Seconds(), "download-cpu-s")
	b.Logf("copy %.0f MB/s (best of 2, with fsync); upload %.0f MB/s (%.0f%% of copy; %.0f MB/s with an fsync of the blob); download %.0f MB/s (%.0f%% of copy)",
		cp, u, 100*u/cp, speed(up+upSync), dl, 100*dl/cp)
	b.Logf("processor time of the whole process (server and client, user+system): copy %v, upload %v, download %v; load average %s",
		copyCPU.Round(time.Millisecond), upCPU.Round(time.Millisecond), downCPU.Round(time.Millisecond), loadAverage())
	b.Logf("peak during upload: Go runtime %.1f MB (heap in use %.1f MB), process RSS %.1f MB", upMem.goTotal/mb, upMem.heap/mb, upMem.rss/mb)
	b.Logf("peak during download: Go runtime %.1f MB (heap in use %.1f MB), process RSS %.1f MB", downMem.goTotal/mb, downMem.heap/mb, downMem.rss/mb)
	b.Logf("ru_maxrss (whole test process: test binary, server, client): %.1f MB before the transfers, %.1f MB after", maxRSSBefore/mb, maxRSSAfter/mb)
}

// transferApp is the application with a file:// blob store in blobDir, a category the
// administrator may write, and the administrator logged in.
type transferApp struct {
	srv      *httptest.Server
	pool     database.Beginner
	tenant   uuid.UUID
	client   *http.Client
	category uuid.UUID
	employee uuid.UUID
}

// transferSetup starts the application the way setup does; setup takes a *testing.T, which a
// benchmark does not have.
func transferSetup(b *testing.B, blobDir string) *transferApp {
	b.Helper()
	ctx := context.Background()
	db := dbtest.New(b)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: 5})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	sender, err := mail.NewSender("", "", db.Pool)
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(blobDir))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	s := server.New(server.Options{Pool: db.Pool, River: rc, Mail: sender,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: server.NewMetrics(db.Pool),
		Blobs: blobs, MaxUploadSize: transferLimit})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)

	app := &transferApp{srv: srv, pool: db.Pool, tenant: res.TenantID}
	err = database.InTenant(ctx, db.Pool, res.TenantID, func(tx pgx.Tx) error {
		role, err := org.FindRoleByName(ctx, tx, "Beheerder")
		if err != nil {
			return err
		}
		c, err := document.CreateCategory(ctx, tx, document.Category{Name: "Test Transfer", Dossier: document.DossierEmployee})
		if err != nil {
			return err
		}
		app.category = c.ID
		if err := access.SetMatrix(ctx, tx, role.ID, c.ID, access.LevelWrite); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT id FROM employees ORDER BY id LIMIT 1").Scan(&app.employee)
	})
	if err != nil {
		b.Fatal(err)
	}

	// Large socket buffers on the client: the client stands in for a browser on another
	// machine, so its system calls should cost as little as they can here.
	transport := &http.Transport{WriteBufferSize: 256 << 10, ReadBufferSize: 256 << 10, DisableCompression: true}
	b.Cleanup(transport.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	app.client = &http.Client{Jar: jar, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp := app.post(b, "/login", "application/x-www-form-urlencoded", -1,
		strings.NewReader(url.Values{"email": {"beheerder@demo.dossierkast.nl"}, "password": {demo.Password}}.Encode()))
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("log in: status %d", resp.StatusCode)
	}
	return app
}

// post sends a same-site POST with body (of length n, or -1 when not known up front) and
// returns the response with its body read.
func (a *transferApp) post(b *testing.B, path, contentType string, n int64, body io.Reader) *http.Response {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+path, body)
	if err != nil {
		b.Fatal(err)
	}
	if n >= 0 {
		req.ContentLength = n
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Origin", a.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := a.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// uploadFile posts path to the employee's dossier the way a browser does (the fields, then the
// file, with a Content-Length), streaming it through a pipe, and returns the new document's id.
func (a *transferApp) uploadFile(b *testing.B, path string) uuid.UUID {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	fields := [][2]string{{"category_id", a.category.String()}, {"document_date", "2027-01-02"}}
	const fileName = "dossier.bin"
	// The form around the file is small: write it once to count it, with the same boundary.
	boundary := multipart.NewWriter(nil).Boundary()
	buf := make([]byte, transferIO)
	writeForm := func(w io.Writer, file io.Reader) error {
		mw := multipart.NewWriter(w)
		if err := mw.SetBoundary(boundary); err != nil {
			return err
		}
		for _, kv := range fields {
			if err := mw.WriteField(kv[0], kv[1]); err != nil {
				return err
			}
		}
		part, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			return err
		}
		// Hide the file's WriteTo so the copy uses a large buffer instead of 32 KiB.
		if _, err := io.CopyBuffer(part, struct{ io.Reader }{file}, buf); err != nil {
			return err
		}
		return mw.Close()
	}
	var form countingWriter
	if err := writeForm(&form, strings.NewReader("")); err != nil {
		b.Fatal(err)
	}

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeForm(pw, f)) }()
	dossier := "/employees/" + a.employee.String()
	resp := a.post(b, dossier+"/documents", "multipart/form-data; boundary="+boundary, int64(form)+info.Size(), pr)
	pr.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != dossier+"/documents#documents" {
		b.Fatalf("upload: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var id uuid.UUID
	a.inTenant(b, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM documents WHERE category_id = $1 ORDER BY uploaded_at DESC LIMIT 1",
			a.category).Scan(&id)
	})
	return id
}

// download gets document id into w and returns the bytes read and the ETag.
func (a *transferApp) download(b *testing.B, id uuid.UUID, w io.Writer) (int64, string) {
	b.Helper()
	resp, err := a.client.Get(a.srv.URL + "/documents/" + id.String())
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("download: status %d", resp.StatusCode)
	}
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{resp.Body}, make([]byte, transferIO))
	if err != nil {
		b.Fatal(err)
	}
	return n, resp.Header.Get("ETag")
}

// deleteDocument deletes document id through the application, which removes its blob.
func (a *transferApp) deleteDocument(b *testing.B, id uuid.UUID) {
	b.Helper()
	resp := a.post(b, "/documents/"+id.String()+"/delete", "application/x-www-form-urlencoded", -1, strings.NewReader(""))
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("delete: status %d", resp.StatusCode)
	}
}

func (a *transferApp) document(b *testing.B, id uuid.UUID) document.Document {
	b.Helper()
	var d document.Document
	a.inTenant(b, func(tx pgx.Tx) (err error) {
		d, err = document.FindDocumentByID(context.Background(), tx, id)
		return err
	})
	return d
}

func (a *transferApp) inTenant(b *testing.B, fn func(tx pgx.Tx) error) {
	b.Helper()
	if err := database.InTenant(context.Background(), a.pool, a.tenant, fn); err != nil {
		b.Fatal(err)
	}
}

// countingWriter counts what is written to it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// writeSource writes transferSize bytes of one random block repeated (so not compressible to
// nothing by accident, and not all zeros) to path, durably, and returns their SHA-256.
func writeSource(b *testing.B, path string) string {
	b.Helper()
	block := make([]byte, transferBlock)
	rand.Read(block)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), transferBlock)
	for range transferSize / transferBlock {
		w.Write(block)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyFile copies src to dst with io.Copy and fsync, times it and removes dst again.
func copyFile(b *testing.B, src, dst string) time.Duration {
	b.Helper()
	defer os.Remove(dst)
	start := time.Now()
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	if n != transferSize {
		b.Fatalf("copied %d bytes, want %d", n, transferSize)
	}
	return time.Since(start)
}

func syncFile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

// maxRSS is the process's peak resident set so far (getrusage ru_maxrss, KiB on Linux), in
// bytes: it includes the test binary, the database driver and the HTTP client.
func maxRSS(b *testing.B) float64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return float64(ru.Maxrss) * 1024
}

// cpuTime is the processor time the process has used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's load over the last minute, "?" where unknown: other work on the
// machine slows the transfers down, not the copy alone.
func loadAverage() string {
	avg, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(avg)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// peaks are the highest memory figures a sampler saw, in bytes.
type peaks struct {
	goTotal float64 // all memory the Go runtime has mapped (/memory/classes/total:bytes)
	heap    float64 // heap spans in use: objects and their unused room
	rss     float64 // the process's resident set (/proc/self/statm), 0 where there is none
}

// sampler records peaks every sampleEvery until stopped.
type sampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	max  peaks
}

func startSampler() *sampler {
	s := &sampler{done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"}}
	pageSize := float64(os.Getpagesize())
	sample := func() {
		metrics.Read(samples)
		s.max.goTotal = max(s.max.goTotal, float64(samples[0].Value.Uint64()))
		s.max.heap = max(s.max.heap, float64(samples[1].Value.Uint64()+samples[2].Value.Uint64()))
		if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
			if f := strings.Fields(string(statm)); len(f) > 1 {
				if pages, err := strconv.ParseFloat(f[1], 64); err == nil {
					s.max.rss = max(s.max.rss, pages*pageSize)
				}
			}
		}
	}
	sample()
	s.wg.Go(func() {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	})
	return s
}

func (s *sampler) stop() peaks {
	close(s.done)
	s.wg.Wait()
	return s.max
}
