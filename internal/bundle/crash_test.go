package bundle_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
)

// The crash tests interrupt a generation or a deletion in the middle of its work and let River
// itself run the next attempt, with the app's worker setup (jobs.Config) and River's timing
// shortened (startRiver). Three interruptions:
//   - Timeout: River's job timeout cancels the attempt's context in the middle of a part or
//     after a batch; River retries the job (attempt 2).
//   - Shutdown: the client is stopped with StopAndCancel, as serve does when running jobs
//     outlast the shutdown grace; River makes the job available again, and the next client
//     works it.
//   - Kill: a child process (this test binary re-run with crashChildEnv set) runs a River
//     client and is killed with SIGKILL; a client in this process is elected leader once the
//     dead one's term has run out, and its rescuer schedules the stuck job again (attempt 2).
//   - KillHeartbeat: as Kill, but with River's rescue out of reach (its attempt timeout longer
//     than the test) and a second client already running beside the child when it is killed:
//     the dead job's heartbeat goes stale, and the leader's heartbeat check hands it back
//     (attempt 2), within 2 minutes of the kill.
// Afterwards the result must be complete and correct and no blob may be left without a row.

// Settings of the crash tests' River clients.
const (
	crashPartSize  = 200 << 10       // 50 KB documents: two to a part
	crashBatchSize = 3               // documents per deletion batch
	crashTimeout   = 5 * time.Second // an attempt's timeout (the Timeout case waits this long)
	killTimeout    = 10 * time.Second
	crashWait      = 3 * time.Minute // how long a retried job may take, under a loaded machine
	// heartbeatAttemptTimeout is the attempt timeout of the KillHeartbeat case: River's own
	// rescue, which goes by it, would come too late for the 2 minutes.
	heartbeatAttemptTimeout = 10 * time.Minute
	// restartBound is how soon after the kill a dead worker's job must be done or visibly
	// restarted (issue 14.1).
	restartBound = 2 * time.Minute
)

// testHeartbeat is the KillHeartbeat case's heartbeat timing, shortened from heartbeat.Default.
var testHeartbeat = heartbeat.Settings{Period: 500 * time.Millisecond, StaleAfter: 3 * time.Second, CheckEvery: time.Second}

// noHeartbeatCheck keeps the heartbeat check from taking any job for dead, so that the other
// cases see River's own rescue.
var noHeartbeatCheck = heartbeat.Settings{Period: heartbeat.Default.Period, StaleAfter: time.Hour, CheckEvery: time.Minute}

// crashChildEnv names the job kind the child works; the rest of its settings come in
// BUNDLE_CRASH_… variables.
const crashChildEnv = "BUNDLE_CRASH_CHILD"

// midway is what the child prints when it is in the middle of its work; it then waits to be killed.
const midway = "MIDWAY"

// riverSettings are a crash test's River client settings beyond the app's.
type riverSettings struct {
	attemptTimeout time.Duration
	// hook, when set, is called after each document of a generation or batch of a deletion
	// (the kind's hook, with the count so far).
	kind string
	hook func(done int)
	// middleware is added to River's.
	middleware []rivertype.Middleware
	// heartbeat is the heartbeat timing; noHeartbeatCheck when zero.
	heartbeat heartbeat.Settings
}

// retryAtOnce is a retry policy that schedules the next attempt right away.
type retryAtOnce struct{}

func (retryAtOnce) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(10 * time.Millisecond)
}

