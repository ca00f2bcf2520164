package server

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/org"
	exportpage "github.com/dossierkast/dossierkast/web/page/export"
)

// refuseExport records a refused export action (404 or 403) in its own transaction (the
// refused one rolled back); other errors are not refusals and are not recorded. subject is the
// employee (start) or the export (retry, download).
func (s *Server) refuseExport(r *http.Request, operation, subjectType string, subject uuid.UUID, err error) {
	code := apperr.CodeOf(err)
	if code != apperr.ENOTFOUND && code != apperr.EFORBIDDEN && code != apperr.EGONE {
		return
	}
	e := audit.Event{Action: audit.ExportRefused, SubjectType: subjectType, SubjectID: &subject,
		Details: map[string]any{"operation": operation, "reason": string(code)}}
	if ae, ok := apperr.As(err); ok {
		e.Details["message"] = ae.Message
	}
	s.auditRefusal(r, e)
}

// exportsPage fills the export page of employee id for p: ENOTFOUND or EFORBIDDEN when he may
// not export the employee.
func exportsPage(r *http.Request, tx pgx.Tx, p access.Principal, id uuid.UUID) (exportpage.ShowPage, error) {
	ctx := r.Context()
	page := exportpage.ShowPage{Now: time.Now()}
	if err := access.CanExportEmployee(ctx, tx, p, id); err != nil {
		return page, err
	}
	var err error
	if page.Employee, err = org.FindEmployeeByID(ctx, tx, id); err != nil {
		return page, err
	}
	list, err := export.FindExports(ctx, tx, id)
	if err != nil {
		return page, err
	}
	// The decisions differ only by who made the export: asked once per creator, not per row.
	type decided struct{ download, retry bool }
	byCreator := map[uuid.UUID]decided{}
	for _, x := range list {
		row := exportpage.Row{Export: x}
		if x.Deleted() {
			page.Deleted = append(page.Deleted, row)
			continue
		}
		d, ok := byCreator[x.RequestedBy]
		if !ok {
			d = decided{download: access.CanDownloadExport(ctx, tx, p, x.Facts()) == nil, retry: access.CanRetryExport(ctx, tx, p, x.Facts()) == nil}
			byCreator[x.RequestedBy] = d
		}
		row.CanDownload = x.Available(page.Now) && d.download
		row.CanRetry = x.Status == export.StatusFailed && d.retry
		page.Generated = append(page.Generated, row)
	}
	return page, nil
}

// showExports shows an employee's export page: the start button with its warning, the
// generated exports with their status and downloads, and the deleted ones. Asked with
// HX-Request it renders only the status part, which the page's script polls while an export
// runs. Opening the page is audited (the view of the dossier part, the page and its list of
// exports); its polls are not.
func (s *Server) showExports(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	fragment := fragmentRequested(r)
	var p exportpage.ShowPage
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if p, err = exportsPage(r, tx, c.Principal, id); err != nil || fragment {
			return err
		}
		// The view of the dossier part, as every dossier page records it, and the export page's
		// own two events (seed 001: the page, and the list of exports).
		events := []audit.Event{{Action: audit.EmployeeViewed, Details: map[string]any{"tab": "exports"}},
			{Action: audit.ExportPageViewed}, {Action: audit.ExportListViewed, Details: map[string]any{"exports": len(p.Generated) + len(p.Deleted)}}}
		for _, e := range events {
			e.SubjectType, e.SubjectID, e.EmployeeID, e.EmployerID = "employee", &id, &id, &p.Employee.EmployerID
			if err := audit.Write(r.Context(), tx, actor(r), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// A refused view of a dossier part is recorded as every dossier page records it.
		s.auditCaseRefusal(r, err, id, "exports")
		return err
	}
	w.Header().Set("Vary", "HX-Request")
	w.Header().Set("Cache-Control", "private, no-store")
	if fragment {
		return s.render(w, r, http.StatusOK, exportpage.Status(p))
	}
	p.Page = s.page(r, "export.title", p.Employee.FullName())
	return s.render(w, r, http.StatusOK, exportpage.Show(p))
}

// startExport starts a new export of the employee: the row, its audit event and its job in
// one transaction. A reason too long shows the page again (422); ECONFLICT while the user's
// previous export of the employee is under way.
func (s *Server) startExport(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	reason := r.PostForm.Get("reason")
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := export.RequestExport(r.Context(), tx, s.river, editor(r), id, reason)
		return err
	})
	if apperr.CodeOf(err) == apperr.EINVALID {
		errs, status, _ := formErrors(r, err)
		var p exportpage.ShowPage
		if perr := s.inTenant(r, func(tx pgx.Tx) (err error) { p, err = exportsPage(r, tx, c.Principal, id); return err }); perr != nil {
			return perr
		}
		p.Page, p.Reason, p.Errors = s.page(r, "export.title", p.Employee.FullName()), reason, errs
		return s.render(w, r, status, exportpage.Show(p))
	}
	if err != nil {
		s.refuseExport(r, "start", "employee", id, err)
		return err
	}
	s.flash(r, "export.flash.requested")
	return redirect(w, r, export.PagePath(id))
}

// retryExport starts a failed export again (its creator only; ECONFLICT unless it failed).
func (s *Server) retryExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var x export.Export
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		x, err = export.RetryExport(r.Context(), tx, s.river, editor(r), id)
		return err
	})
	if err != nil {
		s.refuseExport(r, "retry", "employee_export", id, err)
		return err
	}
	s.flash(r, "export.flash.retried")
	return redirect(w, r, export.PagePath(x.EmployeeID))
}

// downloadExport serves the workbook of an export.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) error {
	return s.serveExport(w, r, export.FileXLSX)
}

// downloadExportJSON serves the JSON twin of an export.
func (s *Server) downloadExportJSON(w http.ResponseWriter, r *http.Request) error {
	return s.serveExport(w, r, export.FileJSON)
}

// serveExport serves file f of an export to a user who may download it now
// (access.CanDownloadExport: asked at download time, so a blacklist entry or a lost right
// blocks it with 403): 404 for an export of another tenant or of an employee he cannot see,
// 410 once its files are deleted or its 24 hours are over. Every download is audited, with the
// range asked for; ranges are answered (206) so a download can resume.
func (s *Server) serveExport(w http.ResponseWriter, r *http.Request, f export.File) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	var x export.Export
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if x, err = export.FindExportByID(ctx, tx, id); err != nil {
			return err
		}
		if err := access.CanDownloadExport(ctx, tx, c.Principal, x.Facts()); err != nil {
			return err
		}
		if err := export.CheckAvailable(x, time.Now()); err != nil {
			return err
		}
		return export.Downloaded(ctx, tx, actor(r), x, f, r.Header.Get("Range"))
	})
	if err != nil {
		s.refuseExport(r, "download", "employee_export", id, err)
		return err
	}
	content, err := s.docs.Open(ctx, document.Document{ID: x.ID, StorageKey: export.StorageKey(c.Tenant.ID, x.ID, f), Size: x.Size(f)})
	if err != nil {
		return err
	}
	defer content.Close()
	name := "export-" + x.ID.String() + "." + string(f)
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", attachment(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+x.SHA256(f)+`"`)
	modified := x.CreatedAt
	if x.FinishedAt != nil {
		modified = *x.FinishedAt
	}
	http.ServeContent(&sendfileWriter{ResponseWriter: w}, r, "", modified, content)
	return nil
}
