package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
)

// Intervention providers and their programmes, for users with interventions.manage, on the
// intervention administration (renderInterventions).

// programmeDraft is what the programme form shows: a programme and the price as typed.
type programmeDraft struct {
	casefile.Programme
	Price string
}

// redirectProgrammes sends the old programmes screen to the intervention administration,
// where providers and programmes are managed now.
func (s *Server) redirectProgrammes(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/admin/interventions#programmes", http.StatusMovedPermanently)
	return nil
}

func (s *Server) editProgramme(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.InterventionsManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d programmeDraft
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		d.Programme, err = casefile.FindProgrammeByID(r.Context(), tx, id)
		return err
	}); err != nil {
		return err
	}
	d.Price = casefile.FormatPrice(d.PriceCents)
	return s.renderInterventions(w, r, http.StatusOK, interventionForms{programme: d})
}

func (s *Server) createProgramme(w http.ResponseWriter, r *http.Request) error {
	return s.saveProgramme(w, r, false)
}

func (s *Server) updateProgramme(w http.ResponseWriter, r *http.Request) error {
	return s.saveProgramme(w, r, true)
}

// saveProgramme creates or (editing) updates the programme {id}.
func (s *Server) saveProgramme(w http.ResponseWriter, r *http.Request, editing bool) error {
	if err := access.Require(mustCurrent(r).Principal, access.InterventionsManage); err != nil {
		return err
	}
	var d programmeDraft
	if editing {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		d.ID = id
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	if id := f.optUUID("provider_id"); id != nil {
		d.ProviderID = *id
	}
	d.Name = f.str("name")
	d.Price = f.str("price")
	d.ExecutorMode = casefile.ExecutorMode(f.str("executor_mode"))
	d.ExecutorUserID = f.optUUID("executor_user_id")
	if d.ExecutorMode != casefile.ExecutorOwn {
		// Following the provider leaves no user of the programme's own.
		d.ExecutorUserID = nil
	}
	cents, err := casefile.ParsePrice(d.Price)
	if err != nil {
		f.errors["price"] = casefile.MsgPriceInvalid
	}
	d.PriceCents = cents
	err = f.err()
	if err == nil {
		err = s.inTenant(r, func(tx pgx.Tx) error {
			if editing {
				_, err := casefile.UpdateProgramme(r.Context(), tx, editor(r), d.Programme)
				return err
			}
			_, err := casefile.CreateProgramme(r.Context(), tx, editor(r), d.Programme)
			return err
		})
	}
	if apperr.CodeOf(err) == apperr.EFORBIDDEN {
		// A change of the default executor by someone who may not see or set it.
		e := audit.Event{Action: audit.InterventionRefused, SubjectType: casefile.SubjectProgramme,
			Details: map[string]any{"operation": "set_executor", "provider_id": d.ProviderID}}
		if editing {
			e.SubjectID = &d.ID
		}
		s.auditRefusal(r, e)
		return err
	}
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderInterventions(w, r, status, interventionForms{programme: d, programmeErrs: errs})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/interventions#programmes")
}

func (s *Server) createProvider(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.InterventionsManage); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	err := s.inTenant(r, func(tx pgx.Tx) error {
		_, err := casefile.CreateProvider(r.Context(), tx, editor(r), name)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderInterventions(w, r, status, interventionForms{providerName: name, providerErrs: errs})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/interventions#programmes")
}
