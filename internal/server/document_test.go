package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

const (
	beheerder    = "beheerder@demo.dossierkast.nl"    // all rights, documents.delete, access.manage
	casemanager  = "casemanager@demo.dossierkast.nl"  // upload, no delete, no medical.view
	bedrijfsarts = "bedrijfsarts@demo.dossierkast.nl" // upload and medical.view
)

// docFixture is the demo tenant with test categories and a matrix for them:
//
//	category          dossier   Beheerder  Casemanager  Bedrijfsarts
//	Verzuim           employee  write      write        write
//	Alleen lezen      employee  write      read         -
//	Medisch (medical) employee  write      write        write
//	Verborgen         employee  read       -            -
//	Contracten        employer  write      read         -
type docFixture struct {
	*testBundle
	verzuim, readOnly, medical, hidden, contracts document.Category
	employee                                      org.Employee
	employer                                      uuid.UUID
}

func docSetup(t *testing.T, opts ...harnessOption) *docFixture {
	t.Helper()
	f := &docFixture{testBundle: setup(t, 5, opts...)}
	ctx := context.Background()
	roles := map[string]uuid.UUID{}
	for _, name := range []string{"Beheerder", "Casemanager", "Bedrijfsarts"} {
		roles[name] = demoRole(t, f.testBundle, name).ID
	}
	type cell struct {
		role  string
		level access.Level
	}
	mk := func(name string, dossier document.Dossier, medical bool, cells ...cell) document.Category {
		var c document.Category
		f.inTenant(t, func(tx pgx.Tx) (err error) {
			if c, err = document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: "Test " + name, Dossier: dossier, Medical: medical}); err != nil {
				return err
			}
			for _, x := range cells {
				if _, err := access.SetRoleLevels(ctx, tx, access.System(audit.Actor{}), roles[x.role], map[uuid.UUID]access.Level{c.ID: x.level}); err != nil {
					return err
				}
			}
			return nil
		})
		return c
	}
	w, r := access.LevelWrite, access.LevelRead
	f.verzuim = mk("Verzuim", document.DossierEmployee, false, cell{"Beheerder", w}, cell{"Casemanager", w}, cell{"Bedrijfsarts", w})
	f.readOnly = mk("Alleen lezen", document.DossierEmployee, false, cell{"Beheerder", w}, cell{"Casemanager", r})
	f.medical = mk("Medisch", document.DossierEmployee, true, cell{"Beheerder", w}, cell{"Casemanager", w}, cell{"Bedrijfsarts", w})
	f.hidden = mk("Verborgen", document.DossierEmployee, false, cell{"Beheerder", r})
	f.contracts = mk("Contracten", document.DossierEmployer, false, cell{"Beheerder", w}, cell{"Casemanager", r})
	f.employee = employeesOf(t, f.testBundle, uuid.Nil)[0]
	f.employer = f.employee.EmployerID
	return f
}

// uploadField is one part of an upload form, in order.
type uploadField struct{ name, value string }

