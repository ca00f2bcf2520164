package export_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
	"github.com/dossierkast/dossierkast/internal/mail"
)

var exportRights = []access.Right{access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate}

// generated starts an export by a new user and runs its job; it returns the done export.
func (f *fixture) generated(t *testing.T) export.Export {
	t.Helper()
	u := f.user(t, access.KindProvider, "Gebruiker", exportRights...)
	x := f.request(t, u, "")
	if err := f.work(f.worker, x, 1); err != nil {
		t.Fatal(err)
	}
	x = f.find(t, x.ID)
	if x.Status != export.StatusDone {
		t.Fatalf("export %s: %s (%s)", x.ID, x.Status, x.Error)
	}
	return x
}

// blobsOf reports which of the export's two blobs exist.
func (f *fixture) blobsOf(t *testing.T, x export.Export) []export.File {
	t.Helper()
	var have []export.File
	for _, file := range []export.File{export.FileXLSX, export.FileJSON} {
		_, err := f.blobs.Attributes(f.ctx, export.StorageKey(f.tenant, x.ID, file))
		switch {
		case err == nil:
			have = append(have, file)
		case !errors.Is(err, fs.ErrNotExist):
			t.Fatal(err)
		}
	}
	return have
}

// blobFiles lists every regular file in the blob folder, temporary ones included.
func (f *fixture) blobFiles(t *testing.T) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(f.dir, path)
			list = append(list, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	return list
}

func (f *fixture) sweep(t *testing.T, at time.Time) {
	t.Helper()
	w := &export.ExpireExportsWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log, NowFunc: func() time.Time { return at }}
	if err := w.Work(f.ctx, &river.Job[export.ExpireExportsArgs]{JobRow: &rivertype.JobRow{}}); err != nil {
		t.Fatal(err)
	}
}

// With a controllable clock: an export 23 hours old stays, one 25 hours old loses its files
// (row kept, marked deleted, audited once as an automatic deletion), and its download answers
// 410.
func TestExpireExports(t *testing.T) {
	t.Parallel()
	f := setup(t)
	old, young := f.generated(t), f.generated(t)
	f.exec(t, `UPDATE employee_exports SET created_at = created_at - interval '2 hours', expires_at = expires_at - interval '2 hours'
		WHERE id = $1`, old.ID)

	f.sweep(t, young.CreatedAt.Add(21*time.Hour)) // old: 23 h, young 21 h
	if f.find(t, old.ID).Deleted() || len(f.blobsOf(t, old)) != 2 {
		t.Fatal("an export younger than 24 hours lost its files")
	}
	f.sweep(t, young.CreatedAt.Add(23*time.Hour)) // old: 25 h, young 23 h
	o, y := f.find(t, old.ID), f.find(t, young.ID)
	if !o.Deleted() || len(f.blobsOf(t, o)) != 0 {
		t.Errorf("after 25 hours: deleted %v, blobs %v", o.Deleted(), f.blobsOf(t, o))
	}
	if y.Deleted() || len(f.blobsOf(t, y)) != 2 {
		t.Errorf("after 23 hours: deleted %v, blobs %v", y.Deleted(), f.blobsOf(t, y))
	}
	if err := export.CheckAvailable(o, time.Now()); apperr.CodeOf(err) != apperr.EGONE {
		t.Errorf("download of the expired export: %v, want gone", err)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2 AND employee_id = $3",
		audit.ExportExpired, old.ID, f.employee.ID); n != 1 {
		t.Errorf("%d automatic deletions audited, want 1", n)
	}
	f.sweep(t, young.CreatedAt.Add(25*time.Hour))
	if !f.find(t, young.ID).Deleted() || f.count(t, "SELECT count(*) FROM employee_exports") != 2 {
		t.Errorf("after 25 hours the young export is not deleted, or a row went")
	}
	if left := f.blobFiles(t); len(left) != 0 {
		t.Errorf("blobs left: %v", left)
	}
	if n := f.count(t, "SELECT count(*) FROM blob_deletions"); n != 0 {
		t.Errorf("%d blob deletions left", n)
	}
}

// Three sweeps at once, as several processes may run them: every expired export is deleted and
// audited once.
func TestExpireConcurrentSweeps(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var list []export.Export
	for range 6 {
		list = append(list, f.generated(t))
	}
	later := time.Now().Add(25 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			w := &export.ExpireExportsWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log, NowFunc: func() time.Time { return later }}
			errs <- w.Work(f.ctx, &river.Job[export.ExpireExportsArgs]{JobRow: &rivertype.JobRow{}})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action = $1", audit.ExportExpired); n != len(list) {
		t.Errorf("%d automatic deletions audited, want %d", n, len(list))
	}
	if n := f.count(t, "SELECT count(*) FROM employee_exports WHERE deleted_at IS NOT NULL"); n != len(list) {
		t.Errorf("%d exports deleted, want %d", n, len(list))
	}
	if left := f.blobFiles(t); len(left) != 0 {
		t.Errorf("blobs left: %v", left)
	}
}

