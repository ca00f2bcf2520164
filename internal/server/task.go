package server

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/trajectory"
)

// The forms of the intervention tasks: confirming a deployment and handing out a delegation.

func (s *Server) showTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var programme *uuid.UUID
	if v := r.URL.Query().Get("programme_id"); v != "" {
		p, err := uuid.Parse(v)
		if err != nil {
			return apperr.Invalid(map[string]string{"programme_id": "error.choose"})
		}
		programme = &p
	}
	return s.renderTask(w, r, http.StatusOK, id, programme, "", nil)
}

// renderTask shows the form of task id, with programme chosen (a confirmation), endsAt as typed
// (a grant) and errs of a refused submit.
func (s *Server) renderTask(w http.ResponseWriter, r *http.Request, status int, id uuid.UUID, programme *uuid.UUID,
	endsAt string, errs map[string]string) error {
	c := mustCurrent(r)
	p := trajectory.TaskPage{Errors: errs, EndsAt: endsAt}
	load := func(tx pgx.Tx) (uuid.UUID, error) { return casefile.FindTaskEmployee(r.Context(), tx, id) }
	e, err := s.inCaseDossier(r, "trajectory", load, func(tx pgx.Tx, e org.Employee) (err error) {
		if p.Task, err = casefile.FindTaskByID(r.Context(), tx, e.ID, id); err != nil {
			return err
		}
		switch p.Task.Type {
		case casefile.TaskDeployIntervention:
			return s.loadDeployForm(r, tx, &p, e, programme)
		case casefile.TaskGrantDelegation:
			g, err := intervention.FindGrantTask(r.Context(), tx, e.ID, id)
			if err != nil {
				return err
			}
			p.Grant = &g
			p.CanComplete = access.Require(c.Principal, access.DelegationsGrant) == nil && access.CanWriteCaseData(c.Principal) == nil
			chosen := ""
			if r.Method == http.MethodPost {
				chosen = r.PostForm.Get("user_id")
			}
			for _, k := range g.Candidates {
				p.Candidates = append(p.Candidates, option(k.ID.String(), k.Name, k.ID.String() == chosen))
			}
			if p.EndsAt == "" && r.Method == http.MethodGet && g.PlannedEnd != nil {
				day := g.PlannedEnd.In(i18n.Amsterdam).AddDate(0, 0, -1)
				p.EndsAt = day.Format(time.DateOnly)
			}
			return nil
		default:
			return apperr.New(apperr.ENOTFOUND, "error.not_found")
		}
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Page = s.page(r, "trajectory.title", p.Task.Title, e.FullName())
	return s.render(w, r, status, trajectory.Task(p))
}

func (s *Server) loadDeployForm(r *http.Request, tx pgx.Tx, p *trajectory.TaskPage, e org.Employee, programme *uuid.UUID) error {
	c := mustCurrent(r)
	plan, err := intervention.PlanDeployment(r.Context(), tx, e.ID, programme)
	if apperr.CodeOf(err) == apperr.EINVALID {
		p.Errors, programme = map[string]string{"programme_id": "error.choose"}, nil
		plan, err = intervention.PlanDeployment(r.Context(), tx, e.ID, nil)
	}
	if err != nil {
		return err
	}
	p.Plan = &plan
	p.ExecutorVisible = plan.Programme != nil && access.CanSeeExecutor(c.Principal, plan.Programme.ProviderID)
	p.CanComplete = access.CanWriteCaseData(c.Principal) == nil
	programmes, err := casefile.FindProgrammes(r.Context(), tx)
	if err != nil {
		return err
	}
	for _, g := range programmes {
		p.Programmes = append(p.Programmes, option(g.ID.String(), g.ProviderName+" — "+g.Name, programme != nil && g.ID == *programme))
	}
	return nil
}

// deployTask completes the confirm task: deployment, guidance trajectory and delegation or
// manual task, in one transaction.
func (s *Server) deployTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	programme := f.optUUID("programme_id")
	var d intervention.Deployment
	load := func(tx pgx.Tx) (uuid.UUID, error) { return casefile.FindTaskEmployee(r.Context(), tx, id) }
	e, err := s.inCaseChange(r, "trajectory", load, func(tx pgx.Tx, e org.Employee) (err error) {
		if err := f.err(); err != nil {
			return err
		}
		d, err = intervention.ConfirmDeployment(r.Context(), tx, editor(r), e.ID, id, programme)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok && e.ID != uuid.Nil {
		return s.renderTask(w, r, status, id, programme, "", errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.intervention_deployed")
	return redirect(w, r, "/trajectories/"+d.GuidanceTrajectoryID.String())
}

// delegateTask completes the task "Dossierdelegatie uitdelen": the chosen coach receives the
// delegation, his eligibility checked again.
func (s *Server) delegateTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	user := f.optUUID("user_id")
	var endsAt *time.Time
	if day := f.optDate("ends_at"); day != nil {
		// Access runs through the chosen day: it ends when the next day begins.
		end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, i18n.Amsterdam)
		endsAt = &end
	}
	var trajectoryID uuid.UUID
	load := func(tx pgx.Tx) (uuid.UUID, error) { return casefile.FindTaskEmployee(r.Context(), tx, id) }
	may := func(p access.Principal) error {
		if err := access.Require(p, access.DelegationsGrant); err != nil {
			return err
		}
		return access.CanWriteCaseData(p)
	}
	e, err := s.inCaseAction(r, "trajectory", may, load, func(tx pgx.Tx, e org.Employee) error {
		if err := f.err(); err != nil {
			return err
		}
		d, err := intervention.GrantFromTask(r.Context(), tx, editor(r), e.ID, id, user, endsAt)
		if d.TrajectoryID != nil {
			trajectoryID = *d.TrajectoryID
		}
		return err
	})
	if errs, status, ok := formErrors(r, err); ok && e.ID != uuid.Nil {
		return s.renderTask(w, r, status, id, nil, f.str("ends_at"), errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.delegation_granted")
	return redirect(w, r, "/trajectories/"+trajectoryID.String())
}
