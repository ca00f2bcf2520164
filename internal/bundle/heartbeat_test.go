package bundle_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/jobs/heartbeat"
)

// checkHeartbeats runs the heartbeat check once, as the leader's periodic job does.
func (f *fixture) checkHeartbeats(t *testing.T) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := jobs.NewWorkers(jobs.Deps{Pool: f.db.Pool, Blobs: f.blobs, PartSize: crashPartSize, Log: log})
	jobs.Config(config.ModeWorker, log, w)
	if err := w.CheckHeartbeats.Work(f.ctx, &river.Job[heartbeat.CheckArgs]{JobRow: &rivertype.JobRow{}}); err != nil {
		t.Fatal(err)
	}
}

// jobOf returns River's row of the bundle's generation job.
func (f *fixture) jobOf(t *testing.T, args bundle.GenerateBundleArgs) *rivertype.JobRow {
	t.Helper()
	var id int64
	if err := f.db.Pool.QueryRow(f.ctx, `SELECT id FROM river_job WHERE kind = $1 AND args->>'bundle_id' = $2`,
		jobKind("generate"), args.BundleID.String()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	job, err := f.rc.JobGet(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// TestHeartbeatCheckEndsCancelledBundle: a generation cancelled before it ran whose bundle was
// not ended then (River's own cancel, without the jobs page) is ended by the next check:
// failed with the reason, and the requester may ask anew.
func TestHeartbeatCheckEndsCancelledBundle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	args, user := f.requestTwelve(t)
	if _, err := f.rc.JobCancel(f.ctx, f.jobOf(t, args).ID); err != nil {
		t.Fatal(err)
	}
	f.checkHeartbeats(t)
	if b := f.find(t, args.BundleID); b.Status != bundle.StatusFailed || b.Error != "bundle.error.cancelled" {
		t.Errorf("bundle %s with error %q, want failed with bundle.error.cancelled", b.Status, b.Error)
	}
	f.checkHeartbeats(t) // again: nothing changes
	if n := f.auditCount(t, "bundle.failed"); n != 1 {
		t.Errorf("%d bundle.failed events, want 1", n)
	}
	f.checkNoOrphans(t)
	f.request(t, user)
}

// TestHeartbeatCheckGivesUpAfterLastAttempt: a running generation on its last attempt whose
// heartbeat is stale is discarded, not restarted, and its bundle ends as failed, interrupted;
// a running one whose heartbeat is fresh is left alone.
func TestHeartbeatCheckGivesUpAfterLastAttempt(t *testing.T) {
	t.Parallel()
	f := setup(t)
	args, _ := f.requestTwelve(t)
	job := f.jobOf(t, args)
	setRunning := func(heartbeatAge string) {
		t.Helper()
		if _, err := f.db.Pool.Exec(f.ctx, `UPDATE river_job SET state = 'running', attempt = max_attempts, attempted_at = now() - interval '1 hour'
			WHERE id = $1`, job.ID); err != nil {
			t.Fatal(err)
		}
		f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(f.ctx, `UPDATE bundles SET status = 'running', heartbeat_at = now() - $2::interval WHERE id = $1`,
				args.BundleID, heartbeatAge)
			return err
		})
	}
	setRunning("1 second")
	f.checkHeartbeats(t)
	if got := f.jobOf(t, args); got.State != rivertype.JobStateRunning {
		t.Errorf("a job with a fresh heartbeat is %s, want still running", got.State)
	}
	setRunning("1 hour")
	f.checkHeartbeats(t)
	got := f.jobOf(t, args)
	if got.State != rivertype.JobStateDiscarded || len(got.Errors) == 0 || got.Errors[len(got.Errors)-1].Error != heartbeat.Interrupted {
		t.Errorf("River's job is %s with errors %+v, want discarded, interrupted", got.State, got.Errors)
	}
	if b := f.find(t, args.BundleID); b.Status != bundle.StatusFailed || b.Error != "bundle.error.interrupted" {
		t.Errorf("bundle %s with error %q, want failed with bundle.error.interrupted", b.Status, b.Error)
	}
}
