package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
)

// addDatastreamUser adds a provider user with datastreams.manage (and medical.view when
// medical) to b's demo tenant and logs him in.
func addDatastreamUser(t *testing.T, b *testBundle, email string, medical bool) *http.Client {
	t.Helper()
	ctx := context.Background()
	rights := []access.Right{access.DatastreamsManage}
	if medical {
		rights = append(rights, access.MedicalView)
	}
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		t.Fatal(err)
	}
	b.inTenant(t, func(tx pgx.Tx) error {
		role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Datastreams " + email, Kind: access.KindProvider, Rights: rights})
		if err != nil {
			return err
		}
		_, err = org.CreateUser(ctx, tx, access.System(audit.Actor{}), org.UserInput{Email: email, Name: email, Kind: access.KindProvider,
			RoleID: role.ID, Language: "nl"}, hash)
		return err
	})
	return b.login(t, email)
}

// TestDatastreamAccountScreens creates a hosted account through the form: the password shows
// once; a user without medical.view sees the flag disabled with the reason and a forged POST
// that ticks it is refused with 403 and audited; a bad form comes back with Dutch messages.
func TestDatastreamAccountScreens(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	admin := b.login(t, adminEmail)

	resp, doc := b.get(t, admin, "/admin/datastreams")
	if resp.StatusCode != http.StatusOK || doc.Find("a[href='/admin/datastreams']").Length() == 0 {
		t.Fatalf("accounts page: status %d, or no menu link", resp.StatusCode)
	}
	form := url.Values{"name": {"Warehouse"}, "type": {"hosted"}, "language": {"nl"}, "recipients": {"bi@arbo.nl"},
		"medical_field": {"1"}, "medical": {"on"}, "scope": {"all"}, "auth_method": {"password"}}
	resp = b.post(t, admin, "/admin/datastreams/accounts", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: status %d", resp.StatusCode)
	}
	page := resp.Header.Get("Location")
	_, doc = b.get(t, admin, page)
	password := doc.Find("#new-password").Text()
	if len(password) < 20 || !strings.HasPrefix(doc.Find("#sftp-user").Text(), "dk-") {
		t.Fatalf("account page after create: password %q, user %q", password, doc.Find("#sftp-user").Text())
	}
	if !doc.Find("#f-medical").Is("[checked]") {
		t.Error("medical flag not ticked")
	}
	if _, doc = b.get(t, admin, page); doc.Find("#new-password").Length() != 0 {
		t.Error("the password is shown a second time")
	}

	plain := addDatastreamUser(t, b, "datastreams@route.test", false)
	_, doc = b.get(t, plain, page)
	if !doc.Find("#f-medical").Is("[disabled]") || !strings.Contains(doc.Find("#medical-reason").Text(), "Medische gegevens inzien") {
		t.Error("the medical flag is not shown disabled with its reason to a user without medical.view")
	}
	if doc.Find("input[name=medical_field]").Length() != 0 {
		t.Error("the form offers the medical flag to a user without medical.view")
	}
	refused := b.auditCount(t, audit.DatastreamAccountRefused)
	forged := url.Values{"name": {"Warehouse"}, "language": {"nl"}, "medical_field": {"1"}, "scope": {"all"}, "auth_method": {"password"}}
	if resp := b.post(t, plain, page, forged); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged POST unticking the medical flag: status %d, want 403", resp.StatusCode)
	}
	if got := b.auditCount(t, audit.DatastreamAccountRefused); got != refused+1 {
		t.Errorf("refusals audited: %d, want %d", got, refused+1)
	}
	// Without the field, the same user may save, and the flag stays.
	forged.Del("medical_field")
	forged.Set("name", "Warehouse BI")
	if resp := b.post(t, plain, page, forged); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("save without the medical field: status %d", resp.StatusCode)
	}
	if _, doc = b.get(t, admin, page); !doc.Find("#f-medical").Is("[checked]") || doc.Find("#f-name").AttrOr("value", "") != "Warehouse BI" {
		t.Error("after the save by a user without medical.view: name not saved or medical flag changed")
	}

	bad := url.Values{"name": {""}, "type": {"external"}, "language": {"nl"}, "scope": {"all"}, "auth_method": {"password"},
		"host": {"a b"}, "port": {"0"}, "recipients": {"geen adres"}}
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/admin/datastreams/accounts", strings.NewReader(bad.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body.String(), "Vul een poort tussen 1 en 65535 in.") ||
		!strings.Contains(body.String(), "Een van de e-mailadressen klopt niet.") {
		t.Errorf("bad form: status %d, want 422 with the field messages", resp.StatusCode)
	}

	reader := b.login(t, "casemanager@demo.dossierkast.nl")
	if resp, _ := b.get(t, reader, "/admin/datastreams"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("accounts page without datastreams.manage: status %d, want 403", resp.StatusCode)
	}
}

// TestHostedFolderScreens opens a hosted account's folder in the browser's way: folders and
// files are listed, a file downloads (audited), and a path with ".." stays inside the folder.
func TestHostedFolderScreens(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	ctx := context.Background()
	admin := b.login(t, adminEmail)
	resp := b.post(t, admin, "/admin/datastreams/accounts", url.Values{"name": {"Map"}, "type": {"hosted"}, "language": {"nl"},
		"scope": {"all"}, "auth_method": {"password"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: status %d", resp.StatusCode)
	}
	page := resp.Header.Get("Location")
	accountID, err := uuid.Parse(strings.TrimPrefix(page, "/admin/datastreams/accounts/"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(b.blobDir))
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	folder := datastream.NewFolder(b.db.Pool, blobs, b.tenant, accountID)
	if _, err := folder.Upload(ctx, "bi/20270104T010000Z/werknemers.csv", strings.NewReader("id\n1\n")); err != nil {
		t.Fatal(err)
	}

	_, doc := b.get(t, admin, page+"/files")
	if got := doc.Find("#files a.folder").Text(); got != "bi/" {
		t.Errorf("top of the folder lists %q, want bi/", got)
	}
	_, doc = b.get(t, admin, page+"/files?path="+url.QueryEscape("../../bi/20270104T010000Z"))
	href, ok := doc.Find("#files a.file").Attr("href")
	if !ok || doc.Find("#files a.file").Text() != "werknemers.csv" {
		t.Fatalf("sub-folder via ../..: no werknemers.csv in\n%s", doc.Text())
	}
	before := b.auditCount(t, audit.DatastreamFileDownloaded)
	dl, err := admin.Get(b.srv.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if dl.StatusCode != http.StatusOK || string(body) != "id\n1\n" || !strings.Contains(dl.Header.Get("Content-Disposition"), "werknemers.csv") {
		t.Errorf("download: status %d, body %q, disposition %q", dl.StatusCode, body, dl.Header.Get("Content-Disposition"))
	}
	if got := b.auditCount(t, audit.DatastreamFileDownloaded); got != before+1 {
		t.Errorf("downloads audited: %d, want %d", got, before+1)
	}
	if resp, _ := b.get(t, admin, page+"/files?path=bestaat-niet"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing folder: status %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.get(t, admin, page+"/files/download?path=bi"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("downloading a folder: status %d, want 404", resp.StatusCode)
	}
}
