package server

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
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

// endDelegation ends a running delegation now (reason revoked, optional note).
func (s *Server) endDelegation(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	note := newForm(r).str("note")
	e, err := s.delegationAction(r, func(tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		return access.EndDelegation(r.Context(), tx, editor(r), e.ID, id, note)
	})
	if err != nil {
		return err
	}
	s.flash(r, "flash.delegation_ended")
	return redirect(w, r, "/employees/"+e.ID.String()+"#delegations")
}

// setDelegationEnd moves the end date of a running delegation: access runs through the chosen
// day (empty: until its trajectory closes).
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
	if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"#delegations")
}
