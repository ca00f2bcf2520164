package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/secret"
	"github.com/dossierkast/dossierkast/internal/server"
)

// testBundle is a running application on a fresh database with the demo tenant loaded.
type testBundle struct {
	db     dbtest.DB
	app    *server.Server
	srv    *httptest.Server
	demo   demo.Result
	river  *river.Client[pgx.Tx]
	tenant uuid.UUID
	// blobDir is the folder of the file:// blob store that holds the documents' bytes.
	blobDir string
	// keys is the server's keyring of secrets, which the workers open them with too.
	keys *secret.Keyring
}

// harnessOption changes the server's options before it starts.
type harnessOption func(*server.Options)

// withMaxUpload sets the largest upload (the harness default is defaultTestMaxUpload).
func withMaxUpload(n int64) harnessOption {
	return func(o *server.Options) { o.MaxUploadSize = n }
}

// defaultTestMaxUpload keeps tests of the size limit small.
const defaultTestMaxUpload = 1 << 20

// setup starts the whole web application against its own database, with the demo tenant
// (employees demo employees) and a blob store in a temporary folder.
func setup(t *testing.T, employees int, opts ...harnessOption) *testBundle {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	res, err := demo.Load(ctx, db.Pool, demo.Options{Employees: employees})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSender("", "", db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	blobDir := t.TempDir()
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(blobDir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	o := server.Options{Pool: db.Pool, River: rc, Mail: sender,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: server.NewMetrics(db.Pool),
		Blobs: blobs, MaxUploadSize: defaultTestMaxUpload, Keys: secret.NewKeyring(secret.GenerateKey())}
	for _, opt := range opts {
		opt(&o)
	}
	s := server.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testBundle{db: db, app: s, srv: srv, demo: res, river: rc, tenant: res.TenantID, blobDir: blobDir, keys: o.Keys}
}

// client returns a browser-like client with its own cookie jar that does not follow redirects.
func (b *testBundle) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login returns a client logged in as the demo user with that e-mail address.
func (b *testBundle) login(t *testing.T, email string) *http.Client {
	t.Helper()
	c := b.client(t)
	resp := b.post(t, c, "/login", url.Values{"email": {email}, "password": {demo.Password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("log in as %s: status %d, location %q", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

// get fetches path and returns the response with its body read into a document.
func (b *testBundle) get(t *testing.T, c *http.Client, path string) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, err := c.Get(b.srv.URL + path)
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

// post submits a form the way a browser on the same site does.
func (b *testBundle) post(t *testing.T, c *http.Client, path string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// inTenant runs fn in the demo tenant, as the application role.
func (b *testBundle) inTenant(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := database.InTenant(context.Background(), b.db.Pool, b.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// auditCount counts the demo tenant's audit events with an action.
func (b *testBundle) auditCount(t *testing.T, action string) int {
	t.Helper()
	var n int
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE action = $1", action).Scan(&n)
	})
	return n
}

func TestHarness(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	c := b.login(t, "beheerder@demo.dossierkast.nl")
	resp, doc := b.get(t, c, "/employees")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := doc.Find("#employees tbody tr").Length(); n != 20 {
		t.Errorf("employees listed = %d, want 20", n)
	}
}
