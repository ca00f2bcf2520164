package bundle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
)

// defaultDeleteBatch is how many documents one transaction of the delete job removes.
const defaultDeleteBatch = 500

// errBundleBusy means a bundle of the employer is still locked by its generation; the deletion
// tries again after busySnooze (a snooze uses no attempt).
var errBundleBusy = errors.New("a generation still holds a bundle of the employer")

const busySnooze = 5 * time.Second

// DeleteDossierWorker carries out a full-dossier deletion (DeleteDossierArgs): every document
// row and blob of the employer and of its employees goes, bundle parts included, whoever may see
// them; case data other than documents stays.
//
// The order makes it safe to stop at any point. Each batch deletes document rows and, in the
// same transaction, records their storage keys in blob_deletions, and adds its counts to the
// deletion's row; only after that commits are the blobs deleted, then their keys. So a row never
// points to a missing blob (its blob goes only once the row is gone), and a blob whose row is
// gone is never forgotten (its key stays recorded until the blob is deleted). A new attempt
// first deletes the blobs still recorded, then goes on with the next batch; the counts are
// exact because each batch's are committed with it.
type DeleteDossierWorker struct {
	river.WorkerDefaults[DeleteDossierArgs]
	Pool      *pgxpool.Pool
	Blobs     document.BlobStore
	BatchSize int // documents per transaction; defaultDeleteBatch when 0
	Log       *slog.Logger
	// AttemptTimeout is how long one attempt may run; DeleteTimeout when 0 (tests shorten it).
	AttemptTimeout time.Duration
	// Heartbeat is how often a running attempt renews the deletion's heartbeat_at;
	// heartbeat.Default.Period when 0 (tests shorten it).
	Heartbeat time.Duration
	// AfterBatchFunc, when set, is called after each batch's rows are committed and before its
	// blobs are deleted, with the number of documents deleted so far (tests interrupt the job
	// there).
	AfterBatchFunc func(deleted int)
}

// DeleteTimeout is how long one attempt of a deletion may run: it goes in batches, so even a
// large dossier is quick, and a retry resumes where it stopped.
const DeleteTimeout = time.Hour

// Timeout gives a deletion AttemptTimeout (DeleteTimeout) instead of River's default minute.
func (w *DeleteDossierWorker) Timeout(*river.Job[DeleteDossierArgs]) time.Duration {
	if w.AttemptTimeout > 0 {
		return w.AttemptTimeout
	}
	return DeleteTimeout
}

// Work runs one attempt, renewing the deletion's heartbeat while it runs. A cancellation on
// /admin/jobs, or a failure on the last attempt, marks the deletion failed. While a generation
// still holds a bundle of the employer, the deletion snoozes and tries again.
func (w *DeleteDossierWorker) Work(ctx context.Context, job *river.Job[DeleteDossierArgs]) error {
	stop := heartbeat.Keep(ctx, w.Pool, w.logger(), "dossier_deletions", job.Args.TenantID, job.Args.DeletionID,
		cmp.Or(w.Heartbeat, heartbeat.Default.Period))
	err := w.delete(ctx, job.Args)
	stop()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errGone):
		return river.JobCancel(err)
	case errors.Is(err, errBundleBusy):
		return river.JobSnooze(busySnooze)
	case errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		return errors.Join(err, failDeletion(context.WithoutCancel(ctx), w.Pool, w.Blobs, job.Args, "bundle.error.deletion_cancelled"))
	case job.Attempt >= job.MaxAttempts:
		return errors.Join(err, failDeletion(context.WithoutCancel(ctx), w.Pool, w.Blobs, job.Args, "bundle.error.internal"))
	}
	return err
}

