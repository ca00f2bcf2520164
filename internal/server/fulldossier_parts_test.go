package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// partFixture is a generated employer bundle (by hr) and the bytes of its part 1.
type partFixture struct {
	*fdFixture
	bundle, part uuid.UUID
	data         []byte
}

func newPartFixture(t *testing.T) *partFixture {
	t.Helper()
	f := &partFixture{fdFixture: newFDFixture(t, 12, true)}
	startBundleWorkers(t, f.testBundle)
	hr := f.login(t, hrEmail)
	wantRedirect(t, f.post(t, hr, fdPath(f.withProduct.ID, "/generate"), nil), fdPath(f.withProduct.ID, ""))
	f.bundle = f.waitForBundle(t)
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM documents WHERE bundle_id = $1 AND bundle_part = 1", f.bundle).Scan(&f.part)
	})
	resp, data := f.fetch(t, hr, f.partPath(), nil)
	if resp.StatusCode != http.StatusOK || len(data) < 200 {
		t.Fatalf("the requester's download of part 1: status %d, %d bytes", resp.StatusCode, len(data))
	}
	f.data = data
	return f
}

func (f *partFixture) partPath() string { return "/documents/" + f.part.String() }

// exec runs sql in the demo tenant with args.
func (f *partFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	f.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), sql, args...)
		return err
	})
}

// giveRequesterMatrix gives the role of user the category levels of hr's role.
func (f *partFixture) giveRequesterMatrix(t *testing.T, user uuid.UUID) {
	t.Helper()
	hrUser := demoUser(t, f.testBundle, hrEmail)
	f.exec(t, `INSERT INTO category_permissions (tenant_id, role_id, category_id, level)
		SELECT app_tenant(), (SELECT role_id FROM users WHERE id = $1), category_id, level
		FROM category_permissions WHERE role_id = $2
		ON CONFLICT DO NOTHING`, user, hrUser.RoleID)
}

// leaks reports whether body carries bytes of the part: its start or its end.
func (f *partFixture) leaks(body []byte) bool {
	return bytes.Contains(body, f.data[:64]) || bytes.Contains(body, f.data[len(f.data)-64:])
}

// partRequests are the ways to ask for a part's bytes: whole, one range, several ranges, a
// suffix, a resumed download, a conditional range, a conditional request.
var partRequests = map[string]struct {
	method string
	header http.Header
}{
	"Whole":       {http.MethodGet, nil},
	"Range":       {http.MethodGet, http.Header{"Range": {"bytes=0-99"}}},
	"Ranges":      {http.MethodGet, http.Header{"Range": {"bytes=0-9,100-199"}}},
	"Suffix":      {http.MethodGet, http.Header{"Range": {"bytes=-100"}}},
	"Resume":      {http.MethodGet, http.Header{"Range": {"bytes=100-"}}},
	"IfRange":     {http.MethodGet, http.Header{"Range": {"bytes=0-99"}}},
	"IfNoneMatch": {http.MethodGet, http.Header{"If-None-Match": {`"x"`}}},
}

