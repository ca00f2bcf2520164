package bundle

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
	"github.com/dossierkast/dossierkast/internal/org"
)

// GenerateTimeout is how long one attempt may run: at the blob store's usual 50–100 MB/s, some
// hundreds of gigabytes. The job of a process that died mid-job is noticed long before, by its
// stale heartbeat (heartbeat.Default); River's own rescue, past the longest attempt timeout, is
// the fallback.
const GenerateTimeout = 2 * time.Hour

// progressInterval is how often a running generation writes docs_done to its row.
const progressInterval = time.Second

// GenerateBundleWorker generates a bundle (GenerateBundleArgs): it re-reads the bundle and the
// requester's access under the tenant, plans (into a planFile), writes each part as a
// standalone ZIP straight from the blob store into a new blob (part 1 starts with the metadata
// workbook), reading the plan back an entry at a time, and publishes the parts as documents of
// the employer dossier in one transaction at the end. Its memory does not grow with the number
// of documents.
//
// Safe to retry after a crash at any point: a part's storage key is recorded in bundle_uploads
// (committed) before its first byte is written, and no document row points to it until the
// final transaction, which also removes the upload records. Every attempt first deletes what an
// earlier one left (blobs, then their records). A session advisory lock on the bundle keeps two
// attempts from running at once, and tells the delete job and the expiry sweep a bundle is busy.
type GenerateBundleWorker struct {
	river.WorkerDefaults[GenerateBundleArgs]
	Pool     *pgxpool.Pool
	Blobs    document.BlobStore
	PartSize int64 // BUNDLE_PART_SIZE
	Log      *slog.Logger
	// AttemptTimeout is how long one attempt may run; GenerateTimeout when 0 (tests shorten it).
	AttemptTimeout time.Duration
	// Heartbeat is how often a running attempt renews the bundle's heartbeat_at;
	// heartbeat.Default.Period when 0 (tests shorten it).
	Heartbeat time.Duration
	// AfterDocumentFunc, when set, is called after each document is written into a part, with
	// the number written so far in this attempt (tests interrupt the job with it).
	AfterDocumentFunc func(done int)
}

// Timeout gives a generation AttemptTimeout (GenerateTimeout) instead of River's default minute.
func (w *GenerateBundleWorker) Timeout(*river.Job[GenerateBundleArgs]) time.Duration {
	if w.AttemptTimeout > 0 {
		return w.AttemptTimeout
	}
	return GenerateTimeout
}

// permanentError ends a generation for good with a reason the screen shows.
type permanentError struct {
	reason string // message catalogue key
	err    error
}

func (e *permanentError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(reason string, err error) error { return &permanentError{reason: reason, err: err} }

// errGone means the bundle was deleted or marked failed by someone else (a dossier deletion)
// while the job ran: the job stops and cleans up after itself.
var errGone = errors.New("bundle no longer wanted")

// Work runs one attempt. A permanent failure or a cancellation on /admin/jobs marks the bundle
// failed with its reason, removes the attempt's blobs and ends the job; any other error is
// retried by River, and on the last attempt also marks the bundle failed.
func (w *GenerateBundleWorker) Work(ctx context.Context, job *river.Job[GenerateBundleArgs]) error {
	a := job.Args
	unlock, ok, err := lockBundle(ctx, w.Pool, a.BundleID)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(30 * time.Second)
	}
	defer unlock()
	defer heartbeat.Keep(ctx, w.Pool, w.logger(), "bundles", a.TenantID, a.BundleID, cmp.Or(w.Heartbeat, heartbeat.Default.Period))()

	err = w.generate(ctx, a)
	var perm *permanentError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errGone):
		w.logger().InfoContext(ctx, "bundle no longer wanted", "tenant_id", a.TenantID, "bundle_id", a.BundleID)
		if cerr := removeUploads(context.WithoutCancel(ctx), w.Pool, w.Blobs, a.TenantID, a.BundleID); cerr != nil {
			return cerr
		}
		return river.JobCancel(err)
	case errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		// Cancelled on /admin/jobs: River will not run it again, so the bundle ends as failed
		// and the requester may retry or ask anew.
		if ferr := w.fail(context.WithoutCancel(ctx), a, "bundle.error.cancelled"); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	case errors.As(err, &perm):
		if ferr := w.fail(context.WithoutCancel(ctx), a, perm.reason); ferr != nil {
			return errors.Join(err, ferr)
		}
		return river.JobCancel(err)
	case job.Attempt >= job.MaxAttempts:
		if ferr := w.fail(context.WithoutCancel(ctx), a, "bundle.error.internal"); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