// upload posts a multipart form the way a browser does: the fields first, then the file (when
// fileName is not ""); a field whose name starts with "after:" comes after the file. It returns
// the response with its body read.
func (b *testBundle) upload(t *testing.T, c *http.Client, path string, fields []uploadField, fileName string, content []byte) (*http.Response, *goquery.Document) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if !strings.HasPrefix(f.name, "after:") {
			if err := mw.WriteField(f.name, f.value); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	for _, f := range fields {
		if name, ok := strings.CutPrefix(f.name, "after:"); ok {
			if err := mw.WriteField(name, f.value); err != nil {
				t.Fatal(err)
			}
		}
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, doc
}

// fetch gets path and returns the response and its body as bytes.
func (b *testBundle) fetch(t *testing.T, c *http.Client, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	return b.request(t, c, http.MethodGet, path, header)
}

// request sends a body-less request and returns the response and its body as bytes.
func (b *testBundle) request(t *testing.T, c *http.Client, method, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// blobFiles lists the files in the harness's blob folder, relative to it.
func (b *testBundle) blobFiles(t *testing.T) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(b.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(b.blobDir, path)
			list = append(list, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	return list
}

// documents returns the document rows in the fixture's categories (named "Test …"), newest
// first; documents the demo tenant may hold elsewhere do not count.
func (b *testBundle) documents(t *testing.T) []document.Document {
	t.Helper()
	var list []document.Document
	b.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT d.id FROM documents d JOIN document_categories c ON c.id = d.category_id
			WHERE c.name LIKE 'Test %' ORDER BY d.uploaded_at DESC, d.id DESC`)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		for _, id := range ids {
			d, err := document.FindDocumentByID(context.Background(), tx, id)
			if err != nil {
				return err
			}
			list = append(list, d)
		}
		return err
	})
	return list
}

func pdfBytes(n int) []byte {
	b := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("Dossierkast "), n/12+1)...)
	return b[:n]
}

func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	// Larger than the 1 MiB limit of ordinary forms: the upload route has its own.
	f := docSetup(t, withMaxUpload(4<<20))
	uploader := demoUser(t, f.testBundle, casemanager)
	c := f.login(t, casemanager)
	content := pdfBytes(1536 << 10)
	name := "Verzuimverslag – Ä.pdf"
	dossier := "/employees/" + f.employee.ID.String()
	resp, _ := f.upload(t, c, dossier+"/documents", []uploadField{{"category_id", f.verzuim.ID.String()},
		{"document_date", "2027-01-02"}}, name, content)
	wantRedirect(t, resp, dossier+"/documents#documents")

	docs := f.documents(t)
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	d := docs[0]
	sum := sha256.Sum256(content)
	if d.FileName != name || d.Size != int64(len(content)) || d.SHA256 != hex.EncodeToString(sum[:]) ||
		d.ContentType != "application/pdf" || d.CategoryID != f.verzuim.ID || d.EmployeeID == nil ||
		*d.EmployeeID != f.employee.ID || d.EmployerID != f.employer || d.DocumentDate == nil ||
		d.DocumentDate.Format("2006-01-02") != "2027-01-02" || d.UploadedByName != "Mark Jansen" {
		t.Errorf("document = %+v", d)
	}
	if want := document.StorageKey(f.tenant, d.ID); d.StorageKey != want {
		t.Errorf("storage key %q, want %q", d.StorageKey, want)
	}

	_, page := f.get(t, c, dossier+"/documents")
	section := page.Find(`#documents section.category[data-category="` + f.verzuim.ID.String() + `"]`)
	if got := section.AttrOr("data-count", ""); got != "1" {
		t.Errorf("count of %s = %q, want 1", f.verzuim.Name, got)
	}
	link := section.Find("a.download")
	if strings.TrimSpace(link.Text()) != name || link.AttrOr("href", "") != "/documents/"+d.ID.String() {
		t.Errorf("download link %q → %q", link.Text(), link.AttrOr("href", ""))
	}

	resp, body := f.fetch(t, c, "/documents/"+d.ID.String(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download status %d", resp.StatusCode)
	}
	got := sha256.Sum256(body)
	if !bytes.Equal(body, content) || hex.EncodeToString(got[:]) != d.SHA256 {
		t.Errorf("downloaded %d bytes, sha256 %x; want the %d uploaded", len(body), got, len(content))
	}
	wantHeaders := map[string]string{
		"Content-Type":           "application/pdf",
		"Content-Disposition":    `attachment; filename="Verzuimverslag _ _.pdf"; filename*=UTF-8''Verzuimverslag%20%E2%80%93%20%C3%84.pdf`,
		"X-Content-Type-Options": "nosniff",
		"Accept-Ranges":          "bytes",
		"Content-Length":         "1572864",
	}
	for k, want := range wantHeaders {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	t.Run("Range", func(t *testing.T) {
		for _, tt := range []struct {
			rng          string
			status       int
			contentRange string
			want         []byte
		}{
			{"bytes=100-199", http.StatusPartialContent, "bytes 100-199/1572864", content[100:200]},
			{"bytes=1572800-", http.StatusPartialContent, "bytes 1572800-1572863/1572864", content[1572800:]},
			{"bytes=-10", http.StatusPartialContent, "bytes 1572854-1572863/1572864", content[len(content)-10:]},
			{"bytes=2000000-", http.StatusRequestedRangeNotSatisfiable, "bytes */1572864", nil},
		} {
			resp, body := f.fetch(t, c, "/documents/"+d.ID.String(), http.Header{"Range": {tt.rng}})
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Range") != tt.contentRange {
				t.Errorf("Range %s: status %d, Content-Range %q; want %d, %q", tt.rng, resp.StatusCode,
					resp.Header.Get("Content-Range"), tt.status, tt.contentRange)
			}
			if tt.want != nil && !bytes.Equal(body, tt.want) {
				t.Errorf("Range %s: %d bytes, not the %d asked for", tt.rng, len(body), len(tt.want))
			}
		}
	})

	t.Run("Audited", func(t *testing.T) {
		for action, want := range map[string]int{audit.DocumentUploaded: 1, audit.DocumentDownloaded: 5} {
			events := auditEvents(t, f.testBundle, audit.Filter{Action: action, EmployeeID: &f.employee.ID, UserID: &uploader.ID})
			if len(events) != want {
				t.Errorf("%s events for the employee = %d, want %d", action, len(events), want)
			}
			for _, e := range events {
				if uuidOrNil(e.SubjectID) != d.ID || e.Details["file_name"] != name {
					t.Errorf("%s event = %+v", action, e)
				}
			}
		}
	})
}

func TestUploadPastTheLimit(t *testing.T) {
	t.Parallel()
	f := docSetup(t, withMaxUpload(64<<10))
	before := f.blobFiles(t)
	c := f.login(t, casemanager)
	resp, doc := f.upload(t, c, "/employees/"+f.employee.ID.String()+"/documents",
		[]uploadField{{"category_id", f.verzuim.ID.String()}}, "groot.pdf", pdfBytes(200<<10))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if got, want := textOf(doc, "#error-message"), nl("document.error.too_large", "64 KB"); got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if !strings.Contains(textOf(doc, "#error-message"), "te groot") {
		t.Errorf("message %q is not the Dutch one", textOf(doc, "#error-message"))
	}
	if n := len(f.documents(t)); n != 0 {
		t.Errorf("%d document rows, want none", n)
	}
	if diff := cmp.Diff(before, f.blobFiles(t)); diff != "" {
		t.Errorf("blob folder changed (-before +after):\n%s", diff)
	}
	events := auditEvents(t, f.testBundle, audit.Filter{Action: audit.DocumentRefused})
	if len(events) != 1 || events[0].Details["reason"] != "too_large" || events[0].Details["operation"] != "upload" ||
		uuidOrNil(events[0].EmployeeID) != f.employee.ID {
		t.Errorf("refusal events = %+v, want one too_large upload for the employee", events)
	}
}

// TestUploadDeclaredTooLarge: an upload whose body says it is larger than any document may be is
// refused before it is read, naming both sizes, with a way back to the page it came from.
func TestUploadDeclaredTooLarge(t *testing.T) {
	t.Parallel()
	f := docSetup(t, withMaxUpload(64<<10))
	c := f.login(t, casemanager)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("category_id", f.verzuim.ID.String())
	fw, _ := mw.CreateFormFile("file", "enorm.pdf")
	fw.Write(pdfBytes(2 << 20))
	mw.Close()
	page := "/employees/" + f.employee.ID.String() + "/documents"
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+page, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", f.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Referer", f.srv.URL+page+"?x=1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	want := nl("document.error.too_large_size", document.FormatSize(req.ContentLength), "64 KB")
	if got := textOf(doc, "#error-message"); got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if got := doc.Find("#error-back").AttrOr("href", ""); got != page+"?x=1" {
		t.Errorf("way back %q, want %q", got, page+"?x=1")
	}
	if n := len(f.documents(t)); n != 0 {
		t.Errorf("%d document rows, want none", n)
	}
}

// TestUploadMalformedForm: a form that cannot be read, before or within the file, is a 400
// with the Dutch message, and leaves no document and no blob.
func TestUploadMalformedForm(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	before := f.blobFiles(t)
	c := f.login(t, casemanager)
	const boundary = "grens"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"category_id\"\r\n\r\n" + f.verzuim.ID.String() +
		"\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
	file := string(pdfBytes(200 << 10))
	for name, body := range map[string]string{
		"cut short in the file":  head + file,
		"no closing boundary":    head + file + "\r\n--" + boundary,
		"header without a colon": "--" + boundary + "\r\nkapot\r\n\r\nx\r\n--" + boundary + "--\r\n",
		"no boundary":            "zomaar tekst",
	} {
		req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/employees/"+f.employee.ID.String()+"/documents", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.Header.Set("Origin", f.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest || textOf(doc, "#error-message") != nl("error.bad_form") {
			t.Errorf("%s: status %d, message %q; want 400, %q", name, resp.StatusCode, textOf(doc, "#error-message"), nl("error.bad_form"))
		}
	}
	if n := len(f.documents(t)); n != 0 {
		t.Errorf("%d document rows, want none", n)
	}
	if diff := cmp.Diff(before, f.blobFiles(t)); diff != "" {
		t.Errorf("blob folder changed (-before +after):\n%s", diff)
	}
}

// TestUploadRefusals: nothing is stored when an upload is refused. Uploading into a medical
// category without medical.view answers 404, like any category the user may not read: the engine
// does not reveal what he cannot see.
func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	hr := demoUser(t, f.testBundle, "hr@demo.dossierkast.nl")
	var foreign uuid.UUID
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM employees WHERE employer_id <> ALL($1) LIMIT 1", hr.EmployerIDs).Scan(&foreign)
	})
	var noUpload string
	f.inTenant(t, func(tx pgx.Tx) error {
		// A role that may write in the matrix but lacks documents.upload.
		ctx := context.Background()
		role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Meekijker", Kind: access.KindProvider,
			Rights: []access.Right{access.EmployerDossierView, access.EmployeeDossierView, access.EmployeesAll}})
		if err != nil {
			return err
		}
		if _, err := access.SetRoleLevels(ctx, tx, access.System(audit.Actor{}), role.ID, map[uuid.UUID]access.Level{f.verzuim.ID: access.LevelWrite}); err != nil {
			return err
		}
		noUpload = "meekijker@demo.dossierkast.nl"
		return createUser(ctx, tx, noUpload, role.ID)
	})
	employee := "/employees/" + f.employee.ID.String() + "/documents"
	employer := "/employers/" + f.employer.String() + "/documents"
	cat := func(c document.Category) []uploadField { return []uploadField{{"category_id", c.ID.String()}} }
	tests := []struct {
		name, user, path string
		fields           []uploadField
		file             string
		status           int
		refused          bool // a document.refused event is written
	}{
		{"ReadOnlyCategory", casemanager, employee, cat(f.readOnly), "a.txt", http.StatusForbidden, true},
		{"MedicalWithoutMedicalView", casemanager, employee, cat(f.medical), "a.txt", http.StatusNotFound, true},
		{"CategoryNotReadable", casemanager, employee, cat(f.hidden), "a.txt", http.StatusNotFound, true},
		{"WithoutUploadRight", noUpload, employee, cat(f.verzuim), "a.txt", http.StatusForbidden, true},
		{"EmployeeNotVisible", "hr@demo.dossierkast.nl", "/employees/" + foreign.String() + "/documents", cat(f.verzuim), "a.txt", http.StatusNotFound, true},
		{"UnknownEmployee", casemanager, "/employees/" + uuid.NewString() + "/documents", cat(f.verzuim), "a.txt", http.StatusNotFound, true},
		{"EmployerCategoryInEmployeeDossier", beheerder, employee, cat(f.contracts), "a.txt", http.StatusUnprocessableEntity, false},
		{"EmployeeCategoryInEmployerDossier", beheerder, employer, cat(f.verzuim), "a.txt", http.StatusUnprocessableEntity, false},
		{"ReadOnlyEmployerCategory", casemanager, employer, cat(f.contracts), "a.txt", http.StatusForbidden, true},
		{"SystemCategory", beheerder, employer, []uploadField{{"category_id", systemCategory(t, f.testBundle, document.SystemFullDossierProvider).String()}}, "a.txt", http.StatusForbidden, true},
		{"NoFile", casemanager, employee, cat(f.verzuim), "", http.StatusUnprocessableEntity, false},
		{"NoCategory", casemanager, employee, nil, "a.txt", http.StatusUnprocessableEntity, false},
		{"FileBeforeFields", casemanager, employee, []uploadField{{"after:category_id", f.verzuim.ID.String()}}, "a.txt", http.StatusUnprocessableEntity, false},
		{"BadDate", casemanager, employee, append(cat(f.verzuim), uploadField{"document_date", "31-2-2027"}), "a.txt", http.StatusUnprocessableEntity, false},
	}
	before := f.blobFiles(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.login(t, tt.user)
			refusals := f.auditCount(t, audit.DocumentRefused)
			resp, doc := f.upload(t, c, tt.path, tt.fields, tt.file, []byte("inhoud"))
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tt.status, textOf(doc, "#error-message, .error-summary, p.error"))
			}
			if tt.status == http.StatusUnprocessableEntity && doc.Find("form#upload").Length() == 0 && doc.Find("#error-message").Length() == 0 {
				t.Error("a refused form shows neither the form again nor a message")
			}
			if got := f.auditCount(t, audit.DocumentRefused) - refusals; got != map[bool]int{true: 1, false: 0}[tt.refused] {
				t.Errorf("%d refusal events, want refused=%v", got, tt.refused)
			}
			if n := len(f.documents(t)); n != 0 {
				t.Errorf("%d document rows, want none", n)
			}
			if diff := cmp.Diff(before, f.blobFiles(t)); diff != "" {
				t.Errorf("blob folder changed (-before +after):\n%s", diff)
			}
		})
	}
}

