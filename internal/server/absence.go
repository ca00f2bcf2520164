package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// entryValues returns what a case form shows, by input name: what was posted when re-showing a
// refused form, otherwise the stored values in initial.
func entryValues(r *http.Request, posted bool, initial map[string]string) map[string]string {
	if !posted {
		return initial
	}
	values := make(map[string]string, len(r.PostForm))
	for name := range r.PostForm {
		values[name] = r.PostForm.Get(name)
	}
	return values
}

// ardInt reads a whole number; empty is "required", anything else unreadable a percentage error.
func ardInt(f *form, name string) int {
	v := f.str(name)
	if v == "" {
		f.errors[name] = "error.required"
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f.errors[name] = "absence.error.percentage"
		return -1
	}
	return n
}

func ardDate(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (s *Server) showAbsences(w http.ResponseWriter, r *http.Request) error {
	return s.renderAbsences(w, r, http.StatusOK, nil, uuid.Nil, nil)
}

// renderAbsences shows the absence tab; newErrs or changeErrs (for absence changeFor) re-show a
// refused form with what was posted.
func (s *Server) renderAbsences(w http.ResponseWriter, r *http.Request, status int, newErrs map[string]string, changeFor uuid.UUID, changeErrs map[string]string) error {
	c := mustCurrent(r)
	p := employee.AbsencesPage{Medical: access.CanReadMedical(c.Principal), CanEdit: access.CanWriteCaseData(c.Principal) == nil, ChangeFor: changeFor,
		CanDelete: access.CanDeleteCaseData(c.Principal) == nil}
	e, err := s.inDossier(r, "absences", func(tx pgx.Tx, e org.Employee) (err error) {
		p.Absences, err = casefile.FindAbsences(r.Context(), tx, c.Principal, e.ID)
		return err
	})
	if err != nil {
		return err
	}
	base := "/employees/" + e.ID.String() + "/absences"
	p.Employee, p.Page = e, s.page(r, "absence.title", e.FullName())
	p.New = employee.EntryForm{Action: base, Values: entryValues(r, newErrs != nil, map[string]string{"percentage": "100"}), Errors: newErrs}
	if changeFor != uuid.Nil {
		p.Change = employee.EntryForm{Values: entryValues(r, true, nil), Errors: changeErrs}
	}
	return s.render(w, r, status, employee.Absences(p))
}

func absenceFromForm(f *form) casefile.Absence {
	return casefile.Absence{
		FirstSickDay:   ardDate(f.optDate("first_sick_day")),
		RecoveryDate:   f.optDate("recovery_date"),
		ExpectedReturn: f.optDate("expected_return"),
		Cause:          f.str("cause"),
		Notes:          f.str("notes"),
	}
}

// createAbsence reports an absence with its first percentage.
func (s *Server) createAbsence(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	a := absenceFromForm(f)
	pct := ardInt(f, "percentage")
	e, err := s.inCaseChange(r, "absences", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.CreateAbsence(r.Context(), tx, editor(r), e.ID, casefile.NewAbsence{Absence: a, Percentage: pct, Fields: f.errors})
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAbsences(w, r, status, errs, uuid.Nil, nil)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/absences")
}

func (s *Server) editAbsence(w http.ResponseWriter, r *http.Request) error {
	return s.renderAbsenceEdit(w, r, http.StatusOK, nil)
}

func (s *Server) renderAbsenceEdit(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) error {
	c := mustCurrent(r)
	aid, err := pathID(r, "aid")
	if err != nil {
		return err
	}
	var a casefile.Absence
	e, err := s.inDossier(r, "absences", func(tx pgx.Tx, e org.Employee) (err error) {
		if err := access.CanWriteCaseData(c.Principal); err != nil {
			return err
		}
		a, err = casefile.FindAbsenceByID(r.Context(), tx, c.Principal, e.ID, aid)
		return err
	})
	if err != nil {
		return err
	}
	initial := map[string]string{"first_sick_day": component.DateValue(&a.FirstSickDay), "recovery_date": component.DateValue(a.RecoveryDate),
		"expected_return": component.DateValue(a.ExpectedReturn), "cause": a.Cause, "notes": a.Notes}
	p := employee.AbsenceEditPage{Employee: e, Absence: a, Medical: access.CanReadMedical(c.Principal),
		Page: s.page(r, "absence.edit_title", i18n.Date(&a.FirstSickDay)),
		Form: employee.EntryForm{Action: "/employees/" + e.ID.String() + "/absences/" + a.ID.String(),
			Values: entryValues(r, errs != nil, initial), Errors: errs}}
	return s.render(w, r, status, employee.AbsenceEdit(p))
}

// updateAbsence changes an absence's dates, notes and (with medical.view) its cause.
func (s *Server) updateAbsence(w http.ResponseWriter, r *http.Request) error {
	aid, err := pathID(r, "aid")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	a := absenceFromForm(f)
	a.ID = aid
	e, err := s.inCaseChange(r, "absences", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.UpdateAbsence(r.Context(), tx, editor(r), e.ID, a, f.errors)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAbsenceEdit(w, r, status, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/absences")
}

// setAbsencePercentage records a change of an absence's percentage from a date on.
func (s *Server) setAbsencePercentage(w http.ResponseWriter, r *http.Request) error {
	aid, err := pathID(r, "aid")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	from := f.optDate("from_date")
	pct := ardInt(f, "percentage")
	e, err := s.inCaseChange(r, "absences", pathEmployee(r), func(tx pgx.Tx, e org.Employee) error {
		_, err := casefile.SetAbsencePercentage(r.Context(), tx, editor(r), e.ID, aid, from, pct, f.errors)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAbsences(w, r, status, nil, aid, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+e.ID.String()+"/absences")
}
