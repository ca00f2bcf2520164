package server

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// Policy participation (polisdeelname), the employee dossier's policies tab: whether the
// employee takes part in one of his employer's policies. Shared contract helpers are in
// contract.go, deletion in casedelete.go.

func (s *Server) showParticipations(w http.ResponseWriter, r *http.Request) error {
	return s.renderParticipations(w, r, http.StatusOK, casefile.Participant{Participating: true}, false, nil)
}

func (s *Server) editParticipation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "pid")
	if err != nil {
		return err
	}
	return s.renderParticipations(w, r, http.StatusOK, casefile.Participant{ID: id}, true, nil)
}

// renderParticipations shows the employee's policy tab with draft in the form (its ID set when
// editing); load replaces the draft by the stored participation of that ID, errs are the errors
// of a refused save.
func (s *Server) renderParticipations(w http.ResponseWriter, r *http.Request, status int, draft casefile.Participant, load bool, errs map[string]string) error {
	c := mustCurrent(r)
	canManage := access.ManageOrganisation(c.Principal) == nil
	p := employee.PoliciesPage{CanDelete: canManage && access.CanDeleteContract(c.Principal) == nil}
	var policies []casefile.Policy
	e, err := s.inDossier(r, "policies", func(tx pgx.Tx, e org.Employee) (err error) {
		if p.Participations, err = casefile.FindParticipations(r.Context(), tx, e.ID); err != nil {
			return err
		}
		if !canManage && !load {
			return nil
		}
		if load {
			if err := access.ManageOrganisation(c.Principal); err != nil {
				return err
			}
			stored, err := casefile.FindParticipationByID(r.Context(), tx, e.ID, draft.ID)
			if err != nil {
				return err
			}
			draft = stored
		}
		policies, err = casefile.FindPolicies(r.Context(), tx, e.EmployerID)
		return err
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Page = s.page(r, "participation.page_title", e.FullName())
	if canManage {
		base := "/employees/" + e.ID.String() + "/policies"
		action := base
		if draft.ID != uuid.Nil {
			action = base + "/" + draft.ID.String()
		}
		p.Form = &employee.ParticipationForm{Action: action, Participation: draft, Errors: errs, Policies: policies}
	}
	return s.render(w, r, status, employee.Policies(p))
}

func (s *Server) createParticipation(w http.ResponseWriter, r *http.Request) error {
	return s.saveParticipation(w, r, false)
}

func (s *Server) updateParticipation(w http.ResponseWriter, r *http.Request) error {
	return s.saveParticipation(w, r, true)
}

// saveParticipation creates or (editing) updates a policy participation of the employee {id}.
func (s *Server) saveParticipation(w http.ResponseWriter, r *http.Request, editing bool) error {
	employeeID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var x casefile.Participant
	if editing {
		if x.ID, err = pathID(r, "pid"); err != nil {
			return err
		}
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	x.EmployeeID = employeeID
	if id := f.optUUID("policy_id"); id != nil {
		x.PolicyID = *id
	}
	switch f.str("participating") {
	case "1":
		x.Participating = true
	case "0":
	default:
		f.errors["participating"] = "error.choose"
	}
	x.Reason = f.str("reason")
	x.Period = periodFromForm(f)
	formErr := f.err()
	// Contracts are the provider's administration: the rule is ManageOrganisation, after the
	// visibility check every change of the dossier gets.
	_, err = s.inCaseAction(r, "policies", access.ManageOrganisation, pathEmployee(r), func(tx pgx.Tx, _ org.Employee) error {
		if formErr != nil {
			return formErr
		}
		if editing {
			_, err := casefile.UpdateParticipation(r.Context(), tx, editor(r), x)
			return err
		}
		_, err := casefile.CreateParticipation(r.Context(), tx, editor(r), x)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderParticipations(w, r, status, x, false, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+employeeID.String()+"/policies")
}
