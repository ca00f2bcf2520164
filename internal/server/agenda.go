package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employee"
)

// optDateTime reads an optional moment as a datetime-local input sends it (2027-01-02T14:05)
// or as typed (2-1-2027 14:05), in Europe/Amsterdam; a malformed one is a field error.
func optDateTime(f *form, name string) *time.Time {
	v := f.str(name)
	if v == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2-1-2006 15:04", "02-01-2006 15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, i18n.Amsterdam); err == nil {
			return &t
		}
	}
	f.errors[name] = "appointment.error.datetime"
	return nil
}

// agendaForms is what a refused form brings back to the agenda page.
type agendaForms struct {
	appointment       employee.AppointmentValues
	consultation      employee.ConsultationValues
	consultationReset bool // no consultation form came back: fill in the defaults
}

func (s *Server) showAgenda(w http.ResponseWriter, r *http.Request) error {
	return s.renderAgenda(w, r, http.StatusOK, agendaForms{consultationReset: true})
}

// renderAgenda shows the agenda tab: appointments and consultations with their forms.
func (s *Server) renderAgenda(w http.ResponseWriter, r *http.Request, status int, forms agendaForms) error {
	c := mustCurrent(r)
	medical := access.CanReadMedical(c.Principal)
	p := employee.AgendaPage{CanWrite: access.CanWriteCaseData(c.Principal) == nil, CanMedical: medical,
		CanDelete: access.CanDeleteCaseData(c.Principal) == nil}
	e, err := s.inDossier(r, "agenda", func(tx pgx.Tx, e org.Employee) (err error) {
		if p.Appointments, err = casefile.FindAppointments(r.Context(), tx, e.ID); err != nil {
			return err
		}
		p.Consultations, err = casefile.FindConsultations(r.Context(), tx, c.Principal, e.ID)
		return err
	})
	if err != nil {
		return err
	}
	cons := forms.consultation
	if forms.consultationReset {
		// A medical user records a medical consultation by default; the name is his own.
		cons.Consultation.HeldBy, cons.Consultation.Medical = c.User.Name, medical
	}
	p.Employee = e
	p.NewAppointment, p.NewConsultation = forms.appointment, cons
	p.Page = s.page(r, "agenda.title", e.FullName())
	return s.render(w, r, status, employee.Agenda(p))
}

func appointmentFromForm(f *form) casefile.Appointment {
	a := casefile.Appointment{WithWhom: f.str("with_whom"), Kind: f.str("kind"), Status: f.str("status"),
		ConsultationID: f.optUUID("consultation_id")}
	if t := optDateTime(f, "starts_at"); t != nil {
		a.StartsAt = *t
	} else if _, bad := f.errors["starts_at"]; !bad {
		f.errors["starts_at"] = "appointment.error.starts_at"
	}
	return a
}

