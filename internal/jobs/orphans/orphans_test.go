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
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/jobs/orphans"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// fixture is one tenant with a blob folder.
type fixture struct {
	ctx    context.Context
	db     dbtest.DB
	dir    string
	blobs  document.BlobStore
	log    *slog.Logger
	tenant uuid.UUID
	sys    access.Editor
}

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), db: dbtest.New(t), dir: t.TempDir(), log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		sys: access.System(audit.Actor{})}
	var err error
	if f.blobs, err = document.OpenBlobStore(f.ctx, "file://"+filepath.ToSlash(f.dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.blobs.Close() })
	tenant, err := org.CreateTenant(f.ctx, f.db.Pool, "Arbodienst Test", false)
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = tenant.ID
	return f
}

func (f *fixture) inTenant(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(f.ctx, f.db.Pool, f.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// path is where the folder store keeps a blob.
func (f *fixture) path(key string) string { return filepath.Join(f.dir, filepath.FromSlash(key)) }

// write writes a file at p last modified at modTime, and returns p.
func (f *fixture) write(t *testing.T, p string, modTime time.Time) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, modTime, modTime); err != nil {
		t.Fatal(err)
	}
	return p
}

// exists fails the test for every path whose existence is not as wanted.
func exists(t *testing.T, want map[string]bool) {
	t.Helper()
	for p, want := range want {
		_, err := os.Stat(p)
		if exists := err == nil; exists != want || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
			t.Errorf("%s exists: %v (%v), want %v", p, exists, err, want)
		}
	}
}

// TestOrphanCheck runs the check as River runs it, on a blob folder holding, older than a day
// unless said otherwise: a document with its blob; a document whose blob is missing, and a
// young one; a blob without a row, and a young one; an unfinished upload's temporary file, and
// a young one. It counts the old orphans in its output, removes the old temporary file only,
// and deletes no blob.
func TestOrphanCheck(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := f.ctx
	svc := document.NewService(f.blobs, 0, f.log)
	var e org.Employer
	var c document.Category
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		if e, err = org.CreateEmployer(ctx, tx, f.sys, org.Employer{Name: "Bouwbedrijf B.V.", EmployerNumber: "100"}); err != nil {
			return err
		}
		c, err = document.CreateCategory(ctx, tx, f.sys, document.Category{Name: "Contracten", Dossier: document.DossierEmployer})
		return err
	})
	var docs []document.Document
	for range 3 {
		d, err := svc.Upload(ctx, f.db.Pool, f.sys, f.tenant, document.NewDocument{EmployerID: e.ID, CategoryID: c.ID, FileName: "a.pdf"},
			bytes.NewReader([]byte("%PDF-1.7\n")))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	old := time.Now().Add(-25 * time.Hour)
	// docs[0] keeps its blob; docs[1] (old) and docs[2] (young) lose theirs.
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE documents SET uploaded_at = $2 WHERE id = ANY ($1)", []uuid.UUID{docs[0].ID, docs[1].ID}, old)
		return err
	})
	if err := os.Chtimes(f.path(docs[0].StorageKey), old, old); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs[1:] {
		if err := f.blobs.Delete(ctx, d.StorageKey); err != nil {
			t.Fatal(err)
		}
	}
	orphan := f.write(t, f.path(document.StorageKey(f.tenant, uuid.New())), old)
	youngOrphan := f.write(t, f.path(document.StorageKey(f.tenant, uuid.New())), time.Now())
	oldTmp := f.write(t, f.path(document.StorageKey(f.tenant, uuid.New()))+".18f2a3b4c5d6e7f8.tmp", old)
	youngTmp := f.write(t, f.path(document.StorageKey(f.tenant, uuid.New()))+".18f2a3b4c5d6e7f9.tmp", time.Now())

	got := runCheck(t, f.db, &orphans.Worker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log})
	if want := (orphans.Result{BlobsWithoutRow: 1, RowsWithoutBlob: 1, UnfinishedRemoved: 1}); got != want {
		t.Errorf("the check found %+v, want %+v", got, want)
	}
	exists(t, map[string]bool{orphan: true, youngOrphan: true, oldTmp: false, youngTmp: true, f.path(docs[0].StorageKey): true})
	if got := runCheck(t, f.db, &orphans.Worker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log}); got.UnfinishedRemoved != 0 {
		t.Errorf("the second check removed %d unfinished uploads, want 0", got.UnfinishedRemoved)
	}
}

