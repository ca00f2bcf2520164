package server

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/page/confirm"
	"github.com/dossierkast/dossierkast/web/page/employee"
	"github.com/dossierkast/dossierkast/web/page/employer"
)

// Contracts: the employer dossier's service agreements (dienstverlening) and insurance policies
// (polissen), and the employee dossier's policy participation (polisdeelname).
//
// Rights: reading the employer's parts needs the employer in reach (404 otherwise) and
// employer_dossier.view (403); the employee tab is an ordinary dossier part (inDossier). Writing
// any of them is contract administration of the provider: access.ManageOrganisation (provider
// users with users.manage), after the same visibility check, so an unseen dossier stays 404.

// contractFormErrors turns a refused contract change into the form's errors and status (422 for
// invalid input, 409 for a duplicate); ok is false for errors that are not the user's to fix.
func contractFormErrors(err error) (map[string]string, int, bool) {
	e, ok := apperr.As(err)
	if !ok || (e.Code != apperr.EINVALID && e.Code != apperr.ECONFLICT) {
		return nil, 0, false
	}
	if e.Fields != nil {
		return e.Fields, statusOf[e.Code], true
	}
	return map[string]string{"": e.Message}, statusOf[e.Code], true
}

func periodFields(errs map[string]string, start, end string) []component.Field {
	return []component.Field{
		{Name: "starts_on", Label: "contract.starts_on", Type: "date", Value: start, Error: errs["starts_on"], Required: true},
		{Name: "ends_on", Label: "contract.ends_on", Type: "date", Value: end, Error: errs["ends_on"]},
	}
}

func periodFromForm(f *form) casefile.ContractPeriod {
	var p casefile.ContractPeriod
	if d := f.optDate("starts_on"); d != nil {
		p.Start = *d
	}
	p.End = f.optDate("ends_on")
	return p
}

func startValue(p casefile.ContractPeriod) string {
	if p.Start.IsZero() {
		return ""
	}
	return dateValue(&p.Start)
}

// --- service agreements -------------------------------------------------------------------

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
	canManage := access.ManageOrganisation(c.Principal) == nil
	p := employer.AgreementsPage{CanDelete: access.CanDeleteContract(c.Principal) == nil}
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
		f := &employer.ContractForm{Title: "agreement.new", Action: base, Errors: errs}
		if draft.ID != uuid.Nil {
			f.Title, f.Action, f.Cancel = "agreement.edit", base+"/"+draft.ID.String(), base
		}
		f.Fields = append([]component.Field{{Name: "contract_number", Label: "agreement.contract_number",
			Value: draft.ContractNumber, Error: errs["contract_number"], Required: true}},
			periodFields(errs, startValue(draft.Period), dateValue(draft.Period.End))...)
		var groupOpts, policyOpts []component.Option
		for _, g := range groups {
			groupOpts = append(groupOpts, option(g.ID.String(), g.Name, draft.GroupID != nil && *draft.GroupID == g.ID))
		}
		for _, x := range policies {
			policyOpts = append(policyOpts, option(x.ID.String(), x.Label(), draft.PolicyID != nil && *draft.PolicyID == x.ID))
		}
		f.Selects = []employer.ContractSelect{
			{Name: "group_id", Label: "agreement.group", Options: groupOpts, WithEmpty: true},
			{Name: "policy_id", Label: "agreement.policy", Options: policyOpts, WithEmpty: true},
		}
		p.Form = f
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
				_, err := casefile.UpdateAgreement(r.Context(), tx, actor(r), a)
				return err
			}
			_, err := casefile.CreateAgreement(r.Context(), tx, actor(r), a)
			return err
		})
	}
	if errs, status, ok := contractFormErrors(err); ok {
		return s.renderAgreements(w, r, status, a, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+employerID.String()+"/agreements")
}

// --- insurance policies -------------------------------------------------------------------

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
	p := employer.PoliciesPage{CanDelete: access.CanDeleteContract(c.Principal) == nil}
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
	if access.ManageOrganisation(c.Principal) == nil {
		base := "/employers/" + employerID.String() + "/policies"
		f := &employer.ContractForm{Title: "policy.new", Action: base, Errors: errs}
		if draft.ID != uuid.Nil {
			f.Title, f.Action, f.Cancel = "policy.edit", base+"/"+draft.ID.String(), base
		}
		f.Fields = append([]component.Field{
			{Name: "insurer", Label: "policy.insurer", Value: draft.Insurer, Error: errs["insurer"], Required: true},
			{Name: "policy_number", Label: "policy.policy_number", Value: draft.PolicyNumber, Error: errs["policy_number"], Required: true},
		}, periodFields(errs, startValue(draft.Period), dateValue(draft.Period.End))...)
		p.Form = f
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
				_, err := casefile.UpdatePolicy(r.Context(), tx, actor(r), x)
				return err
			}
			_, err := casefile.CreatePolicy(r.Context(), tx, actor(r), x)
			return err
		})
	}
	if errs, status, ok := contractFormErrors(err); ok {
		return s.renderPolicies(w, r, status, x, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+employerID.String()+"/policies")
}

// --- policy participation (employee dossier) ------------------------------------------------

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
		f := &employee.ParticipationForm{Title: "participation.new", Action: base, Errors: errs}
		if draft.ID != uuid.Nil {
			f.Title, f.Action, f.Cancel = "participation.edit", base+"/"+draft.ID.String(), base
		}
		for _, x := range policies {
			f.Policies = append(f.Policies, option(x.ID.String(), x.Label(), draft.PolicyID == x.ID))
		}
		f.Participating = []component.Option{
			{Value: "1", Label: i18n.T(r.Context(), "participation.yes"), Selected: draft.Participating},
			{Value: "0", Label: i18n.T(r.Context(), "participation.no"), Selected: !draft.Participating},
		}
		f.Fields = append([]component.Field{{Name: "reason", Label: "participation.reason", Value: draft.Reason,
			Error: errs["reason"], Hint: "participation.reason_hint"}},
			periodFields(errs, startValue(draft.Period), dateValue(draft.Period.End))...)
		p.Form = f
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
	c := mustCurrent(r)
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
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if err := access.CanSeeEmployee(r.Context(), tx, c.Principal, employeeID); err != nil {
			return err
		}
		if err := access.ManageOrganisation(c.Principal); err != nil {
			return err
		}
		if formErr != nil {
			return formErr
		}
		if editing {
			_, err := casefile.UpdateParticipation(r.Context(), tx, actor(r), x)
			return err
		}
		_, err := casefile.CreateParticipation(r.Context(), tx, actor(r), x)
		return err
	})
	if code := apperr.CodeOf(err); code == apperr.ENOTFOUND || code == apperr.EFORBIDDEN {
		s.auditRefusal(r, audit.Event{Action: audit.EmployeeRefused, SubjectType: "employee", SubjectID: &employeeID,
			EmployeeID: &employeeID, Details: map[string]any{"reason": string(code), "tab": "policies", "operation": "save"}})
	}
	if errs, status, ok := contractFormErrors(err); ok {
		return s.renderParticipations(w, r, status, x, false, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+employeeID.String()+"/policies")
}

// periodDetails shows a contract's period on a confirmation.
func periodDetails(p casefile.ContractPeriod) []confirm.Detail {
	return []confirm.Detail{{Label: "contract.starts_on", Value: i18n.Date(&p.Start)}, {Label: "contract.ends_on", Value: i18n.Date(p.End)}}
}
