package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	page "github.com/dossierkast/dossierkast/web/page/datastream"
)

func (s *Server) showDatastreamCatalogue(w http.ResponseWriter, r *http.Request) error {
	if err := access.CanManageDatastreams(mustCurrent(r).Principal); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Catalogue(page.CataloguePage{Page: s.page(r, "datastream.catalogue.title")}))
}

// configInputOf is the form of configuration c.
func configInputOf(c delivery.Config) delivery.Input {
	return delivery.Input{Name: c.Name, Version: string(c.Version), Pseudonymised: c.Pseudonymised, Streams: c.Streams,
		Columns: c.Columns, Scheduled: c.Scheduled, Frequency: c.Frequency, Mode: c.Mode}
}

// configInputFromForm reads the configuration form: the columns of file f come as columns.f.
func configInputFromForm(r *http.Request) delivery.Input {
	f := newForm(r)
	in := delivery.Input{Name: f.str("name"), Version: f.str("version"), Pseudonymised: f.str("pseudonymised") != "",
		Streams: r.PostForm["streams"], Columns: map[string][]string{}, Scheduled: f.str("scheduled") != "",
		Frequency: f.str("frequency"), Mode: f.str("mode")}
	for k, v := range r.PostForm {
		if file, ok := strings.CutPrefix(k, "columns."); ok {
			in.Columns[file] = v
		}
	}
	return in
}

func (s *Server) renderDatastreamConfig(w http.ResponseWriter, r *http.Request, status int, a datastream.Account, c *delivery.Config,
	in delivery.Input, errs map[string]string) error {
	p := page.ConfigPage{Account: a, Config: c, Input: in, Errors: errs, Page: s.page(r, "datastream.config.new")}
	if c != nil {
		p.Page = s.page(r, "datastream.config.title", c.Name)
		if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
			p.Runs, err = delivery.FindRuns(r.Context(), tx, c.ID)
			return err
		}); err != nil {
			return err
		}
	}
	return s.render(w, r, status, page.Config(p))
}

func (s *Server) newDatastreamConfig(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "config.new")
	if err != nil {
		return err
	}
	in := delivery.Input{Version: string(stream.V2), Scheduled: true, Frequency: delivery.Weekly, Mode: string(stream.ModeIncremental)}
	return s.renderDatastreamConfig(w, r, http.StatusOK, a, nil, in, nil)
}

func (s *Server) createDatastreamConfig(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "config.create")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	in := configInputFromForm(r)
	var c delivery.Config
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		c, err = delivery.CreateConfig(r.Context(), tx, editor(r), s.keys, a.ID, in)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDatastreamConfig(w, r, status, a, nil, in, errs)
	} else if err != nil {
		return s.refuseDatastream(r, "config.create", &a.ID, err)
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/configs/"+c.ID.String())
}

// findDatastreamConfig returns the configuration of the route's {id} and its account for a
// user who may manage datastreams: EFORBIDDEN, ENOTFOUND (both audited).
func (s *Server) findDatastreamConfig(r *http.Request, operation string) (datastream.Account, delivery.Config, error) {
	var a datastream.Account
	var c delivery.Config
	id, err := pathID(r, "id")
	if err != nil {
		return a, c, err
	}
	if err := access.CanManageDatastreams(mustCurrent(r).Principal); err != nil {
		return a, c, s.refuseDatastream(r, operation, &id, err)
	}
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		if c, err = delivery.FindConfigByID(r.Context(), tx, id); err != nil {
			return err
		}
		a, err = datastream.FindAccountByID(r.Context(), tx, c.AccountID)
		return err
	})
	if apperr.CodeOf(err) == apperr.ENOTFOUND {
		return a, c, s.refuseDatastream(r, operation, &id, err)
	}
	return a, c, err
}

// showDatastreamConfig shows a configuration with its run history. Asked with HX-Request it
// renders only the history, which the page's script polls while a run is under way.
func (s *Server) showDatastreamConfig(w http.ResponseWriter, r *http.Request) error {
	a, c, err := s.findDatastreamConfig(r, "config.view")
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request")
	w.Header().Set("Cache-Control", "private, no-store")
	if fragmentRequested(r) {
		p := page.ConfigPage{Account: a, Config: &c}
		if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
			p.Runs, err = delivery.FindRuns(r.Context(), tx, c.ID)
			return err
		}); err != nil {
			return err
		}
		return s.render(w, r, http.StatusOK, page.Runs(p))
	}
	return s.renderDatastreamConfig(w, r, http.StatusOK, a, &c, configInputOf(c), nil)
}

func (s *Server) updateDatastreamConfig(w http.ResponseWriter, r *http.Request) error {
	a, before, err := s.findDatastreamConfig(r, "config.update")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	in := configInputFromForm(r)
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := delivery.UpdateConfig(r.Context(), tx, editor(r), before.ID, in)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDatastreamConfig(w, r, status, a, &before, in, errs)
	} else if err != nil {
		return s.refuseDatastream(r, "config.update", &before.ID, err)
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/configs/"+before.ID.String())
}

func (s *Server) archiveDatastreamConfig(w http.ResponseWriter, r *http.Request) error {
	_, c, err := s.findDatastreamConfig(r, "config.archive")
	if err != nil {
		return err
	}
	if err := s.inTenant(r, func(tx pgx.Tx) error {
		return delivery.ArchiveConfig(r.Context(), tx, editor(r), c.ID)
	}); err != nil {
		return s.refuseDatastream(r, "config.archive", &c.ID, err)
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/configs/"+c.ID.String())
}

// rotateDatastreamKey gives the configuration a new pseudonym key; its next delivery is full.
func (s *Server) rotateDatastreamKey(w http.ResponseWriter, r *http.Request) error {
	_, c, err := s.findDatastreamConfig(r, "config.rotate_key")
	if err != nil {
		return err
	}
	if err := s.inTenant(r, func(tx pgx.Tx) error {
		return delivery.RotateKey(r.Context(), tx, editor(r), s.keys, c.ID)
	}); err != nil {
		return s.refuseDatastream(r, "config.rotate_key", &c.ID, err)
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/configs/"+c.ID.String())
}

// runDatastreamConfig starts a delivery now: since the last successful one, in full, or since
// a chosen day (from 00:00 Europe/Amsterdam).
func (s *Server) runDatastreamConfig(w http.ResponseWriter, r *http.Request) error {
	a, c, err := s.findDatastreamConfig(r, "config.run")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	req := delivery.RunRequest{Mode: stream.Mode(f.str("mode"))}
	if req.Mode == stream.ModeSince {
		day, perr := time.ParseInLocation(time.DateOnly, f.str("since"), delivery.Amsterdam)
		if perr != nil {
			return s.renderDatastreamConfig(w, r, http.StatusUnprocessableEntity, a, &c, configInputOf(c),
				map[string]string{"since": "datastream.error.since"})
		}
		req.Since = day
	}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := delivery.RequestRun(r.Context(), tx, s.river, editor(r), c.ID, req)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDatastreamConfig(w, r, status, a, &c, configInputOf(c), errs)
	} else if err != nil {
		return s.refuseDatastream(r, "config.run", &c.ID, err)
	}
	s.flash(r, "datastream.config.run_started")
	return redirect(w, r, "/admin/datastreams/configs/"+c.ID.String())
}

// accountConfigs lists the configurations of account id for its page.
func (s *Server) accountConfigs(r *http.Request, id uuid.UUID) ([]delivery.Config, error) {
	var configs []delivery.Config
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		configs, err = delivery.FindConfigs(r.Context(), tx, id)
		return err
	})
	return configs, err
}