// manyEvents gives the employee n audit events, so that an export's job passes its progress
// hook (every 1,000 rows) a few times.
func (f *fixture) manyEvents(t *testing.T, n int) {
	t.Helper()
	f.exec(t, `INSERT INTO audit_events (tenant_id, action, subject_type, employee_id, at)
		SELECT app_tenant(), $2, 'employee', $1, now() - i * interval '1 second' FROM generate_series(1, $3) i`,
		f.employee.ID, audit.EmployeeViewed, n)
}

// An attempt past its time limit ends the export as Mislukt with the reason, not stuck in
// Bezig; its files are removed, its creator is mailed, and a retry by him completes it.
func TestExportTimeLimit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.manyEvents(t, 2500)
	u := f.user(t, access.KindProvider, "Tijd", exportRights...)
	x := f.request(t, u, "")
	sender, err := mail.NewSender("", "", f.db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Second)
	defer cancel()
	w := &export.GenerateExportWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log, Mail: sender, BaseURL: "https://dossierkast.example",
		AfterRowsFunc: func(int) { <-ctx.Done() }}
	err = w.Work(ctx, &river.Job[export.GenerateExportArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
		Args: export.GenerateExportArgs{TenantID: f.tenant, ExportID: x.ID}})
	var cancelled *river.JobCancelError
	if !errors.As(err, &cancelled) {
		t.Errorf("work past its time limit: %v, want the job cancelled for good", err)
	}
	got := f.find(t, x.ID)
	if got.Status != export.StatusFailed || got.Error != "export.error.timeout" {
		t.Errorf("export after its time limit: %s (%q), want failed with export.error.timeout", got.Status, got.Error)
	}
	if left := f.blobFiles(t); len(left) != 0 {
		t.Errorf("blobs left: %v", left)
	}
	if n := f.count(t, "SELECT count(*) FROM outbox_messages WHERE subject = $1 AND body LIKE '%' || $2 || '%'",
		i18n.Translate("nl", "export.mail.failed.subject"), "https://dossierkast.example"+export.PagePath(f.employee.ID)); n != 1 {
		t.Errorf("%d failure mails with the page's link, want 1", n)
	}
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := export.RetryExport(f.ctx, tx, f.rc, f.editor(t, u), x.ID)
		return err
	})
	if err := f.work(f.worker, x, 1); err != nil {
		t.Fatal(err)
	}
	if got := f.find(t, x.ID); got.Status != export.StatusDone || got.Deleted() {
		t.Errorf("retried export: %s (%q)", got.Status, got.Error)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2", audit.ExportRetried, x.ID); n != 1 {
		t.Errorf("%d retries audited, want 1", n)
	}
}

// A creator who lost the right before the job ran gets a failed export with the reason, not
// a copy made with rights he no longer has.
func TestExportRequesterLostRight(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.user(t, access.KindProvider, "Verloren", exportRights...)
	x := f.request(t, u, "")
	f.exec(t, "INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", u, f.employee.ID)
	var cancelled *river.JobCancelError
	if err := f.work(f.worker, x, 1); !errors.As(err, &cancelled) {
		t.Errorf("work: %v, want the job cancelled for good", err)
	}
	if got := f.find(t, x.ID); got.Status != export.StatusFailed || got.Error != "export.error.requester" {
		t.Errorf("export: %s (%q)", got.Status, got.Error)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2", audit.ExportGenerated, x.ID); n != 0 {
		t.Errorf("a copy was audited for a refused export")
	}
}

// The crash test's child: settings come in EXPORT_CRASH_… variables.
const crashChildEnv = "EXPORT_CRASH_CHILD"

// crashHeartbeat is the crash test's heartbeat timing, shortened from heartbeat.Default.
var crashHeartbeat = heartbeat.Settings{Period: 500 * time.Millisecond, StaleAfter: 3 * time.Second, CheckEvery: time.Second}

// crashWait is how long the retried job may take on a loaded machine.
const crashWait = 3 * time.Minute

// startRiver starts a River client built by jobs.Config, as a worker process, with the
// crash test's heartbeat timing and attempt timeout long enough that only the heartbeat check
// (not River's own rescue) can hand a dead job back; hook, when set, is the export worker's
// AfterRowsFunc.
func startRiver(t testing.TB, pool *pgxpool.Pool, blobs document.BlobStore, hook func(int)) *river.Client[pgx.Tx] {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := jobs.NewWorkers(jobs.Deps{Pool: pool, Blobs: blobs, PartSize: 1 << 30, Log: log})
	w.GenerateExport.AfterRowsFunc = hook
	w.Heartbeat = crashHeartbeat
	cfg := jobs.Config(config.ModeWorker, log, w)
	cfg.TestOnly = true
	cfg.FetchPollInterval = 100 * time.Millisecond
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(pool), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := rc.StopAndCancel(ctx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	})
	return rc
}

