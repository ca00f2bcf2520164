package server

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/org"
)

// The employee dossier's shared steps: every page and change of a dossier part (overview,
// documents, absences, reports, decisions, trajectories, agenda, policies, deletions) opens the
// dossier through these, so its visibility check and the audit of the view and of a refusal are
// written once. The rule for the audit log: showing a dossier part (inDossier, inCaseDossier)
// records employee.viewed; a change (inCaseChange, inCaseAction) records only the event of what
// it changed, which the capability's mutation writes in the same transaction (it also checks
// the right itself), as its page is shown after the redirect, by a request that records the
// view.

// inDossier opens the employee dossier of the request's {id} for one of its parts (tab): it
// checks access (ENOTFOUND outside it, EFORBIDDEN without employee_dossier.view; a refusal is
// audited), loads the employee, runs fn in the same tenant transaction and records the view
// (NEN 7513: who saw which dossier, and which part of it, when). Every dossier page uses it, or
// inCaseDossier for a page reached through one of the dossier's entities.
func (s *Server) inDossier(r *http.Request, tab string, fn func(tx pgx.Tx, e org.Employee) error) (org.Employee, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return org.Employee{}, err
	}
	return s.inCaseDossier(r, tab, func(pgx.Tx) (uuid.UUID, error) { return id, nil }, fn)
}

// inCaseDossier opens the dossier of the employee an entity (trajectory, task, appointment)
// belongs to: load finds the entity and returns its employee (ENOTFOUND when absent). Then it
// checks access (ENOTFOUND outside it, EFORBIDDEN without employee_dossier.view; refusals
// audited), loads the employee, runs fn and records the view of tab.
func (s *Server) inCaseDossier(r *http.Request, tab string, load func(tx pgx.Tx) (uuid.UUID, error),
	fn func(tx pgx.Tx, e org.Employee) error) (org.Employee, error) {
	view := func(tx pgx.Tx, e org.Employee) error {
		if err := fn(tx, e); err != nil {
			return err
		}
		return audit.Write(r.Context(), tx, actor(r), audit.Event{Action: audit.EmployeeViewed, SubjectType: "employee",
			SubjectID: &e.ID, EmployeeID: &e.ID, EmployerID: &e.EmployerID, Details: map[string]any{"tab": tab}})
	}
	return s.inCaseAction(r, tab, func(access.Principal) error { return nil }, load, view)
}

// auditCaseRefusal records a refused access to a dossier (404 or 403) for an employee that
// was found; a request for an id that does not exist is not about any dossier.
func (s *Server) auditCaseRefusal(r *http.Request, err error, employeeID uuid.UUID, what string) {
	if code := apperr.CodeOf(err); (code == apperr.ENOTFOUND || code == apperr.EFORBIDDEN) && employeeID != uuid.Nil {
		s.auditRefusal(r, audit.Event{Action: audit.EmployeeRefused, SubjectType: "employee", SubjectID: &employeeID,
			EmployeeID: &employeeID, Details: map[string]any{"reason": string(code), "tab": what}})
	}
}

// inCaseChange runs a change to an employee's case data: it checks that the user can see the
// employee (ENOTFOUND) and may write case data (access.CanWriteCaseData: EFORBIDDEN), so a
// refusal is audited and answered before the form is looked at, loads the employee and runs fn
// in the same transaction. load returns the employee concerned (ENOTFOUND when the entity is absent). fn
// calls the capability, which checks again and writes the change's case.* event; no view is
// recorded.
func (s *Server) inCaseChange(r *http.Request, what string, load func(tx pgx.Tx) (uuid.UUID, error),
	fn func(tx pgx.Tx, e org.Employee) error) (org.Employee, error) {
	return s.inCaseAction(r, what, access.CanWriteCaseData, load, fn)
}

// inCaseAction is inCaseChange with the right the action needs decided by may (EFORBIDDEN when
// it refuses); refusals are audited.
func (s *Server) inCaseAction(r *http.Request, what string, may func(access.Principal) error,
	load func(tx pgx.Tx) (uuid.UUID, error), fn func(tx pgx.Tx, e org.Employee) error) (org.Employee, error) {
	c := mustCurrent(r)
	var e org.Employee
	var employeeID uuid.UUID
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if employeeID, err = load(tx); err != nil {
			return err
		}
		if err := access.CanSeeEmployee(r.Context(), tx, c.Principal, employeeID); err != nil {
			return err
		}
		if err := may(c.Principal); err != nil {
			return err
		}
		if e, err = org.FindEmployeeByID(r.Context(), tx, employeeID); err != nil {
			return err
		}
		return fn(tx, e)
	})
	s.auditCaseRefusal(r, err, employeeID, what)
	return e, err
}

// pathEmployee is a loader for inCaseChange and inCaseDossier: the employee of the path's {id}.
func pathEmployee(r *http.Request) func(pgx.Tx) (uuid.UUID, error) {
	return func(pgx.Tx) (uuid.UUID, error) { return pathID(r, "id") }
}
