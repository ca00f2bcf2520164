package server

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/confirm"
	"github.com/dossierkast/dossierkast/web/page/employee"
	"github.com/dossierkast/dossierkast/web/page/employer"
)

// Deleting case data of the employee dossier and contracts of the employer dossier. Every item
// has an address ending in /delete: GET shows what will go and asks to confirm (no JavaScript
// needed), POST deletes and returns to the tab or part with 303; the capability's delete checks
// the right itself and audits case.deleted (with the employee, for his dossier's items). The
// right (access.CanDeleteCaseData for case data, access.CanDeleteContract and
// access.CanDeleteEmployerContracts for contracts) is also asked here first, after visibility,
// so an unseen dossier stays 404 and a refusal is audited before anything is read. Each kind of
// item is one entry of the tables below: a new kind says how it is found, shown and removed,
// and nothing else.

// caseDeletion is one kind of deletable item of the employee dossier.
type caseDeletion struct {
	tab   string // the dossier tab that lists it: the audit's part and the way back
	title string // message key of the confirmation's title
	// right decides whether the user may delete items of this kind (EFORBIDDEN when not).
	right func(access.Principal) error
	// employee returns the employee the request's item belongs to; ENOTFOUND when the item is
	// absent.
	employee func(r *http.Request, tx pgx.Tx) (uuid.UUID, error)
	param    string // the path parameter that holds the item's id
	// describe finds the item in e's dossier and returns what the confirmation shows of it,
	// refusing (EFORBIDDEN) what the user may not delete.
	describe func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error)
	// remove deletes the item from e's dossier through its capability, which audits it.
	remove func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error
}

// confirmCaseDelete shows the confirmation of deleting d's item.
func (s *Server) confirmCaseDelete(d caseDeletion) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := mustCurrent(r)
		id, err := pathID(r, d.param)
		if err != nil {
			return err
		}
		var details []confirm.Detail
		e, err := s.inCaseDossier(r, d.tab, func(tx pgx.Tx) (uuid.UUID, error) { return d.employee(r, tx) },
			func(tx pgx.Tx, e org.Employee) (err error) {
				if err := d.right(c.Principal); err != nil {
					return err
				}
				details, err = d.describe(r, tx, e, id)
				return err
			})
		if err != nil {
			return err
		}
		return s.render(w, r, http.StatusOK, confirm.Delete(confirm.DeletePage{Page: s.page(r, d.title),
			Heading: employee.Heading(e, d.tab), Explain: "delete.explain", Details: details,
			Action: r.URL.Path, Back: tabPath(e.ID, d.tab)}))
	}
}

// deleteCase deletes d's item after the confirmation.
func (s *Server) deleteCase(d caseDeletion) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, d.param)
		if err != nil {
			return err
		}
		load := func(tx pgx.Tx) (uuid.UUID, error) { return d.employee(r, tx) }
		e, err := s.inCaseAction(r, d.tab, d.right, load, func(tx pgx.Tx, e org.Employee) error { return d.remove(r, tx, e, id) })
		if err != nil {
			return err
		}
		s.flash(r, "flash.deleted")
		return redirect(w, r, tabPath(e.ID, d.tab))
	}
}

// employerDeletion is one kind of deletable contract of the employer dossier. Its capability
// writes the case.deleted event itself.
type employerDeletion struct {
	part  string // the employer dossier's part that lists it: the way back
	title string // message key of the confirmation's title
	param string // the path parameter that holds the item's id
	// describe finds the item among the employer's and returns what the confirmation shows of
	// it; ENOTFOUND when it is not his.
	describe func(r *http.Request, tx pgx.Tx, employerID, id uuid.UUID) ([]confirm.Detail, error)
	// remove deletes the item of the employer, with its audit event.
	remove func(r *http.Request, tx pgx.Tx, employerID, id uuid.UUID) error
}

// confirmEmployerDelete shows the confirmation of deleting d's item of the employer {id}.
func (s *Server) confirmEmployerDelete(d employerDeletion) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		employerID, err := pathID(r, "id")
		if err != nil {
			return err
		}
		id, err := pathID(r, d.param)
		if err != nil {
			return err
		}
		if err := access.CanDeleteEmployerContracts(mustCurrent(r).Principal, employerID); err != nil {
			return err
		}
		var e org.Employer
		var details []confirm.Detail
		if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
			if e, err = org.FindEmployerByID(r.Context(), tx, employerID); err != nil {
				return err
			}
			details, err = d.describe(r, tx, employerID, id)
			return err
		}); err != nil {
			return err
		}
		return s.render(w, r, http.StatusOK, confirm.Delete(confirm.DeletePage{Page: s.page(r, d.title),
			Heading: employer.Heading(e, d.part), Explain: "delete.explain", Details: details, Action: r.URL.Path,
			Back: partPath(employerID, d.part)}))
	}
}