func (w *DeleteDossierWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// HeartbeatTarget makes the deletion a target of the heartbeat check.
func (w *DeleteDossierWorker) HeartbeatTarget() heartbeat.Target {
	return heartbeat.Target{Kind: DeleteDossierArgs{}.Kind(), Table: "dossier_deletions", IDArg: "deletion_id",
		Ended: func(ctx context.Context, job *rivertype.JobRow) error { return JobEnded(ctx, w.Pool, w.Blobs, job) }}
}

// failDeletion marks a pending or running deletion failed with reason (a catalogue key) and
// deletes the blobs whose rows it already deleted: what it deleted stays deleted.
func failDeletion(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, a DeleteDossierArgs, reason string) error {
	err := database.InTenant(ctx, pool, a.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE dossier_deletions SET status = 'failed', error = $2, finished_at = now()
			WHERE id = $1 AND status IN ('pending', 'running')`, a.DeletionID, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark deletion %s failed: %w", a.DeletionID, err)
	}
	return drainBlobDeletions(ctx, pool, blobs, a.TenantID)
}

func (w *DeleteDossierWorker) delete(ctx context.Context, a DeleteDossierArgs) error {
	var employerID, requester uuid.UUID
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		var status Status
		err := tx.QueryRow(ctx, "SELECT employer_id, requested_by, status FROM dossier_deletions WHERE id = $1 FOR UPDATE", a.DeletionID).
			Scan(&employerID, &requester, &status)
		if database.IsNoRows(err) {
			return errGone
		}
		if err != nil {
			return err
		}
		if status == StatusDone || status == StatusFailed {
			return errDone
		}
		if _, err := tx.Exec(ctx, "UPDATE dossier_deletions SET status = 'running' WHERE id = $1", a.DeletionID); err != nil {
			return err
		}
		// Generations on their way stop at their next progress write and clean up after themselves.
		_, err = tx.Exec(ctx, `UPDATE bundles SET status = 'failed', error = 'bundle.error.deleted', finished_at = now()
			WHERE employer_id = $1 AND status IN ('pending', 'running')`, employerID)
		return err
	})
	if errors.Is(err, errDone) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := drainBlobDeletions(ctx, w.Pool, w.Blobs, a.TenantID); err != nil {
		return err
	}
	batch := w.BatchSize
	if batch <= 0 {
		batch = defaultDeleteBatch
	}
	for {
		var n int
		var deleted int
		err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
			var bytes int64
			err := tx.QueryRow(ctx, `WITH gone AS (
					DELETE FROM documents WHERE id IN (
						SELECT id FROM documents
						WHERE employer_id = $1 OR employee_id IN (SELECT id FROM employees WHERE employer_id = $1)
						LIMIT $2)
					RETURNING storage_key, size),
				recorded AS (
					INSERT INTO blob_deletions (tenant_id, storage_key) SELECT app_tenant(), storage_key FROM gone
					ON CONFLICT DO NOTHING)
				SELECT count(*), coalesce(sum(size), 0) FROM gone`, employerID, batch).Scan(&n, &bytes)
			if err != nil {
				return err
			}
			return tx.QueryRow(ctx, `UPDATE dossier_deletions SET documents_deleted = documents_deleted + $2,
				bytes_deleted = bytes_deleted + $3 WHERE id = $1 RETURNING documents_deleted`, a.DeletionID, n, bytes).Scan(&deleted)
		})
		if err != nil {
			return fmt.Errorf("delete dossier batch: %w", err)
		}
		if w.AfterBatchFunc != nil && n > 0 {
			w.AfterBatchFunc(deleted)
		}
		if err := drainBlobDeletions(ctx, w.Pool, w.Blobs, a.TenantID); err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	if err := deleteIdleBundles(ctx, w.Pool, w.Blobs, a.TenantID, "employer_id = $1", employerID, nil); err != nil {
		return err
	}
	// A bundle whose generation held its lock was left: the deletion is done only once it is
	// gone too (the generation stops at its next step, as its bundle is marked failed).
	var left bool
	err = database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM bundles WHERE employer_id = $1)", employerID).Scan(&left)
	})
	if err != nil {
		return err
	}
	if left {
		return errBundleBusy
	}
	return database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		var docs int
		var bytes int64
		err := tx.QueryRow(ctx, `UPDATE dossier_deletions SET status = 'done', finished_at = now() WHERE id = $1
			RETURNING documents_deleted, bytes_deleted`, a.DeletionID).Scan(&docs, &bytes)
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Actor{UserID: &requester}, audit.Event{Action: audit.DossierDeleted, SubjectType: "dossier_deletion",
			SubjectID: &a.DeletionID, EmployerID: &employerID, Details: map[string]any{"documents": docs, "bytes": bytes}})
	})
}

// deleteIdleBundles deletes the bundles matching where (with arg as $1) that no generation is
// working on, with their parts and the blobs their attempts left: rows first, keys recorded in
// blob_deletions in the same transaction, blobs after, and then what an attempt that died
// mid-part left where the store shows it (RemoveUnfinished: a local folder's temporary file).
// A bundle whose generation holds its lock is left for a later run. audited, when set, writes
// the audit event of each deleted bundle.
func deleteIdleBundles(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, tenantID uuid.UUID, where string, arg any,
	audited func(ctx context.Context, tx pgx.Tx, b idleBundle) error) error {
	const batch = 50
	for {
		var n int
		var unfinished []string // the deleted bundles' upload keys
		err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
			unfinished = unfinished[:0]
			list, err := database.FindAll[idleBundle](ctx, tx, "idle bundles", `SELECT id, employer_id, requested_by, created_at, 0
				FROM bundles WHERE `+where+` ORDER BY created_at, id LIMIT `+fmt.Sprint(batch)+` FOR UPDATE SKIP LOCKED`, arg)
			if err != nil {
				return err
			}
			n = len(list)
			for _, b := range list {
				var free bool
				if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", lockKey(b.ID)).Scan(&free); err != nil {
					return err
				}
				if !free {
					n-- // a generation is running: not now
					continue
				}
				var parts int
				err := tx.QueryRow(ctx, `WITH keys AS (
						SELECT storage_key FROM documents WHERE bundle_id = $1
						UNION SELECT storage_key FROM bundle_uploads WHERE bundle_id = $1),
					recorded AS (
						INSERT INTO blob_deletions (tenant_id, storage_key) SELECT app_tenant(), storage_key FROM keys
						ON CONFLICT DO NOTHING)
					SELECT count(*) FROM documents WHERE bundle_id = $1`, b.ID).Scan(&parts)
				if err != nil {
					return err
				}
				b.Parts = parts
				rows, err := tx.Query(ctx, "SELECT storage_key FROM bundle_uploads WHERE bundle_id = $1", b.ID)
				if err != nil {
					return err
				}
				keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				unfinished = append(unfinished, keys...)
				for _, stmt := range []string{"DELETE FROM documents WHERE bundle_id = $1", "DELETE FROM bundle_uploads WHERE bundle_id = $1",
					"DELETE FROM bundles WHERE id = $1"} {
					if _, err := tx.Exec(ctx, stmt, b.ID); err != nil {
						return err
					}
				}
				if audited != nil {
					if err := audited(ctx, tx, b); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("delete bundles: %w", err)
		}
		if err := drainBlobDeletions(ctx, pool, blobs, tenantID); err != nil {
			return err
		}
		for _, k := range unfinished {
			if err := blobs.RemoveUnfinished(ctx, k); err != nil {
				return err
			}
		}
		if n < batch {
			return nil
		}
	}
}

// idleBundle is a bundle deleteIdleBundles deletes.
type idleBundle struct {
	ID, EmployerID, RequestedBy uuid.UUID
	CreatedAt                   time.Time
	Parts                       int
}

// drainBlobDeletions deletes the blobs recorded in the tenant's blob_deletions, and then their
// records, a batch per transaction. Rows are locked with SKIP LOCKED, so several processes can
// drain at once without working on the same key.
func drainBlobDeletions(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, tenantID uuid.UUID) error {
	const batch = 500
	for {
		var n int
		err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "SELECT storage_key FROM blob_deletions ORDER BY created_at, storage_key LIMIT $1 FOR UPDATE SKIP LOCKED", batch)
			if err != nil {
				return err
			}
			keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			n = len(keys)
			for _, k := range keys {
				if err := blobs.Delete(ctx, k); err != nil {
					return err
				}
			}
			_, err = tx.Exec(ctx, "DELETE FROM blob_deletions WHERE storage_key = ANY ($1)", keys)
			return err
		})
		if err != nil {
			return fmt.Errorf("delete blobs: %w", err)
		}
		if n < batch {
			return nil
		}
	}
}
