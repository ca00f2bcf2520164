package bundle_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
)

// The crash tests run a job in a child process (this test binary, re-run with crashChildEnv
// set), kill it with SIGKILL in the middle of its work, and run the job again in this process,
// as River does after a crash.
const crashChildEnv = "BUNDLE_CRASH_CHILD"

// midway is what the child prints when it is in the middle of its work; it then waits to be killed.
const midway = "MIDWAY"

// TestCrashChild is the child's side: it works one job of the kind in BUNDLE_CRASH_CHILD on the
// database, blob folder and ids given in the environment. Without the variable it does nothing.
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
	tenant, id := uuid.MustParse(os.Getenv("BUNDLE_CRASH_TENANT")), uuid.MustParse(os.Getenv("BUNDLE_CRASH_ID"))
	stopAt, _ := strconv.Atoi(os.Getenv("BUNDLE_CRASH_AT"))
	hang := func(done int) {
		if done == stopAt {
			fmt.Println(midway)
			select {} // killed here
		}
	}
	switch kind {
	case "generate":
		partSize, _ := strconv.ParseInt(os.Getenv("BUNDLE_CRASH_PART_SIZE"), 10, 64)
		w := &bundle.GenerateBundleWorker{Pool: pool, Blobs: blobs, PartSize: partSize, AfterDocumentFunc: hang}
		err = w.Work(ctx, job(bundle.GenerateBundleArgs{TenantID: tenant, BundleID: id}))
	case "delete":
		w := &bundle.DeleteDossierWorker{Pool: pool, Blobs: blobs, BatchSize: 3, AfterBatchFunc: hang}
		err = w.Work(ctx, job(bundle.DeleteDossierArgs{TenantID: tenant, DeletionID: id}))
	}
	t.Fatalf("child finished without being killed: %v", err)
}

// crashChild starts the child working on kind for id, waits until it reports being midway, and
// kills it with SIGKILL.
func (f *fixture) crashChild(t *testing.T, kind string, id uuid.UUID, at int, extra ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+kind, "BUNDLE_CRASH_DB="+f.db.OwnerURL, "BUNDLE_CRASH_BLOBS="+f.dir,
		"BUNDLE_CRASH_TENANT="+f.tenant.String(), "BUNDLE_CRASH_ID="+id.String(), "BUNDLE_CRASH_AT="+strconv.Itoa(at))
	cmd.Env = append(cmd.Env, extra...)
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
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !reached {
		t.Fatal("the child ended before reaching the middle of its work")
	}
}

// retry works the job in this process until it is not snoozed: the killed child's session,
// and with it the bundle's advisory lock, may take a moment to go.
func retry[T river.JobArgs](t *testing.T, work func(context.Context, *river.Job[T]) error, args T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := work(context.Background(), job(args))
		var snooze *river.JobSnoozeError
		if !errors.As(err, &snooze) {
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("retry: still locked by the killed process")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestGenerateProcessKilledMidArchive kills the worker process in the middle of writing part 2
// (a partial blob on disk), then lets the job run again.
func TestGenerateProcessKilledMidArchive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	e := f.employee(t, "1", "Aalbers")
	for i := range 12 {
		f.upload(t, &e.ID, f.catEmployee.ID, "doc-"+name(i)+".pdf", pdf(50<<10))
	}
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	args := f.request(t, user)
	const partSize = 200 << 10
	f.crashChild(t, "generate", args.BundleID, 4, "BUNDLE_CRASH_PART_SIZE="+strconv.Itoa(partSize))

	// The child left a finished part 1 and part 2 half written, both unpublished.
	var uploads int
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(f.ctx, "SELECT count(*) FROM bundle_uploads").Scan(&uploads)
	})
	unfinished := 0
	for _, file := range f.blobFiles(t) {
		if strings.HasSuffix(file, ".tmp") {
			unfinished++
		}
	}
	if b := f.find(t, args.BundleID); uploads != 2 || unfinished != 1 || b.Status != bundle.StatusRunning || len(b.Parts) != 0 {
		t.Fatalf("after the kill: %d upload records, %d unfinished blobs, status %s, %d parts; want 2, 1, running, 0",
			uploads, unfinished, b.Status, len(b.Parts))
	}

	retry(t, f.worker(partSize).Work, args)
	got := f.find(t, args.BundleID)
	c := f.checkBundle(t, got)
	if len(c.Rows) != 12 {
		t.Errorf("%d documents in the bundle, want 12", len(c.Rows))
	}
}
