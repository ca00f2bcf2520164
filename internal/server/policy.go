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

// Insurance policies (polissen) of the employer dossier: a provider administrator's form beside
// the list every reader of the employer dossier sees. Shared contract helpers are in
// contract.go, deletion in casedelete.go.

func (s *Server) showPolicies(w http.ResponseWriter, r *http.Request) error {
	return s.renderPolicies(w, r, http.StatusOK, casefile.Policy{}, nil)
}

func (s *Server) editPolicy(w http.ResponseWriter, r *http.Request) error {
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	policyID, err := pathID(r, "pid")
	if err != nil {
		return err
	}
	if err := access.CanWriteEmployerContracts(mustCurrent(r).Principal, employerID); err != nil {
		return err
	}
	var x casefile.Policy
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		x, err = casefile.FindPolicyByID(r.Context(), tx, employerID, policyID)
		return err
	}); err != nil {
		return err
	}
	return s.renderPolicies(w, r, http.StatusOK, x, nil)
}

// renderPolicies shows the employer's insurance policies with the form for draft.
func (s *Server) renderPolicies(w http.ResponseWriter, r *http.Request, status int, draft casefile.Policy, errs map[string]string) error {
	c := mustCurrent(r)
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := access.CanReadEmployerDossier(c.Principal, employerID); err != nil {
		return err
	}
	p := employer.PoliciesPage{CanDelete: access.CanDeleteEmployerContracts(c.Principal, employerID) == nil}
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		if p.Employer, err = org.FindEmployerByID(r.Context(), tx, employerID); err != nil {
			return err
		}
		p.Policies, err = casefile.FindPolicies(r.Context(), tx, employerID)
		return err
	})
	if err != nil {
		return err
	}
	p.Page = s.page(r, "policy.page_title", p.Employer.Name)
	if access.CanWriteEmployerContracts(c.Principal, employerID) == nil {
		base := "/employers/" + employerID.String() + "/policies"
		action := base
		if draft.ID != uuid.Nil {
			action = base + "/" + draft.ID.String()
		}
		p.Form = &employer.PolicyForm{Action: action, Policy: draft, Errors: errs}
	}
	return s.render(w, r, status, employer.Policies(p))
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) error {
	return s.savePolicy(w, r, false)
}

func (s *Server) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	return s.savePolicy(w, r, true)
}

// savePolicy creates or (editing) updates an insurance policy of the employer {id}.
func (s *Server) savePolicy(w http.ResponseWriter, r *http.Request, editing bool) error {
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var x casefile.Policy
	if editing {
		if x.ID, err = pathID(r, "pid"); err != nil {
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
	x.EmployerID = employerID
	x.Insurer, x.PolicyNumber = f.str("insurer"), f.str("policy_number")
	x.Period = periodFromForm(f)
	err = f.err()
	if err == nil {
		err = s.inTenant(r, func(tx pgx.Tx) error {
			if editing {
				_, err := casefile.UpdatePolicy(r.Context(), tx, editor(r), x)
				return err
			}
			_, err := casefile.CreatePolicy(r.Context(), tx, editor(r), x)
			return err
		})
	}
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderPolicies(w, r, status, x, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+employerID.String()+"/policies")
}