// createUser makes a provider user with the demo password and role.
func createUser(ctx context.Context, tx pgx.Tx, email string, roleID uuid.UUID) error {
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		return err
	}
	_, err = org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: email, Name: email, Kind: access.KindProvider, RoleID: roleID, Language: "nl"}, hash)
	return err
}

func systemCategory(t *testing.T, b *testBundle, s document.System) uuid.UUID {
	t.Helper()
	var c document.Category
	b.inTenant(t, func(tx pgx.Tx) (err error) {
		c, err = document.FindSystemCategory(context.Background(), tx, s)
		return err
	})
	return c.ID
}

// TestDocumentOfAnotherTenant: a document id from another tenant is answered as if it did not
// exist, whatever the user's rights.
func TestDocumentOfAnotherTenant(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	ctx := context.Background()
	other, err := org.CreateTenant(ctx, f.db.Pool, "Andere arbodienst", false)
	if err != nil {
		t.Fatal(err)
	}
	var foreign document.Document
	err = database.InTenant(ctx, f.db.Pool, other.ID, func(tx pgx.Tx) error {
		em, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Elders BV", EmployerNumber: "9"})
		if err != nil {
			return err
		}
		c, err := document.CreateCategory(ctx, tx, access.System(audit.Actor{}), document.Category{Name: "Contracten", Dossier: document.DossierEmployer})
		if err != nil {
			return err
		}
		id := uuid.Must(uuid.NewV7())
		foreign, err = document.CreateDocument(ctx, tx, id, document.NewDocument{EmployerID: em.ID, CategoryID: c.ID, FileName: "geheim.txt"},
			document.Blob{Key: document.StorageKey(other.ID, id), Size: 6, SHA256: strings.Repeat("ab", 32), ContentType: "text/plain"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c := f.login(t, beheerder)
	path := "/documents/" + foreign.ID.String()
	if resp, _ := f.fetch(t, c, path, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
	}
	if resp, _ := f.fetch(t, c, path+"/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s/delete = %d, want 404", path, resp.StatusCode)
	}
	if resp := f.post(t, c, path+"/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s/delete = %d, want 404", path, resp.StatusCode)
	}
	err = database.InTenant(ctx, f.db.Pool, other.ID, func(tx pgx.Tx) error {
		_, err := document.FindDocumentByID(ctx, tx, foreign.ID)
		return err
	})
	if err != nil {
		t.Errorf("the other tenant's document is gone: %v", err)
	}
	if n := f.auditCount(t, audit.DocumentRefused); n != 2 {
		t.Errorf("refusal events = %d, want 2 (download, delete)", n)
	}
}

// TestPathTraversalFileName: a file name with directories is kept as its last component, and
// the blob's place never depends on it.
func TestPathTraversalFileName(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	before := f.blobFiles(t)
	c := f.login(t, casemanager)
	for _, tt := range []struct{ sent, kept string }{
		{"../../etc/passwd", "passwd"},
		{`..\..\boot.ini`, "boot.ini"},
		{"..", "document"},
	} {
		resp, _ := f.upload(t, c, "/employees/"+f.employee.ID.String()+"/documents",
			[]uploadField{{"category_id", f.verzuim.ID.String()}}, tt.sent, []byte("root:x:0:0"))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload %q: status %d", tt.sent, resp.StatusCode)
		}
		d := f.documents(t)[0]
		if d.FileName != tt.kept || d.StorageKey != document.StorageKey(f.tenant, d.ID) {
			t.Errorf("upload %q: name %q, key %q; want name %q, key %q", tt.sent, d.FileName, d.StorageKey, tt.kept,
				document.StorageKey(f.tenant, d.ID))
		}
		resp, _ = f.fetch(t, c, "/documents/"+d.ID.String(), nil)
		if got := resp.Header.Get("Content-Disposition"); !strings.Contains(got, `filename="`+tt.kept+`"`) {
			t.Errorf("upload %q: Content-Disposition %q, want filename %q", tt.sent, got, tt.kept)
		}
	}
	want := slices.Clone(before)
	for _, d := range f.documents(t) {
		want = append(want, d.StorageKey)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, f.blobFiles(t)); diff != "" {
		t.Errorf("blob files (-want +got):\n%s", diff)
	}
}

func TestDeleteDocument(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	dossier := "/employees/" + f.employee.ID.String()
	before := f.blobFiles(t)
	up := f.login(t, casemanager)
	resp, _ := f.upload(t, up, dossier+"/documents", []uploadField{{"category_id", f.verzuim.ID.String()}}, "brief.txt", []byte("Beste Jan,"))
	wantRedirect(t, resp, dossier+"/documents#documents")
	d := f.documents(t)[0]
	withDocument := f.blobFiles(t)
	if diff := cmp.Diff(append(slices.Clone(before), d.StorageKey), withDocument, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("blob files after upload (-want +got):\n%s", diff)
	}
	path := "/documents/" + d.ID.String() + "/delete"

	t.Run("WithoutRight", func(t *testing.T) {
		_, page := f.get(t, up, dossier+"/documents")
		if n := page.Find("#documents a.delete").Length(); n != 0 {
			t.Errorf("%d delete links for a user without documents.delete", n)
		}
		if resp, _ := f.fetch(t, up, path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s = %d, want 403", path, resp.StatusCode)
		}
		if resp := f.post(t, up, path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s = %d, want 403", path, resp.StatusCode)
		}
		if len(f.documents(t)) != 1 || !slices.Equal(f.blobFiles(t), withDocument) {
			t.Error("a refused delete removed the document")
		}
		events := auditEvents(t, f.testBundle, audit.Filter{Action: audit.DocumentRefused})
		if len(events) != 1 || events[0].Details["operation"] != "delete" || events[0].Details["reason"] != "forbidden" ||
			uuidOrNil(events[0].EmployeeID) != f.employee.ID {
			t.Errorf("refusal events = %+v", events)
		}
	})

	t.Run("WithRight", func(t *testing.T) {
		c := f.login(t, beheerder)
		_, page := f.get(t, c, dossier+"/documents")
		if href := page.Find(`tr[data-document="`+d.ID.String()+`"] a.delete`).AttrOr("href", ""); href != path {
			t.Errorf("delete link %q, want %q", href, path)
		}
		resp, confirm := f.get(t, c, path)
		if resp.StatusCode != http.StatusOK || textOf(confirm, "#delete-name") != "brief.txt" ||
			confirm.Find(`form[action="`+path+`"] button#confirm-delete`).Length() != 1 {
			t.Errorf("confirmation page: status %d, name %q", resp.StatusCode, textOf(confirm, "#delete-name"))
		}
		if len(f.documents(t)) != 1 {
			t.Fatal("showing the confirmation deleted the document")
		}
		wantRedirect(t, f.post(t, c, path, nil), dossier+"/documents#documents")
		if n := len(f.documents(t)); n != 0 {
			t.Errorf("after delete: %d rows", n)
		}
		if diff := cmp.Diff(before, f.blobFiles(t)); diff != "" {
			t.Errorf("blob files after delete (-want +got):\n%s", diff)
		}
		events := auditEvents(t, f.testBundle, audit.Filter{Action: audit.DocumentDeleted})
		if len(events) != 1 || uuidOrNil(events[0].SubjectID) != d.ID || uuidOrNil(events[0].EmployeeID) != f.employee.ID {
			t.Errorf("delete events = %+v", events)
		}
		if resp, _ := f.fetch(t, c, "/documents/"+d.ID.String(), nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("download after delete = %d, want 404", resp.StatusCode)
		}
	})
}

// TestDossierPagesShowReadableCategories: a dossier page lists exactly the categories the user
// may read, and offers upload into those he may write.
func TestDossierPagesShowReadableCategories(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	provider := systemCategory(t, f.testBundle, document.SystemFullDossierProvider)
	employerBundles := systemCategory(t, f.testBundle, document.SystemFullDossierEmployer)
	all := []document.Category{f.verzuim, f.readOnly, f.medical, f.hidden, f.contracts}
	tests := []struct {
		name, user, path string
		readable, upload []uuid.UUID
		section          bool
	}{
		{"CasemanagerEmployee", casemanager, "/employees/" + f.employee.ID.String() + "/documents", []uuid.UUID{f.verzuim.ID, f.readOnly.ID}, []uuid.UUID{f.verzuim.ID}, true},
		{"BedrijfsartsEmployee", bedrijfsarts, "/employees/" + f.employee.ID.String() + "/documents", []uuid.UUID{f.verzuim.ID, f.medical.ID}, []uuid.UUID{f.verzuim.ID, f.medical.ID}, true},
		{"BeheerderEmployee", beheerder, "/employees/" + f.employee.ID.String() + "/documents", []uuid.UUID{f.verzuim.ID, f.readOnly.ID, f.medical.ID, f.hidden.ID},
			[]uuid.UUID{f.verzuim.ID, f.readOnly.ID, f.medical.ID}, true},
		{"CasemanagerEmployer", casemanager, "/employers/" + f.employer.String(), []uuid.UUID{f.contracts.ID, provider}, nil, true},
		{"BeheerderEmployer", beheerder, "/employers/" + f.employer.String(), []uuid.UUID{f.contracts.ID, provider}, []uuid.UUID{f.contracts.ID}, true},
		{"HREmployer", "hr@demo.dossierkast.nl", "/employers/" + demoUser(t, f.testBundle, "hr@demo.dossierkast.nl").EmployerIDs[0].String(),
			[]uuid.UUID{employerBundles}, nil, true},
		{"LeidinggevendeEmployer", "leidinggevende@demo.dossierkast.nl", "/employers/" + demoUser(t, f.testBundle, "leidinggevende@demo.dossierkast.nl").EmployerIDs[0].String(),
			nil, nil, false},
	}
	ids := func(sel *goquery.Selection, attr string) []string {
		var list []string
		sel.Each(func(_ int, s *goquery.Selection) { list = append(list, s.AttrOr(attr, "")) })
		return list
	}
	testCategory := func(id string) bool {
		return slices.ContainsFunc(all, func(c document.Category) bool { return c.ID.String() == id }) ||
			id == provider.String() || id == employerBundles.String()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.login(t, tt.user)
			resp, page := f.get(t, c, tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", tt.path, resp.StatusCode)
			}
			if got := page.Find("#documents").Length() == 1; got != tt.section {
				t.Fatalf("documents section shown = %v, want %v", got, tt.section)
			}
			want := func(list []uuid.UUID) []string {
				out := []string{}
				for _, id := range list {
					out = append(out, id.String())
				}
				slices.Sort(out)
				return out
			}
			got := slices.DeleteFunc(ids(page.Find("#documents section.category"), "data-category"), func(id string) bool { return !testCategory(id) })
			slices.Sort(got)
			if diff := cmp.Diff(want(tt.readable), append([]string{}, got...)); diff != "" {
				t.Errorf("categories shown (-want +got):\n%s", diff)
			}
			options := slices.DeleteFunc(ids(page.Find(`form#upload select[name="category_id"] option`), "value"), func(id string) bool { return !testCategory(id) })
			slices.Sort(options)
			if diff := cmp.Diff(want(tt.upload), append([]string{}, options...)); diff != "" {
				t.Errorf("upload categories (-want +got):\n%s", diff)
			}
			if form := page.Find("form#upload"); form.Length() == 1 {
				var order []string
				form.Find("input, select").Each(func(_ int, s *goquery.Selection) { order = append(order, s.AttrOr("name", "")) })
				if diff := cmp.Diff([]string{"category_id", "document_date", "file"}, order); diff != "" {
					t.Errorf("upload form fields (-want +got):\n%s", diff)
				}
				if form.AttrOr("enctype", "") != "multipart/form-data" {
					t.Errorf("upload form enctype %q", form.AttrOr("enctype", ""))
				}
			}
		})
	}
}

