package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserFullDossier generates a full dossier in headless Chromium as the demo's HR user:
// from the employer page to the full-dossier screen, through the confirmation, then watches
// the screen's script bring the progress to 100% without reloading the page, and downloads
// part 1, which must be a ZIP archive that starts with the metadata workbook.
func TestBrowserFullDossier(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	f := newFDFixture(t, 12, true)
	employer := "/employers/" + f.withProduct.ID.String()
	screen := fdPath(f.withProduct.ID, "")

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	br.step("log in as hr@", logIn(f.srv.URL, hrEmail)...)
	var loc, included string
	br.step("open the full-dossier screen",
		chromedp.Navigate(f.srv.URL+employer),
		afterLoad(chromedp.Click(chromedp.CSS(`nav.tabs a[href="`+screen+`"]`))),
		chromedp.WaitVisible(chromedp.ID("generate")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, f.srv.URL+screen) }),
	)
	br.step("ask to generate",
		afterLoad(chromedp.Click(chromedp.ID("generate"))),
		chromedp.WaitVisible(chromedp.ID("confirm-generate")),
		into(&included, chromedp.Text(chromedp.ID("preview-documents"))),
		check(func() error {
			if included == "" || included == "0" {
				return fmt.Errorf("the confirmation says %q documents go in", included)
			}
			return nil
		}),
	)
	// The workers start only once the screen shows the bundle waiting, so what follows is the
	// screen's own script following the job.
	br.step("confirm",
		afterLoad(chromedp.Click(chromedp.ID("confirm-generate"))),
		chromedp.WaitVisible(chromedp.CSS(`.bundle[data-status="pending"]`)),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, f.srv.URL+screen) }),
		chromedp.Evaluate[chromedp.Void](`window.fullDossierTest = "same page"`),
	)
	startBundleWorkers(t, f.testBundle)

	var marker, percent string
	var hints int
	br.step("watch the progress reach 100%",
		chromedp.WaitVisible(chromedp.CSS(`.bundle[data-status="done"] .progress-text[data-percent="100"]`)),
		into(&percent, chromedp.Text(chromedp.CSS(`.bundle[data-status="done"] .progress-text`))),
		into(&marker, chromedp.Evaluate[string](`window.fullDossierTest || "reloaded"`)),
		into(&hints, chromedp.Evaluate[int](`document.querySelectorAll(".reload-hint:not([hidden])").length`)),
		check(func() error {
			if marker != "same page" {
				return fmt.Errorf("the page was reloaded to show progress")
			}
			if !strings.Contains(percent, "(100%)") || hints != 0 {
				return fmt.Errorf("progress %q with %d reload hints; want 100%% and none", percent, hints)
			}
			return nil
		}),
	)

	var encoded string
	br.step("download part 1",
		into(&encoded, chromedp.Evaluate[string](`(async () => {
			const link = document.querySelector('.bundle[data-status="done"] table.parts a.download');
			const resp = await fetch(link.href, {credentials: "same-origin"});
			if (!resp.ok) { throw new Error("status " + resp.status); }
			const bytes = new Uint8Array(await resp.arrayBuffer());
			let s = "";
			for (let i = 0; i < bytes.length; i += 0x8000) {
				s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
			}
			return btoa(s);
		})()`, chromedp.EvalAwaitPromise)),
	)
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	names := checkZIP(t, data)
	if len(names) < 2 || !strings.HasSuffix(names[0], ".xlsx") {
		t.Errorf("part 1 entries %q: want the workbook first, then documents", names)
	}
}
