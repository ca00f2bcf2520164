package server_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
)

// TestBrowserDatastreamConfig clicks through a configuration of a hosted account in headless
// Chromium: create it with two optional columns ticked, untick one (the mandatory key column
// is shown ticked and cannot be unticked; a forged POST without it keeps it), run now and
// watch the run turn Geslaagd without a reload, open the folder, and download the employees'
// file, whose rows must be the tenant's employees with the chosen columns only.
func TestBrowserDatastreamConfig(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	b := setup(t, 6)

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	br.step("log in", logIn(b.srv.URL, adminEmail)...)
	br.step("create a hosted account",
		chromedp.Navigate(b.srv.URL+"/admin/datastreams"),
		afterLoad(chromedp.Click(chromedp.ID("new-account"))),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Warehouse"),
		chromedp.SetValue(chromedp.ID("f-type"), "hosted"),
		afterLoad(chromedp.Click(chromedp.ID("save"))),
		chromedp.WaitVisible(chromedp.ID("new-config")),
	)
	const mandatory = "#col-werknemers-werknemer_id"
	var locked bool
	br.step("create a configuration with two optional columns",
		afterLoad(chromedp.Click(chromedp.ID("new-config"))),
		chromedp.WaitVisible(chromedp.ID("config-form")),
		chromedp.SendKeys(chromedp.ID("f-name"), "BI Browser"),
		toggle(`input[name="streams"][value="werknemers"]`),
		into(&locked, chromedp.Evaluate[bool](`(() => {
			const box = document.querySelector("`+mandatory+`");
			box.click(); // a disabled checkbox ignores the click
			return box.disabled && box.checked && !box.name;
		})()`)),
		check(func() error {
			if !locked {
				return fmt.Errorf("the mandatory column can be unticked, or is submitted")
			}
			return nil
		}),
		toggle("#col-werknemers-achternaam"),
		toggle("#col-werknemers-datum_in_dienst"),
		afterLoad(chromedp.Click(chromedp.ID("save"))),
		chromedp.WaitVisible(chromedp.ID("run-form")),
	)
	var configPath string
	br.step("untick an optional column",
		into(&configPath, chromedp.Evaluate[string](`window.location.pathname`)),
		toggle("#col-werknemers-datum_in_dienst"),
		afterLoad(chromedp.Click(chromedp.ID("save"))),
		chromedp.WaitVisible(chromedp.ID("run-form")),
	)
	id, err := uuid.Parse(strings.TrimPrefix(configPath, "/admin/datastreams/configs/"))
	if err != nil {
		t.Fatalf("configuration page %q: %v", configPath, err)
	}
	columns := func() []string {
		var c delivery.Config
		b.inTenant(t, func(tx pgx.Tx) (err error) {
			c, err = delivery.FindConfigByID(context.Background(), tx, id)
			return err
		})
		return c.Columns["werknemers"]
	}
	want := []string{"werknemer_id", "werkgever_id", "achternaam"}
	if got := columns(); !slices.Equal(got, want) {
		t.Fatalf("werknemers columns %q after unticking datum_in_dienst, want %q", got, want)
	}
	var status int
	br.step("forge a POST without the mandatory column",
		into(&status, chromedp.Evaluate[int](`(async () => {
			const form = new FormData(document.getElementById("config-form"));
			form.delete("columns.werknemers");
			form.append("columns.werknemers", "achternaam");
			const resp = await fetch(window.location.pathname, {method: "POST", body: new URLSearchParams(form),
				credentials: "same-origin", redirect: "manual"});
			return resp.type === "opaqueredirect" ? 303 : resp.status;
		})()`, chromedp.EvalAwaitPromise)),
	)
	if got := columns(); status != 303 || !slices.Equal(got, want) {
		t.Errorf("forged POST: status %d, columns %q; want the mandatory columns kept: %q", status, got, want)
	}

	// The workers start only once the page shows the run queued, so what follows is the page's
	// own script following the run.
	br.step("run now",
		chromedp.Navigate(b.srv.URL+configPath),
		chromedp.WaitVisible(chromedp.ID("run-form")),
		afterLoad(chromedp.Click(chromedp.ID("run"))),
		chromedp.WaitVisible(chromedp.CSS(`#config-runs[data-poll="true"] #runs tr[data-status="queued"]`)),
		chromedp.Evaluate[chromedp.Void](`window.runTest = "same page"`),
	)
	startBundleWorkers(t, b)
	var marker, badge string
	br.step("watch the run finish",
		chromedp.WaitVisible(chromedp.CSS(`#config-runs[data-poll="false"] #runs tr[data-status="succeeded"]`)),
		into(&marker, chromedp.Evaluate[string](`window.runTest || "reloaded"`)),
		into(&badge, chromedp.Text(chromedp.CSS(`#runs tr[data-status="succeeded"] .badge`))),
		check(func() error {
			if marker != "same page" {
				return fmt.Errorf("the page was reloaded to show the run")
			}
			if badge != "Geslaagd" {
				return fmt.Errorf("run status %q, want Geslaagd", badge)
			}
			return nil
		}),
	)
	var data string
	br.step("open the folder and download the employees' file",
		afterLoad(chromedp.Click(chromedp.ID("config-open-folder"))),
		chromedp.WaitVisible(chromedp.CSS(`#files a.folder`)),
		afterLoad(chromedp.Click(chromedp.CSS(`#files a.folder`))),
		chromedp.WaitVisible(chromedp.CSS(`#files a.file`)),
		into(&data, chromedp.Evaluate[string](`(async () => {
			const link = [...document.querySelectorAll("#files a.file")].find(a => a.textContent === "werknemers.csv");
			if (!link) { throw new Error("no werknemers.csv in the folder"); }
			const resp = await fetch(link.href, {credentials: "same-origin"});
			if (!resp.ok) { throw new Error("status " + resp.status); }
			return await resp.text();
		})()`, chromedp.EvalAwaitPromise)),
	)
	records, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("werknemers.csv: %v\n%s", err, data)
	}
	if header := strings.Join(records[0], ","); header != "werknemer_id,mutation,mutation_time,werkgever_id,achternaam" {
		t.Errorf("header %q", header)
	}
	lastNames := map[string]string{}
	b.inTenant(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT id::text, last_name FROM employees`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			lastNames[id] = name
		}
		return rows.Err()
	})
	if len(records)-1 != len(lastNames) || len(lastNames) == 0 {
		t.Errorf("werknemers.csv has %d rows, the tenant %d employees", len(records)-1, len(lastNames))
	}
	for _, r := range records[1:] {
		if name, ok := lastNames[r[0]]; !ok || r[1] != "insert" || r[4] != name {
			t.Errorf("row %q: want an insert of an employee with last name %q", r, name)
		}
	}
}

// toggle clicks the checkbox selector names as a user's click does (its click event), without
// a mouse position that the opening of a <details> could move.
func toggle(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelector(` + "`" + selector + "`" + `).click()`)
}