// deleteEmployerContract deletes d's item of the employer {id} after the confirmation.
func (s *Server) deleteEmployerContract(d employerDeletion) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		employerID, err := pathID(r, "id")
		if err != nil {
			return err
		}
		id, err := pathID(r, d.param)
		if err != nil {
			return err
		}
		if err := access.CanDeleteEmployerContracts(mustCurrent(r).Principal, employerID); err != nil {
			return err
		}
		if err := s.inTenant(r, func(tx pgx.Tx) error { return d.remove(r, tx, employerID, id) }); err != nil {
			return err
		}
		s.flash(r, "flash.deleted")
		return redirect(w, r, partPath(employerID, d.part))
	}
}

// partPath is the address of an employer dossier's part.
func partPath(employerID uuid.UUID, part string) string {
	return "/employers/" + employerID.String() + "/" + part
}

// tabPath is the address of an employee dossier's tab.
func tabPath(employeeID uuid.UUID, tab string) string {
	for _, t := range employee.Tabs {
		if t.Key == tab {
			return "/employees/" + employeeID.String() + t.Path
		}
	}
	return "/employees/" + employeeID.String()
}

// excerpt shortens a text for a confirmation: its first n characters.
func excerpt(text string, n int) string {
	runes := []rune(text)
	if len(runes) <= n {
		return text
	}
	return string(runes[:n]) + "…"
}

// pathEmployeeOf is caseDeletion.employee for items addressed under their employee's address.
func pathEmployeeOf(r *http.Request, _ pgx.Tx) (uuid.UUID, error) { return pathID(r, "id") }

var absenceDeletion = caseDeletion{
	tab: "absences", title: "absence.delete_title", employee: pathEmployeeOf, param: "aid",
	right: access.CanDeleteCaseData,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error) {
		a, err := casefile.FindAbsenceToDelete(r.Context(), tx, mustCurrent(r).Principal, e.ID, id)
		if err != nil {
			return nil, err
		}
		return []confirm.Detail{
			{Label: "absence.first_sick_day", Value: i18n.Date(&a.FirstSickDay)},
			{Label: "absence.percentage", Value: strconv.Itoa(a.Current()) + "%"},
			{Label: "absence.recovery_date", Value: i18n.Date(a.RecoveryDate)},
			{Label: "absence.notes", Value: excerpt(a.Notes, 300)},
		}, nil
	},
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		_, err := casefile.DeleteAbsence(r.Context(), tx, editor(r), e.ID, id)
		return err
	},
}

var reportDeletion = caseDeletion{
	tab: "reports", title: "report.delete_title", employee: pathEmployeeOf, param: "rid",
	right: access.CanDeleteCaseData,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error) {
		rep, err := casefile.FindReportByID(r.Context(), tx, mustCurrent(r).Principal, e.ID, id)
		if err != nil {
			return nil, err
		}
		return []confirm.Detail{
			{Label: "report.expertise", Value: i18n.T(r.Context(), employee.ExpertiseKey(rep.Expertise))},
			{Label: "report.author", Value: rep.AuthorName},
			{Label: "report.created_at", Value: i18n.DateTime(rep.CreatedAt)},
			{Label: "report.body", Value: excerpt(rep.Body, 300)},
		}, nil
	},
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		_, err := casefile.DeleteReport(r.Context(), tx, editor(r), e.ID, id)
		return err
	},
}

var decisionDeletion = caseDeletion{
	tab: "decisions", title: "decision.delete_title", employee: pathEmployeeOf, param: "did",
	right: access.CanDeleteCaseData,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error) {
		d, err := casefile.FindDecisionByID(r.Context(), tx, e.ID, id)
		if err != nil {
			return nil, err
		}
		return []confirm.Detail{
			{Label: "decision.date", Value: i18n.Date(&d.Date)},
			{Label: "decision.kind", Value: i18n.T(r.Context(), employee.DecisionKindKey(d.Kind))},
			{Label: "decision.issuer", Value: d.Issuer},
			{Label: "decision.outcome", Value: excerpt(d.Outcome, 300)},
		}, nil
	},
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		_, err := casefile.DeleteDecision(r.Context(), tx, editor(r), e.ID, id)
		return err
	},
}

// appointmentEmployee is caseDeletion.employee for the path's appointment {id}.
func appointmentEmployee(r *http.Request, tx pgx.Tx) (uuid.UUID, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return uuid.Nil, err
	}
	return casefile.FindAppointmentEmployee(r.Context(), tx, id)
}