func (w *GenerateBundleWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// lockBundle takes the session advisory lock of a bundle on a connection of its own, held until
// unlock (or until the process dies: PostgreSQL then ends the session and the lock goes with
// it). ok is false when another session holds it. The connection is not the pool's: a pool of a
// few connections, each held by a running generation, would leave the generations none to work
// with. PostgreSQL probes the connection when it is idle (lockKeepalives), so that the lock of a
// machine that vanished without closing it goes within a minute, not the system's two hours,
// and the next attempt can take it.
func lockBundle(ctx context.Context, pool *pgxpool.Pool, bundleID uuid.UUID) (unlock func(), ok bool, err error) {
	cfg := pool.Config().ConnConfig.Copy()
	maps.Copy(cfg.RuntimeParams, lockKeepalives)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, false, fmt.Errorf("lock bundle %s: %w", bundleID, err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lockKey(bundleID)).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		if err != nil {
			return nil, false, fmt.Errorf("lock bundle %s: %w", bundleID, err)
		}
		return nil, false, nil
	}
	// Closing the session releases the lock.
	return func() { conn.Close(context.Background()) }, true, nil
}

// lockKeepalives are the server's TCP keepalive settings of a lock's connection: the first probe
// after 20 idle seconds, then every 5 seconds, and the session ends after 4 unanswered.
var lockKeepalives = map[string]string{"tcp_keepalives_idle": "20", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "4"}

// lockKey is the advisory lock of a bundle (hashed to a bigint in SQL); the delete job and the
// expiry sweep take it with pg_try_advisory_xact_lock to learn whether a generation runs.
func lockKey(bundleID uuid.UUID) string { return "bundle:" + bundleID.String() }

// genJob is one attempt's view of its bundle.
type genJob struct {
	args       GenerateBundleArgs
	bundle     Bundle
	user       org.User
	employer   org.Employer
	pl         plan
	entries    *planFile
	lastUpdate time.Time
	done       int
	bytesDone  int64 // the documents' bytes written
}

func (w *GenerateBundleWorker) generate(ctx context.Context, a GenerateBundleArgs) error {
	g := &genJob{args: a}
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		b, err := FindBundleByID(ctx, tx, a.BundleID)
		if apperr.CodeOf(err) == apperr.ENOTFOUND {
			return errGone
		}
		if err != nil {
			return err
		}
		if !b.Active() {
			return errDone
		}
		g.bundle = b
		_, err = tx.Exec(ctx, "UPDATE bundles SET status = 'running', docs_done = 0, bytes_done = 0 WHERE id = $1", a.BundleID)
		return err
	})
	if errors.Is(err, errDone) {
		return nil // an earlier attempt finished it, or it failed for good: nothing to do
	}
	if err != nil {
		return err
	}
	if err := removeUploads(ctx, w.Pool, w.Blobs, a.TenantID, a.BundleID); err != nil {
		return err
	}
	if err := w.plan(ctx, g); err != nil {
		return err
	}
	defer g.entries.close()
	parts, err := w.writeParts(ctx, g)
	if err != nil {
		return err
	}
	return w.publish(ctx, g, parts)
}

// errDone stops an attempt whose bundle needs no more work.
var errDone = errors.New("bundle already finished")

// plan reloads the requester's principal and categories and the employer now (not as they were
// when he asked), asks access whether the bundle may still be generated for him, and plans it.
func (w *GenerateBundleWorker) plan(ctx context.Context, g *genJob) error {
	err := database.InTenant(ctx, w.Pool, g.args.TenantID, func(tx pgx.Tx) error {
		u, p, err := org.LoadPrincipal(ctx, tx, g.args.TenantID, g.bundle.RequestedBy)
		if apperr.CodeOf(err) == apperr.ENOTFOUND {
			return permanent("bundle.error.requester", err)
		}
		if err != nil {
			return err
		}
		if g.employer, err = org.FindEmployerByID(ctx, tx, g.bundle.EmployerID); err != nil {
			return err
		}
		facts := access.BundleFacts{EmployerID: g.bundle.EmployerID, RequesterKind: g.bundle.RequesterKind, RequestedBy: g.bundle.RequestedBy}
		if err := access.CanGenerateRequestedFullDossier(p, u.Status == org.StatusActive, Enabled(g.employer), facts); err != nil {
			if !Enabled(g.employer) {
				return permanent("bundle.error.product", err)
			}
			return permanent("bundle.error.requester", fmt.Errorf("user %s may not generate: %w", u.ID, err))
		}
		cats, err := access.LoadCategories(ctx, tx, p)
		if err != nil {
			return err
		}
		if g.pl, g.entries, err = planBundle(ctx, tx, p, cats, g.bundle.EmployerID, w.PartSize); err != nil {
			return err
		}
		g.user = u
		_, err = tx.Exec(ctx, `UPDATE bundles SET docs_total = $2, bytes_total = $3, left_out = $4, parts = $5
			WHERE id = $1`, g.args.BundleID, g.pl.Docs, g.pl.Bytes, g.pl.LeftOut, g.pl.Parts)
		return err
	})
	if err != nil && g.entries != nil {
		g.entries.close()
	}
	return err
}

