package server

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/fulldossier"
)

// fullDossierEmployer returns the employer whose full-dossier screen p opens: ENOTFOUND or
// EFORBIDDEN when he may not view it.
func fullDossierEmployer(ctx context.Context, tx pgx.Tx, p access.Principal, id uuid.UUID) (org.Employer, error) {
	if err := access.CanViewFullDossier(p, id); err != nil {
		return org.Employer{}, err
	}
	return org.FindEmployerByID(ctx, tx, id)
}

// bundleFacts are the facts of b the access decisions need.
func bundleFacts(b bundle.Bundle) access.BundleFacts {
	return access.BundleFacts{EmployerID: b.EmployerID, RequesterKind: b.RequesterKind, RequestedBy: b.RequestedBy}
}

// refuseFullDossier records a refused full-dossier action (404 or 403) in its own transaction
// (the refused one rolled back); other errors are not refusals and are not recorded.
func (s *Server) refuseFullDossier(r *http.Request, operation string, employerID uuid.UUID, err error) {
	code := apperr.CodeOf(err)
	if code != apperr.ENOTFOUND && code != apperr.EFORBIDDEN {
		return
	}
	e := audit.Event{Action: audit.FullDossierRefused, SubjectType: "employer", SubjectID: &employerID,
		Details: map[string]any{"operation": operation, "reason": string(code)}}
	if ae, ok := apperr.As(err); ok {
		e.Details["message"] = ae.Message
	}
	if code == apperr.EFORBIDDEN { // the employer is in his reach
		e.EmployerID = &employerID
	}
	s.auditRefusal(r, e)
}

// fragmentRequested reports whether the screen's script asks for the status fragment only.
func fragmentRequested(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// partsRefusal is why p may not download the parts of b now, as a message key, or "" when he
// may: the rules the download itself asks (downloadDocument), asked of the bundle's first part,
// since its parts share their category and contents. So the screen shows why beside the parts
// instead of links that would answer 403, for instance after a blacklist entry.
func partsRefusal(ctx context.Context, tx pgx.Tx, p access.Principal, cats access.Categories, b bundle.Bundle) (string, error) {
	if len(b.Parts) == 0 {
		return "", nil
	}
	first := b.Parts[0].ID
	err := access.CanReadDocument(ctx, tx, p, cats, first)
	if err == nil {
		contents, part, cerr := bundle.BundleContents(ctx, tx, first)
		if cerr != nil {
			return "", cerr
		}
		if part {
			err = access.CanDownloadBundlePart(ctx, tx, p, cats, contents.Employees, contents.Categories)
		}
	}
	e, ok := apperr.As(err)
	switch {
	case err == nil:
		return "", nil
	case ok && e.Code == apperr.EFORBIDDEN:
		return e.Message, nil
	case ok && e.Code == apperr.ENOTFOUND:
		return "fulldossier.error.download_guard", nil
	}
	return "", err
}

// showFullDossier shows an employer's full-dossier screen: the actions the user may take, his
// kind's bundles with their progress and parts, and the deletions. Asked with HX-Request it
// renders only the status part, which the screen's script polls while a job runs.
func (s *Server) showFullDossier(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	p := fulldossier.ShowPage{Now: time.Now()}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if p.Employer, err = fullDossierEmployer(ctx, tx, c.Principal, id); err != nil {
			return err
		}
		p.Enabled = bundle.Enabled(p.Employer)
		p.CanGenerate = access.CanGenerateFullDossier(c.Principal, id, p.Enabled) == nil
		p.CanDelete = access.CanDeleteFullDossier(c.Principal, id, p.Enabled) == nil
		bundles, err := bundle.FindBundles(ctx, tx, c.Principal, id)
		if err != nil {
			return err
		}
		cats, err := access.LoadCategories(ctx, tx, c.Principal)
		if err != nil {
			return err
		}
		for _, b := range bundles {
			retry := b.Status == bundle.StatusFailed && access.CanRetryFullDossier(c.Principal, id, p.Enabled, bundleFacts(b)) == nil
			refused, err := partsRefusal(ctx, tx, c.Principal, cats, b)
			if err != nil {
				return err
			}
			p.Bundles = append(p.Bundles, fulldossier.Row{Bundle: b, CanRetry: retry, DownloadRefused: refused})
		}
		// Who may delete full dossiers sees the deletions, also after the product is switched off.
		if p.ShowDeletions = access.CanDeleteFullDossier(c.Principal, id, true) == nil; p.ShowDeletions {
			p.Deletions, err = bundle.FindDeletions(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request")
	w.Header().Set("Cache-Control", "private, no-store")
	if fragmentRequested(r) {
		return s.render(w, r, http.StatusOK, fulldossier.Status(p))
	}
	p.Page = s.page(r, "fulldossier.title", p.Employer.Name)
	return s.render(w, r, http.StatusOK, fulldossier.Show(p))
}

// confirmGenerateFullDossier explains what generating does and shows what the bundle would
// hold now: documents and bytes included, and how many are left out (a count only).
func (s *Server) confirmGenerateFullDossier(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p := fulldossier.GeneratePage{Place: bundle.PartsCategory(c.Principal.Kind)}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if p.Employer, err = fullDossierEmployer(r.Context(), tx, c.Principal, id); err != nil {
			return err
		}
		if err := access.CanGenerateFullDossier(c.Principal, id, bundle.Enabled(p.Employer)); err != nil {
			return err
		}
		p.Preview, err = s.previewBundle(r.Context(), tx, c.Principal, id)
		return err
	})
	if err != nil {
		return err
	}
	p.Page = s.page(r, "fulldossier.generate.title")
	p.Action = fulldossier.Path(p.Employer) + "/generate"
	return s.render(w, r, http.StatusOK, fulldossier.ConfirmGenerate(p))
}

// previewBundle is what a bundle generated by p would hold now.
func (s *Server) previewBundle(ctx context.Context, tx pgx.Tx, p access.Principal, employerID uuid.UUID) (bundle.Preview, error) {
	cats, err := access.LoadCategories(ctx, tx, p)
	if err != nil {
		return bundle.Preview{}, err
	}
	return bundle.PreviewBundle(ctx, tx, p, cats, employerID)
}

// generateFullDossier asks for a bundle: the row, its audit event and its job in one
// transaction. ECONFLICT while the user's previous one for the employer is still under way.
func (s *Server) generateFullDossier(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var e org.Employer
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if e, err = fullDossierEmployer(r.Context(), tx, c.Principal, id); err != nil {
			return err
		}
		_, err = bundle.RequestBundle(r.Context(), tx, s.river, editor(r), id)
		return err
	})
	if err != nil {
		s.refuseFullDossier(r, "generate", id, err)
		return err
	}
	s.flash(r, "fulldossier.flash.requested")
	return redirect(w, r, fulldossier.Path(e))
}

