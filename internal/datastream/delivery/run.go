package delivery

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
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
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/secret"
)

// Run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Run is one delivery of a configuration, as its history shows it.
type Run struct {
	ID         uuid.UUID
	ConfigID   uuid.UUID
	Mode       string
	Since      *time.Time
	FullReason string
	Status     string
	FilesTotal int
	FilesDone  int
	Dir        string
	WindowFrom string
	WindowTo   string
	Files      []stream.ManifestFile
	Bytes      int64
	Oldest     *stream.OpenTransaction
	StartedAt  *time.Time
	FinishedAt *time.Time
	CreatedAt  time.Time
	// RowsDone counts the rows written so far while the run is running.
	RowsDone int64
	// InterruptedAt is when the heartbeat check last found the run's process gone and handed the
	// run back for another attempt.
	InterruptedAt *time.Time
	// Failure says why the last attempt failed; nil when none did.
	Failure *Failure
}

// Duration is how long a finished run took.
func (r Run) Duration() time.Duration {
	if r.StartedAt == nil || r.FinishedAt == nil {
		return 0
	}
	return r.FinishedAt.Sub(*r.StartedAt)
}

const runColumns = `r.id, r.config_id, r.mode, r.since, r.full_reason, r.status, r.files_total, r.files_done, r.dir,
	r.window_from, r.window_to, r.files, r.bytes, r.oldest, r.started_at, r.finished_at, r.created_at, r.rows_done,
	r.interrupted_at, r.failure`

// FindRuns lists the runs of configuration configID, newest first.
func FindRuns(ctx context.Context, tx pgx.Tx, configID uuid.UUID) ([]Run, error) {
	return database.FindAll[Run](ctx, tx, "datastream runs", `SELECT `+runColumns+`
		FROM datastream_runs r WHERE r.config_id = $1 ORDER BY r.created_at DESC, r.id DESC`, configID)
}

// FindRunByID returns run id. ENOTFOUND when the tenant has none.
func FindRunByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Run, error) {
	return database.FindOne[Run](ctx, tx, "datastream run", `SELECT `+runColumns+` FROM datastream_runs r WHERE r.id = $1`, id)
}

// RunRequest is what "run now" asks: the mutations since the last successful delivery
// (stream.ModeIncremental), everything (stream.ModeFull), or what changed since a day
// (stream.ModeSince, from Since).
type RunRequest struct {
	Mode  stream.Mode
	Since time.Time
}

// Amsterdam is the time zone of schedules and of "since a date".
var Amsterdam = mustZone("Europe/Amsterdam")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// StartOfDay is 00:00 Europe/Amsterdam of the day of t there.
func StartOfDay(t time.Time) time.Time {
	y, m, d := t.In(Amsterdam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Amsterdam)
}

// RequestRun records a run of configuration id and enqueues its delivery job in tx, so the job
// exists only if tx commits (datastream_config.run_requested). One run per configuration at a
// time: ECONFLICT while one is queued or running. EINVALID for an archived configuration or an
// account that cannot deliver, or a since date not in the past. EFORBIDDEN, ENOTFOUND.
func RequestRun(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], ed access.Editor, id uuid.UUID, req RunRequest) (Run, error) {
	if err := ed.Allow(access.CanManageDatastreams(ed.Principal)); err != nil {
		return Run{}, err
	}
	return enqueue(ctx, tx, rc, ed.Actor, id, req)
}

