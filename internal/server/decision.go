package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

func (s *Server) showDecisions(w http.ResponseWriter, r *http.Request) error {
	return s.renderDecisions(w, r, http.StatusOK, nil)
}

// renderDecisions shows the decisions tab; newErrs re-shows a refused new decision with what was
// posted.
func (s *Server) renderDecisions(w http.ResponseWriter, r *http.Request, status int, newErrs map[string]string) error {
	c := mustCurrent(r)
	p := employee.DecisionsPage{CanEdit: access.CanWriteCaseData(c.Principal) == nil, CanDelete: access.CanDeleteCaseData(c.Principal) == nil}
	e, err := s.inDossier(r, "decisions", func(tx pgx.Tx, e org.Employee) (err error) {
		p.Decisions, err = casefile.FindDecisions(r.Context(), tx, e.ID)
		return err
	})
	if err != nil {
		return err
	}
	p.Employee, p.Page = e, s.page(r, "decision.title", e.FullName())
	p.New = employee.EntryForm{Action: "/employees/" + e.ID.String() + "/decisions",
		Values: entryValues(r, newErrs != nil, map[string]string{"issuer": casefile.DefaultIssuer}), Errors: newErrs}
	return s.render(w, r, status, employee.Decisions(p))
}

func decisionFromForm(f *form) casefile.Decision {
	return casefile.Decision{Kind: f.str("kind"), Date: ardDate(f.optDate("decision_date")), Outcome: f.str("outcome"), Issuer: f.str("issuer")}
}

func (s *Server) createDecision(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	d := decisionFromForm(f)
	e, err := s.inCaseChange(r, "decisions", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.CreateDecision(r.Context(), tx, editor(r), e.ID, d, f.errors)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDecisions(w, r, status, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/decisions")
}

func (s *Server) editDecision(w http.ResponseWriter, r *http.Request) error {
	return s.renderDecisionEdit(w, r, http.StatusOK, nil)
}

func (s *Server) renderDecisionEdit(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) error {
	c := mustCurrent(r)
	did, err := pathID(r, "did")
	if err != nil {
		return err
	}
	var d casefile.Decision
	e, err := s.inDossier(r, "decisions", func(tx pgx.Tx, e org.Employee) (err error) {
		if err := access.CanWriteCaseData(c.Principal); err != nil {
			return err
		}
		d, err = casefile.FindDecisionByID(r.Context(), tx, e.ID, did)
		return err
	})
	if err != nil {
		return err
	}
	initial := map[string]string{"kind": d.Kind, "decision_date": component.DateValue(&d.Date), "outcome": d.Outcome, "issuer": d.Issuer}
	p := employee.DecisionEditPage{Employee: e, Decision: d, Page: s.page(r, "decision.edit_title")}
	p.Form = employee.EntryForm{Action: "/employees/" + e.ID.String() + "/decisions/" + d.ID.String(),
		Values: entryValues(r, errs != nil, initial), Errors: errs}
	return s.render(w, r, status, employee.DecisionEdit(p))
}

func (s *Server) updateDecision(w http.ResponseWriter, r *http.Request) error {
	did, err := pathID(r, "did")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	d := decisionFromForm(f)
	d.ID = did
	e, err := s.inCaseChange(r, "decisions", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.UpdateDecision(r.Context(), tx, editor(r), e.ID, d, f.errors)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDecisionEdit(w, r, status, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/decisions")
}
