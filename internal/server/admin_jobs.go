package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

const jobPageSize = 50

var jobStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning, rivertype.JobStateRetryable,
	rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded, rivertype.JobStatePending,
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
	concerns, err := s.jobConcerns(r, res.Jobs)
	if err != nil {
		return err
	}
	for _, j := range res.Jobs {
		tenant, err := jobs.TenantOf(j)
		if err != nil {
			return err
		}
		manage := access.CanManageJob(c.Principal, tenant) == nil
		row := admin.Job{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
			CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt, System: tenant == uuid.Nil, Concerns: concerns[j.ID]}
		if j.FinalizedAt != nil {
			row.FinalizedAt = *j.FinalizedAt
		}
		if n := len(j.Errors); n > 0 {
			row.LastError = j.Errors[n-1].Error
		}
		row.CanRetry = manage && jobs.Offered(j)
		row.CanCancel = manage && j.FinalizedAt == nil
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

// jobConcerns says, per job of the tenant, which employer and employee it works on: the ids in
// its args (employer_id, employee_id; a generation's or deletion's through its row), the names
// looked up under the tenant. An employee the user may not see is not named.
func (s *Server) jobConcerns(r *http.Request, jobs []*rivertype.JobRow) (map[int64]string, error) {
	c := mustCurrent(r)
	out := map[int64]string{}
	err := s.inTenant(r, func(tx pgx.Tx) error {
		employers, err := bundle.JobEmployers(r.Context(), tx, jobs)
		if err != nil {
			return err
		}
		names := map[uuid.UUID]string{}
		for _, j := range jobs {
			var a struct {
				TenantID   uuid.UUID  `json:"tenant_id"`
				EmployerID *uuid.UUID `json:"employer_id"`
				EmployeeID *uuid.UUID `json:"employee_id"`
			}
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				return fmt.Errorf("job %d: %w", j.ID, err)
			}
			if a.TenantID != c.Tenant.ID {
				continue
			}
			var parts []string
			employer, ok := employers[j.ID]
			if !ok && a.EmployerID != nil {
				employer, ok = *a.EmployerID, true
			}
			if ok {
				if _, seen := names[employer]; !seen {
					e, err := org.FindEmployerByID(r.Context(), tx, employer)
					if err != nil && apperr.CodeOf(err) != apperr.ENOTFOUND {
						return err
					}
					names[employer] = e.Name
				}
				if n := names[employer]; n != "" {
					parts = append(parts, n)
				}
			}
			if a.EmployeeID != nil && access.CanSeeEmployee(r.Context(), tx, c.Principal, *a.EmployeeID) == nil {
				e, err := org.FindEmployeeByID(r.Context(), tx, *a.EmployeeID)
				if err != nil && apperr.CodeOf(err) != apperr.ENOTFOUND {
					return err
				}
				if err == nil {
					parts = append(parts, e.FullName())
				}
			}
			out[j.ID] = strings.Join(parts, " · ")
		}
		return nil
	})
	return out, err
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) error {
	return s.actOnJob(w, r, s.jobs.Retry)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	return s.actOnJob(w, r, s.jobs.Cancel)
}

// actOnJob retries or cancels one of the tenant's jobs (jobs.Admin decides and records it).
func (s *Server) actOnJob(w http.ResponseWriter, r *http.Request, act func(context.Context, access.Editor, int64) error) error {
	id, err := strconv.ParseInt(chiParam(r, "id"), 10, 64)
	if err != nil {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err := act(r.Context(), editor(r), id); err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/jobs")
}
