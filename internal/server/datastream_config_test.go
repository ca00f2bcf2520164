package server_test

import (
	"context"
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