// progress writes docs_done and bytes_done to the row at most every progressInterval (always when force), and
// reports errGone when the row is no longer running.
func (w *GenerateBundleWorker) progress(ctx context.Context, g *genJob, force bool) error {
	if !force && time.Since(g.lastUpdate) < progressInterval {
		return nil
	}
	g.lastUpdate = time.Now()
	return database.InTenant(ctx, w.Pool, g.args.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE bundles SET docs_done = $2, bytes_done = $3 WHERE id = $1 AND status = 'running'",
			g.args.BundleID, g.done, g.bytesDone)
		if err == nil && tag.RowsAffected() == 0 {
			return errGone
		}
		return err
	})
}

// fail marks the bundle failed with reason (a catalogue key), audits it and removes what the
// attempt wrote.
func (w *GenerateBundleWorker) fail(ctx context.Context, a GenerateBundleArgs, reason string) error {
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		var employerID, requester uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE bundles SET status = 'failed', error = $2, finished_at = now()
			WHERE id = $1 AND status IN ('pending', 'running') RETURNING employer_id, requested_by`, a.BundleID, reason).Scan(&employerID, &requester)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Actor{UserID: &requester}, audit.Event{Action: audit.BundleFailed, SubjectType: "bundle",
			SubjectID: &a.BundleID, EmployerID: &employerID, Details: map[string]any{"reason": reason}})
	})
	if err != nil {
		return fmt.Errorf("mark bundle %s failed: %w", a.BundleID, err)
	}
	return removeUploads(ctx, w.Pool, w.Blobs, a.TenantID, a.BundleID)
}

// JobEnded ends the bundle or deletion of a job River will not run again, when the worker could
// not: a job /admin/jobs cancelled before it ran (waiting to start or to be retried), or one
// discarded with its attempts spent while no worker ran it (the heartbeat check, River's
// rescuer). The row is marked failed with the reason (endReason) and what earlier attempts
// wrote is removed; a row already ended stays as it is. A running job ends its row itself
// (the workers' Work); so does one that starts meanwhile, holding the lock.
func JobEnded(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, job *rivertype.JobRow) error {
	if job.State != rivertype.JobStateCancelled && job.State != rivertype.JobStateDiscarded {
		return nil
	}
	switch job.Kind {
	case GenerateBundleArgs{}.Kind():
		var a GenerateBundleArgs
		if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
			return fmt.Errorf("bundle job %d: %w", job.ID, err)
		}
		unlock, ok, err := lockBundle(ctx, pool, a.BundleID)
		if err != nil || !ok {
			return err
		}
		defer unlock()
		w := &GenerateBundleWorker{Pool: pool, Blobs: blobs}
		return w.fail(ctx, a, endReason(job, "bundle.error.cancelled"))
	case DeleteDossierArgs{}.Kind():
		var a DeleteDossierArgs
		if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
			return fmt.Errorf("deletion job %d: %w", job.ID, err)
		}
		return failDeletion(ctx, pool, blobs, a, endReason(job, "bundle.error.deletion_cancelled"))
	}
	return nil
}

// endReason is the reason a job River will not run again gives its row: cancelled when it was
// cancelled, interrupted when its last attempt was handed back by the heartbeat check, and a
// technical failure otherwise.
func endReason(job *rivertype.JobRow, cancelled string) string {
	switch {
	case job.State == rivertype.JobStateCancelled:
		return cancelled
	case len(job.Errors) > 0 && job.Errors[len(job.Errors)-1].Error == heartbeat.Interrupted:
		return "bundle.error.interrupted"
	}
	return "bundle.error.internal"
}

// HeartbeatTarget makes the generation a target of the heartbeat check.
func (w *GenerateBundleWorker) HeartbeatTarget() heartbeat.Target {
	return heartbeat.Target{Kind: GenerateBundleArgs{}.Kind(), Table: "bundles", IDArg: "bundle_id",
		Ended: func(ctx context.Context, job *rivertype.JobRow) error { return JobEnded(ctx, w.Pool, w.Blobs, job) }}
}

// removeUploads deletes the blobs an earlier attempt wrote for the bundle and did not publish,
// then their records. Only the holder of the bundle's lock (or one who knows no
// generation runs) may call it.
func removeUploads(ctx context.Context, pool *pgxpool.Pool, blobs document.BlobStore, tenantID, bundleID uuid.UUID) error {
	var keys []string
	err := database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT storage_key FROM bundle_uploads WHERE bundle_id = $1", bundleID)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	for _, k := range keys {
		if err := blobs.Delete(ctx, k); err != nil {
			return err
		}
		if err := blobs.RemoveUnfinished(ctx, k); err != nil {
			return err
		}
	}
	return database.InTenant(ctx, pool, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM bundle_uploads WHERE bundle_id = $1 AND storage_key = ANY ($2)", bundleID, keys)
		return err
	})
}
