package server

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// Ending a dossier delegation early, or moving its end date (delegations.grant).

// delegationAction runs fn on the delegation {id} in a change of its employee's dossier that
// takes delegations.grant; refusals are audited. It returns the employee.
func (s *Server) delegationAction(r *http.Request, fn func(tx pgx.Tx, e org.Employee, id uuid.UUID) error) (org.Employee, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return org.Employee{}, err
	}
	load := func(tx pgx.Tx) (uuid.UUID, error) { return access.FindDelegationEmployee(r.Context(), tx, id) }
	may := func(p access.Principal) error { return access.Require(p, access.DelegationsGrant) }
	return s.inCaseAction(r, "delegation", may, load, func(tx pgx.Tx, e org.Employee) error { return fn(tx, e, id) })
}

// endDelegation ends a running delegation now (reason revoked, optional note). A refused end
// shows the employee page again with the form's message.
func (s *Server) endDelegation(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	note := newForm(r).str("note")
	e, err := s.delegationAction(r, func(tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		return access.EndDelegation(r.Context(), tx, editor(r), e.ID, id, note)
	})
	if errs, status, ok := formErrors(r, err); ok && e.ID != uuid.Nil {
		return s.renderRefusedDelegation(w, r, status, e, employee.DelegationForm{Note: note, Errors: errs})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.delegation_ended")
	return redirect(w, r, "/employees/"+e.ID.String()+"#delegations")
}

// setDelegationEnd moves the end date of a running delegation: access runs through the chosen
// day (empty: until its trajectory closes). A refused date shows the employee page again with
// the field's message.
func (s *Server) setDelegationEnd(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	var endsAt *time.Time
	if day := f.optDate("ends_at"); day != nil {
		end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, i18n.Amsterdam)
		endsAt = &end
	}
	e, err := s.delegationAction(r, func(tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		if err := f.err(); err != nil {
			return err
		}
		return access.SetDelegationEnd(r.Context(), tx, editor(r), e.ID, id, endsAt)
	})
	if errs, status, ok := formErrors(r, err); ok && e.ID != uuid.Nil {
		return s.renderRefusedDelegation(w, r, status, e, employee.DelegationForm{EndsAt: f.str("ends_at"), Errors: errs})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"#delegations")
}

// renderRefusedDelegation shows employee e's page with the refused form of the delegation {id}.
func (s *Server) renderRefusedDelegation(w http.ResponseWriter, r *http.Request, status int, e org.Employee,
	form employee.DelegationForm) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	form.ID = id
	return s.renderEmployee(w, r, status, func(pgx.Tx) (uuid.UUID, error) { return e.ID, nil }, form)
}