// enqueue records a run of configuration id and, with rc, enqueues its delivery job; without
// rc (DeliverNow) the run has no job.
func enqueue(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], actor audit.Actor, id uuid.UUID, req RunRequest) (Run, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM datastream_configs WHERE id = $1 FOR UPDATE`, id); err != nil {
		return Run{}, fmt.Errorf("lock datastream configuration: %w", err)
	}
	c, err := FindConfigByID(ctx, tx, id)
	if err != nil {
		return Run{}, err
	}
	if c.Archived() {
		return Run{}, apperr.New(apperr.EINVALID, "datastream.error.config_archived")
	}
	a, err := datastream.FindAccountByID(ctx, tx, c.AccountID)
	if err != nil {
		return Run{}, err
	}
	if a.Status != datastream.StatusActive {
		return Run{}, apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	var since *time.Time
	switch req.Mode {
	case stream.ModeIncremental, stream.ModeFull:
	case stream.ModeSince:
		s := StartOfDay(req.Since)
		if req.Since.IsZero() || !s.Before(time.Now()) || s.Before(time.Now().Add(-ChangeRetention)) {
			return Run{}, apperr.Invalid(map[string]string{"since": "datastream.error.since"})
		}
		since = &s
	default:
		return Run{}, apperr.Invalid(map[string]string{"mode": "error.choose"})
	}
	var busy bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM datastream_runs WHERE config_id = $1 AND status IN ('queued', 'running'))`,
		id).Scan(&busy); err != nil {
		return Run{}, fmt.Errorf("datastream runs: %w", err)
	}
	if busy {
		return Run{}, apperr.New(apperr.ECONFLICT, "datastream.error.run_busy")
	}
	runID := uuid.Must(uuid.NewV7())
	var tenantID uuid.UUID
	if err := tx.QueryRow(ctx, `SELECT app_tenant()`).Scan(&tenantID); err != nil {
		return Run{}, fmt.Errorf("tenant: %w", err)
	}
	var jobID *int64
	if rc != nil {
		res, err := rc.InsertTx(ctx, tx, DeliverArgs{TenantID: tenantID, RunID: runID}, nil)
		if err != nil {
			return Run{}, fmt.Errorf("enqueue delivery: %w", err)
		}
		jobID = &res.Job.ID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO datastream_runs (tenant_id, id, config_id, job_id, mode, since)
		VALUES (app_tenant(), $1, $2, $3, $4, $5)`, runID, id, jobID, req.Mode, since); err != nil {
		return Run{}, fmt.Errorf("record datastream run: %w", err)
	}
	details := map[string]any{"run_id": runID, "mode": req.Mode}
	if since != nil {
		details["since"] = since.Format(time.RFC3339)
	}
	if err := audit.Write(ctx, tx, actor, audit.Event{Action: audit.DatastreamConfigRunRequested, SubjectType: "datastream_config",
		SubjectID: &id, Details: details}); err != nil {
		return Run{}, err
	}
	return FindRunByID(ctx, tx, runID)
}

// DeliverArgs asks for run RunID to be delivered (DeliverWorker). Ids only.
type DeliverArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	RunID    uuid.UUID `json:"run_id"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "datastream_deliver" }

// deliverAttempts is how often a delivery is tried before its run is marked failed.
const deliverAttempts = 3

// InsertOpts gives a delivery a few attempts: a server that is briefly away is retried within
// minutes.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: deliverAttempts}
}

// DeliverTimeout is how long one attempt of a delivery may run.
const DeliverTimeout = 2 * time.Hour

// DeliverWorker delivers a run: it opens the account's transport (the hosted folder, or the
// external server with its pinned host key), calls stream.Deliver into the run's own folder
// (named by the run's creation time, so a retry rewrites that folder from scratch), and records
// the outcome on the run. The configuration's position moves only on success, in the
// transaction that marks the run succeeded.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	Pool  *pgxpool.Pool
	Blobs document.BlobStore
	Keys  *secret.Keyring
	Log   *slog.Logger
	// Mail sends the log report after each run to the account's recipients; none when nil.
	Mail mail.Sender
	// Heartbeat is how often a running attempt renews heartbeat_at; heartbeat.Default.Period
	// when 0.
	Heartbeat time.Duration
	// External, when set, changes the external connection's settings (tests shorten time-outs).
	External func(*datastream.ExternalConfig)
	// Now is the clock the log report reads v1's support end against; time.Now when nil.
	Now func() time.Time
	// AfterRows, when set, is called with the rows written so far, as the run's count is kept
	// (tests stop a delivery in the middle of a file).
	AfterRows func(rows int64)
}

// Timeout is the longest one attempt may run.
func (w *DeliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return DeliverTimeout }

// work is what an attempt read under the tenant.
type work struct {
	run     Run
	config  Config
	account datastream.Account
	cfg     stream.Config
	ext     datastream.ExternalConfig
}

