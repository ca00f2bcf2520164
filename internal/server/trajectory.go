package server

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/page/employee"
	"github.com/dossierkast/dossierkast/web/page/trajectory"
)

func (s *Server) listTrajectories(w http.ResponseWriter, r *http.Request) error {
	return s.renderTrajectories(w, r, http.StatusOK, "", nil)
}

// renderTrajectories shows the trajectories tab; startDate and errs are those of a refused
// opening.
func (s *Server) renderTrajectories(w http.ResponseWriter, r *http.Request, status int, startDate string, errs map[string]string) error {
	c := mustCurrent(r)
	p := employee.TrajectoriesPage{CanWrite: access.CanWriteCaseData(c.Principal) == nil, StartDate: startDate, Errors: errs}
	chosen := ""
	if r.Method == http.MethodPost {
		chosen = r.PostForm.Get("protocol_id")
	}
	e, err := s.inDossier(r, "trajectories", func(tx pgx.Tx, e org.Employee) (err error) {
		if p.Trajectories, err = casefile.FindTrajectories(r.Context(), tx, e.ID); err != nil {
			return err
		}
		protocols, err := casefile.FindProtocols(r.Context(), tx)
		if err != nil {
			return err
		}
		p.Protocols = []component.Option{}
		for _, pr := range protocols {
			p.Protocols = append(p.Protocols, option(pr.ID.String(), pr.Name, pr.ID.String() == chosen))
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Page = s.page(r, "trajectory.page_title", e.FullName())
	return s.render(w, r, status, employee.Trajectories(p))
}

// openTrajectory opens a trajectory of the chosen protocol for the employee, with its tasks.
func (s *Server) openTrajectory(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	var start casefile.TrajectoryStart
	if id := f.optUUID("protocol_id"); id != nil {
		start.ProtocolID = *id
	} else if _, bad := f.errors["protocol_id"]; !bad {
		f.errors["protocol_id"] = "error.choose"
	}
	if d := f.optDate("start_date"); d != nil {
		start.StartDate = *d
	}
	var t casefile.Trajectory
	_, err := s.inCaseChange(r, "trajectories", pathEmployee(r), func(tx pgx.Tx, _ org.Employee) error {
		if err := f.err(); err != nil {
			return err
		}
		start.EmployeeID, _ = pathID(r, "id")
		var err error
		t, _, err = casefile.OpenTrajectory(r.Context(), tx, editor(r), start)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderTrajectories(w, r, status, f.str("start_date"), errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.trajectory_opened")
	return redirect(w, r, "/trajectories/"+t.ID.String())
}

// showTrajectory shows one trajectory with its tasks (a view of the employee's dossier).
func (s *Server) showTrajectory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderTrajectory(w, r, http.StatusOK, id, nil)
}

// renderTrajectory shows trajectory id; taskErrors are the messages of a refused due date per task.
func (s *Server) renderTrajectory(w http.ResponseWriter, r *http.Request, status int, id uuid.UUID, taskErrors map[uuid.UUID]string) error {
	c := mustCurrent(r)
	p := trajectory.ShowPage{CanWrite: access.CanWriteCaseData(c.Principal) == nil, Now: time.Now(), TaskErrors: taskErrors}
	load := func(tx pgx.Tx) (uuid.UUID, error) { return casefile.FindTrajectoryEmployee(r.Context(), tx, id) }
	e, err := s.inCaseDossier(r, "trajectory", load, func(tx pgx.Tx, e org.Employee) (err error) {
		if p.Trajectory, err = casefile.FindTrajectoryByID(r.Context(), tx, e.ID, id); err != nil {
			return err
		}
		p.Tasks, err = casefile.FindTasks(r.Context(), tx, id)
		return err
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Page = s.page(r, "trajectory.title", p.Trajectory.ProtocolName, e.FullName())
	return s.render(w, r, status, trajectory.Show(p))
}

// closeTrajectory closes a trajectory and ends its delegations, in one transaction.
func (s *Server) closeTrajectory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var employeeID uuid.UUID
	load := func(tx pgx.Tx) (_ uuid.UUID, err error) {
		employeeID, err = casefile.FindTrajectoryEmployee(r.Context(), tx, id)
		return employeeID, err
	}
	_, err = s.inCaseChange(r, "trajectory", load, func(tx pgx.Tx, _ org.Employee) error {
		_, _, err := casefile.CloseTrajectory(r.Context(), tx, editor(r), employeeID, id)
		return err
	})
	if err != nil {
		return err
	}
	s.flash(r, "flash.trajectory_closed")
	return redirect(w, r, "/trajectories/"+id.String())
}

// completeTask marks a task done.
func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var employeeID, trajectoryID uuid.UUID
	load := func(tx pgx.Tx) (_ uuid.UUID, err error) {
		employeeID, err = casefile.FindTaskEmployee(r.Context(), tx, id)
		return employeeID, err
	}
	_, err = s.inCaseChange(r, "trajectory", load, func(tx pgx.Tx, _ org.Employee) error {
		t, err := casefile.CompleteTask(r.Context(), tx, editor(r), employeeID, id)
		trajectoryID = t.TrajectoryID
		return err
	})
	if err != nil {
		return err
	}
	s.flash(r, "flash.task_completed")
	return redirect(w, r, "/trajectories/"+trajectoryID.String())
}

// setTaskDueDate moves a task's due date (form field due_date; empty: none).
func (s *Server) setTaskDueDate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	due := f.optDate("due_date")
	var employeeID, trajectoryID uuid.UUID
	load := func(tx pgx.Tx) (_ uuid.UUID, err error) {
		employeeID, err = casefile.FindTaskEmployee(r.Context(), tx, id)
		return employeeID, err
	}
	_, err = s.inCaseChange(r, "trajectory", load, func(tx pgx.Tx, _ org.Employee) error {
		task, err := casefile.FindTaskByID(r.Context(), tx, employeeID, id)
		if err != nil {
			return err
		}
		trajectoryID = task.TrajectoryID
		if err := f.err(); err != nil {
			return err
		}
		_, err = casefile.SetTaskDueDate(r.Context(), tx, editor(r), employeeID, id, due)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		msg := errs["due_date"]
		if msg == "" {
			msg = errs[""]
		}
		return s.renderTrajectory(w, r, status, trajectoryID, map[uuid.UUID]string{id: msg})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/trajectories/"+trajectoryID.String())
}
