// Package orphans is the periodic check that nothing is left behind in the blob store: it lists
// every tenant's blobs, compares them with the rows that point to blobs (documents, bundle
// uploads, blob deletions), logs and counts blobs without a row and rows without a blob older
// than MinAge, and removes what writes that never finished left older than MinAge (a local
// folder's temporary files: no write runs that long).
package orphans

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
)

// Kind is the check's River job kind; /metrics reads the output of its latest run.
const Kind = "check_orphans"

// CheckArgs asks for the orphan check of every tenant (Worker). It carries no tenant: it runs
// for the platform.
type CheckArgs struct{}

// Kind names the job.
func (CheckArgs) Kind() string { return Kind }

// DefaultMinAge is how old a blob, row or unfinished write must be before the check counts it:
// younger ones may belong to work still under way (an upload, a generation, a deletion).
const DefaultMinAge = 24 * time.Hour

// interval is how often the check runs: four times a day.
const interval = 6 * time.Hour

// Result is what one check found, recorded as the job's output.
type Result struct {
	BlobsWithoutRow   int `json:"blobs_without_row"`  // blobs no row points to (kept: logged for a person to look at)
	RowsWithoutBlob   int `json:"rows_without_blob"`  // document rows whose blob is missing
	UnfinishedRemoved int `json:"unfinished_removed"` // temporary files of unfinished writes, removed
}

// Worker is the orphan check (CheckArgs). It is safe to run on several processes at once: it
// only reads, and removes temporary files no write has touched for MinAge.
type Worker struct {
	river.WorkerDefaults[CheckArgs]
	Pool   *pgxpool.Pool
	Blobs  document.BlobStore
	Log    *slog.Logger
	MinAge time.Duration // DefaultMinAge when 0 (tests shorten it)
}

// Work checks every tenant and records the Result as the job's output.
func (w *Worker) Work(ctx context.Context, _ *river.Job[CheckArgs]) error {
	res, err := w.Check(ctx)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, res)
}

// Check checks every tenant's blobs. A store that cannot list its blobs is not checked.
func (w *Worker) Check(ctx context.Context) (Result, error) {
	var res Result
	lister, ok := w.Blobs.(document.BlobLister)
	if !ok {
		w.logger().WarnContext(ctx, "orphan check skipped: the blob store cannot list its blobs")
		return res, nil
	}
	rows, err := w.Pool.Query(ctx, "SELECT id FROM tenants ORDER BY id")
	if err != nil {
		return res, fmt.Errorf("orphan check: %w", err)
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return res, fmt.Errorf("orphan check: %w", err)
	}
	for _, t := range tenants {
		if err := w.checkTenant(ctx, lister, t, &res); err != nil {
			return res, fmt.Errorf("orphan check of tenant %s: %w", t, err)
		}
	}
	if res != (Result{}) {
		w.logger().WarnContext(ctx, "orphan check", "blobs_without_row", res.BlobsWithoutRow, "rows_without_blob", res.RowsWithoutBlob,
			"unfinished_removed", res.UnfinishedRemoved)
	}
	return res, nil
}

func (w *Worker) checkTenant(ctx context.Context, lister document.BlobLister, tenantID uuid.UUID, res *Result) error {
	minAge := w.MinAge
	if minAge <= 0 {
		minAge = DefaultMinAge
	}
	cutoff := time.Now().Add(-minAge)
	// The keys read before the listing: a blob written after this read is younger than the
	// cutoff, so it is not counted though its row is not in the set.
	known := map[string]bool{}
	err := database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT storage_key FROM documents UNION SELECT storage_key FROM bundle_uploads
			UNION SELECT storage_key FROM blob_deletions`)
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, k := range keys {
			known[k] = false
		}
		return err
	})
	if err != nil {
		return err
	}
	prefix := document.StorageKey(tenantID, uuid.Nil)
	prefix = prefix[:len(prefix)-len(uuid.Nil.String())]
	err = lister.List(ctx, prefix, func(b document.ListedBlob) error {
		switch {
		case b.Unfinished:
			if b.ModTime.Before(cutoff) {
				w.logger().WarnContext(ctx, "unfinished upload removed", "key", b.Key, "size", b.Size, "modified", b.ModTime)
				res.UnfinishedRemoved++
				return w.Blobs.RemoveUnfinished(ctx, b.Key)
			}
		default:
			if _, ok := known[b.Key]; ok {
				known[b.Key] = true
			} else if b.ModTime.Before(cutoff) {
				w.logger().WarnContext(ctx, "blob without a row", "key", b.Key, "size", b.Size, "modified", b.ModTime)
				res.BlobsWithoutRow++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Rows whose blob was not listed: only documents old enough (a new one's blob is written
	// before its row), read again, as a document deleted meanwhile is no orphan.
	return database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id, storage_key FROM documents WHERE uploaded_at < $1", cutoff)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				return err
			}
			if !known[key] {
				w.logger().WarnContext(ctx, "document without a blob", "tenant_id", tenantID, "document_id", id, "key", key)
				res.RowsWithoutBlob++
			}
		}
		return rows.Err()
	})
}

func (w *Worker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// Periodic runs the check every six hours, and once at start.
func Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return CheckArgs{}, nil },
		&river.PeriodicJobOpts{ID: Kind, RunOnStart: true})
}