// Work delivers the run of job.Args.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	a := job.Args
	var wk work
	err := database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		var err error
		if wk, err = w.load(ctx, tx, a.RunID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE datastream_runs SET status = 'running', started_at = now(), heartbeat_at = now(),
			files_done = 0, rows_done = 0, files_total = $2, failure = NULL WHERE id = $1`, a.RunID, fileCount(wk.cfg))
		return err
	})
	if apperr.CodeOf(err) == apperr.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return w.failed(ctx, job, err)
	}
	if wk.run.Status == RunSucceeded || wk.run.Status == RunFailed {
		return nil
	}
	defer heartbeat.Keep(ctx, w.Pool, w.logger(), "datastream_runs", a.TenantID, a.RunID, cmp.Or(w.Heartbeat, heartbeat.Default.Period))()

	tr, closeTr, err := w.transport(ctx, a.TenantID, wk)
	if err != nil {
		return w.failed(ctx, job, err)
	}
	defer closeTr()
	req := stream.Request{Mode: stream.Mode(wk.run.Mode), Started: wk.run.CreatedAt, RunID: a.RunID}
	if wk.config.FullReason != "" {
		req.Mode, req.FullReason = stream.ModeFull, wk.config.FullReason
	}
	switch req.Mode {
	case stream.ModeIncremental:
		if wk.config.Position != "" {
			if req.From, err = stream.ParsePosition(wk.config.Position); err != nil {
				return w.failed(ctx, job, err)
			}
		}
	case stream.ModeSince:
		req.Since = *wk.run.Since
	}
	prog := &progress{Transport: tr, pool: w.Pool, log: w.logger(), tenantID: a.TenantID, runID: a.RunID, after: w.AfterRows}
	req.Rows = prog.counter(ctx)
	res, err := stream.Deliver(ctx, w.Pool, a.TenantID, prog, wk.cfg, req)
	if err != nil {
		return w.failed(ctx, job, err)
	}
	if err := w.succeeded(ctx, a, wk, res); err != nil {
		return err
	}
	w.report(ctx, a.TenantID, a.RunID)
	return nil
}

func fileCount(c stream.Config) int {
	n := 0
	for _, id := range c.Streams {
		if s, ok := stream.FindStream(id); ok && s.In(c.Version) {
			n += len(s.Files)
		}
	}
	return n
}

// load reads the run, its configuration and account, and builds the delivery's stream.Config
// with the opened pseudonym key.
func (w *DeliverWorker) load(ctx context.Context, tx pgx.Tx, runID uuid.UUID) (work, error) {
	var wk work
	var err error
	if wk.run, err = FindRunByID(ctx, tx, runID); err != nil {
		return wk, err
	}
	if wk.config, err = FindConfigByID(ctx, tx, wk.run.ConfigID); err != nil {
		return wk, err
	}
	if wk.account, err = datastream.FindAccountByID(ctx, tx, wk.config.AccountID); err != nil {
		return wk, err
	}
	if wk.config.Archived() {
		return wk, apperr.New(apperr.EINVALID, "datastream.error.config_archived")
	}
	if wk.account.Status != datastream.StatusActive {
		return wk, apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	c := wk.config
	wk.cfg = stream.Config{Folder: c.Folder, Version: c.Version, Pseudonymised: c.Pseudonymised, KeyVersion: c.KeyVersion,
		Streams: c.Streams, Columns: c.Columns, Medical: wk.account.Medical}
	if !wk.account.AllEmployers {
		wk.cfg.Employers = wk.account.EmployerIDs
	}
	if c.KeySecretID != nil {
		if wk.cfg.Key, err = w.Keys.Load(ctx, tx, *c.KeySecretID); err != nil {
			return wk, err
		}
	}
	if wk.account.Type == datastream.TypeExternal {
		if wk.ext, err = datastream.ExternalConfigOf(ctx, tx, w.Keys, wk.account); err != nil {
			return wk, err
		}
		if w.External != nil {
			w.External(&wk.ext)
		}
	}
	return wk, nil
}

// transport opens the account's transport.
func (w *DeliverWorker) transport(ctx context.Context, tenantID uuid.UUID, wk work) (datastream.Transport, func(), error) {
	if wk.account.Type == datastream.TypeHosted {
		return datastream.NewFolder(w.Pool, w.Blobs, tenantID, wk.account.ID), func() {}, nil
	}
	ext, err := datastream.DialExternal(ctx, wk.ext)
	if err != nil {
		return nil, nil, err
	}
	return ext, func() { _ = ext.Close() }, nil
}

// progress counts the files a delivery has published and the rows it has written on its run,
// for the run's page.
type progress struct {
	datastream.Transport
	pool     *pgxpool.Pool
	log      *slog.Logger
	tenantID uuid.UUID
	runID    uuid.UUID
	after    func(rows int64)
	rows     atomic.Int64
	saved    time.Time // when counter last wrote rows_done
}

// rowsSaveEvery is how often a running delivery writes its row count on its run.
const rowsSaveEvery = time.Second

// counter is the delivery's stream.Request.Rows: it keeps the count, and writes it on the run
// at most once every rowsSaveEvery (a failed write is logged; the next one catches up).
func (p *progress) counter(ctx context.Context) func(int64) {
	return func(n int64) {
		p.rows.Store(n)
		if now := time.Now(); now.Sub(p.saved) >= rowsSaveEvery {
			p.saved = now
			if err := database.InTenant(ctx, p.pool, p.tenantID, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE datastream_runs SET rows_done = greatest(rows_done, $2) WHERE id = $1`, p.runID, n)
				return err
			}); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "datastream run progress not recorded", "run_id", p.runID, "error", err)
			}
		}
		if p.after != nil {
			p.after(n)
		}
	}
}

