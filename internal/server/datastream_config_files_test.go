package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
	"github.com/dossierkast/dossierkast/internal/document"
)

// TestConfigFolderScreens opens one configuration's folder ("open folder" on its page) for both
// account types: the hosted folder and an external OpenSSH server. It shows only that
// configuration's folder within the account (its deliveries, not a neighbour's files, even by
// ".."), a delivery's file downloads with its content and is audited on the configuration, and a
// configuration that has not delivered yet shows an empty folder.
func TestConfigFolderScreens(t *testing.T) {
	sshdtest.Require(t)
	t.Parallel()
	b := setup(t, 5)
	ctx := context.Background()
	admin := b.login(t, adminEmail)
	srv := sshdtest.Start(t)
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(b.blobDir))
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()

	// newConfig creates an account from form and a configuration "BI" on it, and returns the
	// account's id and the configuration's page.
	newConfig := func(t *testing.T, form url.Values) (uuid.UUID, string) {
		t.Helper()
		resp := b.post(t, admin, "/admin/datastreams/accounts", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create account: status %d", resp.StatusCode)
		}
		account := resp.Header.Get("Location")
		id, err := uuid.Parse(strings.TrimPrefix(account, "/admin/datastreams/accounts/"))
		if err != nil {
			t.Fatal(err)
		}
		resp = b.post(t, admin, account+"/configs", url.Values{"name": {"BI"}, "version": {"v2"}, "streams": {"werknemers"},
			"frequency": {"weekly"}, "mode": {"incremental"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create configuration: status %d", resp.StatusCode)
		}
		return id, resp.Header.Get("Location")
	}
	const content = "werknemer_id,mutation,mutation_time\r\n"
	for _, tc := range []struct {
		name string
		form url.Values
		// put writes a file at name (relative to the account's folder).
		put func(t *testing.T, account uuid.UUID, name, data string)
	}{
		{"Hosted", url.Values{"name": {"Gehost"}, "type": {"hosted"}, "language": {"nl"}, "scope": {"all"}, "auth_method": {"password"}},
			func(t *testing.T, account uuid.UUID, name, data string) {
				if _, err := datastream.NewFolder(b.db.Pool, blobs, b.tenant, account).Upload(ctx, name, strings.NewReader(data)); err != nil {
					t.Fatal(err)
				}
			}},
		{"External", url.Values{"name": {"Extern"}, "type": {"external"}, "language": {"nl"}, "scope": {"all"}, "auth_method": {"password"},
			"host": {srv.Host}, "port": {strconv.Itoa(srv.Port)}, "remote_user": {srv.User}, "password": {srv.Password}, "base_dir": {srv.Root}},
			func(t *testing.T, _ uuid.UUID, name, data string) {
				p := srv.Path(srv.Root + "/" + name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			account, config := newConfig(t, tc.form)
			if tc.name == "External" {
				err := database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE datastream_accounts SET host_key = $2 WHERE id = $1`, account, srv.HostKey)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			_, doc := b.get(t, admin, config)
			files, ok := doc.Find("#config-open-folder").Attr("href")
			if !ok || files != config+"/files" {
				t.Fatalf("the configuration page's open-folder link is %q, want %s/files", files, config)
			}
			resp, doc := b.get(t, admin, files)
			if resp.StatusCode != http.StatusOK || doc.Find("#files").Length() != 0 || doc.Find("#folder-path").Text() != "/bi" {
				t.Errorf("before any delivery: status %d, path %q, want 200 and an empty /bi", resp.StatusCode, doc.Find("#folder-path").Text())
			}

			tc.put(t, account, "bi/20270104T010000Z/werknemers.csv", content)
			tc.put(t, account, "ander/geheim.csv", "niet van BI")
			_, doc = b.get(t, admin, files)
			if got := doc.Find("#files a.folder").Text(); got != "20270104T010000Z/" {
				t.Errorf("the configuration's folder lists %q, want its one delivery", got)
			}
			_, doc = b.get(t, admin, files+"?path="+url.QueryEscape("20270104T010000Z"))
			href, ok := doc.Find("#files a.file").Attr("href")
			if !ok || doc.Find("#files a.file").Text() != "werknemers.csv" || doc.Find("#folder-path").Text() != "/bi/20270104T010000Z" {
				t.Fatalf("the delivery's folder: no werknemers.csv in\n%s", doc.Text())
			}
			before := b.auditCount(t, audit.DatastreamFileDownloaded)
			dl, err := admin.Get(b.srv.URL + href)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(dl.Body)
			dl.Body.Close()
			if dl.StatusCode != http.StatusOK || string(body) != content || !strings.Contains(dl.Header.Get("Content-Disposition"), "werknemers.csv") {
				t.Errorf("download: status %d, body %q, disposition %q", dl.StatusCode, body, dl.Header.Get("Content-Disposition"))
			}
			if got := b.auditCount(t, audit.DatastreamFileDownloaded); got != before+1 {
				t.Errorf("downloads audited: %d, want %d", got, before+1)
			}
			configID := strings.TrimPrefix(config, "/admin/datastreams/configs/")
			var subject, path string
			err = database.InTenant(ctx, b.db.Pool, b.tenant, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT subject_type || '/' || subject_id, details->>'path' FROM audit_events
					WHERE action = $1 ORDER BY at DESC, id DESC LIMIT 1`, audit.DatastreamFileDownloaded).Scan(&subject, &path)
			})
			if err != nil || subject != "datastream_config/"+configID || path != "bi/20270104T010000Z/werknemers.csv" {
				t.Errorf("download audited on %q with path %q (%v), want the configuration and the path in the account", subject, path, err)
			}
			// A neighbour's files stay out of reach, whatever the path says.
			for _, p := range []string{"../ander", "../../ander/geheim.csv", "/ander"} {
				if resp, _ := b.get(t, admin, files+"?path="+url.QueryEscape(p)); resp.StatusCode != http.StatusNotFound {
					t.Errorf("folder %q: status %d, want 404", p, resp.StatusCode)
				}
				if resp, _ := b.get(t, admin, files+"/download?path="+url.QueryEscape(p)); resp.StatusCode != http.StatusNotFound {
					t.Errorf("download %q: status %d, want 404", p, resp.StatusCode)
				}
			}
			if resp, _ := b.get(t, admin, files+"/download?path="+url.QueryEscape("20270104T010000Z")); resp.StatusCode != http.StatusNotFound {
				t.Errorf("downloading a folder: status %d, want 404", resp.StatusCode)
			}
		})
	}
	// Without datastreams.manage: refused, and audited as a refusal.
	reader := b.login(t, "casemanager@demo.dossierkast.nl")
	_, config := newConfig(t, url.Values{"name": {"Nog een"}, "type": {"hosted"}, "language": {"nl"}, "scope": {"all"}, "auth_method": {"password"}})
	before := b.auditCount(t, audit.DatastreamAccountRefused)
	for _, p := range []string{"/files", "/files/download?path=x"} {
		if resp, _ := b.get(t, reader, config+p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without datastreams.manage: status %d, want 403", p, resp.StatusCode)
		}
	}
	if got := b.auditCount(t, audit.DatastreamAccountRefused); got != before+2 {
		t.Errorf("refusals audited: %d, want %d", got, before+2)
	}
}