// TestBundlePartDownloadGuard: every way of asking for a part's bytes applies the download
// guard. A colleague of the requester's kind with his matrix gets them; one missing a single
// category of the bundle, or a single employee in it (a blacklist entry), gets 403 with the
// explanation and none of the bytes; and no route of the application, asked with the part's id
// in every path parameter, hands the refused colleague any of its bytes.
func TestBundlePartDownloadGuard(t *testing.T) {
	t.Parallel()
	f := newPartFixture(t)
	colleagueID := f.users["hr-no-generate"]
	colleague := f.login(t, fdEmail("hr-no-generate"))
	f.giveRequesterMatrix(t, colleagueID)

	each := func(t *testing.T, want int, message string) {
		t.Helper()
		for name, rq := range partRequests {
			header := rq.header
			if name == "IfRange" {
				sum := sha256.Sum256(f.data)
				header = http.Header{"Range": {"bytes=0-99"}, "If-Range": {`"` + hex.EncodeToString(sum[:]) + `"`}}
			}
			resp, body := f.request(t, colleague, rq.method, f.partPath(), header)
			status := want
			if want == http.StatusOK && header.Get("Range") != "" {
				status = http.StatusPartialContent
			}
			if resp.StatusCode != status {
				t.Errorf("%s: status %d, want %d", name, resp.StatusCode, status)
			}
			if want != http.StatusOK {
				if f.leaks(body) {
					t.Errorf("%s: the refusal carries bytes of the part", name)
				}
				if rq.method == http.MethodGet && !strings.Contains(string(body), nl(message)) {
					t.Errorf("%s: the refusal does not say %q", name, nl(message))
				}
			}
		}
	}

	t.Run("Allowed", func(t *testing.T) { each(t, http.StatusOK, "") })
	t.Run("OneCategoryShort", func(t *testing.T) {
		f.exec(t, `DELETE FROM category_permissions WHERE role_id = (SELECT role_id FROM users WHERE id = $1)
			AND category_id = (SELECT category_ids[1] FROM bundles WHERE id = $2)`, colleagueID, f.bundle)
		each(t, http.StatusForbidden, "fulldossier.error.download_categories")
		f.giveRequesterMatrix(t, colleagueID)
	})
	t.Run("OneEmployeeShort", func(t *testing.T) {
		f.exec(t, `INSERT INTO user_blacklist (tenant_id, user_id, employee_id)
			SELECT app_tenant(), $1, employee_id FROM bundle_employees WHERE bundle_id = $2 ORDER BY employee_id DESC LIMIT 1`,
			colleagueID, f.bundle)
		each(t, http.StatusForbidden, "fulldossier.error.download_guard")

		// No route serves the refused colleague the part's bytes, whatever its path parameters:
		// every GET route of routes.go, with the part's id in each parameter.
		src, err := os.ReadFile("routes.go")
		if err != nil {
			t.Fatal(err)
		}
		tried := 0
		for _, m := range regexp.MustCompile(`\.Get\("([^"]*\{[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
			route := m[1]
			path := regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(route, f.part.String())
			tried++
			for _, header := range []http.Header{nil, {"Range": {"bytes=0-99"}}} {
				if resp, body := f.request(t, colleague, http.MethodGet, path, header); f.leaks(body) {
					t.Errorf("GET %s (%s, status %d) serves the part's bytes to a colleague the guard refuses", path, route, resp.StatusCode)
				}
			}
		}
		if tried < 10 {
			t.Errorf("only %d routes with parameters tried", tried)
		}
	})
}

// TestBundlePartNotDeletedAlone: a part of a full dossier is no document to delete on its own.
// The dossier's list offers no delete link for it but points to the full-dossier screen; the
// confirmation and the delete itself answer 409 with the explanation for a user who may delete
// documents, and the part and its blob stay. Without documents.delete it is 403, for a user who
// cannot read it 404, as for any document.
func TestBundlePartNotDeletedAlone(t *testing.T) {
	t.Parallel()
	f := newPartFixture(t)
	f.exec(t, `UPDATE roles SET rights = array_append(rights, 'documents.delete')
		WHERE id = (SELECT role_id FROM users WHERE email = $1)`, hrEmail)
	hr := f.login(t, hrEmail)

	_, page := f.get(t, hr, "/employers/"+f.withProduct.ID.String())
	row := page.Find(`tr[data-document="` + f.part.String() + `"]`)
	if row.Length() != 1 || row.Find("a.delete").Length() != 0 {
		t.Errorf("the employer dossier lists the part %d times, with %d delete links; want once without", row.Length(), row.Find("a.delete").Length())
	}
	if href, _ := row.Find("a.bundle-part").Attr("href"); href != fdPath(f.withProduct.ID, "") {
		t.Errorf("the part's row points to %q, want the full-dossier screen", href)
	}
	if page.Find("a.delete").Length() == 0 {
		t.Error("no other document of the employer dossier offers a delete link: the test proves nothing")
	}

	colleague := f.login(t, fdEmail("hr-no-generate")) // no documents.delete
	f.giveRequesterMatrix(t, f.users["hr-no-generate"])
	provider := f.login(t, fdEmail("provider")) // the other kind: the part is not his to see
	deletePath := f.partPath() + "/delete"
	for name, tc := range map[string]struct {
		c    *http.Client
		want int
	}{"MayDelete": {hr, http.StatusConflict}, "NoDeleteRight": {colleague, http.StatusForbidden}, "OtherKind": {provider, http.StatusNotFound}} {
		resp, page := f.get(t, tc.c, deletePath)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: GET %s: status %d, want %d", name, deletePath, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusConflict && !strings.Contains(textOf(page, "main"), nl("document.error.bundle_part")) {
			t.Errorf("%s: the refusal does not explain itself: %q", name, textOf(page, "main"))
		}
		if got := f.post(t, tc.c, deletePath, nil).StatusCode; got != tc.want {
			t.Errorf("%s: POST %s: status %d, want %d", name, deletePath, got, tc.want)
		}
	}
	if resp, data := f.fetch(t, hr, f.partPath(), nil); resp.StatusCode != http.StatusOK || !bytes.Equal(data, f.data) {
		t.Errorf("after the refused deletes the part answers %d with %d bytes, want 200 and its %d", resp.StatusCode, len(data), len(f.data))
	}
}

// TestExpiredPartGoneAtOnce: a part past its expiry that the sweep has not removed yet is gone on
// every route that could show or serve it, for its requester too.
func TestExpiredPartGoneAtOnce(t *testing.T) {
	t.Parallel()
	f := newPartFixture(t)
	hr := f.login(t, hrEmail)
	f.exec(t, "UPDATE documents SET expires_at = now() - interval '1 second' WHERE bundle_id = $1", f.bundle)
	f.exec(t, "UPDATE bundles SET expires_at = now() - interval '1 second' WHERE id = $1", f.bundle)
	for _, path := range []string{f.partPath(), f.partPath() + "/delete"} {
		if resp, _ := f.get(t, hr, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	if resp := f.post(t, hr, f.partPath()+"/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s/delete = %d, want 404", f.partPath(), resp.StatusCode)
	}
	for _, page := range []string{"/employers/" + f.withProduct.ID.String(), fdPath(f.withProduct.ID, "")} {
		resp, doc := f.get(t, hr, page)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", page, resp.StatusCode)
		}
		if html, _ := doc.Html(); strings.Contains(html, f.part.String()) {
			t.Errorf("GET %s still links to the expired part", page)
		}
	}
}
