package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/bundle"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/mail"
)

// startBundleWorkers runs the app's River workers (jobs.Config, as a worker process) against
// the harness's database and blob store until the test ends, so the jobs the server queues get
// done.
func startBundleWorkers(t *testing.T, b *testBundle) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(b.blobDir))
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sender, err := mail.NewSender("", "", b.db.Pool) // the outbox: the export job mails its creator
	if err != nil {
		t.Fatal(err)
	}
	cfg := jobs.Config(config.ModeWorker, discard, jobs.NewWorkers(jobs.Deps{Pool: b.db.Pool, Blobs: blobs, PartSize: 1 << 30, Log: discard,
		Mail: sender, BaseURL: b.srv.URL, Keys: b.keys}))
	cfg.FetchPollInterval = 100 * time.Millisecond
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(b.db.Pool), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := rc.Stop(stopCtx); err != nil {
			t.Errorf("stop River workers: %v", err)
		}
		cancel()
		blobs.Close()
	})
}

// waitForBundle waits until the only bundle is done, and returns its id; it fails the test
// when the bundle fails or takes longer than a generous limit.
func (f *fdFixture) waitForBundle(t *testing.T) uuid.UUID {
	t.Helper()
	return f.waitFor(t, "bundles")
}

// waitFor waits until the only row of table (bundles or dossier_deletions) is done, and returns
// its id; it fails the test when the job fails or takes longer than a generous limit.
func (f *fdFixture) waitFor(t *testing.T, table string) uuid.UUID {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var id uuid.UUID
		var status, reason string
		f.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), "SELECT id, status, error FROM "+table).Scan(&id, &status, &reason)
		})
		switch {
		case status == string(bundle.StatusDone):
			return id
		case status == string(bundle.StatusFailed):
			t.Fatalf("%s: job failed: %s", table, reason)
		case time.Now().After(deadline):
			t.Fatalf("%s: job still %s after 30 s", table, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkZIP opens data as a ZIP archive, reads every entry through, and returns the entries'
// names in archive order.
func checkZIP(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a ZIP archive: %v", err)
	}
	var names []string
	for _, e := range zr.File {
		r, err := e.Open()
		if err != nil {
			t.Fatalf("open %s: %v", e.Name, err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatalf("read %s: %v", e.Name, err)
		}
		r.Close()
		names = append(names, e.Name)
	}
	return names
}

// fetchPage gets path with header and reads the answer as HTML.
func (b *testBundle) fetchPage(t *testing.T, c *http.Client, path string, header http.Header) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, body := b.fetch(t, c, path, header)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp, doc
}

// TestFullDossierDownload: a generated bundle shows as done with its parts; a part downloads
// as a ZIP with the workbook first, also in ranges; a colleague who sees every dossier in it
// may have it too; a blacklist entry made after generation refuses the requester (403 with
// the explanation, audited), and the other kind never sees it.
func TestFullDossierDownload(t *testing.T) {
	t.Parallel()
	f := newFDFixture(t, 12, true)
	startBundleWorkers(t, f.testBundle)
	hr := f.login(t, hrEmail)
	screen := fdPath(f.withProduct.ID, "")
	wantRedirect(t, f.post(t, hr, fdPath(f.withProduct.ID, "/generate"), nil), screen)
	id := f.waitForBundle(t)

	_, page := f.get(t, hr, screen)
	card := page.Find(`#bundle-` + id.String() + `[data-status="done"]`)
	if got, _ := card.Find(".progress-text").Attr("data-percent"); got != "100" {
		t.Errorf("progress of the done bundle = %q%%, want 100", got)
	}
	if page.Find(`#fulldossier-status[data-poll="false"]`).Length() != 1 || page.Find(".reload-hint").Length() != 0 {
		t.Error("the screen still polls, or asks for a reload, with nothing under way")
	}
	if got, want := textOf(page, "#bundle-"+id.String()+" .expiry"), nl("fulldossier.left.hours", 47); !strings.Contains(got, want) {
		t.Errorf("expiry %q does not say %q", got, want)
	}
	links := card.Find("table.parts a.download")
	if links.Length() < 1 {
		t.Fatal("no part to download")
	}
	part, _ := links.First().Attr("href")

	resp, data := f.fetch(t, hr, part, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download part 1: status %d", resp.StatusCode)
	}
	names := checkZIP(t, data)
	if len(names) < 2 || !strings.HasSuffix(names[0], ".xlsx") {
		t.Errorf("part 1 entries %q: want the workbook first, then documents", names)
	}

	t.Run("Range", func(t *testing.T) {
		resp, body := f.fetch(t, hr, part, http.Header{"Range": {"bytes=0-99"}})
		if resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("status %d, want 206", resp.StatusCode)
		}
		if got, want := resp.Header.Get("Content-Range"), "bytes 0-99/"+strconv.Itoa(len(data)); got != want {
			t.Errorf("Content-Range %q, want %q", got, want)
		}
		if !bytes.Equal(body, data[:100]) {
			t.Error("the range's bytes differ from the whole download's")
		}
		resp, body = f.fetch(t, hr, part, http.Header{"Range": {"bytes=100-"}})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:]) {
			t.Errorf("resuming from byte 100: status %d, %d bytes; want 206 and the rest", resp.StatusCode, len(body))
		}
	})

	// A colleague of the same kind who sees every dossier in the bundle may have it only when
	// his role also reads every category the bundle holds documents of: first with none of
	// them, then with the requester's matrix, then with one category short.
	t.Run("Colleague", func(t *testing.T) {
		colleague := f.login(t, fdEmail("hr-no-generate"))
		hrUser := demoUser(t, f.testBundle, hrEmail)
		guard := func(want int, message string) {
			t.Helper()
			resp, body := f.fetch(t, colleague, part, nil)
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
			if want == http.StatusOK && !bytes.Equal(body, data) {
				t.Errorf("%d bytes, want the part's %d", len(body), len(data))
			}
			if message != "" && !strings.Contains(string(body), nl(message)) {
				t.Errorf("the refusal does not say %q", nl(message))
			}
		}
		guard(http.StatusForbidden, "fulldossier.error.download_categories")
		f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `INSERT INTO category_permissions (tenant_id, role_id, category_id, level)
				SELECT app_tenant(), (SELECT role_id FROM users WHERE id = $1), category_id, level
				FROM category_permissions WHERE role_id = $2`, f.users["hr-no-generate"], hrUser.RoleID)
			return err
		})
		guard(http.StatusOK, "")
		f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `DELETE FROM category_permissions
				WHERE role_id = (SELECT role_id FROM users WHERE id = $1)
				AND category_id = (SELECT category_ids[1] FROM bundles WHERE id = $2)`, f.users["hr-no-generate"], id)
			return err
		})
		guard(http.StatusForbidden, "fulldossier.error.download_categories")
	})

	t.Run("OtherKind", func(t *testing.T) {
		if resp, _ := f.fetch(t, f.login(t, fdEmail("provider")), part, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a provider user downloading an employer bundle: status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("BlacklistedAfterGeneration", func(t *testing.T) {
		hrUser := demoUser(t, f.testBundle, hrEmail)
		f.inTenant(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `INSERT INTO user_blacklist (tenant_id, user_id, employee_id)
				SELECT app_tenant(), $1, employee_id FROM bundle_employees WHERE bundle_id = $2 ORDER BY employee_id LIMIT 1`,
				hrUser.ID, id)
			return err
		})
		before := f.auditCount(t, audit.DocumentRefused)
		for _, header := range []http.Header{nil, {"Range": {"bytes=0-99"}}} {
			resp, page := f.fetchPage(t, hr, part, header)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
			if got, want := textOf(page, "main"), nl("fulldossier.error.download_guard"); !strings.Contains(got, want) {
				t.Errorf("the refusal does not explain itself: %q", got)
			}
		}
		var n int
		f.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = $1
				AND details->>'message' = 'fulldossier.error.download_guard' AND user_id = $2`, audit.DocumentRefused, hrUser.ID).Scan(&n)
		})
		if after := f.auditCount(t, audit.DocumentRefused); n != 2 || after-before != 2 {
			t.Errorf("refusals audited with the guard's reason = %d (all refusals %d → %d), want 2", n, before, after)
		}
		// The screen no longer offers the parts as links that answer 403: it says why instead.
		_, screen := f.get(t, hr, "/employers/"+f.withProduct.ID.String()+"/full-dossier")
		article := screen.Find("#bundle-" + id.String())
		if article.Find("a.download").Length() != 0 || article.Find(".parts tbody tr").Length() == 0 {
			t.Errorf("bundle %s: %d download links beside %d parts, want none", id, article.Find("a.download").Length(),
				article.Find(".parts tbody tr").Length())
		}
		if got, want := strings.TrimSpace(article.Find(".download-refused").Text()), nl("fulldossier.error.download_guard"); got != want {
			t.Errorf("why beside the parts = %q, want %q", got, want)
		}
	})

	// Last, as it removes every document: a provider deletes the full dossier.
	t.Run("DeleteEverything", func(t *testing.T) {
		var docs int
		var size int64
		f.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), "SELECT count(*), coalesce(sum(size), 0) FROM documents WHERE employer_id = $1",
				f.withProduct.ID).Scan(&docs, &size)
		})
		provider := f.login(t, fdEmail("provider"))
		wantRedirect(t, f.post(t, provider, fdPath(f.withProduct.ID, "/delete"), url.Values{"confirm_name": {f.withProduct.Name}}), screen)
		deletion := f.waitFor(t, "dossier_deletions")
		_, page := f.get(t, provider, screen)
		row := page.Find(`#deletions tr[data-deletion="` + deletion.String() + `"][data-status="done"] td.num`)
		got := []string{row.Eq(0).Text(), row.Eq(1).Text()}
		if want := []string{i18n.Number(docs), document.FormatSize(size)}; !slices.Equal(got, want) {
			t.Errorf("deletion shows %q deleted, want %q", got, want)
		}
		_, page = f.get(t, hr, screen)
		if n := page.Find(".bundle").Length(); n != 0 {
			t.Errorf("bundles left on the screen after the deletion: %d", n)
		}
		if resp, _ := f.fetch(t, hr, part, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("download of a deleted part: status %d, want 404", resp.StatusCode)
		}
	})
}
