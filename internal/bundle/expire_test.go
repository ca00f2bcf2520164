package bundle_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/document"
)

// TestExpireBundles checks with a controllable clock that a bundle past its 48 hours goes, rows
// and blobs, with an audit event, and a younger one stays.
func TestExpireBundles(t *testing.T) {
	t.Parallel()
	f := setup(t)
	e := f.employee(t, "1", "Aalbers")
	f.upload(t, &e.ID, f.catEmployee.ID, "brief.pdf", pdf(4000))
	user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
	old, young := f.generate(t, user, 1<<30), f.generate(t, user, 1<<30)
	// The old one was asked for 10 hours before the young one.
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(f.ctx, `UPDATE bundles SET created_at = created_at - interval '10 hours', expires_at = expires_at - interval '10 hours'
			WHERE id = $1`, old.ID)
		return err
	})
	sweep := func(at time.Time) {
		t.Helper()
		w := &bundle.ExpireBundlesWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log, NowFunc: func() time.Time { return at }}
		if err := w.Work(f.ctx, job(bundle.ExpireBundlesArgs{})); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(id bundle.Bundle) bool {
		err := f.try(func(tx pgx.Tx) error {
			_, err := bundle.FindBundleByID(f.ctx, tx, id.ID)
			return err
		})
		if err != nil && apperr.CodeOf(err) != apperr.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}

	sweep(young.CreatedAt.Add(37 * time.Hour)) // the old one is 47 hours old
	if !exists(old) || !exists(young) || f.auditCount(t, "bundle.expired") != 0 {
		t.Fatal("a bundle younger than 48 hours was deleted")
	}
	sweep(young.CreatedAt.Add(39 * time.Hour)) // the old one is 49 hours old
	if exists(old) || !exists(young) {
		t.Errorf("after 49 hours: old exists %v, young exists %v; want false, true", exists(old), exists(young))
	}
	if n := f.auditCount(t, "bundle.expired"); n != 1 {
		t.Errorf("%d bundle.expired events, want 1", n)
	}
	f.checkNoOrphans(t)
	for _, p := range old.Parts {
		if _, err := f.blobs.Attributes(f.ctx, p.StorageKey); err == nil {
			t.Errorf("blob of expired part %s is still there", p.StorageKey)
		}
	}
	sweep(young.CreatedAt.Add(48*time.Hour + time.Second))
	if exists(young) || len(f.storageKeys(t)) != 1 {
		t.Errorf("after 48 hours the young bundle still exists, or the document went too")
	}
	f.checkNoOrphans(t)
}

// TestExpireConcurrentSweeps runs three sweeps at once, as several processes may: every expired
// bundle goes exactly once.
func TestExpireConcurrentSweeps(t *testing.T) {
	t.Parallel()
	f := setup(t)
	e := f.employee(t, "1", "Aalbers")
	f.upload(t, &e.ID, f.catEmployee.ID, "brief.pdf", pdf(4000))
	var bundles []bundle.Bundle
	for range 8 {
		user := f.user(t, access.KindProvider, f.role(t, access.KindProvider, f.readAll(), fullRights...))
		bundles = append(bundles, f.generate(t, user, 1<<30))
	}
	later := time.Now().Add(49 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			w := &bundle.ExpireBundlesWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log, NowFunc: func() time.Time { return later }}
			errs <- w.Work(f.ctx, job(bundle.ExpireBundlesArgs{}))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.auditCount(t, "bundle.expired"); n != len(bundles) {
		t.Errorf("%d bundle.expired events, want %d", n, len(bundles))
	}
	var left int
	f.inTenant(t, func(tx pgx.Tx) error { return tx.QueryRow(f.ctx, "SELECT count(*) FROM bundles").Scan(&left) })
	if left != 0 {
		t.Errorf("%d bundles left", left)
	}
	f.checkNoOrphans(t)
}

// abandonedGeneration leaves the bundle as a generation killed in the middle of a part leaves
// it: running, its part's upload recorded, and the part's partial file in the folder under the
// blob store's temporary name. It returns that file's path.
func (f *fixture) abandonedGeneration(t *testing.T, bundleID uuid.UUID) string {
	t.Helper()
	key := document.StorageKey(f.tenant, uuid.Must(uuid.NewV7()))
	f.inTenant(t, func(tx pgx.Tx) error {
		if _, err := tx.Exec(f.ctx, "UPDATE bundles SET status = 'running' WHERE id = $1", bundleID); err != nil {
			return err
		}
		_, err := tx.Exec(f.ctx, "INSERT INTO bundle_uploads (tenant_id, bundle_id, storage_key) VALUES (app_tenant(), $1, $2)", bundleID, key)
		return err
	})
	path := filepath.Join(f.dir, filepath.FromSlash(key)) + ".18f2a3b4c5d6e7f8.tmp"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pdf(44<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExpireRemovesUnfinishedUploads: the sweep of a bundle whose generation died mid-part
// removes the part's temporary file too, not only the row.
func TestExpireRemovesUnfinishedUploads(t *testing.T) {
	t.Parallel()
	f := setup(t)
	args, _ := f.requestTwelve(t)
	tmp := f.abandonedGeneration(t, args.BundleID)
	w := &bundle.ExpireBundlesWorker{Pool: f.db.Pool, Blobs: f.blobs, Log: f.log, NowFunc: func() time.Time { return time.Now().Add(49 * time.Hour) }}
	if err := w.Work(f.ctx, job(bundle.ExpireBundlesArgs{})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the unfinished part %s is still there (%v)", tmp, err)
	}
	f.checkNoOrphans(t)
}

// TestDeleteRemovesUnfinishedUploads: deleting the full dossier of an employer with a bundle
// whose generation died mid-part removes the part's temporary file too.
func TestDeleteRemovesUnfinishedUploads(t *testing.T) {
	t.Parallel()
	d := setupDelete(t)
	tmp := d.abandonedGeneration(t, d.fixture.request(t, d.provider).BundleID)
	args := d.request(t)
	w := &bundle.DeleteDossierWorker{Pool: d.db.Pool, Blobs: d.blobs, BatchSize: 3, Log: d.log}
	if err := w.Work(d.ctx, job(args)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the unfinished part %s is still there (%v)", tmp, err)
	}
	d.check(t, args)
}
