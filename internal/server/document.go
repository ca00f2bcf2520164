package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/formdata"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/documents"
)

func dossierPath(dossier document.Dossier, id uuid.UUID) string {
	if dossier == document.DossierEmployee {
		return "/employees/" + id.String()
	}
	return "/employers/" + id.String()
}

// documentsPage is the page that lists a dossier's documents: the employee dossier's
// documents tab, the employer dossier's main page.
func documentsPage(dossier document.Dossier, id uuid.UUID) string {
	if dossier == document.DossierEmployee {
		return dossierPath(dossier, id) + "/documents"
	}
	return dossierPath(dossier, id)
}

// documentPath is the page that lists d.
func documentPath(d document.Document) string {
	if d.EmployeeID != nil {
		return documentsPage(document.DossierEmployee, *d.EmployeeID)
	}
	return documentsPage(document.DossierEmployer, d.EmployerID)
}

// dossierDocuments gathers the documents part of a dossier page: what p may read there, where
// he may upload, whether he may delete. The caller has checked the dossier is visible.
func (s *Server) dossierDocuments(ctx context.Context, tx pgx.Tx, p access.Principal, dossier document.Dossier, id uuid.UUID,
	errs map[string]string) (documents.Props, error) {
	cats, err := access.LoadCategories(ctx, tx, p)
	if err != nil {
		return documents.Props{}, err
	}
	sections, err := document.FindDossierDocuments(ctx, tx, p, cats, dossier, id)
	if err != nil {
		return documents.Props{}, err
	}
	props := documents.Props{Sections: sections, Action: dossierPath(dossier, id) + "/documents",
		CanDelete: access.CanDeleteDocument(p) == nil, MaxSize: document.FormatSize(s.docs.MaxSize()), Errors: errs}
	for _, sec := range sections {
		if access.CanUpload(p, cats, sec.Category.ID) == nil {
			props.Upload = append(props.Upload, option(sec.Category.ID.String(), sec.Category.Name, false))
		}
	}
	return props, nil
}

func (s *Server) uploadEmployerDocument(w http.ResponseWriter, r *http.Request) error {
	return s.uploadDocument(w, r, document.DossierEmployer)
}

func (s *Server) uploadEmployeeDocument(w http.ResponseWriter, r *http.Request) error {
	return s.uploadDocument(w, r, document.DossierEmployee)
}

// maxUploadFields bounds the form fields before the file: their number and each one's size.
const (
	maxUploadFields    = 10
	maxUploadFieldSize = 1 << 10
)

// readUploadForm reads the multipart form up to its file part, which it returns unread so that
// the file streams straight into the blob store. The fields (category_id, document_date) must
// come before the file; the upload form puts them there. A form without a file gives a nil body.
func readUploadForm(r *http.Request) (map[string]string, *uploadBody, error) {
	// As r.MultipartReader, but with package formdata, which reads a large file in far fewer,
	// larger spans (its doc comment has the figures).
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		return nil, nil, apperr.New(apperr.EBADINPUT, "error.bad_form")
	}
	form, err := formdata.NewReader(r.Body, params["boundary"])
	if err != nil {
		return nil, nil, apperr.New(apperr.EBADINPUT, "error.bad_form")
	}
	values := map[string]string{}
	for {
		part, err := form.NextPart()
		if err == io.EOF { // the closing boundary; a body cut short is a wrapped io.EOF
			return values, nil, nil
		}
		if err != nil {
			return nil, nil, bodyError(err)
		}
		if part.Name == "file" {
			if part.FileName == "" {
				continue // the browser sends an empty part when no file was chosen
			}
			return values, &uploadBody{form: form, part: part}, nil
		}
		if len(values) >= maxUploadFields {
			return nil, nil, apperr.New(apperr.EBADINPUT, "error.bad_form")
		}
		b, err := io.ReadAll(io.LimitReader(part, maxUploadFieldSize+1))
		if err != nil {
			return nil, nil, bodyError(err)
		}
		if len(b) > maxUploadFieldSize {
			return nil, nil, apperr.New(apperr.EBADINPUT, "error.bad_form")
		}
		values[part.Name] = strings.TrimSpace(string(b))
	}
}

// uploadBody is an upload's file part. Its end is the file's end only when the rest of the form
// reaches the closing boundary (parts after the file are skipped): a form cut short or malformed
// within or after the file is a 400, as before the file, and nothing is stored.
type uploadBody struct {
	form *formdata.Reader
	part *formdata.Part
}

func (b uploadBody) Read(p []byte) (int, error) {
	n, err := b.part.Read(p)
	if err == io.EOF {
		for err = nil; err == nil; {
			_, err = b.form.NextPart()
		}
		if err == io.EOF {
			return n, io.EOF
		}
	}
	if err != nil {
		err = bodyError(err)
	}
	return n, err
}

// bodyError classifies a failure to read a request body: past the limit is 413, anything
// else a malformed request.
func bodyError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return apperr.New(apperr.ETOOLARGE, "error.too_large")
	}
	return apperr.New(apperr.EBADINPUT, "error.bad_form")
}

