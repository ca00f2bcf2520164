package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/org"
)

// Time limits of the browser tests. The whole browser session, start included, ends after
// browserFlowTimeout; one step may take browserStepTimeout; writing the artefacts of a failed
// step may take browserArtefactTimeout. They only bound a hung browser: a first Chromium start on
// a busy 2-core machine, with the log-in's password hash beside it, took over 10 s.
const (
	browserFlowTimeout     = 180 * time.Second
	browserStepTimeout     = 30 * time.Second
	browserArtefactTimeout = 10 * time.Second
)

// TestBrowserAdministratorFlow clicks through the application as the demo administrator in
// headless Chromium: log in, search an employee, open the dossier, switch to English, log out.
func TestBrowserAdministratorFlow(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	browserTurn(t)
	b := setup(t, 50)
	want, total := pickEmployee(t, b)

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	link := chromedp.CSS(fmt.Sprintf(`#employees a[href="/employees/%s"]`, want.ID))

	br.step("open login page",
		chromedp.Navigate(b.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	var loc string
	br.step("log in",
		chromedp.SendKeys(chromedp.ID("email"), "beheerder@demo.dossierkast.nl"),
		chromedp.SendKeys(chromedp.ID("password"), demo.Password),
		afterLoad(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("home-q")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, b.srv.URL+"/") }),
	)

	var rows int
	br.step("search employee",
		chromedp.Navigate(b.srv.URL+"/employees"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), want.LastName),
		afterLoad(chromedp.Click(chromedp.ID("search"))),
		chromedp.WaitVisible(link),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("#employees tbody tr").length`)),
		check(func() error {
			if rows >= total {
				return fmt.Errorf("search for %q lists %d of %d employees: not filtered", want.LastName, rows, total)
			}
			return nil
		}),
	)

	var name string
	br.step("open employee",
		afterLoad(chromedp.Click(link)),
		chromedp.WaitVisible(chromedp.ID("employee-name")),
		into(&name, chromedp.Text(chromedp.ID("employee-name"))),
		check(func() error {
			if name != want.FullName() {
				return fmt.Errorf("#employee-name = %q, want %q", name, want.FullName())
			}
			return nil
		}),
	)

	var lang, nav string
	br.step("switch to English",
		afterLoad(chromedp.Click(chromedp.CSS(`form[action="/language"] button[name="language"][value="en"]`))),
		// Only the English page offers the way back to Dutch.
		chromedp.WaitVisible(chromedp.CSS(`form[action="/language"] button[name="language"][value="nl"]`)),
		into(&lang, chromedp.Evaluate[string](`document.documentElement.lang`)),
		into(&nav, chromedp.Text(chromedp.CSS(`header nav a[href="/employees"]`))),
		check(func() error {
			if lang != "en" || nav != "Employees" {
				return fmt.Errorf(`<html lang> = %q, nav link = %q; want "en", "Employees"`, lang, nav)
			}
			return nil
		}),
	)

	br.step("log out",
		afterLoad(chromedp.Click(chromedp.ID("logout"))),
		chromedp.WaitVisible(chromedp.ID("email")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, b.srv.URL+"/login") }),
	)
	br.step("logged out stays out",
		chromedp.Navigate(b.srv.URL+"/employees"),
		chromedp.WaitVisible(chromedp.ID("email")),
		into(&loc, chromedp.Location()),
		check(func() error { return wantURL(loc, b.srv.URL+"/login") }),
	)
}

// chromiumPath returns the Chromium to drive: $CHROMIUM, or /usr/bin/chromium. Without one
// the test is skipped, except in CI (CI=true), where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test needs Chromium, and CI=true: %v", err)
		}
		t.Skipf("browser test skipped: no Chromium at %s (install Debian's chromium or set $CHROMIUM; with CI=true this fails)", path)
	}
	return path
}

// browserTurns holds one token: the browser tests take turns. Each starts its own Chromium,
// and several at once beside the rest of the suite push steps past browserStepTimeout on a
// small machine.
var browserTurns = make(chan struct{}, 1)

// browserTurn waits until no other browser test runs; t's turn ends when t does. Call it
// before the flow's deadline starts.
func browserTurn(t *testing.T) {
	t.Helper()
	select {
	case browserTurns <- struct{}{}:
	case <-t.Context().Done():
		t.Fatal("no turn for the browser before the test ended")
	}
	t.Cleanup(func() { <-browserTurns })
}

// pickEmployee returns the demo employee whose last name the fewest others share, so a search
// for it gives a short list, and how many employees the tenant has.
func pickEmployee(t *testing.T, b *testBundle) (org.Employee, int) {
	t.Helper()
	var e org.Employee
	var total int
	b.inTenant(t, func(tx pgx.Tx) error {
		ctx := context.Background()
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM employees").Scan(&total); err != nil {
			return err
		}
		var id uuid.UUID
		err := tx.QueryRow(ctx, `
			SELECT e.id FROM employees e
			ORDER BY (SELECT count(*) FROM employees o WHERE lower(o.last_name) = lower(e.last_name)),
				e.last_name, e.id
			LIMIT 1`).Scan(&id)
		if err != nil {
			return err
		}
		e, err = org.FindEmployeeByID(ctx, tx, id)
		return err
	})
	return e, total
}

// browser is one headless Chromium with one tab, driven step by step for one test.
type browser struct {
	t     *testing.T
	tab   context.Context
	close func()
	steps int
}

// startBrowser starts Chromium; it lives at most as long as ctx. Call close when done: it
// stops the browser and waits for it.
func startBrowser(t *testing.T, ctx context.Context, execPath string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	br := &browser{t: t, tab: tab, close: func() { cancelTab(); cancelAlloc() }}
	// The first Do starts the browser and binds it to ctx, which carries the flow's deadline.
	if err := chromedp.Do(tab); err != nil {
		br.close()
		t.Fatalf("start Chromium %s: %v", execPath, err)
	}
	return br
}

// step runs the actions of one step of the flow, within browserStepTimeout. When one fails,
// it saves a full-page screenshot and the page's HTML as test artefacts and ends the test.
func (br *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	br.steps++
	ctx, cancel := context.WithTimeout(br.tab, browserStepTimeout)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, actions...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (after %v)", err, time.Since(start).Round(time.Millisecond))
		}
		br.saveArtefacts(name)
		br.t.Fatalf("step %d %q: %v", br.steps, name, err)
	}
}

// saveArtefacts writes a screenshot and the HTML of the current page, named after the test
// and the step, and logs where.
func (br *browser) saveArtefacts(stepName string) {
	br.t.Helper()
	dir, err := artefactDir()
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		br.t.Logf("no test artefacts: %v", err)
		return
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s", fileName(br.t.Name()), br.steps, fileName(stepName)))
	ctx, cancel := context.WithTimeout(br.tab, browserArtefactTimeout)
	defer cancel()

	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		br.t.Logf("no screenshot: %v", err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		br.t.Logf("no screenshot: %v", err)
	} else {
		br.t.Logf("screenshot: %s.png", base)
	}
	// Evaluate, not OuterHTML: it does not wait for an element that may never come.
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`"<!-- " + document.location.href + " -->\n" + document.documentElement.outerHTML`))
	if err != nil {
		br.t.Logf("no page HTML: %v", err)
	} else if err := os.WriteFile(base+".html", []byte(html), 0o644); err != nil {
		br.t.Logf("no page HTML: %v", err)
	} else {
		br.t.Logf("page HTML: %s.html", base)
	}
}

// artefactDir is $TEST_ARTEFACTS, or var/test-artefacts in the module root.
func artefactDir() (string, error) {
	if dir := os.Getenv("TEST_ARTEFACTS"); dir != "" {
		return filepath.Abs(dir)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "var", "test-artefacts"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName makes s safe as part of a file name.
func fileName(s string) string {
	return unsafeFileChars.ReplaceAllString(s, "-")
}

// afterLoad runs a click or submit and waits for the page it leads to to load, so a later
// query cannot find its element in the page being left.
func afterLoad(trigger chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	wait := chromedp.WaitEvent(page.LoadEventFired, nil, trigger)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := wait(ctx, t)
		return chromedp.Void{}, err
	}
}

// into runs a value action and stores its value in *dst, so it can be a step's action.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// check makes an assertion an action, so a failed assertion fails its step with artefacts.
func check(f func() error) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(context.Context, *chromedp.Target) error { return f() })
}

// wantURL reports an error unless the browser's location got is want.
func wantURL(got, want string) error {
	if got != want {
		return fmt.Errorf("location = %s, want %s", got, want)
	}
	return nil
}