// TestOrphanCheckExportsAndDatastreams holds the check to the other blobs the product writes,
// older than a day: an export done with both files, one done whose JSON file is missing, an
// expired one whose files wait in blob_deletions, an export file without a row and an
// unfinished one; a hosted datastream file with its blob, one whose blob is missing, a blob
// without a file row and an unfinished one.
func TestOrphanCheckExportsAndDatastreams(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := f.ctx
	old := time.Now().Add(-25 * time.Hour)
	var employee org.Employee
	var user org.User
	var account datastream.Account
	f.inTenant(t, func(tx pgx.Tx) error {
		e, err := org.CreateEmployer(ctx, tx, f.sys, org.Employer{Name: "Bouwbedrijf B.V.", EmployerNumber: "100"})
		if err != nil {
			return err
		}
		if employee, err = org.CreateEmployee(ctx, tx, f.sys, org.Employee{EmployerID: e.ID, PersonnelNumber: "1", LastName: "Jansen"}); err != nil {
			return err
		}
		r, err := org.CreateRole(ctx, tx, f.sys, org.Role{Name: "Exporteur", Kind: access.KindProvider, Rights: []access.Right{access.EmployeeExportCreate}})
		if err != nil {
			return err
		}
		if user, err = org.CreateUser(ctx, tx, f.sys, org.UserInput{Email: "cm@example.test", Name: "Casemanager", Kind: access.KindProvider, RoleID: r.ID}, "not-a-hash"); err != nil {
			return err
		}
		account, _, err = datastream.CreateAccount(ctx, tx, f.sys, secret.NewKeyring(secret.GenerateKey()), datastream.AccountInput{Name: "Warehouse",
			Type: datastream.TypeHosted, Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthPassword})
		return err
	})
	exportRow := func(status string, deleted bool) uuid.UUID {
		var id uuid.UUID
		f.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO employee_exports (tenant_id, employee_id, employer_id, requested_by, status, created_at,
				finished_at, expires_at, deleted_at) VALUES (app_tenant(), $1, $2, $3, $4, $5::timestamptz, $5, $5::timestamptz + interval '24 hours',
				CASE WHEN $6 THEN now() END) RETURNING id`, employee.ID, employee.EmployerID, user.ID, status, old, deleted).Scan(&id)
		})
		return id
	}
	whole, halfDone, expired := exportRow("done", false), exportRow("done", false), exportRow("done", true)
	var kept []string
	for _, k := range []string{export.StorageKey(f.tenant, whole, export.FileXLSX), export.StorageKey(f.tenant, whole, export.FileJSON),
		export.StorageKey(f.tenant, halfDone, export.FileXLSX), export.StorageKey(f.tenant, expired, export.FileXLSX)} {
		kept = append(kept, f.write(t, f.path(k), old))
	}
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO blob_deletions (tenant_id, storage_key) VALUES (app_tenant(), $1)",
			export.StorageKey(f.tenant, expired, export.FileXLSX))
		return err
	})
	exportOrphan := f.write(t, f.path(export.StorageKey(f.tenant, uuid.New(), export.FileJSON)), old)
	exportTmp := f.write(t, f.path(export.StorageKey(f.tenant, uuid.New(), export.FileXLSX))+".18f2a3b4c5d6e7f8.tmp", old)

	folder := datastream.NewFolder(f.db.Pool, f.blobs, f.tenant, account.ID)
	for _, name := range []string{"levering/werknemers.csv", "levering/verzuim.csv"} {
		if _, err := folder.Upload(ctx, name, bytes.NewReader([]byte("id\n1\n"))); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[string]string{}
	f.inTenant(t, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE datastream_files SET modified_at = $1", old); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT path, storage_key FROM datastream_files WHERE NOT is_dir")
		if err != nil {
			return err
		}
		var p, k string
		_, err = pgx.ForEachRow(rows, []any{&p, &k}, func() error { keys[p] = k; return nil })
		return err
	})
	if err := os.Chtimes(f.path(keys["levering/werknemers.csv"]), old, old); err != nil {
		t.Fatal(err)
	}
	if err := f.blobs.Delete(ctx, keys["levering/verzuim.csv"]); err != nil {
		t.Fatal(err)
	}
	fileOrphan := f.write(t, f.path(datastream.StoragePrefix(f.tenant)+account.ID.String()+"/"+uuid.NewString()), old)
	fileTmp := f.write(t, f.path(datastream.StoragePrefix(f.tenant)+account.ID.String()+"/"+uuid.NewString())+".18f2a3b4c5d6e7f8.tmp", old)

	got := runCheck(t, f.db, &orphans.Worker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log})
	if want := (orphans.Result{BlobsWithoutRow: 2, RowsWithoutBlob: 2, UnfinishedRemoved: 2}); got != want {
		t.Errorf("the check found %+v, want %+v", got, want)
	}
	want := map[string]bool{exportOrphan: true, exportTmp: false, fileOrphan: true, fileTmp: false, f.path(keys["levering/werknemers.csv"]): true}
	for _, p := range kept {
		want[p] = true
	}
	exists(t, want)
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
