package server

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/confirm"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// Deleting case data of the employee dossier. Every item has an address ending in /delete: GET
// shows what will go and asks to confirm (no JavaScript needed), POST deletes, audits
// case.deleted with the employee, and returns to the tab with 303. The right is
// access.CanDeleteCaseData, checked after visibility, so an unseen dossier stays 404.

// caseDeletion is one kind of deletable case data.
type caseDeletion struct {
	tab     string // the dossier tab that lists it: the audit's part and the way back
	subject string // audit subject type
	title   string // message key of the confirmation's title
	// employee returns the employee the request's item belongs to; ENOTFOUND when the item is
	// absent.
	employee func(r *http.Request, tx pgx.Tx) (uuid.UUID, error)
	// describe finds the item in e's dossier and returns what the confirmation shows of it,
	// refusing (EFORBIDDEN) what the user may not delete.
	describe func(r *http.Request, tx pgx.Tx, e org.Employee) ([]confirm.Detail, error)
	// remove deletes the item from e's dossier and returns its id and the audit's details.
	remove func(r *http.Request, tx pgx.Tx, e org.Employee) (uuid.UUID, map[string]any, error)
}

// confirmCaseDelete shows the confirmation of deleting d's item.
func (s *Server) confirmCaseDelete(d caseDeletion) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := mustCurrent(r)
		var details []confirm.Detail
		e, err := s.inCaseDossier(r, d.tab, func(tx pgx.Tx) (uuid.UUID, error) { return d.employee(r, tx) },
			func(tx pgx.Tx, e org.Employee) (err error) {
				if err := access.CanDeleteCaseData(c.Principal); err != nil {
					return err
				}
				details, err = d.describe(r, tx, e)
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
		var employeeID uuid.UUID
		load := func(tx pgx.Tx) (id uuid.UUID, err error) {
			employeeID, err = d.employee(r, tx)
			return employeeID, err
		}
		err := s.inCaseAction(r, d.tab, access.CanDeleteCaseData, load, func(tx pgx.Tx) error {
			e, err := org.FindEmployeeByID(r.Context(), tx, employeeID)
			if err != nil {
				return err
			}
			id, details, err := d.remove(r, tx, e)
			if err != nil {
				return err
			}
			return auditCase(r, tx, audit.CaseDeleted, d.subject, id, e.ID, e.EmployerID, details)
		})
		if err != nil {
			return err
		}
		s.flash(r, "flash.deleted")
		return redirect(w, r, tabPath(employeeID, d.tab))
	}
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
	tab: "absences", subject: "absence", title: "absence.delete_title", employee: pathEmployeeOf,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee) ([]confirm.Detail, error) {
		id, err := pathID(r, "aid")
		if err != nil {
			return nil, err
		}
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
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee) (uuid.UUID, map[string]any, error) {
		id, err := pathID(r, "aid")
		if err != nil {
			return uuid.Nil, nil, err
		}
		a, err := casefile.DeleteAbsence(r.Context(), tx, mustCurrent(r).Principal, e.ID, id)
		return id, map[string]any{"first_sick_day": dateValue(&a.FirstSickDay), "percentages": len(a.Percentages)}, err
	},
}

var reportDeletion = caseDeletion{
	tab: "reports", subject: "report", title: "report.delete_title", employee: pathEmployeeOf,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee) ([]confirm.Detail, error) {
		id, err := pathID(r, "rid")
		if err != nil {
			return nil, err
		}
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
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee) (uuid.UUID, map[string]any, error) {
		id, err := pathID(r, "rid")
		if err != nil {
			return uuid.Nil, nil, err
		}
		rep, err := casefile.DeleteReport(r.Context(), tx, mustCurrent(r).Principal, e.ID, id)
		return id, map[string]any{"expertise": rep.Expertise, "hidden": rep.Hidden, "medical": rep.Medical}, err
	},
}

var decisionDeletion = caseDeletion{
	tab: "decisions", subject: "decision", title: "decision.delete_title", employee: pathEmployeeOf,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee) ([]confirm.Detail, error) {
		id, err := pathID(r, "did")
		if err != nil {
			return nil, err
		}
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
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee) (uuid.UUID, map[string]any, error) {
		id, err := pathID(r, "did")
		if err != nil {
			return uuid.Nil, nil, err
		}
		d, err := casefile.DeleteDecision(r.Context(), tx, e.ID, id)
		return id, map[string]any{"kind": d.Kind, "decision_date": dateValue(&d.Date)}, err
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
	tab: "agenda", subject: "appointment", title: "appointment.delete_title", employee: appointmentEmployee,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee) ([]confirm.Detail, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return nil, err
		}
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
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee) (uuid.UUID, map[string]any, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return uuid.Nil, nil, err
		}
		a, err := casefile.DeleteAppointment(r.Context(), tx, e.ID, id)
		return id, map[string]any{"kind": a.Kind, "status": a.Status}, err
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
	tab: "agenda", subject: "consultation", title: "consultation.delete_title", employee: consultationEmployee,
	describe: func(r *http.Request, tx pgx.Tx, e org.Employee) ([]confirm.Detail, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return nil, err
		}
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
	remove: func(r *http.Request, tx pgx.Tx, e org.Employee) (uuid.UUID, map[string]any, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return uuid.Nil, nil, err
		}
		c, unmatched, err := casefile.DeleteConsultation(r.Context(), tx, mustCurrent(r).Principal, e.ID, id)
		return id, map[string]any{"medical": c.Medical, "unmatched_appointments": unmatched}, err
	},
}