// uploadDocument streams a multipart upload (category_id, optional document_date, file) into
// a dossier. The dossier's visibility and the right to upload are checked before the body is
// read, the category right before the file streams, and all again in the transaction that
// records the document.
func (s *Server) uploadDocument(w http.ResponseWriter, r *http.Request, dossier document.Dossier) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n := document.NewDocument{UploadedBy: &c.User.ID}
	if dossier == document.DossierEmployee {
		n.EmployeeID = &id
	} else {
		n.EmployerID = id
	}
	refused := func(err error) error {
		s.refuseDocument(r, "upload", nil, &n, err)
		return err
	}
	ctx := r.Context()
	// Who may not upload here learns so before sending the file, not after.
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if err := access.CanSeeDossier(ctx, tx, c.Principal, n.EmployerID, n.EmployeeID); err != nil {
			return err
		}
		return access.Require(c.Principal, access.DocumentsUpload)
	})
	if err != nil {
		return refused(err)
	}
	// A body that says it is larger than any document may be is refused before it is read, with
	// both sizes; one that does not say so is cut off at the limit while it streams.
	if r.ContentLength > s.docs.MaxSize()+maxFormBytes {
		return refused(apperr.New(apperr.ETOOLARGE, "document.error.too_large_size",
			document.FormatSize(r.ContentLength), document.FormatSize(s.docs.MaxSize())))
	}

	values, file, err := readUploadForm(r)
	if err != nil {
		return refused(err)
	}
	errs := map[string]string{}
	if cat, err := uuid.Parse(values["category_id"]); err == nil {
		n.CategoryID = cat
	} else {
		errs["category_id"] = "error.choose"
	}
	if v := values["document_date"]; v != "" {
		if d, err := i18n.ParseDate(v); err == nil {
			n.DocumentDate = &d
		} else {
			errs["document_date"] = "error.date"
		}
	}
	if file == nil {
		errs["file"] = "document.error.file_required"
	}
	if len(errs) > 0 {
		return s.renderUploadErrors(w, r, http.StatusUnprocessableEntity, dossier, id, errs)
	}

	err = s.inTenant(r, func(tx pgx.Tx) error {
		cats, err := access.LoadCategories(ctx, tx, c.Principal)
		if err != nil {
			return err
		}
		if err := access.CanUpload(c.Principal, cats, n.CategoryID); err != nil {
			return err
		}
		_, err = document.CheckNewDocument(ctx, tx, &n)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderUploadErrors(w, r, status, dossier, id, errs)
	} else if err != nil {
		return refused(err)
	}

	n.FileName = file.part.FileName
	d, err := s.docs.Upload(ctx, s.pool, editor(r), c.Tenant.ID, n, file)
	if err != nil {
		return refused(err)
	}
	var same int
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		same, err = document.SameNameCount(ctx, tx, d)
		return err
	}); err != nil {
		return err
	}
	if same > 0 {
		s.flash(r, "document.flash.uploaded_same_name")
	} else {
		s.flash(r, "document.flash.uploaded")
	}
	return redirect(w, r, documentsPage(dossier, id)+"#documents")
}

// renderUploadErrors shows the documents page again with the upload form's errors.
func (s *Server) renderUploadErrors(w http.ResponseWriter, r *http.Request, status int, dossier document.Dossier, id uuid.UUID, errs map[string]string) error {
	if dossier == document.DossierEmployee {
		return s.renderEmployeeDocuments(w, r, status, errs)
	}
	return s.renderEmployer(w, r, status, employerForms{Upload: errs})
}

// refuseDocument records a refused upload, download or delete in its own transaction (the
// refused one rolled back): operation, reason, and the dossier concerned when known, so an
// attempt on an employee's file shows in his access log. Errors other than refusals (404, 403,
// 413) are not refusals and are not recorded.
func (s *Server) refuseDocument(r *http.Request, operation string, documentID *uuid.UUID, n *document.NewDocument, err error) {
	code := apperr.CodeOf(err)
	if code != apperr.ENOTFOUND && code != apperr.EFORBIDDEN && code != apperr.ETOOLARGE {
		return
	}
	e := audit.Event{Action: audit.DocumentRefused, SubjectType: "document", SubjectID: documentID,
		Details: map[string]any{"operation": operation, "reason": string(code)}}
	if ae, ok := apperr.As(err); ok {
		e.Details["message"] = ae.Message // which rule refused, e.g. the full-dossier download guard
	}
	if n != nil {
		e.EmployeeID = n.EmployeeID
		if n.EmployerID != uuid.Nil {
			e.EmployerID = &n.EmployerID
		}
		if n.CategoryID != uuid.Nil {
			e.Details["category_id"] = n.CategoryID
		}
		if n.FileName != "" {
			e.Details["file_name"] = document.SanitizeFileName(n.FileName)
		}
	}
	if documentID != nil {
		lookErr := s.inTenant(r, func(tx pgx.Tx) error {
			d, err := document.FindDocumentByID(r.Context(), tx, *documentID)
			if err == nil {
				e.EmployeeID, e.EmployerID = d.EmployeeID, &d.EmployerID
			}
			return nil
		})
		if lookErr != nil {
			logger(r).Error("audit refusal: find document", "document_id", documentID, "err", lookErr)
		}
	}
	s.auditRefusal(r, e)
}

