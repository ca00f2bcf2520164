package server

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employer"
)

// Service agreements (dienstverlening) of the employer dossier: a provider administrator's
// form beside the list every reader of the employer dossier sees. Shared contract helpers are
// in contract.go, deletion in casedelete.go.

func (s *Server) showAgreements(w http.ResponseWriter, r *http.Request) error {
	return s.renderAgreements(w, r, http.StatusOK, casefile.Agreement{}, nil)
}

func (s *Server) editAgreement(w http.ResponseWriter, r *http.Request) error {
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	agreementID, err := pathID(r, "aid")
	if err != nil {
		return err
	}
	if err := access.CanWriteEmployerContracts(mustCurrent(r).Principal, employerID); err != nil {
		return err
	}
	var a casefile.Agreement
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		a, err = casefile.FindAgreementByID(r.Context(), tx, employerID, agreementID)
		return err
	}); err != nil {
		return err
	}
	return s.renderAgreements(w, r, http.StatusOK, a, nil)
}

// renderAgreements shows the employer's service agreements; draft is the agreement in the form
// (its ID set when editing) and errs the errors of a refused save.
func (s *Server) renderAgreements(w http.ResponseWriter, r *http.Request, status int, draft casefile.Agreement, errs map[string]string) error {
	c := mustCurrent(r)
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := access.CanReadEmployerDossier(c.Principal, employerID); err != nil {
		return err
	}
	canManage := access.CanWriteEmployerContracts(c.Principal, employerID) == nil
	p := employer.AgreementsPage{CanDelete: access.CanDeleteEmployerContracts(c.Principal, employerID) == nil}
	var groups []org.EmployerGroup
	var policies []casefile.Policy
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		if p.Employer, err = org.FindEmployerByID(r.Context(), tx, employerID); err != nil {
			return err
		}
		if p.Agreements, err = casefile.FindAgreements(r.Context(), tx, employerID); err != nil {
			return err
		}
		if !canManage {
			return nil
		}
		if groups, err = org.FindEmployerGroups(r.Context(), tx); err != nil {
			return err
		}
		policies, err = casefile.FindPolicies(r.Context(), tx, employerID)
		return err
	})
	if err != nil {
		return err
	}
	p.Page = s.page(r, "agreement.page_title", p.Employer.Name)
	if canManage {
		base := "/employers/" + employerID.String() + "/agreements"
		action := base
		if draft.ID != uuid.Nil {
			action = base + "/" + draft.ID.String()
		}
		p.Form = &employer.AgreementForm{Action: action, Agreement: draft, Errors: errs, Groups: groups, Policies: policies}
	}
	return s.render(w, r, status, employer.Agreements(p))
}

func (s *Server) createAgreement(w http.ResponseWriter, r *http.Request) error {
	return s.saveAgreement(w, r, false)
}

func (s *Server) updateAgreement(w http.ResponseWriter, r *http.Request) error {
	return s.saveAgreement(w, r, true)
}

// saveAgreement creates or (editing) updates a service agreement of the employer {id}.
func (s *Server) saveAgreement(w http.ResponseWriter, r *http.Request, editing bool) error {
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var a casefile.Agreement
	if editing {
		if a.ID, err = pathID(r, "aid"); err != nil {
			return err
		}
	}
	if err := access.CanWriteEmployerContracts(mustCurrent(r).Principal, employerID); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	a.EmployerID = employerID
	a.ContractNumber = f.str("contract_number")
	a.Period = periodFromForm(f)
	a.GroupID = f.optUUID("group_id")
	a.PolicyID = f.optUUID("policy_id")
	err = f.err()
	if err == nil {
		err = s.inTenant(r, func(tx pgx.Tx) error {
			if editing {
				_, err := casefile.UpdateAgreement(r.Context(), tx, editor(r), a)
				return err
			}
			_, err := casefile.CreateAgreement(r.Context(), tx, editor(r), a)
			return err
		})
	}
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAgreements(w, r, status, a, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+employerID.String()+"/agreements")
}
