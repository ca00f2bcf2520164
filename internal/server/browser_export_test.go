package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/dossierkast/dossierkast/internal/export"
)

// fetchBase64 is a script that fetches the href of the element sel and returns its body in
// base64.
func fetchBase64(sel string) string {
	return `(async () => {
		const link = document.querySelector('` + sel + `');
		const resp = await fetch(link.href, {credentials: "same-origin"});
		if (!resp.ok) { throw new Error("status " + resp.status); }
		const bytes = new Uint8Array(await resp.arrayBuffer());
		let s = "";
		for (let i = 0; i < bytes.length; i += 0x8000) {
			s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
		}
		return btoa(s);
	})()`
}

// TestBrowserExport exports an employee's dossier in headless Chromium as the administrator:
// from the dossier to the Exporteren tab, starts an export with a reason, watches the status
// turn Klaar without reloading the page, and downloads the workbook and the JSON twin, which
// must open.
func TestBrowserExport(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	f := newExportFixtureWithoutWorkers(t)
	dossier := "/employees/" + f.employee.String()
	page := f.page()

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	br.step("log in as the administrator", logIn(f.b.srv.URL, adminEmail)...)
	var loc string
	br.step("open the Exporteren tab",
		chromedp.Navigate(f.b.srv.URL+dossier),
		afterLoad(chromedp.Click(chromedp.CSS(`nav.tabs a[href="`+page+`"]`))),
		chromedp.WaitVisible(chromedp.ID("start-export")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, f.b.srv.URL+page) }),
	)
	// The workers start only once the page shows the export waiting, so what follows is the
	// page's own script following the job.
	br.step("start an export",
		chromedp.SendKeys(chromedp.ID("reason"), "Verzoek via de browser"),
		afterLoad(chromedp.Click(chromedp.CSS(`#start-export button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`#exports tr[data-status="pending"]`)),
		chromedp.Evaluate[chromedp.Void](`window.exportTest = "same page"`),
	)
	startBundleWorkers(t, f.b)

	var marker, status string
	br.step("watch the status turn Klaar",
		chromedp.WaitVisible(chromedp.CSS(`#exports tr[data-status="done"] a[data-file="xlsx"]`)),
		into(&marker, chromedp.Evaluate[string](`window.exportTest || "reloaded"`)),
		into(&status, chromedp.Text(chromedp.CSS(`#exports tr[data-status="done"] .badge`))),
		check(func() error {
			if marker != "same page" {
				return fmt.Errorf("the page was reloaded to show the status")
			}
			if status != "Klaar" {
				return fmt.Errorf("status %q, want Klaar", status)
			}
			return nil
		}),
	)
	var xlsx, twin string
	br.step("download both files",
		into(&xlsx, chromedp.Evaluate[string](fetchBase64(`a[data-file="xlsx"]`), chromedp.EvalAwaitPromise)),
		into(&twin, chromedp.Evaluate[string](fetchBase64(`a[data-file="json"]`), chromedp.EvalAwaitPromise)),
	)
	data, err := base64.StdEncoding.DecodeString(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	book, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the downloaded workbook does not open: %v", err)
	}
	defer book.Close()
	if v, _ := book.GetCellValue("Overzicht", "C6"); v != "Verzoek via de browser" {
		t.Errorf("Overzicht C6 = %q, want the reason", v)
	}
	data, err = base64.StdEncoding.DecodeString(twin)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil || v["version"] != float64(export.FormatVersion) {
		t.Errorf("the downloaded JSON twin: %v, version %v", err, v["version"])
	}
}