var appointmentDeletion = caseDeletion{
	tab: "agenda", title: "appointment.delete_title", employee: appointmentEmployee, param: "id",
	right: access.CanDeleteCaseData,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error) {
		a, err := casefile.FindAppointmentByID(r.Context(), tx, e.ID, id)
		if err != nil {
			return nil, err
		}
		return []confirm.Detail{
			{Label: "appointment.starts_at", Value: i18n.DateTime(a.StartsAt)},
			{Label: "appointment.with_whom", Value: a.WithWhom},
			{Label: "appointment.kind", Value: i18n.T(r.Context(), "appointment.kind."+a.Kind)},
			{Label: "appointment.status", Value: i18n.T(r.Context(), "appointment.status."+a.Status)},
		}, nil
	},
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		_, err := casefile.DeleteAppointment(r.Context(), tx, editor(r), e.ID, id)
		return err
	},
}

// consultationEmployee is caseDeletion.employee for the path's consultation {id}.
func consultationEmployee(r *http.Request, tx pgx.Tx) (uuid.UUID, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return uuid.Nil, err
	}
	return casefile.FindConsultationEmployee(r.Context(), tx, id)
}

var consultationDeletion = caseDeletion{
	tab: "agenda", title: "consultation.delete_title", employee: consultationEmployee, param: "id",
	right: access.CanDeleteCaseData,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error) {
		c, err := casefile.FindConsultationToDelete(r.Context(), tx, mustCurrent(r).Principal, e.ID, id)
		if err != nil {
			return nil, err
		}
		return []confirm.Detail{
			{Label: "consultation.held_at", Value: i18n.DateTime(c.HeldAt)},
			{Label: "consultation.held_by", Value: c.HeldBy},
			{Label: "consultation.outcome", Value: excerpt(c.Outcome, 300)},
		}, nil
	},
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		_, _, err := casefile.DeleteConsultation(r.Context(), tx, editor(r), e.ID, id)
		return err
	},
}

var participationDeletion = caseDeletion{
	tab: "policies", title: "participation.delete_title", employee: pathEmployeeOf, param: "pid",
	right: access.CanDeleteContract,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) ([]confirm.Detail, error) {
		x, err := casefile.FindParticipationByID(r.Context(), tx, e.ID, id)
		if err != nil {
			return nil, err
		}
		answer := "participation.no"
		if x.Participating {
			answer = "participation.yes"
		}
		return append([]confirm.Detail{{Label: "participation.policy", Value: x.PolicyLabel},
			{Label: "participation.participating", Value: i18n.T(r.Context(), answer)},
			{Label: "participation.reason", Value: x.Reason}}, periodDetails(x.Period)...), nil
	},
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee, id uuid.UUID) error {
		_, err := casefile.DeleteParticipation(r.Context(), tx, editor(r), e.ID, id)
		return err
	},
}

// policyDeletion's remove refuses a policy that is still named somewhere with 409 and says where
// (casefile.DeletePolicy).
var policyDeletion = employerDeletion{
	part: "policies", title: "policy.delete_title", param: "pid",
	describe: func(r *http.Request, tx pgx.Tx, employerID, id uuid.UUID) ([]confirm.Detail, error) {
		x, err := casefile.FindPolicyByID(r.Context(), tx, employerID, id)
		if err != nil {
			return nil, err
		}
		return append([]confirm.Detail{{Label: "policy.insurer", Value: x.Insurer}, {Label: "policy.policy_number", Value: x.PolicyNumber}},
			periodDetails(x.Period)...), nil
	},
	remove: func(r *http.Request, tx pgx.Tx, employerID, id uuid.UUID) error {
		_, err := casefile.DeletePolicy(r.Context(), tx, editor(r), employerID, id)
		return err
	},
}

var agreementDeletion = employerDeletion{
	part: "agreements", title: "agreement.delete_title", param: "aid",
	describe: func(r *http.Request, tx pgx.Tx, employerID, id uuid.UUID) ([]confirm.Detail, error) {
		a, err := casefile.FindAgreementByID(r.Context(), tx, employerID, id)
		if err != nil {
			return nil, err
		}
		return append([]confirm.Detail{{Label: "agreement.contract_number", Value: a.ContractNumber}},
			append(periodDetails(a.Period), confirm.Detail{Label: "agreement.policy", Value: a.PolicyLabel})...), nil
	},
	remove: func(r *http.Request, tx pgx.Tx, employerID, id uuid.UUID) error {
		_, err := casefile.DeleteAgreement(r.Context(), tx, editor(r), employerID, id)
		return err
	},
}