// startRiver starts a River client built by jobs.Config on pool and blobs, and stops it when
// the test ends. Its timing is shortened: an attempt times out after s.attemptTimeout; a job
// still running after that long (its process died) is rescued as soon as this client leads;
// a failed attempt is retried at once.
func startRiver(t testing.TB, pool *pgxpool.Pool, blobs document.BlobStore, s riverSettings) *river.Client[pgx.Tx] {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := jobs.NewWorkers(jobs.Deps{Pool: pool, Blobs: blobs, PartSize: crashPartSize, Log: log})
	w.GenerateBundle.AttemptTimeout = s.attemptTimeout
	w.DeleteDossier.AttemptTimeout = s.attemptTimeout
	w.DeleteDossier.BatchSize = crashBatchSize
	w.Heartbeat = cmp.Or(s.heartbeat, noHeartbeatCheck)
	switch s.kind {
	case "generate":
		w.GenerateBundle.AfterDocumentFunc = s.hook
	case "delete":
		w.DeleteDossier.AfterBatchFunc = s.hook
	}
	cfg := jobs.Config(config.ModeWorker, log, w)
	cfg.TestOnly = true // no jittered start of River's maintenance services
	cfg.JobTimeout = s.attemptTimeout
	cfg.RescueStuckJobsAfter = s.attemptTimeout
	cfg.RetryPolicy = retryAtOnce{}
	cfg.FetchPollInterval = 100 * time.Millisecond
	cfg.Middleware = append(cfg.Middleware, s.middleware...)
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

// attemptContexts remembers the context River gives the middleware of the latest attempt of a
// job kind, so that a hook inside the attempt can wait for the client's shutdown to cancel it.
// (River's job timeout applies inside the middleware: this context does not carry it.)
type attemptContexts struct {
	kind string
	mu   sync.Mutex
	ctx  context.Context
}

func (a *attemptContexts) middleware() rivertype.Middleware {
	return river.WorkerMiddlewareFunc(func(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
		if job.Kind == a.kind {
			a.mu.Lock()
			a.ctx = ctx
			a.mu.Unlock()
		}
		return doInner(ctx)
	})
}

// waitForEnd waits until River cancels the latest attempt's context (StopAndCancel, JobCancel).
func (a *attemptContexts) waitForEnd() {
	a.mu.Lock()
	ctx := a.ctx
	a.mu.Unlock()
	<-ctx.Done()
}

// jobKind is River's kind of the crash tests' job kinds.
func jobKind(kind string) string {
	if kind == "generate" {
		return bundle.GenerateBundleArgs{}.Kind()
	}
	return bundle.DeleteDossierArgs{}.Kind()
}

// interrupted are the crash tests' interruptions. Each starts River on the fixture's job of
// kind (whose row is id), interrupts it when its hook reports at, checks what the interruption
// left with midway (the job not yet retried), and lets River run it to the end; then it
// returns River's row of the job.
var interruptions = []struct {
	name string
	run  func(t *testing.T, f *fixture, kind string, id uuid.UUID, at int, midway func()) *rivertype.JobRow
	// wantAttempt is the attempt the job completes at; wantError, when set, is in the error
	// recorded for the first attempt.
	wantAttempt int
	wantError   string
}{
	{"Timeout", interruptByTimeout, 2, "context deadline exceeded"},
	{"Shutdown", interruptByShutdown, 1, ""},
	{"Kill", interruptByKill, 2, "Stuck job rescued by JobRescuer"},
	{"KillHeartbeat", interruptByKillHeartbeat, 2, heartbeat.Interrupted},
}

func interruptByTimeout(t *testing.T, f *fixture, kind string, id uuid.UUID, at int, _ func()) *rivertype.JobRow {
	var once atomic.Bool
	startRiver(t, f.db.Pool, f.blobs, riverSettings{attemptTimeout: crashTimeout, kind: kind, hook: func(done int) {
		if done == at && once.CompareAndSwap(false, true) {
			// River's deadline for the attempt was set before the attempt began: it has
			// passed when this sleep ends, and the attempt's next step fails on it.
			time.Sleep(crashTimeout)
		}
	}})
	return f.waitForJob(t, kind, id)
}

// startHeld starts River on the fixture and returns once the job of kind has reached at (its
// hook's count); the attempt then waits there until River cancels its context.
func startHeld(t *testing.T, f *fixture, kind string, at int) *river.Client[pgx.Tx] {
	t.Helper()
	ctxs := &attemptContexts{kind: jobKind(kind)}
	reached := make(chan struct{})
	var once atomic.Bool
	rc := startRiver(t, f.db.Pool, f.blobs, riverSettings{attemptTimeout: time.Minute, kind: kind, middleware: []rivertype.Middleware{ctxs.middleware()},
		hook: func(done int) {
			if done == at && once.CompareAndSwap(false, true) {
				close(reached)
				ctxs.waitForEnd()
			}
		}})
	select {
	case <-reached:
	case <-time.After(crashWait):
		t.Fatal("the job did not reach the middle of its work")
	}
	return rc
}

func interruptByShutdown(t *testing.T, f *fixture, kind string, id uuid.UUID, at int, midway func()) *rivertype.JobRow {
	rc := startHeld(t, f, kind, at)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rc.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	midway()
	startRiver(t, f.db.Pool, f.blobs, riverSettings{attemptTimeout: time.Minute})
	return f.waitForJob(t, kind, id)
}

func interruptByKill(t *testing.T, f *fixture, kind string, id uuid.UUID, at int, midway func()) *rivertype.JobRow {
	f.crashChild(t, kind, at, false, func() {})
	midway()
	startRiver(t, f.db.Pool, f.blobs, riverSettings{attemptTimeout: killTimeout})
	return f.waitForJob(t, kind, id)
}

// interruptByKillHeartbeat checks what the child left while it hangs (alive, so its heartbeat
// goes on and the second client leaves its job alone), starts the second client, kills the
// child, and checks that the job is done, restarted and marked interrupted, within restartBound
// of the kill.
func interruptByKillHeartbeat(t *testing.T, f *fixture, kind string, id uuid.UUID, at int, midway func()) *rivertype.JobRow {
	var killed time.Time
	f.crashChild(t, kind, at, true, func() {
		midway()
		startRiver(t, f.db.Pool, f.blobs, riverSettings{attemptTimeout: heartbeatAttemptTimeout, heartbeat: testHeartbeat})
		killed = time.Now()
	})
	job := f.waitForJob(t, kind, id)
	if took := time.Since(killed); took > restartBound {
		t.Errorf("the job ended %s after its worker was killed, want within %s", took.Round(time.Second), restartBound)
	}
	table := "bundles"
	if kind == "delete" {
		table = "dossier_deletions"
	}
	var interrupted bool
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, "SELECT interrupted_at IS NOT NULL FROM "+table+" WHERE id = $1", id).Scan(&interrupted)
	})
	if !interrupted {
		t.Errorf("%s %s not marked interrupted", table, id)
	}
	return job
}