// downloadDocument streams a document as an attachment, with HTTP range requests so a large
// download can resume. Every download (and every resumed part) is audited.
func (s *Server) downloadDocument(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	var d document.Document
	err = s.inTenant(r, func(tx pgx.Tx) error {
		cats, err := access.LoadCategories(ctx, tx, c.Principal)
		if err != nil {
			return err
		}
		if err := access.CanReadDocument(ctx, tx, c.Principal, cats, id); err != nil {
			return err
		}
		// A full-dossier part holds the dossiers of the employees in its bundle and documents of
		// its categories: only who can still see every one of those dossiers and read every one
		// of those categories may have it, whatever his right on the part's own category.
		contents, part, err := bundle.BundleContents(ctx, tx, id)
		if err != nil {
			return err
		}
		if part {
			if err := access.CanDownloadBundlePart(ctx, tx, c.Principal, cats, contents.Employees, contents.Categories); err != nil {
				return err
			}
		}
		if d, err = document.FindDocumentByID(ctx, tx, id); err != nil {
			return err
		}
		details := document.Details(d)
		if part {
			details["bundle_employees"] = len(contents.Employees)
		}
		if rng := r.Header.Get("Range"); rng != "" {
			details["range"] = rng
		}
		return audit.Write(ctx, tx, actor(r), audit.Event{Action: audit.DocumentDownloaded, SubjectType: "document",
			SubjectID: &d.ID, EmployeeID: d.EmployeeID, EmployerID: &d.EmployerID, Details: details})
	})
	if err != nil {
		s.refuseDocument(r, "download", &id, nil, err)
		return err
	}
	content, err := s.docs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer content.Close()
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", attachment(d.FileName))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+d.SHA256+`"`)
	// ServeContent answers Range (206 with Content-Range, 416), If-Range and HEAD, and sends
	// Accept-Ranges; content reads only the ranges asked for. A local blob's file goes out with
	// sendfile.
	http.ServeContent(&sendfileWriter{ResponseWriter: w}, r, "", d.UploadedAt, content)
	return nil
}

// attachment is a Content-Disposition that offers name for saving (RFC 6266): an ASCII
// fallback for old clients and the exact UTF-8 name as filename* (RFC 5987).
func attachment(name string) string {
	var ascii, enc strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			enc.WriteByte(b)
		} else {
			enc.WriteString("%" + strings.ToUpper(hexByte(b)))
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + enc.String()
}

// isAttrChar reports whether b may appear unencoded in an RFC 5987 value.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&0xf]})
}

// findDeletable returns document id when p may delete it: he can read it (else 404), holds
// documents.delete (else 403), and it is no part of a full-dossier bundle (else 409).
func findDeletable(ctx context.Context, tx pgx.Tx, p access.Principal, id uuid.UUID) (document.Document, error) {
	cats, err := access.LoadCategories(ctx, tx, p)
	if err != nil {
		return document.Document{}, err
	}
	if err := access.CanReadDocument(ctx, tx, p, cats, id); err != nil {
		return document.Document{}, err
	}
	if err := access.CanDeleteDocument(p); err != nil {
		return document.Document{}, err
	}
	d, err := document.FindDocumentByID(ctx, tx, id)
	if err != nil {
		return document.Document{}, err
	}
	return d, document.CheckDeletable(d)
}

func (s *Server) confirmDeleteDocument(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d document.Document
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		d, err = findDeletable(r.Context(), tx, c.Principal, id)
		return err
	}); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, documents.ConfirmDelete(documents.DeletePage{
		Page: s.page(r, "document.delete.title"), Document: d, Back: documentPath(d) + "#documents"}))
}

// deleteDocument deletes a document (row, then blob) and returns to its dossier.
func (s *Server) deleteDocument(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.docs.Delete(r.Context(), s.pool, editor(r), c.Tenant.ID, id)
	if err != nil {
		s.refuseDocument(r, "delete", &id, nil, err)
		return err
	}
	s.flash(r, "document.flash.deleted")
	return redirect(w, r, documentPath(d)+"#documents")
}

// delegationsFor returns the delegations of an employee's dossier when p manages access or hands
// out delegations, and whether to show them.
func delegationsFor(ctx context.Context, tx pgx.Tx, p access.Principal, e org.Employee) ([]access.Delegation, bool, error) {
	if access.CanSeeDelegations(p) != nil {
		return nil, false, nil
	}
	list, err := access.FindDelegations(ctx, tx, e.ID)
	return list, true, err
}
