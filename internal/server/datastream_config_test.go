package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
)

// TestDatastreamConfigScreens creates a configuration from the account page: mandatory columns
// show ticked and locked, a bad form comes back with Dutch messages (422), run now records a
// queued run in the history (a second one is refused with 409), a since date that is not a
// date is refused, archiving makes the page read-only; the catalogue page lists every stream.
func TestDatastreamConfigScreens(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	admin := b.login(t, adminEmail)
	resp := b.post(t, admin, "/admin/datastreams/accounts", url.Values{"name": {"Warehouse"}, "type": {"hosted"},
		"language": {"nl"}, "scope": {"all"}, "auth_method": {"password"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create account: status %d", resp.StatusCode)
	}
	account := resp.Header.Get("Location")
	_, doc := b.get(t, admin, account)
	newLink, _ := doc.Find("#new-config").Attr("href")
	if newLink != account+"/configs/new" {
		t.Fatalf("account page links %q to a new configuration", newLink)
	}
	resp, doc = b.get(t, admin, newLink)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("new configuration: status %d", resp.StatusCode)
	}
	if key := doc.Find("#col-werknemers-werknemer_id"); key.AttrOr("disabled", "no") == "no" || key.AttrOr("checked", "no") == "no" {
		t.Error("the mandatory key column is not shown ticked and locked")
	}
	if doc.Find("#col-werknemers-achternaam").AttrOr("disabled", "no") != "no" {
		t.Error("an optional column is locked")
	}

	resp = b.post(t, admin, account+"/configs", url.Values{"name": {"BI"}, "version": {"v1"}, "streams": {"beschikkingen"},
		"frequency": {"weekly"}, "mode": {"incremental"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("v2-only stream in v1: status %d, want 422", resp.StatusCode)
	}
	resp = b.post(t, admin, account+"/configs", url.Values{"name": {"BI / Data"}, "version": {"v2"}, "streams": {"werknemers", "verzuim"},
		"columns.werknemers": {"achternaam"}, "scheduled": {"on"}, "frequency": {"daily"}, "mode": {"incremental"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create configuration: status %d", resp.StatusCode)
	}
	config := resp.Header.Get("Location")
	_, doc = b.get(t, admin, config)
	if got := doc.Find("#config-folder").Text(); got != "bi-data" {
		t.Errorf("folder %q, want bi-data", got)
	}
	if doc.Find("#col-werknemers-achternaam").AttrOr("checked", "no") == "no" {
		t.Error("the chosen column is not ticked")
	}
	_, doc = b.get(t, admin, account)
	if doc.Find("#configs a[href='"+config+"']").Length() != 1 {
		t.Error("the account page does not list the configuration")
	}

	if resp = b.post(t, admin, config+"/run", url.Values{"mode": {"since"}, "since": {"gisteren"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("run since a non-date: status %d, want 422", resp.StatusCode)
	}
	day := time.Now().In(delivery.Amsterdam).AddDate(0, 0, -3).Format(time.DateOnly)
	if resp = b.post(t, admin, config+"/run", url.Values{"mode": {"since"}, "since": {time.Now().AddDate(0, 0, -40).Format(time.DateOnly)}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("run since a date before the change retention: status %d, want 422", resp.StatusCode)
	}
	if resp = b.post(t, admin, config+"/run", url.Values{"mode": {"since"}, "since": {day}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run now: status %d", resp.StatusCode)
	}
	if resp = b.post(t, admin, config+"/run", url.Values{"mode": {"full"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("second run while one is queued: status %d, want 409", resp.StatusCode)
	}
	var since time.Time
	b.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT since FROM datastream_runs WHERE mode = 'since'`).Scan(&since)
	})
	if got := since.In(delivery.Amsterdam); got.Format(time.DateOnly) != day || got.Hour() != 0 || got.Minute() != 0 {
		t.Errorf("since %s, want %s 00:00 Amsterdam time", got, day)
	}
	_, doc = b.get(t, admin, config)
	if doc.Find("#runs tr.run").Length() != 1 {
		t.Errorf("history shows %d runs, want 1", doc.Find("#runs tr.run").Length())
	}
	// While the run is queued the history polls itself (the full dossier's script); asked with
	// HX-Request the page is only the history.
	if doc.Find(`#config-runs[data-poll="true"] #runs tr[data-status="queued"]`).Length() != 1 ||
		doc.Find(`script[src="/static/fulldossier.js"]`).Length() != 1 || doc.Find(`#config-runs .reload-hint a[href="`+config+`"]`).Length() != 1 {
		t.Error("a queued run's history does not poll, or has no reload link")
	}
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+config, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	fresp, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fragment, err := io.ReadAll(fresp.Body)
	fresp.Body.Close()
	if err != nil || fresp.StatusCode != http.StatusOK || !strings.HasPrefix(string(fragment), `<div id="config-runs" data-poll="true">`) ||
		strings.Contains(string(fragment), "<html") || fresp.Header.Get("Vary") != "HX-Request" {
		t.Errorf("history fragment: status %d, Vary %q:\n%.300s", fresp.StatusCode, fresp.Header.Get("Vary"), fragment)
	}
	// A running run shows its progress; a failed one why, in the reader's language, and the
	// interruption of its process.
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE datastream_runs SET status = 'running', files_done = 1, files_total = 3, rows_done = 12345`)
		return err
	})
	_, doc = b.get(t, admin, config)
	if got := doc.Find("#runs .run-progress").Text(); got != "1 van 3 bestanden, 12.345 rijen" {
		t.Errorf("progress %q", got)
	}
	b.inTenant(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE datastream_runs SET status = 'failed', interrupted_at = now(),
			failure = '{"key": "datastream.failure.step_path", "step": "rename", "args": ["bi/x/werknemers.csv", "permission denied"]}'`)
		return err
	})
	_, doc = b.get(t, admin, config)
	if got := doc.Find("#runs .run-error").Text(); strings.TrimSpace(got) != "Levering mislukt bij stap ‘bestand hernoemen’ (bi/x/werknemers.csv): permission denied" ||
		doc.Find("#runs .run-interrupted").Length() != 1 || doc.Find(`#config-runs[data-poll="false"]`).Length() != 1 {
		t.Errorf("failed run shows %q, interruption shown %d times, or still polls", got, doc.Find("#runs .run-interrupted").Length())
	}

	if resp = b.post(t, admin, config+"/archive", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("archive: status %d", resp.StatusCode)
	}
	_, doc = b.get(t, admin, config)
	if doc.Find("#save").Length() != 0 || doc.Find("#run-form").Length() != 0 || doc.Find("#runs tr.run").Length() != 1 {
		t.Error("an archived configuration still offers save or run, or lost its history")
	}
	if resp = b.post(t, admin, config, url.Values{"name": {"X"}, "version": {"v2"}, "streams": {"werknemers"},
		"frequency": {"daily"}, "mode": {"full"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("edit of an archived configuration: status %d, want 422", resp.StatusCode)
	}

	resp, doc = b.get(t, admin, "/admin/datastreams/catalogue")
	if resp.StatusCode != http.StatusOK || doc.Find("#stream-polisdeelnemers").Length() != 1 ||
		!strings.Contains(doc.Text(), "geboortejaar") {
		t.Errorf("catalogue: status %d, or a stream or column missing", resp.StatusCode)
	}
}
