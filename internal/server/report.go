package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

func (s *Server) showReports(w http.ResponseWriter, r *http.Request) error {
	return s.renderReports(w, r, http.StatusOK, nil)
}

// renderReports shows the reports tab; newErrs re-shows a refused new report with what was posted.
// The store leaves out hidden and medical reports for viewers without medical.view.
func (s *Server) renderReports(w http.ResponseWriter, r *http.Request, status int, newErrs map[string]string) error {
	c := mustCurrent(r)
	p := employee.ReportsPage{CanEdit: access.CanWriteCaseData(c.Principal) == nil, CanDelete: access.CanDeleteCaseData(c.Principal) == nil}
	e, err := s.inDossier(r, "reports", func(tx pgx.Tx, e org.Employee) (err error) {
		p.Reports, err = casefile.FindReports(r.Context(), tx, c.Principal, e.ID)
		return err
	})
	if err != nil {
		return err
	}
	p.Employee, p.Page = e, s.page(r, "report.title", e.FullName())
	p.Medical = access.CanReadMedical(c.Principal)
	p.New = employee.EntryForm{Action: "/employees/" + e.ID.String() + "/reports", Values: entryValues(r, newErrs != nil, nil), Errors: newErrs}
	return s.render(w, r, status, employee.Reports(p))
}

func reportFromForm(f *form) casefile.Report {
	return casefile.Report{Body: f.str("body"), Expertise: f.str("expertise"), Hidden: f.str("hidden") != "", Medical: f.str("medical") != ""}
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	rep := reportFromForm(f)
	e, err := s.inCaseChange(r, "reports", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.CreateReport(r.Context(), tx, editor(r), e.ID, rep, f.errors)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderReports(w, r, status, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/reports")
}

func (s *Server) editReport(w http.ResponseWriter, r *http.Request) error {
	return s.renderReportEdit(w, r, http.StatusOK, nil)
}

func (s *Server) renderReportEdit(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) error {
	c := mustCurrent(r)
	rid, err := pathID(r, "rid")
	if err != nil {
		return err
	}
	var rep casefile.Report
	e, err := s.inDossier(r, "reports", func(tx pgx.Tx, e org.Employee) (err error) {
		if err := access.CanWriteCaseData(c.Principal); err != nil {
			return err
		}
		rep, err = casefile.FindReportByID(r.Context(), tx, c.Principal, e.ID, rid)
		return err
	})
	if err != nil {
		return err
	}
	initial := map[string]string{"body": rep.Body, "expertise": rep.Expertise}
	if rep.Hidden {
		initial["hidden"] = "1"
	}
	if rep.Medical {
		initial["medical"] = "1"
	}
	p := employee.ReportEditPage{Employee: e, Report: rep, Medical: access.CanReadMedical(c.Principal), Page: s.page(r, "report.edit_title"),
		Form: employee.EntryForm{Action: "/employees/" + e.ID.String() + "/reports/" + rep.ID.String(),
			Values: entryValues(r, errs != nil, initial), Errors: errs}}
	return s.render(w, r, status, employee.ReportEdit(p))
}

func (s *Server) updateReport(w http.ResponseWriter, r *http.Request) error {
	rid, err := pathID(r, "rid")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	rep := reportFromForm(f)
	rep.ID = rid
	e, err := s.inCaseChange(r, "reports", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.UpdateReport(r.Context(), tx, editor(r), e.ID, rep, f.errors)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderReportEdit(w, r, status, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/reports")
}
