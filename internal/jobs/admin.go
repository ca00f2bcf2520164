package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
)

// TenantOf returns the tenant a job works for, uuid.Nil for platform jobs. Every tenant job's
// args carry tenant_id.
func TenantOf(j *rivertype.JobRow) (uuid.UUID, error) {
	var args struct {
		TenantID uuid.UUID `json:"tenant_id"`
	}
	if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
		return uuid.Nil, fmt.Errorf("job %d: read tenant from args: %w", j.ID, err)
	}
	return args.TenantID, nil
}

// Admin changes background jobs on an administrator's behalf (the /admin/jobs screen).
type Admin struct {
	River *river.Client[pgx.Tx]
	Pool  *pgxpool.Pool
	Blobs document.BlobStore
}

// Offered reports whether the job screen offers to retry job j, because it means something: it
// is waiting for a later attempt (run it now), or River will not run it again and running it
// would redo its work. Not for a job that is running, about to run or completed, nor for a
// cancelled or failed generation or deletion: that ended its bundle or deletion, and its
// requester starts it anew on the full-dossier page. (Retry itself refuses only a completed
// job.)
func Offered(j *rivertype.JobRow) bool {
	switch j.State {
	case rivertype.JobStateRunning, rivertype.JobStateAvailable, rivertype.JobStateCompleted:
		return false
	case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		return !bundle.RetriedByRequester(j.Kind)
	}
	return true
}

// Retry runs one of ed's tenant's jobs again and records it (job.retried). ENOTFOUND when the
// job is absent or another tenant's, EFORBIDDEN unless ed may manage it (access.CanManageJob:
// users.manage, not a platform job), ECONFLICT (job.error.not_retryable) for a completed job,
// which has nothing left to do. (A cancelled generation or deletion whose row has ended may be
// retried: the job then finds its row ended and stops.)
func (a Admin) Retry(ctx context.Context, ed access.Editor, id int64) error {
	job, err := a.find(ctx, ed, id)
	if err != nil {
		return err
	}
	if job.State == rivertype.JobStateCompleted {
		return apperr.New(apperr.ECONFLICT, "job.error.not_retryable")
	}
	if _, err := a.River.JobRetry(ctx, id); err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	return a.record(ctx, ed, audit.JobRetried, job)
}

// Cancel ends one of ed's tenant's jobs and what it was doing: a generation's or deletion's row
// is marked failed and what it wrote is removed (bundle.JobEnded). It records the cancel
// (job.cancelled). ENOTFOUND and EFORBIDDEN as Retry.
func (a Admin) Cancel(ctx context.Context, ed access.Editor, id int64) error {
	job, err := a.find(ctx, ed, id)
	if err != nil {
		return err
	}
	done, err := a.River.JobCancel(ctx, id)
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	if err := bundle.JobEnded(ctx, a.Pool, a.Blobs, done); err != nil {
		return err
	}
	return a.record(ctx, ed, audit.JobCancelled, job)
}

// find returns job id when ed may change it.
func (a Admin) find(ctx context.Context, ed access.Editor, id int64) (*rivertype.JobRow, error) {
	if err := access.CanListJobs(ed.Principal); err != nil {
		return nil, err
	}
	job, err := a.River.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("get job %d: %w", id, err)
	}
	tenant, err := TenantOf(job)
	if err != nil {
		return nil, err
	}
	return job, access.CanManageJob(ed.Principal, tenant)
}

func (a Admin) record(ctx context.Context, ed access.Editor, action string, job *rivertype.JobRow) error {
	return database.InTenant(ctx, a.Pool, ed.Principal.TenantID, func(tx pgx.Tx) error {
		return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "job",
			Details: map[string]any{"job_id": job.ID, "kind": job.Kind}})
	})
}
