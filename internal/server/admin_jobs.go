package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

const jobPageSize = 50

var jobStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning, rivertype.JobStateRetryable,
	rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded, rivertype.JobStatePending,
}

// jobTenant returns the tenant a job works for, uuid.Nil for platform jobs. Every tenant job's
// args carry tenant_id.
func jobTenant(j *rivertype.JobRow) (uuid.UUID, error) {
	var args struct {
		TenantID uuid.UUID `json:"tenant_id"`
	}
	if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
		return uuid.Nil, fmt.Errorf("job %d: read tenant from args: %w", j.ID, err)
	}
	return args.TenantID, nil
}

// listJobs shows the tenant's jobs and the platform's own (such as session cleanup), newest
// first; only the tenant's can be retried or cancelled.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if err := access.CanListJobs(c.Principal); err != nil {
		return err
	}
	q := r.URL.Query()
	params := river.NewJobListParams().
		Where("(args->>'tenant_id' = @tenant OR args->>'tenant_id' IS NULL)", river.NamedArgs{"tenant": c.Tenant.ID.String()}).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(jobPageSize)
	p := admin.JobsPage{Page: s.page(r, "job.title"), State: q.Get("state")}
	for _, st := range jobStates {
		p.States = append(p.States, option(string(st), i18n.T(r.Context(), "jobstate."+string(st)), string(st) == p.State))
		if string(st) == p.State {
			params = params.States(st)
		}
	}
	if after := q.Get("after"); after != "" {
		var cursor river.JobListCursor
		if err := cursor.UnmarshalText([]byte(after)); err != nil {
			return apperr.New(apperr.EBADINPUT, "error.bad_form")
		}
		params = params.After(&cursor)
	}
	res, err := s.river.JobList(r.Context(), params)
	if err != nil {
		return err
	}
	for _, j := range res.Jobs {
		tenant, err := jobTenant(j)
		if err != nil {
			return err
		}
		row := admin.Job{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
			CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt, System: tenant == uuid.Nil}
		if j.FinalizedAt != nil {
			row.FinalizedAt = *j.FinalizedAt
		}
		if n := len(j.Errors); n > 0 {
			row.LastError = j.Errors[n-1].Error
		}
		if !row.System {
			row.CanRetry = j.State != rivertype.JobStateRunning && j.State != rivertype.JobStateAvailable
			row.CanCancel = j.FinalizedAt == nil
		}
		p.Jobs = append(p.Jobs, row)
	}
	if len(res.Jobs) == jobPageSize && res.LastCursor != nil {
		text, err := res.LastCursor.MarshalText()
		if err != nil {
			return err
		}
		next := url.Values{"after": {string(text)}}
		if p.State != "" {
			next.Set("state", p.State)
		}
		p.NextURL = "/admin/jobs?" + next.Encode()
	}
	return s.render(w, r, http.StatusOK, admin.Jobs(p))
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) error {
	return s.actOnJob(w, r, audit.JobRetried, s.river.JobRetry)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	return s.actOnJob(w, r, audit.JobCancelled, s.river.JobCancel)
}

// actOnJob retries or cancels one of the tenant's jobs. Another tenant's job does not exist for
// this user; a platform job is visible but not his to change.
func (s *Server) actOnJob(w http.ResponseWriter, r *http.Request, action string, act func(ctx context.Context, id int64) (*rivertype.JobRow, error)) error {
	c := mustCurrent(r)
	if err := access.CanListJobs(c.Principal); err != nil {
		return err
	}
	id, err := strconv.ParseInt(chiParam(r, "id"), 10, 64)
	if err != nil {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	job, err := s.river.JobGet(r.Context(), id)
	if errors.Is(err, river.ErrNotFound) {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return fmt.Errorf("get job %d: %w", id, err)
	}
	tenant, err := jobTenant(job)
	if err != nil {
		return err
	}
	if err := access.CanManageJob(c.Principal, tenant); err != nil {
		return err
	}
	done, err := act(r.Context(), id)
	if err != nil {
		return err
	}
	if action == audit.JobCancelled {
		if err := bundle.JobEnded(r.Context(), s.pool, s.docs.Blobs(), done); err != nil {
			return err
		}
	}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		return audit.Write(r.Context(), tx, actor(r), audit.Event{Action: action, SubjectType: "job",
			Details: map[string]any{"job_id": id, "kind": job.Kind}})
	})
	if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/jobs")
}