// TestCrashChild is the child's side of TestExportKilledMidWrite: a River client whose export
// job prints MIDWAY and blocks once it has written EXPORT_CRASH_AT rows. Without the variable
// it does nothing.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) == "" {
		t.Skip("only run as the child of a crash test")
	}
	ctx := context.Background()
	pool, err := database.Open(ctx, os.Getenv("EXPORT_CRASH_DB"), true)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(os.Getenv("EXPORT_CRASH_BLOBS")))
	if err != nil {
		t.Fatal(err)
	}
	at, _ := strconv.Atoi(os.Getenv("EXPORT_CRASH_AT"))
	startRiver(t, pool, blobs, func(rows int) {
		if rows == at {
			fmt.Println("MIDWAY")
			select {} // killed here
		}
	})
	time.Sleep(crashWait)
	t.Fatal("the child was not killed")
}

// The job killed mid-write (a child process, SIGKILL, its JSON blob half written) is handed
// back by the heartbeat check and retried; the result is complete, marked interrupted, and no
// blob or temporary file is left beside the export's two files.
func TestExportKilledMidWrite(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills a child process")
	}
	f := setup(t)
	f.manyEvents(t, 5000)
	u := f.user(t, access.KindProvider, "Crash", exportRights...)
	x := f.request(t, u, "")
	// The request's job was inserted by the insert-only client; the child's client works it.
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", "EXPORT_CRASH_DB="+f.db.OwnerURL, "EXPORT_CRASH_BLOBS="+f.dir, "EXPORT_CRASH_AT=3000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reached := false
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if strings.TrimSpace(lines.Text()) == "MIDWAY" {
			reached = true
			break
		}
	}
	if reached {
		if got := f.find(t, x.ID); got.Status != export.StatusRunning {
			t.Errorf("export while its worker hangs: %s", got.Status)
		}
		if files := f.blobFiles(t); len(files) == 0 {
			t.Errorf("no half-written blob while the worker hangs")
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !reached {
		t.Fatal("the child ended before reaching the middle of its work")
	}
	killed := time.Now()
	startRiver(t, f.db.Pool, f.blobs, nil)
	deadline := time.Now().Add(crashWait)
	var got export.Export
	for {
		got = f.find(t, x.ID)
		if !got.Active() || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got.Status != export.StatusDone || !got.Interrupted {
		t.Fatalf("export after the kill: %s, interrupted %v, error %q", got.Status, got.Interrupted, got.Error)
	}
	t.Logf("done %s after the kill", time.Since(killed).Round(time.Millisecond))
	var attempt int
	if err := f.db.Pool.QueryRow(f.ctx, "SELECT attempt FROM river_job WHERE kind = 'generate_export' AND args->>'export_id' = $1",
		x.ID.String()).Scan(&attempt); err != nil {
		t.Fatal(err)
	}
	if attempt != 2 {
		t.Errorf("the job completed at attempt %d, want 2", attempt)
	}
	o := f.open(t, got)
	want := f.count(t, "SELECT count(*) FROM audit_events WHERE employee_id = $1 AND action <> $2", f.employee.ID, audit.ExportGenerated)
	if n := len(o.section(t, "access_log")); n != want || n < 5000 {
		t.Errorf("the retried export has %d access log rows, want %d", n, want)
	}
	files := []string{
		export.StorageKey(f.tenant, x.ID, export.FileJSON),
		export.StorageKey(f.tenant, x.ID, export.FileXLSX),
	}
	slices.Sort(files)
	if diff := slices.Compare(files, f.blobFiles(t)); diff != 0 {
		t.Errorf("blob folder holds %v, want only %v", f.blobFiles(t), files)
	}
}

// A job River will not run again (cancelled on /admin/jobs before it ran, or discarded with
// its attempts spent) ends its export as Mislukt with the reason, once; a running or finished
// export is left alone.
func TestExportJobEnded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.user(t, access.KindProvider, "Beëindigd", exportRights...)
	x := f.request(t, u, "")
	args := []byte(`{"tenant_id":"` + f.tenant.String() + `","export_id":"` + x.ID.String() + `"}`)
	for _, state := range []rivertype.JobState{rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateCancelled} {
		if err := f.worker.JobEnded(f.ctx, &rivertype.JobRow{ID: 1, State: state, EncodedArgs: args}); err != nil {
			t.Fatal(err)
		}
		if got := f.find(t, x.ID); state == rivertype.JobStateCompleted && got.Status != export.StatusPending {
			t.Errorf("a completed job changed its export: %s", got.Status)
		}
	}
	if got := f.find(t, x.ID); got.Status != export.StatusFailed || got.Error != "export.error.cancelled" {
		t.Errorf("export of a cancelled job: %s (%q)", got.Status, got.Error)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2", audit.ExportFailed, x.ID); n != 1 {
		t.Errorf("%d failures audited, want 1", n)
	}
}