// retryBundle finds a bundle for a retry by p on the screen of employer id: the employer and
// the bundle with nil when he may retry it, else the refusal of access.CanRetryFullDossier.
func retryBundle(ctx context.Context, tx pgx.Tx, p access.Principal, id uuid.UUID, bundleID uuid.UUID) (org.Employer, bundle.Bundle, error) {
	e, err := fullDossierEmployer(ctx, tx, p, id)
	if err != nil {
		return e, bundle.Bundle{}, err
	}
	b, err := bundle.FindBundleByID(ctx, tx, bundleID)
	if err != nil {
		return e, b, err
	}
	return e, b, access.CanRetryFullDossier(p, id, bundle.Enabled(e), bundleFacts(b))
}

// confirmRetryBundle asks to confirm generating a failed bundle again, with the same
// explanation and a fresh preview.
func (s *Server) confirmRetryBundle(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	bundleID, err := pathID(r, "bid")
	if err != nil {
		return err
	}
	p := fulldossier.GeneratePage{Place: bundle.PartsCategory(c.Principal.Kind)}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		var b bundle.Bundle
		if p.Employer, b, err = retryBundle(r.Context(), tx, c.Principal, id, bundleID); err != nil {
			return err
		}
		if b.Status != bundle.StatusFailed {
			return apperr.New(apperr.ECONFLICT, "bundle.error.not_failed")
		}
		p.Preview, err = s.previewBundle(r.Context(), tx, c.Principal, id)
		return err
	})
	if err != nil {
		return err
	}
	p.Page = s.page(r, "fulldossier.retry.title")
	p.Action = r.URL.Path
	return s.render(w, r, http.StatusOK, fulldossier.ConfirmGenerate(p))
}

// retryFullDossier starts a failed bundle again (ECONFLICT unless it failed).
func (s *Server) retryFullDossier(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	bundleID, err := pathID(r, "bid")
	if err != nil {
		return err
	}
	var e org.Employer
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if e, _, err = retryBundle(r.Context(), tx, c.Principal, id, bundleID); err != nil {
			return err
		}
		_, err = bundle.RetryBundle(r.Context(), tx, s.river, editor(r), bundleID)
		return err
	})
	if err != nil {
		s.refuseFullDossier(r, "retry", id, err)
		return err
	}
	s.flash(r, "fulldossier.flash.retried")
	return redirect(w, r, fulldossier.Path(e))
}

// confirmDeleteFullDossier explains what deleting does and asks for the employer's name.
func (s *Server) confirmDeleteFullDossier(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var e org.Employer
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if e, err = fullDossierEmployer(r.Context(), tx, c.Principal, id); err != nil {
			return err
		}
		return access.CanDeleteFullDossier(c.Principal, id, bundle.Enabled(e))
	})
	if err != nil {
		return err
	}
	return s.renderDeleteFullDossier(w, r, http.StatusOK, e, "", nil)
}

func (s *Server) renderDeleteFullDossier(w http.ResponseWriter, r *http.Request, status int, e org.Employer, typed string, errs map[string]string) error {
	return s.render(w, r, status, fulldossier.ConfirmDelete(fulldossier.DeletePage{
		Page:     s.page(r, "fulldossier.delete.title"),
		Employer: e,
		Typed:    typed,
		Errors:   errs,
	}))
}

// deleteFullDossier starts deleting every document of the employer and its employees once the
// employer's name was typed exactly; a wrong name shows the form again (422) and starts
// nothing.
func (s *Server) deleteFullDossier(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	typed := r.PostForm.Get("confirm_name")
	var e org.Employer
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if e, err = fullDossierEmployer(r.Context(), tx, c.Principal, id); err != nil {
			return err
		}
		_, err = bundle.RequestDeletion(r.Context(), tx, s.river, editor(r), id, typed)
		return err
	})
	if ae, ok := apperr.As(err); ok && ae.Code == apperr.EINVALID {
		errs := ae.Fields
		if errs == nil {
			errs = map[string]string{"": ae.Message}
		}
		return s.renderDeleteFullDossier(w, r, http.StatusUnprocessableEntity, e, typed, errs)
	} else if err != nil {
		s.refuseFullDossier(r, "delete", id, err)
		return err
	}
	s.flash(r, "fulldossier.flash.deletion_requested")
	return redirect(w, r, fulldossier.Path(e))
}
