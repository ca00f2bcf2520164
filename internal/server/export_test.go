package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/xuri/excelize/v2"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/export"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

// exportFixture is the demo tenant with River's workers running, an employee of one employer,
// and users who may and may not export him.
type exportFixture struct {
	b        *testBundle
	employee uuid.UUID
	employer uuid.UUID
	admin    *http.Client
}

func newExportFixture(t *testing.T) *exportFixture {
	t.Helper()
	f := newExportFixtureWithoutWorkers(t)
	startBundleWorkers(t, f.b)
	return f
}

// newExportFixtureWithoutWorkers is newExportFixture with no River workers running yet.
func newExportFixtureWithoutWorkers(t *testing.T) *exportFixture {
	t.Helper()
	b := setup(t, 10)
	f := &exportFixture{b: b, admin: b.login(t, adminEmail)}
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id, employer_id FROM employees ORDER BY id LIMIT 1").Scan(&f.employee, &f.employer)
	})
	return f
}

// user makes a user of kind with rights (employer users belong to employer) and returns a
// client logged in as him, and his id.
func (f *exportFixture) user(t *testing.T, kind access.Kind, employer uuid.UUID, rights ...access.Right) (*http.Client, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		t.Fatal(err)
	}
	email := "x-" + uuid.NewString()[:8] + "@export.test"
	var id uuid.UUID
	f.b.inTenant(t, func(tx pgx.Tx) error {
		role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Export " + email, Kind: kind, Rights: rights})
		if err != nil {
			return err
		}
		in := org.UserInput{Email: email, Name: "Gebruiker " + email[:10], Kind: kind, RoleID: role.ID, Language: "nl"}
		if kind == access.KindEmployer {
			in.EmployerIDs = []uuid.UUID{employer}
		}
		u, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), in, hash)
		id = u.ID
		return err
	})
	return f.b.login(t, email), id
}

func (f *exportFixture) page() string { return export.PagePath(f.employee) }

