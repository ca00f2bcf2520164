package bundle

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// expireInterval is how often the expiry sweep runs: a bundle lives at most this much past its
// 48 hours.
const expireInterval = 15 * time.Minute

// ExpireBundlesWorker is the expiry sweep (ExpireBundlesArgs): in every tenant it deletes the
// bundles whose 48 hours are over, whatever their status, with their parts and blobs, and audits
// each deletion. Rows go first with their keys recorded in blob_deletions, blobs after, as the
// delete job does. Several sweeps may run at once (on several processes): each locks the
// bundles it takes with FOR UPDATE SKIP LOCKED, so no bundle is deleted or audited twice, and a
// bundle whose generation still runs (its advisory lock held) waits for a later sweep.
type ExpireBundlesWorker struct {
	river.WorkerDefaults[ExpireBundlesArgs]
	Pool  *pgxpool.Pool
	Blobs document.BlobStore
	Log   *slog.Logger
	// NowFunc is the clock; time.Now when nil.
	NowFunc func() time.Time
}

// Work sweeps every tenant.
func (w *ExpireBundlesWorker) Work(ctx context.Context, job *river.Job[ExpireBundlesArgs]) error {
	now := time.Now()
	if w.NowFunc != nil {
		now = w.NowFunc()
	}
	tenants, err := org.TenantIDs(ctx, w.Pool)
	if err != nil {
		return fmt.Errorf("expire bundles: %w", err)
	}
	expired := 0
	for _, t := range tenants {
		err := deleteIdleBundles(ctx, w.Pool, w.Blobs, t, "expires_at <= $1", now, func(ctx context.Context, tx pgx.Tx, b idleBundle) error {
			expired++
			return audit.Write(ctx, tx, audit.Actor{}, audit.Event{Action: audit.BundleExpired, SubjectType: "bundle", SubjectID: &b.ID,
				EmployerID: &b.EmployerID, Details: map[string]any{"parts": b.Parts, "requested_by": b.RequestedBy, "created_at": b.CreatedAt}})
		})
		if err != nil {
			return fmt.Errorf("expire bundles of tenant %s: %w", t, err)
		}
	}
	if expired > 0 {
		w.logger().InfoContext(ctx, "expired bundles deleted", "count", expired)
	}
	return nil
}

func (w *ExpireBundlesWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// ExpireBundlesPeriodic runs the sweep every expireInterval, and once at start.
func ExpireBundlesPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(expireInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireBundlesArgs{}, nil },
		&river.PeriodicJobOpts{ID: "expire_bundles", RunOnStart: true})
}
