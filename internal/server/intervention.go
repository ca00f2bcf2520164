package server

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

// The intervention administration (interventions.manage): the standard guidance protocol and
// the default executors of providers and programmes.

func (s *Server) showInterventions(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.InterventionsManage); err != nil {
		return err
	}
	return s.renderInterventions(w, r, http.StatusOK, interventionForms{})
}

// interventionForms is what the forms of the intervention administration bring back: the
// errors of a refused settings form, of one provider's executor form (executorErrs: provider
// id → message key), of the new-provider form (with the name as typed), and the programme
// form's draft (its ID set when editing) with its errors.
type interventionForms struct {
	settingsErrs  map[string]string
	executorErrs  map[string]string
	providerName  string
	providerErrs  map[string]string
	programme     programmeDraft
	programmeErrs map[string]string
}

// renderInterventions shows the intervention administration with forms as they come back.
func (s *Server) renderInterventions(w http.ResponseWriter, r *http.Request, status int, forms interventionForms) error {
	c := mustCurrent(r)
	d := forms.programme
	p := admin.InterventionsPage{Page: s.page(r, "intervention.admin_title"), SettingsErrors: forms.settingsErrs,
		ProviderName: forms.providerName, ProviderErrors: forms.providerErrs,
		Form: admin.ProgrammeForm{Action: "/admin/interventions/programmes", Programme: d.Programme, Price: d.Price, Errors: forms.programmeErrs}}
	if d.ID != uuid.Nil {
		p.Form.Action = "/admin/interventions/programmes/" + d.ID.String()
	}
	err := s.inTenant(r, func(tx pgx.Tx) error {
		settings, err := intervention.FindSettings(r.Context(), tx)
		if err != nil {
			return err
		}
		protocols, err := casefile.FindProtocols(r.Context(), tx)
		if err != nil {
			return err
		}
		for _, pr := range protocols {
			if pr.Kind == casefile.ProtocolInterventionGuidance {
				chosen := settings.GuidanceProtocolID != nil && *settings.GuidanceProtocolID == pr.ID
				p.GuidanceProtocols = append(p.GuidanceProtocols, option(pr.ID.String(), pr.Name, chosen))
			}
		}
		providers, err := intervention.FindProviders(r.Context(), tx)
		if err != nil {
			return err
		}
		executors, err := casefile.FindExecutors(r.Context(), tx)
		if err != nil {
			return err
		}
		byID := map[uuid.UUID]intervention.Provider{}
		for _, v := range providers {
			byID[v.ID] = v
			p.ProviderList = append(p.ProviderList, org.Provider{ID: v.ID, Name: v.Name})
			row := admin.ProviderRow{ID: v.ID, Name: v.Name, HasExecutor: v.ExecutorUserID != nil,
				Visible: access.CanSeeExecutor(c.Principal, v.ID), CanSet: access.CanSetExecutor(c.Principal, v.ID) == nil,
				Error: forms.executorErrs[v.ID.String()]}
			if row.Visible {
				row.ExecutorName = v.ExecutorName
			}
			if row.CanSet {
				for _, x := range executors {
					if x.ProviderID == v.ID {
						row.Options = append(row.Options, option(x.ID.String(), x.Name, v.ExecutorUserID != nil && *v.ExecutorUserID == x.ID))
					}
				}
			}
			p.Providers = append(p.Providers, row)
		}
		// The programme form offers as its own executor only the users the viewer may see.
		for _, x := range executors {
			if access.CanSeeExecutor(c.Principal, x.ProviderID) {
				p.Form.Executors = append(p.Form.Executors, x)
			}
		}
		programmes, err := casefile.FindProgrammes(r.Context(), tx)
		if err != nil {
			return err
		}
		for _, g := range programmes {
			eff := intervention.EffectiveExecutor(g, byID[g.ProviderID])
			row := admin.ProgrammeRow{Programme: g, HasExecutor: eff.UserID != nil, Visible: access.CanSeeExecutor(c.Principal, g.ProviderID)}
			if row.Visible {
				row.ExecutorName = eff.Name
			}
			p.Programmes = append(p.Programmes, row)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.render(w, r, status, admin.Interventions(p))
}

// setGuidanceProtocol saves the tenant's standard guidance protocol (empty: none).
func (s *Server) setGuidanceProtocol(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.InterventionsManage); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	protocol := f.optUUID("guidance_protocol_id")
	err := f.err()
	if err == nil {
		err = s.inTenant(r, func(tx pgx.Tx) error {
			return intervention.SetGuidanceProtocol(r.Context(), tx, editor(r), protocol)
		})
	}
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderInterventions(w, r, status, interventionForms{settingsErrs: errs})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/interventions")
}

// setProviderExecutor saves a provider's default executor (empty: none). A viewer who may not
// see or set it is refused with 403, and the attempt is audited.
func (s *Server) setProviderExecutor(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.InterventionsManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm(r)
	user := f.optUUID("executor_user_id")
	err = f.err()
	if err == nil {
		err = s.inTenant(r, func(tx pgx.Tx) error {
			return intervention.SetProviderExecutor(r.Context(), tx, editor(r), id, user)
		})
	}
	if apperr.CodeOf(err) == apperr.EFORBIDDEN {
		s.auditRefusal(r, audit.Event{Action: audit.InterventionRefused, SubjectType: casefile.SubjectProvider, SubjectID: &id,
			Details: map[string]any{"operation": "set_executor"}})
		return err
	}
	if errs, status, ok := formErrors(r, err); ok {
		msg := errs["executor_user_id"]
		if msg == "" {
			msg = "error.choose"
		}
		return s.renderInterventions(w, r, status, interventionForms{executorErrs: map[string]string{id.String(): msg}})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/interventions")
}
