package bundle_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/bundle"
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
