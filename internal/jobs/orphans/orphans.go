// Package orphans is the periodic check that nothing is left behind in the blob store: it lists
// every tenant's blobs, compares them with the rows that point to blobs (documents, bundle
// uploads, blob deletions, employee exports, hosted datastream files), logs and counts blobs
// without a row and rows without a blob older than MinAge, and removes what writes that never finished left older than MinAge (a local
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
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/org"
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
	RowsWithoutBlob   int `json:"rows_without_blob"`  // rows whose blob is missing
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
	tenants, err := org.TenantIDs(ctx, w.Pool)
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

// owner is a package whose rows point to blobs under one key prefix per tenant. Its refs,
// read in the tenant's transaction, are every key a row names (known) and of those the keys
// whose blob must exist because the row is older than the cutoff (required: a blob is always
// written before its row).
type owner struct {
	name   string                          // for the log
	prefix func(tenantID uuid.UUID) string // the tenant's folder of its blobs
	refs   func(ctx context.Context, tx pgx.Tx, cutoff time.Time) (known, required []string, err error)
}

// owners are every kind of blob the product writes: documents (bundle parts are documents,
// deletions in progress keep their keys in blob_deletions), employee exports, and the files of
// hosted datastream accounts.
var owners = []owner{
	{name: "document", prefix: func(t uuid.UUID) string {
		k := document.StorageKey(t, uuid.Nil)
		return k[:len(k)-len(uuid.Nil.String())]
	}, refs: documentRefs},
	{name: "export", prefix: export.StoragePrefix, refs: export.BlobRefs},
	{name: "datastream file", prefix: datastream.StoragePrefix, refs: datastream.BlobRefs},
}

// documentRefs reads the keys of documents, bundle uploads and blob deletions in progress;
// documents older than the cutoff must have their blob.
func documentRefs(ctx context.Context, tx pgx.Tx, cutoff time.Time) (known, required []string, err error) {
	rows, err := tx.Query(ctx, `SELECT storage_key, false FROM bundle_uploads
		UNION ALL SELECT storage_key, false FROM blob_deletions
		UNION ALL SELECT storage_key, uploaded_at < $1 FROM documents`, cutoff)
	if err != nil {
		return nil, nil, err
	}
	return document.CollectBlobRefs(rows)
}

func (w *Worker) checkTenant(ctx context.Context, lister document.BlobLister, tenantID uuid.UUID, res *Result) error {
	minAge := w.MinAge
	if minAge <= 0 {
		minAge = DefaultMinAge
	}
	cutoff := time.Now().Add(-minAge)
	// Every owner's keys in one set, read before the listing: a blob written after this read is
	// younger than the cutoff, so it is not counted though its row is not in the set. (A key may
	// sit with another owner: blob_deletions holds the keys of expired exports too.)
	listed := map[string]bool{}
	required, err := w.requiredBlobs(ctx, tenantID, cutoff, listed)
	if err != nil {
		return err
	}
	for _, o := range owners {
		err := lister.List(ctx, o.prefix(tenantID), func(b document.ListedBlob) error {
			switch {
			case b.Unfinished:
				if b.ModTime.Before(cutoff) {
					w.logger().WarnContext(ctx, "unfinished upload removed", "key", b.Key, "size", b.Size, "modified", b.ModTime)
					res.UnfinishedRemoved++
					return w.Blobs.RemoveUnfinished(ctx, b.Key)
				}
			default:
				if _, ok := listed[b.Key]; ok {
					listed[b.Key] = true
				} else if b.ModTime.Before(cutoff) {
					w.logger().WarnContext(ctx, "blob without a row", "kind", o.name, "key", b.Key, "size", b.Size, "modified", b.ModTime)
					res.BlobsWithoutRow++
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing %s blobs: %w", o.name, err)
		}
	}
	missing := map[string]bool{}
	for k := range required {
		if !listed[k] {
			missing[k] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// A row whose blob was not listed counts only when it is still there after the listing (a
	// row deleted meanwhile is no orphan).
	still, err := w.requiredBlobs(ctx, tenantID, cutoff, map[string]bool{})
	if err != nil {
		return err
	}
	for k := range missing {
		if o, ok := still[k]; ok {
			w.logger().WarnContext(ctx, "row without a blob", "kind", o, "tenant_id", tenantID, "key", k)
			res.RowsWithoutBlob++
		}
	}
	return nil
}

// requiredBlobs reads every owner's keys of a tenant into known (as not yet listed) in one
// transaction, and returns the keys whose blob must exist, each with its owner's name.
func (w *Worker) requiredBlobs(ctx context.Context, tenantID uuid.UUID, cutoff time.Time, known map[string]bool) (map[string]string, error) {
	required := map[string]string{}
	err := database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) error {
		for _, o := range owners {
			keys, must, err := o.refs(ctx, tx, cutoff)
			if err != nil {
				return fmt.Errorf("reading %s keys: %w", o.name, err)
			}
			for _, k := range keys {
				known[k] = false
			}
			for _, k := range must {
				required[k] = o.name
			}
		}
		return nil
	})
	return required, err
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