// TestCrashChild is the child's side of the Kill cases: it runs a River client built as
// startRiver does on the database and blob folder given in the environment, whose hook prints
// midway and blocks when the job of kind BUNDLE_CRASH_CHILD reports BUNDLE_CRASH_AT. Without
// the variable it does nothing.
func TestCrashChild(t *testing.T) {
	kind := os.Getenv(crashChildEnv)
	if kind == "" {
		t.Skip("only run as the child of a crash test")
	}
	ctx := context.Background()
	pool, err := database.Open(ctx, os.Getenv("BUNDLE_CRASH_DB"), true)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(os.Getenv("BUNDLE_CRASH_BLOBS")))
	if err != nil {
		t.Fatal(err)
	}
	stopAt, _ := strconv.Atoi(os.Getenv("BUNDLE_CRASH_AT"))
	s := riverSettings{attemptTimeout: killTimeout, kind: kind}
	if os.Getenv("BUNDLE_CRASH_HEARTBEAT") != "" {
		s.attemptTimeout, s.heartbeat = heartbeatAttemptTimeout, testHeartbeat
	}
	s.hook = func(done int) {
		if done == stopAt {
			fmt.Println(midway)
			select {} // killed here
		}
	}
	startRiver(t, pool, blobs, s)
	time.Sleep(crashWait)
	t.Fatal("the child was not killed")
}