// start starts an export as c and waits until it is done; it returns the export.
func (f *exportFixture) start(t *testing.T, c *http.Client, reason string) export.Export {
	t.Helper()
	resp := f.b.post(t, c, f.page(), url.Values{"reason": {reason}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != f.page() {
		t.Fatalf("start export: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var x export.Export
		f.b.inTenant(t, func(tx pgx.Tx) error {
			list, err := export.FindExports(context.Background(), tx, f.employee)
			if err == nil && len(list) > 0 {
				x = list[0]
			}
			return err
		})
		switch {
		case x.Status == export.StatusDone:
			return x
		case x.Status == export.StatusFailed:
			t.Fatalf("export failed: %s", x.Error)
		case time.Now().After(deadline):
			t.Fatalf("export not done after 30 s: %+v", x)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The export page: the warning, the start form, the generated export with both downloads and
// their SHA-256; opening it is audited (page and list), its status polls are not. Both files
// download whole and by range, each download audited, and open as a workbook and JSON.
func TestExportPageAndDownloads(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	b := f.b
	resp, doc := b.get(t, f.admin, f.page())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export page: %d", resp.StatusCode)
	}
	for _, sel := range []string{"#export-warning", "form#start-export", "#export-status", "nav.tabs a[aria-current=page]"} {
		if doc.Find(sel).Length() == 0 {
			t.Errorf("export page lacks %s", sel)
		}
	}
	if got := doc.Find("nav.tabs a[aria-current=page]").Text(); got != "Exporteren" {
		t.Errorf("current tab %q, want Exporteren", got)
	}
	if n, m := b.auditCount(t, audit.ExportPageViewed), b.auditCount(t, audit.ExportListViewed); n != 1 || m != 1 {
		t.Errorf("page viewed %d, list viewed %d; want 1 each", n, m)
	}

	x := f.start(t, f.admin, "Verzoek 12")
	_, doc = b.get(t, f.admin, f.page())
	row := doc.Find(`#exports tr[data-export="` + x.ID.String() + `"]`)
	if row.AttrOr("data-status", "") != "done" || !strings.Contains(row.Text(), "Klaar") {
		t.Errorf("export row: status %q, text %q", row.AttrOr("data-status", ""), row.Text())
	}
	for _, sum := range []string{x.XLSXSHA256, x.JSONSHA256} {
		if !strings.Contains(row.Text(), sum) {
			t.Errorf("the page does not list SHA-256 %s", sum)
		}
	}
	if doc.Find("#export-status").AttrOr("data-poll", "") != "false" {
		t.Errorf("a finished export still polls")
	}
	before := b.auditCount(t, audit.ExportPageViewed)
	resp, frag := b.fetchPage(t, f.admin, f.page(), http.Header{"HX-Request": {"true"}})
	if resp.StatusCode != http.StatusOK || frag.Find("#export-status").Length() != 1 || frag.Find("form#start-export").Length() != 0 {
		t.Errorf("status fragment: %d, %d status parts, %d forms", resp.StatusCode, frag.Find("#export-status").Length(), frag.Find("form#start-export").Length())
	}
	if got := b.auditCount(t, audit.ExportPageViewed); got != before {
		t.Errorf("a status poll was audited as a page view")
	}

	for _, tc := range []struct {
		file export.File
		path string
	}{{export.FileXLSX, "/exports/" + x.ID.String()}, {export.FileJSON, "/exports/" + x.ID.String() + "/json"}} {
		href, _ := row.Find(`a[data-file="` + string(tc.file) + `"]`).Attr("href")
		if href != tc.path {
			t.Errorf("%s link %q, want %q", tc.file, href, tc.path)
		}
		resp, body := b.fetch(t, f.admin, tc.path, nil)
		sum := sha256.Sum256(body)
		if resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != x.SHA256(tc.file) || resp.Header.Get("Content-Type") != tc.file.ContentType() {
			t.Fatalf("%s: status %d, %d bytes, type %q", tc.path, resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
		}
		if tc.file == export.FileXLSX {
			book, err := excelize.OpenReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("open workbook: %v", err)
			}
			if sheets := book.GetSheetList(); len(sheets) != 16 || sheets[0] != "Overzicht" {
				t.Errorf("sheets %v", sheets)
			}
			book.Close()
		} else {
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil || v["format"] != "dossierkast.employee_export" {
				t.Errorf("JSON twin: %v, format %v", err, v["format"])
			}
		}
		resp, part := b.fetch(t, f.admin, tc.path, http.Header{"Range": {"bytes=10-109"}})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[10:110]) {
			t.Errorf("%s range: status %d, %d bytes", tc.path, resp.StatusCode, len(part))
		}
	}
	if n := b.auditCount(t, audit.ExportDownloaded); n != 4 {
		t.Errorf("%d download events, want 4 (two files, whole and by range)", n)
	}
	var ranged int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = $1 AND employee_id = $2
			AND details->>'range' = 'bytes=10-109'`, audit.ExportDownloaded, f.employee).Scan(&ranged)
	})
	if ranged != 2 {
		t.Errorf("%d download events with their range, want 2", ranged)
	}
	var mails int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM outbox_messages WHERE subject = $1 AND body LIKE '%' || $2 || '%'`,
			i18n.Translate("nl", "export.mail.ready.subject"), f.page()).Scan(&mails)
	})
	if mails != 1 {
		t.Errorf("%d ready mails in the outbox with the page's link, want 1", mails)
	}
}

// Refusals per rule: a hidden employee 404, no right 403, another employer's user 404, a
// blacklist entry made after generation 403 with its reason, no delete route (404 or 405 for
// every way of asking), and 410 with a Dutch explanation after the expiry sweep, which lists
// the export as deleted.
func TestExportRefusals(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	b := f.b
	var other uuid.UUID
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM employers WHERE id <> $1 LIMIT 1", f.employer).Scan(&other)
	})
	noRight, _ := f.user(t, access.KindProvider, uuid.Nil, access.EmployeeDossierView, access.EmployeesAll)
	elsewhere, _ := f.user(t, access.KindEmployer, other, access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate)
	creator, creatorID := f.user(t, access.KindProvider, uuid.Nil, access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate)
	colleague, _ := f.user(t, access.KindEmployer, f.employer, access.EmployeeDossierView, access.EmployeesAll, access.EmployeeExportCreate)
	x := f.start(t, creator, "")
	dl := "/exports/" + x.ID.String()

	status := func(c *http.Client, method, path string) int {
		t.Helper()
		if method == http.MethodPost {
			return b.post(t, c, path, url.Values{}).StatusCode
		}
		resp, _ := b.request(t, c, method, path, nil)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name         string
		c            *http.Client
		method, path string
		want         int
	}{
		{"page, no right", noRight, http.MethodGet, f.page(), http.StatusForbidden},
		{"start, no right", noRight, http.MethodPost, f.page(), http.StatusForbidden},
		{"download, no right", noRight, http.MethodGet, dl, http.StatusForbidden},
		{"page, hidden employee", elsewhere, http.MethodGet, f.page(), http.StatusNotFound},
		{"download, hidden employee", elsewhere, http.MethodGet, dl + "/json", http.StatusNotFound},
		{"download, an employer user who did not make it", colleague, http.MethodGet, dl, http.StatusForbidden},
		{"download, unknown export", creator, http.MethodGet, "/exports/" + uuid.NewString(), http.StatusNotFound},
		{"provider user who did not make it", f.admin, http.MethodGet, dl, http.StatusOK},
		{"delete by POST", creator, http.MethodPost, dl + "/delete", http.StatusNotFound},
		{"delete by DELETE", creator, http.MethodDelete, dl, http.StatusMethodNotAllowed},
		{"POST to the export", creator, http.MethodPost, dl, http.StatusMethodNotAllowed},
	} {
		if got := status(tc.c, tc.method, tc.path); got != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.name, tc.method, tc.path, got, tc.want)
		}
	}
	if n := b.auditCount(t, audit.ExportRefused); n < 5 {
		t.Errorf("%d refusals audited, want at least 5", n)
	}

	// A blacklist entry made after generation blocks the creator's download, with a reason.
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "INSERT INTO user_blacklist (tenant_id, user_id, employee_id) VALUES (app_tenant(), $1, $2)", creatorID, f.employee)
		return err
	})
	resp, doc := b.get(t, creator, dl)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Text(), i18n.Translate("nl", "export.error.download_guard")) {
		t.Errorf("download after the blacklist entry: %d, page %q", resp.StatusCode, doc.Find("main").Text())
	}

	// Expiry: the sweep deletes the files; the download answers 410 and the page lists it as deleted.
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE employee_exports SET expires_at = now() - interval '1 minute' WHERE id = $1", x.ID)
		return err
	})
	blobs, err := document.OpenBlobStore(context.Background(), "file://"+filepath.ToSlash(b.blobDir))
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	w := &export.ExpireExportsWorker{Pool: b.db.Pool, Blobs: blobs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := w.Work(context.Background(), &river.Job[export.ExpireExportsArgs]{}); err != nil {
		t.Fatal(err)
	}
	resp, doc = b.get(t, f.admin, dl)
	if resp.StatusCode != http.StatusGone || !strings.Contains(doc.Text(), i18n.Translate("nl", "export.error.expired")) {
		t.Errorf("download after expiry: %d, page %q", resp.StatusCode, doc.Find("main").Text())
	}
	_, doc = b.get(t, f.admin, f.page())
	if doc.Find(`#deleted-exports tr[data-export="`+x.ID.String()+`"]`).Length() != 1 || doc.Find(`#exports tr[data-export="`+x.ID.String()+`"]`).Length() != 0 {
		t.Errorf("the expired export is not (only) in the deleted list")
	}
	if n := b.auditCount(t, audit.ExportExpired); n != 1 {
		t.Errorf("%d automatic deletions audited, want 1", n)
	}
}

// A reason that is too long shows the page again with the field's message (422) and starts
// nothing.
func TestExportReasonTooLong(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	resp, doc := f.b.postPage(t, f.admin, f.page(), url.Values{"reason": {strings.Repeat("x", export.MaxReason+1)}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(doc.Find("form#start-export").Text(), i18n.Translate("nl", "export.error.reason_long")) {
		t.Errorf("reason too long: %d, form %q", resp.StatusCode, doc.Find("form#start-export").Text())
	}
	if n := f.b.auditCount(t, audit.ExportRequested); n != 0 {
		t.Errorf("%d exports started", n)
	}
}