// Upload uploads and, for a CSV file, counts it and the rows so far on the run.
func (p *progress) Upload(ctx context.Context, name string, r io.Reader) (int64, error) {
	n, err := p.Transport.Upload(ctx, name, r)
	if err != nil || !strings.HasSuffix(name, ".csv") {
		return n, err
	}
	return n, database.InTenant(ctx, p.pool, p.tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE datastream_runs SET files_done = files_done + 1, rows_done = greatest(rows_done, $2)
			WHERE id = $1`, p.runID, p.rows.Load())
		return err
	})
}

// succeeded records the delivery on the run and moves the configuration's position, in one
// transaction.
func (w *DeliverWorker) succeeded(ctx context.Context, a DeliverArgs, wk work, res stream.Result) error {
	files, err := json.Marshal(res.Manifest.Files)
	if err != nil {
		return err
	}
	var oldest []byte
	if res.Oldest != nil {
		if oldest, err = json.Marshal(res.Oldest); err != nil {
			return err
		}
	}
	var bytes int64
	for _, f := range res.Manifest.Files {
		bytes += f.Bytes
	}
	return database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE datastream_runs SET status = 'succeeded', finished_at = now(), dir = $2,
			window_from = $3, window_to = $4, files = $5, bytes = $6, oldest = $7, mode = $8, full_reason = $9,
			files_done = files_total, failure = NULL WHERE id = $1`,
			a.RunID, res.Dir, wk.config.Position, res.Position.String(), files, bytes, oldest, res.Manifest.Mode,
			res.Manifest.FullReason); err != nil {
			return fmt.Errorf("record datastream run: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE datastream_configs SET position = $2, position_at = now(),
			full_reason = CASE WHEN key_version = $3 THEN '' ELSE full_reason END WHERE id = $1`,
			wk.config.ID, res.Position.String(), wk.config.KeyVersion); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Actor{}, audit.Event{Action: audit.DatastreamConfigDelivered, SubjectType: "datastream_config",
			SubjectID: &wk.config.ID, Details: map[string]any{"run_id": a.RunID, "mode": res.Manifest.Mode, "dir": res.Dir,
				"files": len(res.Manifest.Files), "pseudonymised": wk.cfg.Pseudonymised, "employees": res.Employees}})
	})
}

// forgetEmployees removes what the attempts of run runID recorded as carried: the run did not
// succeed, so it delivered nobody's data.
func forgetEmployees(ctx context.Context, tx pgx.Tx, runID uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM datastream_run_employees WHERE run_id = $1`, runID)
	return err
}

// failed records why err stopped the run (FailureOf). A run that will be tried again stays queued; after
// the last attempt (or a permanent failure) it is failed and its position is left as it was.
func (w *DeliverWorker) failed(ctx context.Context, job *river.Job[DeliverArgs], err error) error {
	permanent := apperr.CodeOf(err) == apperr.EINVALID
	final := permanent || job.Attempt >= job.MaxAttempts
	status := RunQueued
	if final {
		status = RunFailed
	}
	f := FailureOf(err)
	if rerr := database.InTenant(context.WithoutCancel(ctx), w.Pool, job.Args.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE datastream_runs SET status = $2, failure = $3,
			finished_at = CASE WHEN $4 THEN now() END WHERE id = $1`, job.Args.RunID, status, f, final); err != nil || !final {
			return err
		}
		return forgetEmployees(ctx, tx, job.Args.RunID)
	}); rerr != nil {
		w.logger().ErrorContext(ctx, "datastream run not recorded", "run", job.Args.RunID, "error", rerr)
	} else if final {
		w.report(context.WithoutCancel(ctx), job.Args.TenantID, job.Args.RunID)
	}
	if permanent {
		return river.JobCancel(err)
	}
	return err
}

func (w *DeliverWorker) logger() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// JobEnded marks the run of a delivery job River will not run again (cancelled, or discarded
// with its attempts spent) failed, unless it already ended; the position is left as it was.
func (w *DeliverWorker) JobEnded(ctx context.Context, job *rivertype.JobRow) error {
	if job.State != rivertype.JobStateCancelled && job.State != rivertype.JobStateDiscarded {
		return nil
	}
	var a DeliverArgs
	if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
		return fmt.Errorf("datastream delivery job %d: %w", job.ID, err)
	}
	f := Failure{Key: FailureCancelled}
	if len(job.Errors) > 0 && job.Errors[len(job.Errors)-1].Error == heartbeat.Interrupted {
		f.Key = FailureInterrupted
	}
	return database.InTenant(ctx, w.Pool, a.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE datastream_runs SET status = 'failed', failure = $2, finished_at = now()
			WHERE id = $1 AND status IN ('queued', 'running')`, a.RunID, f)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return forgetEmployees(ctx, tx, a.RunID)
	})
}

// HeartbeatTarget makes the delivery a target of the heartbeat check.
func (w *DeliverWorker) HeartbeatTarget() heartbeat.Target {
	return heartbeat.Target{Kind: DeliverArgs{}.Kind(), Table: "datastream_runs", IDArg: "run_id", Waiting: RunQueued, Ended: w.JobEnded}
}
