package orphans_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/jobs/orphans"
	"github.com/dossierkast/dossierkast/internal/org"
)

// TestOrphanCheck runs the check as River runs it, on a blob folder holding, older than a day
// unless said otherwise: a document with its blob; a document whose blob is missing, and a
// young one; a blob without a row, and a young one; an unfinished upload's temporary file, and
// a young one. It counts the old orphans in its output, removes the old temporary file only,
// and deletes no blob.
func TestOrphanCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.New(t)
	dir := t.TempDir()
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tenant, err := org.CreateTenant(ctx, db.Pool, "Arbodienst Test", false)
	if err != nil {
		t.Fatal(err)
	}
	svc := document.NewService(blobs, 0, log)
	var e org.Employer
	var c document.Category
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) error {
		if e, err = org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Bouwbedrijf B.V.", EmployerNumber: "100"}); err != nil {
			return err
		}
		c, err = document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: "Contracten", Dossier: document.DossierEmployer})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var docs []document.Document
	for range 3 {
		d, err := svc.Upload(ctx, db.Pool, access.System(audit.Actor{}), tenant.ID, document.NewDocument{EmployerID: e.ID, CategoryID: c.ID, FileName: "a.pdf"},
			bytes.NewReader([]byte("%PDF-1.7\n")))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	old := time.Now().Add(-25 * time.Hour)
	path := func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }
	write := func(p string, modTime time.Time) string {
		t.Helper()
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, modTime, modTime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// docs[0] keeps its blob; docs[1] (old) and docs[2] (young) lose theirs.
	err = database.InTenant(ctx, db.Pool, tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE documents SET uploaded_at = $2 WHERE id = ANY ($1)", []uuid.UUID{docs[0].ID, docs[1].ID}, old)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path(docs[0].StorageKey), old, old); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs[1:] {
		if err := blobs.Delete(ctx, d.StorageKey); err != nil {
			t.Fatal(err)
		}
	}
	orphan := write(path(document.StorageKey(tenant.ID, uuid.New())), old)
	youngOrphan := write(path(document.StorageKey(tenant.ID, uuid.New())), time.Now())
	oldTmp := write(path(document.StorageKey(tenant.ID, uuid.New()))+".18f2a3b4c5d6e7f8.tmp", old)
	youngTmp := write(path(document.StorageKey(tenant.ID, uuid.New()))+".18f2a3b4c5d6e7f9.tmp", time.Now())

	got := runCheck(t, db, &orphans.Worker{Pool: db.Pool, Blobs: blobs, Log: log})
	if want := (orphans.Result{BlobsWithoutRow: 1, RowsWithoutBlob: 1, UnfinishedRemoved: 1}); got != want {
		t.Errorf("the check found %+v, want %+v", got, want)
	}
	for p, want := range map[string]bool{orphan: true, youngOrphan: true, oldTmp: false, youngTmp: true, path(docs[0].StorageKey): true} {
		_, err := os.Stat(p)
		if exists := err == nil; exists != want || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
			t.Errorf("%s exists: %v (%v), want %v", p, exists, err, want)
		}
	}
	if got := runCheck(t, db, &orphans.Worker{Pool: db.Pool, Blobs: blobs, Log: log}); got.UnfinishedRemoved != 0 {
		t.Errorf("the second check removed %d unfinished uploads, want 0", got.UnfinishedRemoved)
	}
}

// runCheck runs the check in a River client as a worker process would, and returns the output
// River recorded.
func runCheck(t *testing.T, db dbtest.DB, w *orphans.Worker) orphans.Result {
	t.Helper()
	ctx := context.Background()
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: w.Log, Workers: workers, TestOnly: true,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := rc.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rc.Stop(ctx)
	res, err := rc.Insert(ctx, orphans.CheckArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Job.ID != res.Job.ID || ev.Job.State != rivertype.JobStateCompleted {
			t.Fatalf("the check ended %s: %+v", ev.Job.State, ev.Job.Errors)
		}
		var out orphans.Result
		if err := json.Unmarshal(ev.Job.Output(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	case <-time.After(time.Minute):
		t.Fatal("the check did not end")
	}
	return orphans.Result{}
}
