package export

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// ExpireExportsArgs asks for the expiry sweep of every tenant's exports (ExpireExportsWorker).
type ExpireExportsArgs struct{}

// Kind names the job.
func (ExpireExportsArgs) Kind() string { return "expire_exports" }

// expireInterval is how often the sweep runs: an export's files live at most this much past
// their 24 hours (the download refuses them from the 24th hour on regardless).
const expireInterval = 15 * time.Minute

// ExpireExportsWorker is the expiry sweep: in every tenant it deletes the files of the exports
// whose 24 hours are over and sets deleted_at, keeping the row as the deleted-export record,
// and audits each as an automatic deletion. The row changes first with the blobs' keys
// recorded in blob_deletions, in one transaction; the blobs go after, then their records, so a
// crash in between leaves the keys for the next drain (package bundle's). Several sweeps may
// run at once: each locks the exports it takes with FOR UPDATE SKIP LOCKED and changes only
// rows not yet deleted, so each export is deleted and audited once. An export whose generation
// still runs (its advisory lock held) waits for a later sweep.
type ExpireExportsWorker struct {
	river.WorkerDefaults[ExpireExportsArgs]
	Pool  *pgxpool.Pool
	Blobs document.BlobStore
	Log   *slog.Logger
	// NowFunc is the clock; time.Now when nil.
	NowFunc func() time.Time
}

// Work sweeps every tenant.
func (w *ExpireExportsWorker) Work(ctx context.Context, _ *river.Job[ExpireExportsArgs]) error {
	now := time.Now()
	if w.NowFunc != nil {
		now = w.NowFunc()
	}
	tenants, err := org.TenantIDs(ctx, w.Pool)
	if err != nil {
		return fmt.Errorf("expire exports: %w", err)
	}
	expired := 0
	for _, t := range tenants {
		n, err := w.sweep(ctx, t, now)
		if err != nil {
			return fmt.Errorf("expire exports of tenant %s: %w", t, err)
		}
		expired += n
	}
	if expired > 0 {
		w.logger().InfoContext(ctx, "expired exports deleted", "count", expired)
	}
	return nil
}

func (w *ExpireExportsWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// sweepBatch is how many exports one transaction of the sweep deletes.
const sweepBatch = 100

// sweep deletes the tenant's expired exports' files, a batch per transaction, and returns how
// many it deleted.
func (w *ExpireExportsWorker) sweep(ctx context.Context, tenantID uuid.UUID, now time.Time) (int, error) {
	total := 0
	for {
		var keys []string
		n := 0
		err := database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, employee_id, employer_id, requested_by, created_at, status FROM employee_exports
				WHERE deleted_at IS NULL AND expires_at <= $1 AND pg_try_advisory_xact_lock(hashtextextended('export:' || id::text, 0))
				ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, sweepBatch)
			if err != nil {
				return err
			}
			type gone struct {
				id, employee, employer, by uuid.UUID
				created                    time.Time
				status                     Status
			}
			list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gone, error) {
				var g gone
				err := r.Scan(&g.id, &g.employee, &g.employer, &g.by, &g.created, &g.status)
				return g, err
			})
			if err != nil {
				return err
			}
			for _, g := range list {
				tag, err := tx.Exec(ctx, `UPDATE employee_exports SET deleted_at = now(),
					status = CASE WHEN status IN ('pending', 'running') THEN 'failed' ELSE status END,
					error = CASE WHEN status IN ('pending', 'running') THEN 'export.error.expired_running' ELSE error END
					WHERE id = $1 AND deleted_at IS NULL`, g.id)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					continue
				}
				for _, f := range []File{FileXLSX, FileJSON} {
					key := StorageKey(tenantID, g.id, f)
					if _, err := tx.Exec(ctx, `INSERT INTO blob_deletions (tenant_id, storage_key) VALUES (app_tenant(), $1)
						ON CONFLICT DO NOTHING`, key); err != nil {
						return err
					}
					keys = append(keys, key)
				}
				err = audit.Write(ctx, tx, audit.Actor{}, audit.Event{Action: audit.ExportExpired, SubjectType: "employee_export", SubjectID: &g.id,
					EmployeeID: &g.employee, EmployerID: &g.employer, Details: map[string]any{"requested_by": g.by, "created_at": g.created,
						"status": string(g.status)}})
				if err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if err := w.removeKeys(ctx, tenantID, keys); err != nil {
			return total, err
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}

// removeKeys deletes the blobs whose keys the sweep recorded, then their records.
func (w *ExpireExportsWorker) removeKeys(ctx context.Context, tenantID uuid.UUID, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		if err := w.Blobs.Delete(ctx, k); err != nil {
			return err
		}
		if err := w.Blobs.RemoveUnfinished(ctx, k); err != nil {
			return err
		}
	}
	return database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM blob_deletions WHERE storage_key = ANY ($1)", keys)
		return err
	})
}

// ExpireExportsPeriodic runs the sweep every expireInterval, and once at start.
func ExpireExportsPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(expireInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireExportsArgs{}, nil },
		&river.PeriodicJobOpts{ID: "expire_exports", RunOnStart: true})
}
