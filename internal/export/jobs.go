package export

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

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
	"github.com/dossierkast/dossierkast/internal/mail"
)

// GenerateExportArgs asks for export ExportID of tenant TenantID to be generated
// (GenerateExportWorker). It carries ids only: the worker re-reads everything under the tenant.
type GenerateExportArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ExportID uuid.UUID `json:"export_id"`
}

// Kind names the job.
func (GenerateExportArgs) Kind() string { return "generate_export" }

// InsertOpts gives a generation a few attempts: a transient failure is retried within
// minutes, and the 24-hour export is not kept waiting for River's default 25 attempts.
func (GenerateExportArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// GenerateTimeout is how long one attempt may run; an export of the largest dossiers takes
// seconds. An attempt past it ends the export as failed with its reason (export.error.timeout),
// so an export never hangs in Bezig.
const GenerateTimeout = 10 * time.Minute

// GenerateExportWorker generates an export (GenerateExportArgs): it re-reads the export and
// its creator's access under the tenant, writes the workbook and the JSON twin in one pass over
// the dossier, stores both as blobs, reads them back to check their size and SHA-256, and only
// then marks the export done, audits the copy of the dossier and mails the creator.
//
// Safe to retry after a crash at any point: the blobs' keys are fixed by the export's id, no
// row points to them until the final transaction, and every attempt first deletes what an
// earlier one left. A session advisory lock on the export keeps two attempts from running at
// once and tells the expiry sweep it is busy.
type GenerateExportWorker struct {
	river.WorkerDefaults[GenerateExportArgs]
	Pool    *pgxpool.Pool
	Blobs   document.BlobStore
	Mail    mail.Sender // the creator is told when his export is ready or failed; none when nil
	BaseURL string      // the address the mail links to
	Log     *slog.Logger
	// AttemptTimeout is how long one attempt may run; GenerateTimeout when 0 (tests shorten it).
	AttemptTimeout time.Duration
	// Heartbeat is how often a running attempt renews heartbeat_at; heartbeat.Default.Period
	// when 0.
	Heartbeat time.Duration
	// AfterRowsFunc, when set, is called after every progressRows rows written in an attempt,
	// with the number so far (tests interrupt or slow the job with it).
	AfterRowsFunc func(rows int)
}

// Timeout gives a generation AttemptTimeout (GenerateTimeout).
func (w *GenerateExportWorker) Timeout(*river.Job[GenerateExportArgs]) time.Duration {
	if w.AttemptTimeout > 0 {
		return w.AttemptTimeout
	}
	return GenerateTimeout
}

// permanentError ends a generation for good with a reason the page shows.
type permanentError struct {
	reason string // message catalogue key
	err    error
}

func (e *permanentError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(reason string, err error) error { return &permanentError{reason: reason, err: err} }

// errGone means the export is no longer wanted (no longer running: ended by someone else).
var errGone = errors.New("export no longer wanted")

// errDone stops an attempt whose export needs no more work.
var errDone = errors.New("export already finished")

// Work runs one attempt. A permanent failure, the attempt's time limit or a cancellation on
// /admin/jobs marks the export failed with its reason, removes its blobs and ends the job; any
// other error is retried by River, and on the last attempt also marks it failed.
func (w *GenerateExportWorker) Work(ctx context.Context, job *river.Job[GenerateExportArgs]) error {
	a := job.Args
	unlock, ok, err := lockExport(ctx, w.Pool, a.ExportID)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(30 * time.Second)
	}
	defer unlock()
	defer heartbeat.Keep(ctx, w.Pool, w.logger(), "employee_exports", a.TenantID, a.ExportID, cmp.Or(w.Heartbeat, heartbeat.Default.Period))()

	err = w.generate(ctx, a)
	var perm *permanentError
	switch {
	case err == nil || errors.Is(err, errDone):
		return nil
	case errors.Is(err, errGone):
		w.logger().InfoContext(ctx, "export no longer wanted", "tenant_id", a.TenantID, "export_id", a.ExportID)
		if cerr := removeBlobs(context.WithoutCancel(ctx), w.Blobs, a.TenantID, a.ExportID); cerr != nil {
			return cerr
		}
		return river.JobCancel(err)
	case errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		if ferr := w.fail(context.WithoutCancel(ctx), a, "export.error.cancelled"); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		if ferr := w.fail(context.WithoutCancel(ctx), a, "export.error.timeout"); ferr != nil {
			return errors.Join(err, ferr)
		}
		return river.JobCancel(err)
	case errors.As(err, &perm):
		if ferr := w.fail(context.WithoutCancel(ctx), a, perm.reason); ferr != nil {
			return errors.Join(err, ferr)
		}
		return river.JobCancel(err)
	case job.Attempt >= job.MaxAttempts:
		if ferr := w.fail(context.WithoutCancel(ctx), a, "export.error.internal"); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

func (w *GenerateExportWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// lockExport takes the session advisory lock of an export on a connection of its own, held
// until unlock or until the process dies (PostgreSQL then ends the session and the lock goes
// with it; keepalives notice a vanished machine within a minute). ok is false when another
// session holds it.
func lockExport(ctx context.Context, pool *pgxpool.Pool, exportID uuid.UUID) (unlock func(), ok bool, err error) {
	cfg := pool.Config().ConnConfig.Copy()
	maps.Copy(cfg.RuntimeParams, map[string]string{"tcp_keepalives_idle": "20", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "4"})
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, false, fmt.Errorf("lock export %s: %w", exportID, err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lockKey(exportID)).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		if err != nil {
			return nil, false, fmt.Errorf("lock export %s: %w", exportID, err)
		}
		return nil, false, nil
	}
	return func() { conn.Close(context.Background()) }, true, nil
}

// lockKey is the advisory lock of an export; the expiry sweep takes it with
// pg_try_advisory_xact_lock to learn whether a generation runs.
func lockKey(exportID uuid.UUID) string { return "export:" + exportID.String() }

// removeBlobs deletes both blobs of the export and what an interrupted write of them left.
// Only the holder of the export's lock (or one who knows no generation runs) may call it.
func removeBlobs(ctx context.Context, blobs document.BlobStore, tenantID, exportID uuid.UUID) error {
	for _, f := range []File{FileXLSX, FileJSON} {
		key := StorageKey(tenantID, exportID, f)
		if err := blobs.Delete(ctx, key); err != nil {
			return err
		}
		if err := blobs.RemoveUnfinished(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// fail marks the export failed with reason (a catalogue key), audits it, removes its blobs and
// mails the creator. An export already ended stays as it is.
func (w *GenerateExportWorker) fail(ctx context.Context, a GenerateExportArgs, reason string) error {
	var x Export
	var failed bool
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE employee_exports SET status = 'failed', error = $2, finished_at = now()
			WHERE id = $1 AND status IN ('pending', 'running') RETURNING employee_id, employer_id, requested_by`, a.ExportID, reason).
			Scan(&x.EmployeeID, &x.EmployerID, &x.RequestedBy)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		failed = true
		return audit.Write(ctx, tx, audit.Actor{UserID: &x.RequestedBy}, audit.Event{Action: audit.ExportFailed, SubjectType: "employee_export",
			SubjectID: &a.ExportID, EmployeeID: &x.EmployeeID, EmployerID: &x.EmployerID, Details: map[string]any{"reason": reason}})
	})
	if err != nil {
		return fmt.Errorf("mark export %s failed: %w", a.ExportID, err)
	}
	if err := removeBlobs(ctx, w.Blobs, a.TenantID, a.ExportID); err != nil {
		return err
	}
	if failed {
		w.notify(ctx, a.TenantID, x, "export.mail.failed")
	}
	return nil
}

// notify mails the creator of export x that it is ready or failed (kind: the message key
// prefix), with a link to the employee's export page and never any of the data. A failure to
// send is logged: the export's own outcome stands either way.
func (w *GenerateExportWorker) notify(ctx context.Context, tenantID uuid.UUID, x Export, kind string) {
	if w.Mail == nil {
		return
	}
	var email, lang string
	err := database.InTenant(ctx, w.Pool, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT email, language FROM users WHERE id = $1", x.RequestedBy).Scan(&email, &lang)
	})
	if err == nil {
		link := w.BaseURL + PagePath(x.EmployeeID)
		err = w.Mail.Send(ctx, tenantID, mail.Message{To: []string{email}, Subject: i18n.Translate(lang, kind+".subject"),
			Body: i18n.Translate(lang, kind+".body", link)})
	}
	if err != nil {
		w.logger().WarnContext(ctx, "export mail not sent", "tenant_id", tenantID, "employee_id", x.EmployeeID, "err", err)
	}
}

// PagePath is the export page of an employee.
func PagePath(employeeID uuid.UUID) string { return "/employees/" + employeeID.String() + "/exports" }

// JobEnded ends the export of a job River will not run again, when the worker could not: one
// cancelled before it ran, or discarded with its attempts spent while no worker ran it (the
// heartbeat check). The row is marked failed with the reason and its blobs are removed; a row
// already ended stays as it is.
func (w *GenerateExportWorker) JobEnded(ctx context.Context, job *rivertype.JobRow) error {
	if job.State != rivertype.JobStateCancelled && job.State != rivertype.JobStateDiscarded {
		return nil
	}
	var a GenerateExportArgs
	if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
		return fmt.Errorf("export job %d: %w", job.ID, err)
	}
	unlock, ok, err := lockExport(ctx, w.Pool, a.ExportID)
	if err != nil || !ok {
		return err
	}
	defer unlock()
	reason := "export.error.internal"
	switch {
	case job.State == rivertype.JobStateCancelled:
		reason = "export.error.cancelled"
	case len(job.Errors) > 0 && job.Errors[len(job.Errors)-1].Error == heartbeat.Interrupted:
		reason = "export.error.interrupted"
	}
	return w.fail(ctx, a, reason)
}

// HeartbeatTarget makes the generation a target of the heartbeat check.
func (w *GenerateExportWorker) HeartbeatTarget() heartbeat.Target {
	return heartbeat.Target{Kind: GenerateExportArgs{}.Kind(), Table: "employee_exports", IDArg: "export_id", Ended: w.JobEnded}
}