func TestCategoryAdministration(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	c := f.login(t, beheerder)
	provider := systemCategory(t, f.testBundle, document.SystemFullDossierProvider)

	resp := f.post(t, c, "/admin/categories", url.Values{"name": {"Re-integratieverslagen"}, "dossier": {"employee"}, "medical": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: status %d", resp.StatusCode)
	}
	var made document.Category
	f.inTenant(t, func(tx pgx.Tx) error {
		list, err := document.FindCategories(context.Background(), tx)
		for _, x := range list {
			if x.Name == "Re-integratieverslagen" {
				made = x
			}
		}
		return err
	})
	if made.ID == uuid.Nil || !made.Medical || made.Dossier != document.DossierEmployee {
		t.Fatalf("created category = %+v", made)
	}
	wantRedirect(t, f.post(t, c, "/admin/categories/"+made.ID.String(), url.Values{"name": {"Re-integratie"}}),
		"/admin/categories#category-"+made.ID.String())
	// Deleting is confirmed first: the list links to a page whose form posts the deletion.
	deletePath := "/admin/categories/" + made.ID.String() + "/delete"
	if _, list := f.get(t, c, "/admin/categories"); list.Find(`form[action="`+deletePath+`"]`).Length() != 0 ||
		list.Find(`a[href="`+deletePath+`"]`).Length() != 1 {
		t.Errorf("the list deletes %s in one click, or does not link to its confirmation", made.Name)
	}
	if resp, page := f.get(t, c, deletePath); resp.StatusCode != http.StatusOK ||
		page.Find(`form[action="`+deletePath+`"] #confirm-delete`).Length() != 1 || !strings.Contains(textOf(page, "#delete-details"), "Re-integratie") {
		t.Errorf("confirmation page: status %d, without the form or the category's name", resp.StatusCode)
	}
	wantRedirect(t, f.post(t, c, deletePath, nil), "/admin/categories")

	for action, want := range map[string]int{audit.CategoryCreated: 1, audit.CategoryUpdated: 1, audit.CategoryDeleted: 1} {
		var got int // of requests: the demo's categories were made by the system, from no address
		f.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE action = $1 AND ip <> ''", action).Scan(&got)
		})
		if got != want {
			t.Errorf("%s events = %d, want %d", action, got, want)
		}
	}
	updated := auditEvents(t, f.testBundle, audit.Filter{Action: audit.CategoryUpdated})[0]
	if diff := cmp.Diff(map[string]any{
		"before": map[string]any{"name": "Re-integratieverslagen", "dossier": "employee", "medical": true},
		"after":  map[string]any{"name": "Re-integratie", "dossier": "employee", "medical": false},
	}, updated.Details); diff != "" {
		t.Errorf("update details (-want +got):\n%s", diff)
	}

	t.Run("Refusals", func(t *testing.T) {
		// The documents of a category: one upload makes it undeletable.
		up := f.login(t, casemanager)
		f.upload(t, up, "/employees/"+f.employee.ID.String()+"/documents", []uploadField{{"category_id", f.verzuim.ID.String()}}, "a.txt", []byte("a"))
		tests := []struct {
			name, path string
			form       url.Values
			status     int
			message    string
		}{
			{"RenameSystem", "/admin/categories/" + provider.String(), url.Values{"name": {"Bundels"}}, http.StatusUnprocessableEntity, "category.error.system"},
			{"DeleteSystem", "/admin/categories/" + provider.String() + "/delete", nil, http.StatusUnprocessableEntity, "category.error.system"},
			{"DeleteHoldingDocuments", "/admin/categories/" + f.verzuim.ID.String() + "/delete", nil, http.StatusConflict, "category.error.in_use"},
			{"DuplicateName", "/admin/categories", url.Values{"name": {f.readOnly.Name}, "dossier": {"employee"}}, http.StatusConflict, "category.error.name_taken"},
			{"RenameToTaken", "/admin/categories/" + f.verzuim.ID.String(), url.Values{"name": {f.readOnly.Name}}, http.StatusConflict, "category.error.name_taken"},
			{"NoName", "/admin/categories", url.Values{"name": {""}, "dossier": {"employer"}}, http.StatusUnprocessableEntity, "error.required"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, f.srv.URL+tt.path, strings.NewReader(tt.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				page, _ := goquery.NewDocumentFromReader(resp.Body)
				if resp.StatusCode != tt.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
				}
				if !strings.Contains(page.Find(".error-summary, p.error").Text(), nl(tt.message)) {
					t.Errorf("page does not say %q (says %q)", nl(tt.message), page.Find(".error-summary, p.error").Text())
				}
			})
		}
		f.inTenant(t, func(tx pgx.Tx) error {
			c, err := document.FindCategoryByID(context.Background(), tx, provider)
			if err == nil && c.Name != "Volledig dossier (provider)" {
				t.Errorf("system category renamed to %q", c.Name)
			}
			return err
		})
	})

	t.Run("NeedsRolesManage", func(t *testing.T) {
		cm := f.login(t, casemanager)
		if resp, _ := f.get(t, cm, "/admin/categories"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /admin/categories = %d, want 403", resp.StatusCode)
		}
		if resp := f.post(t, cm, "/admin/categories", url.Values{"name": {"X"}, "dossier": {"employee"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /admin/categories = %d, want 403", resp.StatusCode)
		}
	})
}

func TestMatrixEditor(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	c := f.login(t, beheerder)
	role := demoRole(t, f.testBundle, "Casemanager")
	_, page := f.get(t, c, "/admin/roles")
	cell := func(page *goquery.Document, cat document.Category) string {
		return page.Find(`#matrix-row-`+role.ID.String()+` select[name="c-`+cat.ID.String()+`"] option[selected]`).AttrOr("value", "")
	}
	for cat, want := range map[*document.Category]string{&f.verzuim: "write", &f.readOnly: "read", &f.hidden: "none"} {
		if got := cell(page, *cat); got != want {
			t.Errorf("cell %s = %q, want %q", cat.Name, got, want)
		}
	}
	if n := page.Find(`#matrix select[name="c-` + systemCategory(t, f.testBundle, document.SystemFullDossierProvider).String() + `"]`).Length(); n != 0 {
		t.Errorf("system category in the matrix (%d cells)", n)
	}
	if form := page.Find(`select[name="c-` + f.verzuim.ID.String() + `"][form="matrix-` + role.ID.String() + `"]`); form.Length() != 1 {
		t.Error("the cell does not belong to its role's form")
	}

	wantRedirect(t, f.post(t, c, "/admin/roles/"+role.ID.String()+"/matrix", url.Values{
		"c-" + f.verzuim.ID.String():  {"read"},
		"c-" + f.readOnly.ID.String(): {"read"},
		"c-" + f.hidden.ID.String():   {"write"},
	}), "/admin/roles#matrix-row-"+role.ID.String())
	_, page = f.get(t, c, "/admin/roles")
	for cat, want := range map[*document.Category]string{&f.verzuim: "read", &f.readOnly: "read", &f.hidden: "write"} {
		if got := cell(page, *cat); got != want {
			t.Errorf("after saving: cell %s = %q, want %q", cat.Name, got, want)
		}
	}
	admin := demoUser(t, f.testBundle, beheerder).ID // the fixture's own matrix was set by the system
	events := auditEvents(t, f.testBundle, audit.Filter{Action: audit.MatrixUpdated, UserID: &admin})
	if len(events) != 1 {
		t.Fatalf("matrix events = %d, want 1", len(events))
	}
	want := map[string]any{
		"role":       "Casemanager",
		"before":     map[string]any{f.verzuim.ID.String(): "write", f.hidden.ID.String(): "none"},
		"after":      map[string]any{f.verzuim.ID.String(): "read", f.hidden.ID.String(): "write"},
		"categories": map[string]any{f.verzuim.ID.String(): f.verzuim.Name, f.hidden.ID.String(): f.hidden.Name},
	}
	if diff := cmp.Diff(want, events[0].Details); diff != "" {
		t.Errorf("matrix event details (-want +got):\n%s", diff)
	}
	if uuidOrNil(events[0].SubjectID) != role.ID {
		t.Errorf("matrix event subject %v, want the role", events[0].SubjectID)
	}

	for name, tt := range map[string]struct {
		user   string
		form   url.Values
		status int
	}{
		"BadLevel":     {beheerder, url.Values{"c-" + f.verzuim.ID.String(): {"owner"}}, http.StatusUnprocessableEntity},
		"System":       {beheerder, url.Values{"c-" + systemCategory(t, f.testBundle, document.SystemFullDossierEmployer).String(): {"read"}}, http.StatusUnprocessableEntity},
		"NoRolesRight": {casemanager, url.Values{"c-" + f.verzuim.ID.String(): {"write"}}, http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			if resp := f.post(t, f.login(t, tt.user), "/admin/roles/"+role.ID.String()+"/matrix", tt.form); resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// TestDelegationsOnEmployeePage: those who manage access or hand out delegations see who had
// the dossier delegated, and when; others do not.
func TestDelegationsOnEmployeePage(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	coach := demoUser(t, f.testBundle, "coach@demo.dossierkast.nl")
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, valid_from, ended_at, reason)
			VALUES (app_tenant(), $1, $2, now() - interval '30 days', now() - interval '10 days', 'Eerdere begeleiding'),
			       (app_tenant(), $1, $2, now() - interval '5 days', NULL, 'Loopbaancoaching')`, coach.ID, f.employee.ID)
		return err
	})
	var list []access.Delegation
	f.inTenant(t, func(tx pgx.Tx) (err error) {
		list, err = access.FindDelegations(context.Background(), tx, f.employee.ID)
		return err
	})
	if len(list) != 2 || list[0].Reason != "Loopbaancoaching" || list[0].EndedAt != nil || list[1].EndedAt == nil || list[0].UserName != coach.Name {
		t.Fatalf("delegations = %+v", list)
	}

	_, page := f.get(t, f.login(t, beheerder), "/employees/"+f.employee.ID.String())
	rows := page.Find("#delegations tbody tr")
	if rows.Length() != 2 {
		t.Fatalf("delegation rows = %d, want 2", rows.Length())
	}
	first := rows.First().Text()
	if !strings.Contains(first, coach.Name) || !strings.Contains(first, "Loopbaancoaching") || !strings.Contains(first, nl("delegation.active")) {
		t.Errorf("current delegation row = %q", first)
	}
	if last := rows.Last().Text(); !strings.Contains(last, nl("delegation.ended_status")) {
		t.Errorf("past delegation row = %q", last)
	}

	// The case manager hands out delegations (delegations.grant): he sees them, with the forms
	// that end the running one; the company doctor holds neither right.
	_, page = f.get(t, f.login(t, casemanager), "/employees/"+f.employee.ID.String())
	if page.Find("#delegations tbody tr").Length() != 2 || page.Find("#delegations .end-form").Length() != 1 {
		t.Error("a user with delegations.grant does not see the delegations with one end form")
	}
	_, page = f.get(t, f.login(t, bedrijfsarts), "/employees/"+f.employee.ID.String())
	if page.Find("#delegations").Length() != 0 {
		t.Error("a user without access.manage or delegations.grant sees the delegations")
	}

	// Once the coach is on the employee's blacklist, the running delegation gives no access,
	// and the page says so and why instead of "Actief".
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO user_blacklist (tenant_id, user_id, employee_id, employer_id, reason)
			VALUES (app_tenant(), $1, $2, $3, 'Familielid')`, coach.ID, f.employee.ID, f.employee.EmployerID)
		return err
	})
	_, page = f.get(t, f.login(t, beheerder), "/employees/"+f.employee.ID.String())
	first = page.Find("#delegations tbody tr").First().Text()
	if strings.Contains(first, nl("delegation.active")) || !strings.Contains(first, nl("delegation.no_access")) ||
		!strings.Contains(first, nl("delegation.blacklisted_reason", "Familielid")) {
		t.Errorf("delegation row of a blacklisted coach = %q, want it to give no access, and why", first)
	}
}

// Uploading a file whose name the category already holds keeps both, and the notice says so.
func TestUploadSameFileName(t *testing.T) {
	t.Parallel()
	f := docSetup(t)
	c := f.login(t, casemanager)
	dossier := "/employees/" + f.employee.ID.String()
	for i, want := range []string{"document.flash.uploaded", "document.flash.uploaded_same_name"} {
		resp, _ := f.upload(t, c, dossier+"/documents", []uploadField{{"category_id", f.verzuim.ID.String()}},
			"Verslag.pdf", pdfBytes(2048+i))
		wantRedirect(t, resp, dossier+"/documents#documents")
		_, page := f.get(t, c, dossier+"/documents")
		if got := textOf(page, ".flash"); got != nl(want) {
			t.Errorf("upload %d: notice %q, want %q", i+1, got, nl(want))
		}
	}
	if docs := f.documents(t); len(docs) != 2 {
		t.Errorf("%d documents, want both kept", len(docs))
	}
}