// createAppointment adds an appointment to the employee's agenda.
func (s *Server) createAppointment(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	a := appointmentFromForm(f)
	_, err := s.inCaseChange(r, "agenda", pathEmployee(r), func(tx pgx.Tx, _ org.Employee) error {
		if err := f.err(); err != nil {
			return err
		}
		a.EmployeeID, _ = pathID(r, "id")
		_, err := casefile.CreateAppointment(r.Context(), tx, editor(r), a)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAgenda(w, r, status, agendaForms{consultationReset: true,
			appointment: employee.AppointmentValues{Appointment: a, StartsAt: f.str("starts_at"), Errors: errs}})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+a.EmployeeID.String()+"/agenda")
}

// consultationFromForm reads a consultation form; only a user with medical.view can mark it
// medical.
func consultationFromForm(f *form, r *http.Request, medical bool) casefile.Consultation {
	c := casefile.Consultation{HeldBy: f.str("held_by"), Outcome: strings.TrimSpace(r.PostForm.Get("outcome")),
		Medical: medical && f.str("medical") != ""}
	if t := optDateTime(f, "held_at"); t != nil {
		c.HeldAt = *t
	} else if _, bad := f.errors["held_at"]; !bad {
		f.errors["held_at"] = "consultation.error.held_at"
	}
	return c
}

// createConsultation records a consultation held with the employee.
func (s *Server) createConsultation(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	medical := access.CanReadMedical(mustCurrent(r).Principal)
	f := newForm(r)
	c := consultationFromForm(f, r, medical)
	_, err := s.inCaseChange(r, "agenda", pathEmployee(r), func(tx pgx.Tx, _ org.Employee) error {
		if err := f.err(); err != nil {
			return err
		}
		c.EmployeeID, _ = pathID(r, "id")
		_, err := casefile.CreateConsultation(r.Context(), tx, editor(r), c)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAgenda(w, r, status, agendaForms{
			consultation: employee.ConsultationValues{Consultation: c, HeldAt: f.str("held_at"), Errors: errs}})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+c.EmployeeID.String()+"/agenda")
}

func (s *Server) editAppointment(w http.ResponseWriter, r *http.Request) error {
	return s.renderAppointmentForm(w, r, http.StatusOK, nil, "", nil)
}

// renderAppointmentForm shows the edit form of the path's appointment; a is what a refused
// submission held (nil: the stored appointment).
func (s *Server) renderAppointmentForm(w http.ResponseWriter, r *http.Request, status int, a *casefile.Appointment,
	startsAt string, errs map[string]string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c := mustCurrent(r)
	p := employee.AppointmentFormPage{Action: "/appointments/" + id.String()}
	load := func(tx pgx.Tx) (uuid.UUID, error) { return casefile.FindAppointmentEmployee(r.Context(), tx, id) }
	e, err := s.inCaseDossier(r, "agenda", load, func(tx pgx.Tx, e org.Employee) error {
		if err := access.CanWriteCaseData(c.Principal); err != nil {
			return err
		}
		stored, err := casefile.FindAppointmentByID(r.Context(), tx, e.ID, id)
		if err != nil {
			return err
		}
		if p.Consultations, err = casefile.FindConsultations(r.Context(), tx, c.Principal, e.ID); err != nil {
			return err
		}
		if a == nil {
			a = &stored
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Employee = e
	p.Form = employee.AppointmentValues{Appointment: *a, StartsAt: startsAt, Errors: errs}
	p.Page = s.page(r, "appointment.edit")
	return s.render(w, r, status, employee.AppointmentForm(p))
}

// updateAppointment saves the edit form of an appointment.
func (s *Server) updateAppointment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	a := appointmentFromForm(f)
	a.ID = id
	load := func(tx pgx.Tx) (_ uuid.UUID, err error) {
		a.EmployeeID, err = casefile.FindAppointmentEmployee(r.Context(), tx, id)
		return a.EmployeeID, err
	}
	_, err = s.inCaseChange(r, "agenda", load, func(tx pgx.Tx, _ org.Employee) error {
		if err := f.err(); err != nil {
			return err
		}
		updated, err := casefile.UpdateAppointment(r.Context(), tx, editor(r), a)
		if err != nil {
			return err
		}
		a = updated
		return nil
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderAppointmentForm(w, r, status, &a, f.str("starts_at"), errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+a.EmployeeID.String()+"/agenda")
}

func (s *Server) editConsultation(w http.ResponseWriter, r *http.Request) error {
	return s.renderConsultationForm(w, r, http.StatusOK, nil, "", nil)
}

// renderConsultationForm shows the edit form of the path's consultation; c is what a refused
// submission held (nil: the stored consultation). A medical consultation is for users with
// medical.view only (EFORBIDDEN): the form would show its outcome.
func (s *Server) renderConsultationForm(w http.ResponseWriter, r *http.Request, status int, c *casefile.Consultation,
	heldAt string, errs map[string]string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p := mustCurrent(r).Principal
	medical := access.CanReadMedical(p)
	var stored casefile.Consultation
	load := func(tx pgx.Tx) (uuid.UUID, error) { return casefile.FindConsultationEmployee(r.Context(), tx, id) }
	e, err := s.inCaseDossier(r, "agenda", load, func(tx pgx.Tx, e org.Employee) (err error) {
		if err := access.CanWriteCaseData(p); err != nil {
			return err
		}
		if stored, err = casefile.FindConsultationByID(r.Context(), tx, p, e.ID, id); err != nil {
			return err
		}
		if stored.OutcomeHidden {
			return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c == nil {
		c = &stored
	}
	page := employee.ConsultationFormPage{Employee: e, Action: "/consultations/" + id.String(), CanMedical: medical,
		Form: employee.ConsultationValues{Consultation: *c, HeldAt: heldAt, Errors: errs}, Page: s.page(r, "consultation.edit")}
	return s.render(w, r, status, employee.ConsultationForm(page))
}

// updateConsultation saves the edit form of a consultation.
func (s *Server) updateConsultation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	medical := access.CanReadMedical(mustCurrent(r).Principal)
	f := newForm(r)
	c := consultationFromForm(f, r, medical)
	c.ID = id
	load := func(tx pgx.Tx) (_ uuid.UUID, err error) {
		c.EmployeeID, err = casefile.FindConsultationEmployee(r.Context(), tx, id)
		return c.EmployeeID, err
	}
	_, err = s.inCaseChange(r, "agenda", load, func(tx pgx.Tx, _ org.Employee) error {
		if err := f.err(); err != nil {
			return err
		}
		updated, err := casefile.UpdateConsultation(r.Context(), tx, editor(r), c)
		if err != nil {
			return err
		}
		c = updated
		return nil
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderConsultationForm(w, r, status, &c, f.str("held_at"), errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employees/"+c.EmployeeID.String()+"/agenda")
}