// crashChild starts the child working on kind (with testHeartbeat's timing when heartbeat),
// waits until it reports being midway, calls beforeKill, and kills it with SIGKILL.
func (f *fixture) crashChild(t *testing.T, kind string, at int, heartbeat bool, beforeKill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+kind, "BUNDLE_CRASH_DB="+f.db.OwnerURL, "BUNDLE_CRASH_BLOBS="+f.dir,
		"BUNDLE_CRASH_AT="+strconv.Itoa(at))
	if heartbeat {
		cmd.Env = append(cmd.Env, "BUNDLE_CRASH_HEARTBEAT=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	reached := false
	for lines.Scan() {
		if strings.TrimSpace(lines.Text()) == midway {
			reached = true
			break
		}
		t.Logf("child: %s", lines.Text())
	}
	if reached {
		beforeKill()
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !reached {
		t.Fatal("the child ended before reaching the middle of its work")
	}
}

// waitForJob waits until the bundle or deletion id is no longer pending or running, and
// returns River's row of its job.
func (f *fixture) waitForJob(t *testing.T, kind string, id uuid.UUID) *rivertype.JobRow {
	t.Helper()
	table, arg := "bundles", "bundle_id"
	if kind == "delete" {
		table, arg = "dossier_deletions", "deletion_id"
	}
	deadline := time.Now().Add(crashWait)
	for {
		var status bundle.Status
		f.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(f.ctx, "SELECT status FROM "+table+" WHERE id = $1", id).Scan(&status)
		})
		if status != bundle.StatusPending && status != bundle.StatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %s after %s", table, id, status, crashWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// River records the job's end just after the job's own last transaction.
	for {
		var job rivertype.JobRow
		var firstError string
		err := f.db.Pool.QueryRow(f.ctx, `SELECT id, state, attempt, coalesce(errors[1]->>'error', '')
			FROM river_job WHERE kind = $1 AND args->>$2 = $3`, jobKind(kind), arg, id.String()).
			Scan(&job.ID, &job.State, &job.Attempt, &firstError)
		if err != nil {
			t.Fatal(err)
		}
		if firstError != "" {
			job.Errors = []rivertype.AttemptError{{Error: firstError}}
		}
		if job.State != rivertype.JobStateRunning || time.Now().After(deadline) {
			return &job
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRetried checks that River completed the job at the attempt the interruption leads to,
// with the first attempt's error recorded.
func checkRetried(t *testing.T, job *rivertype.JobRow, wantAttempt int, wantError string) {
	t.Helper()
	if job.State != rivertype.JobStateCompleted || job.Attempt != wantAttempt {
		t.Errorf("River's job is %s at attempt %d, want completed at attempt %d", job.State, job.Attempt, wantAttempt)
	}
	if wantError != "" && (len(job.Errors) == 0 || !strings.Contains(job.Errors[0].Error, wantError)) {
		t.Errorf("River recorded errors %+v, want the first to say %q", job.Errors, wantError)
	}
}

// requestTwelve gives one employee 12 documents of 50 kB (several parts at crashPartSize) and
// requests their bundle as a provider user who may read them all; it returns the job's
// arguments and the user.
func (f *fixture) requestTwelve(t *testing.T) (bundle.GenerateBundleArgs, uuid.UUID) {
	t.Helper()
	e := f.employee(t, "1", "Aalbers")
	for i := range 12 {
		f.upload(t, &e.ID, f.catEmployee.ID, "doc-"+name(i)+".pdf", pdf(50<<10))
	}
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	return f.request(t, user), user
}

// TestGenerateInterruptedMidArchive interrupts a generation in the middle of part 2 (part 1
// written, part 2 half written; both unpublished) and checks the bundle River finishes.
func TestGenerateInterruptedMidArchive(t *testing.T) {
	t.Parallel()
	for _, how := range interruptions {
		t.Run(how.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			args, _ := f.requestTwelve(t)
			job := how.run(t, f, "generate", args.BundleID, 4, func() {
				var uploads int
				f.inTenant(t, func(tx pgx.Tx) error {
					return tx.QueryRow(f.ctx, "SELECT count(*) FROM bundle_uploads").Scan(&uploads)
				})
				b := f.find(t, args.BundleID)
				if uploads != 2 || b.Status != bundle.StatusRunning || len(b.Parts) != 0 || b.DocsDone > 4 {
					t.Errorf("after the interruption: %d upload records, status %s, %d parts, %d documents done; want 2, running, 0, at most 4",
						uploads, b.Status, len(b.Parts), b.DocsDone)
				}
				f.checkRowsHaveBlobs(t)
			})
			checkRetried(t, job, how.wantAttempt, how.wantError)
			got := f.find(t, args.BundleID)
			c := f.checkBundle(t, got) // every entry, the workbook, and no orphan blobs
			if len(c.Rows) != 12 || len(got.Parts) < 3 {
				t.Errorf("%d documents in %d parts, want 12 in several", len(c.Rows), len(got.Parts))
			}
			if n := f.auditCount(t, "bundle.generated"); n != 1 {
				t.Errorf("%d bundle.generated events, want 1", n)
			}
		})
	}
}

// TestDeleteDossierInterrupted interrupts a deletion after a committed batch whose blobs are not
// yet deleted, and checks the deletion River finishes.
func TestDeleteDossierInterrupted(t *testing.T) {
	t.Parallel()
	for _, how := range interruptions {
		t.Run(how.name, func(t *testing.T) {
			t.Parallel()
			d := setupDelete(t)
			args := d.request(t)
			job := how.run(t, d.fixture, "delete", args.DeletionID, 6, func() {
				var pending, deleted int
				d.inTenant(t, func(tx pgx.Tx) error {
					return tx.QueryRow(d.ctx, "SELECT (SELECT count(*) FROM blob_deletions), (SELECT documents_deleted FROM dossier_deletions)").
						Scan(&pending, &deleted)
				})
				if deleted != 6 || pending > 3 {
					t.Errorf("after the interruption: %d documents counted, %d blobs awaiting deletion; want 6 and at most 3", deleted, pending)
				}
				d.checkRowsHaveBlobs(t)
			})
			checkRetried(t, job, how.wantAttempt, how.wantError)
			d.check(t, args) // everything gone and counted once, no orphan blobs, audited once
		})
	}
}

// TestGenerateCancelledOnJobsPage cancels a running generation the way /admin/jobs does
// (River's JobCancel) in the middle of part 2: the bundle ends as failed with the reason, what
// the attempt wrote is gone, River does not run it again, and the requester may ask anew.
func TestGenerateCancelledOnJobsPage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	args, user := f.requestTwelve(t)
	rc := startHeld(t, f, "generate", 4)
	var jobID int64
	if err := f.db.Pool.QueryRow(f.ctx, `SELECT id FROM river_job WHERE kind = $1 AND args->>'bundle_id' = $2`,
		jobKind("generate"), args.BundleID.String()).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.JobCancel(f.ctx, jobID); err != nil {
		t.Fatal(err)
	}
	job := f.waitForJob(t, "generate", args.BundleID)
	if job.State != rivertype.JobStateCancelled || job.Attempt != 1 {
		t.Errorf("River's job is %s at attempt %d, want cancelled at attempt 1", job.State, job.Attempt)
	}
	if b := f.find(t, args.BundleID); b.Status != bundle.StatusFailed || b.Error != "bundle.error.cancelled" || len(b.Parts) != 0 {
		t.Errorf("bundle %s with error %q and %d parts, want failed, bundle.error.cancelled, none", b.Status, b.Error, len(b.Parts))
	}
	f.checkNoOrphans(t)
	if n := f.auditCount(t, "bundle.failed"); n != 1 {
		t.Errorf("%d bundle.failed events, want 1", n)
	}
	f.request(t, user) // a new request is accepted: no generation is running any more
}

// TestDeleteCancelledOnJobsPage cancels a running deletion the way /admin/jobs does, after a
// committed batch: the deletion ends as failed with the reason, the blobs of the rows it
// deleted are gone too (every remaining row has its blob, and no blob is without a row), and a
// new deletion may be asked for at once.
func TestDeleteCancelledOnJobsPage(t *testing.T) {
	t.Parallel()
	d := setupDelete(t)
	args := d.request(t)
	rc := startHeld(t, d.fixture, "delete", 6)
	var jobID int64
	if err := d.db.Pool.QueryRow(d.ctx, `SELECT id FROM river_job WHERE kind = $1 AND args->>'deletion_id' = $2`,
		jobKind("delete"), args.DeletionID.String()).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.JobCancel(d.ctx, jobID); err != nil {
		t.Fatal(err)
	}
	job := d.waitForJob(t, "delete", args.DeletionID)
	if job.State != rivertype.JobStateCancelled || job.Attempt != 1 {
		t.Errorf("River's job is %s at attempt %d, want cancelled at attempt 1", job.State, job.Attempt)
	}
	d.inTenant(t, func(tx pgx.Tx) error {
		list, err := bundle.FindDeletions(d.ctx, tx, d.employer.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Status != bundle.StatusFailed || list[0].Error != "bundle.error.deletion_cancelled" || list[0].DocumentsDeleted != 6 {
			t.Errorf("deletions %+v, want one failed with bundle.error.deletion_cancelled after 6 documents", list)
		}
		return nil
	})
	d.checkRowsHaveBlobs(t)
	d.checkNoOrphans(t)
	d.request(t) // a new deletion is accepted: none is on its way any more
}
