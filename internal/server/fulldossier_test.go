package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

// fdFixture is the demo tenant with a user per row of the full-dossier tests, an employer with
// the product "970 Dossiervorming extended" (the demo's first) and one without, and an employer
// of another tenant.
type fdFixture struct {
	*testBundle
	withProduct, without org.Employer
	foreign              uuid.UUID // an employer of another tenant
	users                map[string]uuid.UUID
}

// fdUser is a test user: his kind, his role's rights, and for employer users whether he
// belongs to the employer without the product instead of the one with it.
type fdUser struct {
	kind   access.Kind
	rights []access.Right
	other  bool
}

// fdSees are the rights with which a user sees every employee in reach.
var fdSees = []access.Right{access.EmployeeDossierView, access.EmployeesAll}

// fdUsers are the users of the full-dossier tests, by name (also their e-mail's local part).
var fdUsers = map[string]fdUser{
	"provider":             {access.KindProvider, append([]access.Right{access.EmployerDossierView, access.FullDossierGenerate, access.FullDossierDelete}, fdSees...), false},
	"provider-no-delete":   {access.KindProvider, append([]access.Right{access.EmployerDossierView, access.FullDossierGenerate}, fdSees...), false},
	"provider-no-view":     {access.KindProvider, append([]access.Right{access.FullDossierGenerate, access.FullDossierDelete}, fdSees...), false},
	"provider-no-generate": {access.KindProvider, append([]access.Right{access.EmployerDossierView, access.FullDossierDelete}, fdSees...), false},
	"hr":                   {access.KindEmployer, append([]access.Right{access.EmployerDossierView, access.FullDossierGenerate}, fdSees...), false},
	"hr-no-generate":       {access.KindEmployer, append([]access.Right{access.EmployerDossierView}, fdSees...), false},
	"hr-elsewhere":         {access.KindEmployer, append([]access.Right{access.EmployerDossierView, access.FullDossierGenerate}, fdSees...), true},
}

func fdEmail(name string) string { return name + "@volledig.test.dossierkast.nl" }

// newFDFixture sets the fixture up on a demo tenant of employees employees; with examples, the
// demo's categories, matrix, links, blacklist and documents (in the server's blob store) too.
func newFDFixture(t *testing.T, employees int, examples bool) *fdFixture {
	t.Helper()
	ctx := context.Background()
	f := &fdFixture{testBundle: setup(t, employees), users: map[string]uuid.UUID{}}
	if examples {
		blobs, err := document.OpenBlobStore(ctx, "file://"+filepath.ToSlash(f.blobDir))
		if err != nil {
			t.Fatal(err)
		}
		defer blobs.Close()
		if _, err := demo.Load(ctx, f.db.Pool, demo.Options{Employees: employees, Examples: true, Blobs: blobs}); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		t.Fatal(err)
	}
	f.inTenant(t, func(tx pgx.Tx) error {
		employers, err := org.FindAllEmployers(ctx, tx)
		if err != nil {
			return err
		}
		for _, e := range employers {
			if e.HasProduct(org.ProductFullDossier) && f.withProduct.ID == uuid.Nil {
				f.withProduct = e
			} else if !e.HasProduct(org.ProductFullDossier) && f.without.ID == uuid.Nil {
				f.without = e
			}
		}
		if f.withProduct.ID == uuid.Nil || f.without.ID == uuid.Nil {
			return fmt.Errorf("the demo tenant needs an employer with and one without %q", org.ProductFullDossier)
		}
		for name, u := range fdUsers {
			role, err := org.CreateRole(ctx, tx, access.System(audit.Actor{}), org.Role{Name: "Volledig " + name, Kind: u.kind, Rights: u.rights})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			in := org.UserInput{Email: fdEmail(name), Name: "Test " + name, Kind: u.kind, RoleID: role.ID}
			if u.kind == access.KindEmployer {
				in.EmployerIDs = []uuid.UUID{f.withProduct.ID}
				if u.other {
					in.EmployerIDs = []uuid.UUID{f.without.ID}
				}
			}
			created, err := org.CreateUser(ctx, tx, access.System(audit.Actor{}), in, hash)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			f.users[name] = created.ID
		}
		return nil
	})
	other, err := org.CreateTenant(ctx, f.db.Pool, "Arbo Elders", false)
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenant(ctx, f.db.Pool, other.ID, func(tx pgx.Tx) error {
		e, err := org.CreateEmployer(ctx, tx, access.System(audit.Actor{}), org.Employer{Name: "Elders B.V.", EmployerNumber: "999001",
			Products: []string{org.ProductFullDossier}})
		f.foreign = e.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fdPath is the full-dossier screen of employer id, with suffix.
func fdPath(id uuid.UUID, suffix string) string {
	return "/employers/" + id.String() + "/full-dossier" + suffix
}

// jobCounts counts what the full-dossier actions leave behind: bundles, deletions, jobs.
func (f *fdFixture) jobCounts(t *testing.T) [3]int {
	t.Helper()
	var n [3]int
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM bundles), (SELECT count(*) FROM dossier_deletions),
			(SELECT count(*) FROM river_job)`).Scan(&n[0], &n[1], &n[2])
	})
	return n
}

// fdOutcome is what a user gets from each full-dossier route.
//
//	Screen    GET  /employers/{id}/full-dossier
//	Actions   the action links the screen shows: "generate", "delete"
//	Ask       GET  …/generate (the confirmation)
//	Generate  POST …/generate
//	AskDelete GET  …/delete
//	Delete    POST …/delete with the right name
type fdOutcome struct {
	Screen    int
	Actions   string
	Ask       int
	Generate  int
	AskDelete int
	Delete    int
}

// TestFullDossierRefusals: every refusal per route, and that a refused action leaves nothing
// behind (no bundle, no deletion, no job).
func TestFullDossierRefusals(t *testing.T) {
	t.Parallel()
	f := newFDFixture(t, 5, false)
	const (
		ok   = http.StatusOK
		nf   = http.StatusNotFound
		fb   = http.StatusForbidden
		none = ""
	)
	tests := []struct {
		name     string
		user     string
		employer func() uuid.UUID
		want     fdOutcome
	}{
		{"EmployerOutsideReach", "hr-elsewhere", func() uuid.UUID { return f.withProduct.ID }, fdOutcome{nf, none, nf, nf, nf, nf}},
		{"OtherTenantsEmployer", "provider", func() uuid.UUID { return f.foreign }, fdOutcome{nf, none, nf, nf, nf, nf}},
		{"UnknownEmployer", "provider", uuid.New, fdOutcome{nf, none, nf, nf, nf, nf}},
		{"NoEmployerDossierView", "provider-no-view", func() uuid.UUID { return f.withProduct.ID }, fdOutcome{fb, none, fb, fb, fb, fb}},
		{"NoGenerateRight", "hr-no-generate", func() uuid.UUID { return f.withProduct.ID }, fdOutcome{ok, none, fb, fb, fb, fb}},
		{"ProviderNoGenerateRight", "provider-no-generate", func() uuid.UUID { return f.withProduct.ID }, fdOutcome{ok, "delete", fb, fb, 0, 0}},
		{"EmployerUserDelete", "hr", func() uuid.UUID { return f.withProduct.ID }, fdOutcome{ok, "generate", 0, 0, fb, fb}},
		{"ProviderNoDeleteRight", "provider-no-delete", func() uuid.UUID { return f.withProduct.ID }, fdOutcome{ok, "generate", 0, 0, fb, fb}},
		{"ProductNotEnabled", "provider", func() uuid.UUID { return f.without.ID }, fdOutcome{ok, none, fb, fb, fb, fb}},
		{"ProductNotEnabledEmployerUser", "hr-elsewhere", func() uuid.UUID { return f.without.ID }, fdOutcome{ok, none, fb, fb, fb, fb}},
	}
	// After every row: a refused action leaves nothing behind but its audit event.
	refused := 0
	for _, tt := range tests {
		for _, status := range []int{tt.want.Generate, tt.want.Delete} {
			if status == nf || status == fb {
				refused++
			}
		}
	}
	t.Cleanup(func() {
		if got := f.jobCounts(t); got != [3]int{} {
			t.Errorf("bundles, deletions, jobs = %v after refusals only, want none", got)
		}
		if got := f.auditCount(t, audit.FullDossierRefused); got != refused {
			t.Errorf("full_dossier.refused events = %d, want one per refused POST: %d", got, refused)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := f.login(t, fdEmail(tt.user))
			id := tt.employer()
			var got fdOutcome
			resp, page := f.get(t, c, fdPath(id, ""))
			got.Screen = resp.StatusCode
			var actions []string
			for _, a := range []string{"generate", "delete"} {
				if page.Find(`a#`+a+`[href="`+fdPath(id, "/"+a)+`"]`).Length() == 1 {
					actions = append(actions, a)
				}
			}
			got.Actions = strings.Join(actions, " ")
			if tt.want.Ask != 0 {
				resp, _ = f.get(t, c, fdPath(id, "/generate"))
				got.Ask = resp.StatusCode
				got.Generate = f.post(t, c, fdPath(id, "/generate"), nil).StatusCode
			}
			if tt.want.AskDelete != 0 {
				resp, _ = f.get(t, c, fdPath(id, "/delete"))
				got.AskDelete = resp.StatusCode
				name := f.withProduct.Name
				if id == f.without.ID {
					name = f.without.Name
				}
				got.Delete = f.post(t, c, fdPath(id, "/delete"), url.Values{"confirm_name": {name}}).StatusCode
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if tt.name == "ProductNotEnabled" {
				if got, want := textOf(page, "#product-missing"), nl("fulldossier.product_missing", org.ProductFullDossier); got != want {
					t.Errorf("#product-missing = %q, want %q", got, want)
				}
			}
		})
	}
}

// wantPreview is what the confirmation must show for user: the documents of the employer and
// its employees he may read by the engine's own rule, their bytes, and how many others exist.
func (f *fdFixture) wantPreview(t *testing.T, user org.User) (docs int, bytes int64, leftOut int) {
	t.Helper()
	ctx := context.Background()
	f.inTenant(t, func(tx pgx.Tx) error {
		_, p, err := org.LoadPrincipal(ctx, tx, f.tenant, user.ID)
		if err != nil {
			return err
		}
		cats, err := access.LoadCategories(ctx, tx, p)
		if err != nil {
			return err
		}
		from, args := access.VisibleDocuments(p, cats, []any{f.withProduct.ID})
		var all int
		err = tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(d.size), 0),
			(SELECT count(*) FROM documents WHERE employer_id = $1)
			FROM `+from+` d WHERE d.employer_id = $1`, args...).Scan(&docs, &bytes, &all)
		leftOut = all - docs
		return err
	})
	return docs, bytes, leftOut
}

// TestFullDossierGenerate: the confirmation explains and counts, the request queues one job and
// shows progress, the status fragment is the same page's part, and a second request while the
// first is under way is refused.
//
// hrEmail is the demo's HR user of the employer with the product: he may generate, and one of
// the employer's employees is on his blacklist.
func TestFullDossierGenerate(t *testing.T) {
	t.Parallel()
	f := newFDFixture(t, 12, true)
	hr := demoUser(t, f.testBundle, hrEmail)
	c := f.login(t, hrEmail)
	screen := fdPath(f.withProduct.ID, "")

	resp, page := f.get(t, c, fdPath(f.withProduct.ID, "/generate"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmation: status %d", resp.StatusCode)
	}
	var explained []string
	page.Find("#generate-explain li").Each(func(_ int, s *goquery.Selection) { explained = append(explained, s.Text()) })
	wantExplained := []string{nl("fulldossier.generate.explain.access"), nl("fulldossier.generate.explain.zip"),
		nl("fulldossier.generate.explain.workbook"), nl("fulldossier.generate.explain.place.full_dossier_employer"),
		nl("fulldossier.generate.explain.expiry")}
	if diff := cmp.Diff(wantExplained, explained); diff != "" {
		t.Errorf("explanation (-want +got):\n%s", diff)
	}
	docs, bytes, leftOut := f.wantPreview(t, hr)
	if leftOut == 0 || docs == 0 {
		t.Fatalf("fixture: %d documents readable, %d left out; want some of each", docs, leftOut)
	}
	gotPreview := []string{textOf(page, "#preview-documents"), textOf(page, "#preview-bytes"), textOf(page, "#preview-left-out")}
	wantPreview := []string{i18n.Number(docs), document.FormatSize(bytes), i18n.Number(leftOut)}
	if diff := cmp.Diff(wantPreview, gotPreview); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}
	var all int64
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT coalesce(sum(size), 0) FROM documents WHERE employer_id = $1 AND bundle_id IS NULL",
			f.withProduct.ID).Scan(&all)
	})
	if got, want := textOf(page, "#preview-left-bytes"), document.FormatSize(all-bytes); got != want {
		t.Errorf("size left out = %q, want %q", got, want)
	}
	if n := page.Find(`form[method="post"][action="` + fdPath(f.withProduct.ID, "/generate") + `"] button#confirm-generate`).Length(); n != 1 {
		t.Errorf("confirmation forms = %d, want 1", n)
	}

	wantRedirect(t, f.post(t, c, fdPath(f.withProduct.ID, "/generate"), nil), screen)
	if got := f.jobCounts(t); got != [3]int{1, 0, 1} {
		t.Errorf("bundles, deletions, jobs = %v, want one bundle and its job", got)
	}
	if got := f.auditCount(t, audit.BundleRequested); got != 1 {
		t.Errorf("bundle.requested events = %d, want 1", got)
	}
	_, page = f.get(t, c, screen)
	if got, want := textOf(page, "p.flash"), nl("fulldossier.flash.requested"); got != want {
		t.Errorf("flash = %q, want %q", got, want)
	}
	if got := page.Find(`#fulldossier-status[data-poll="true"] .bundle[data-status="pending"]`).Length(); got != 1 {
		t.Errorf("pending bundles on the screen = %d, want 1", got)
	}
	if got := page.Find(`script[src="/static/fulldossier.js"]`).Length(); got != 1 {
		t.Errorf("progress scripts = %d, want 1", got)
	}
	if got := page.Find(".reload-hint a[href=\"" + screen + "\"]").Length(); got != 1 {
		t.Errorf("reload links = %d, want 1 while a bundle is under way", got)
	}

	t.Run("Fragment", func(t *testing.T) {
		resp, body := f.fetch(t, c, screen, http.Header{"Hx-Request": {"true"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if !strings.HasPrefix(string(body), `<div id="fulldossier-status" data-poll="true">`) || strings.Contains(string(body), "<html") {
			t.Errorf("fragment is not just the status part:\n%.300s", body)
		}
		if got := resp.Header.Get("Vary"); got != "HX-Request" {
			t.Errorf("Vary = %q, want HX-Request", got)
		}
	})

	t.Run("SecondRequestWhileUnderWay", func(t *testing.T) {
		if got := f.post(t, c, fdPath(f.withProduct.ID, "/generate"), nil).StatusCode; got != http.StatusConflict {
			t.Errorf("status %d, want 409", got)
		}
		if got := f.jobCounts(t); got != [3]int{1, 0, 1} {
			t.Errorf("bundles, deletions, jobs = %v, want still one bundle and its job", got)
		}
	})

	t.Run("ProviderDoesNotSeeEmployerBundles", func(t *testing.T) {
		_, page := f.get(t, f.login(t, fdEmail("provider")), screen)
		if got := page.Find(".bundle").Length(); got != 0 {
			t.Errorf("bundles shown to a provider user = %d, want 0 (the bundle is the employer users')", got)
		}
	})
}

// TestFullDossierDelete: the confirmation explains and asks for the employer's name; a wrong
// name is refused with the form again and nothing queued; the right one queues the deletion.
func TestFullDossierDelete(t *testing.T) {
	t.Parallel()
	f := newFDFixture(t, 5, false)
	c := f.login(t, fdEmail("provider"))
	path := fdPath(f.withProduct.ID, "/delete")

	resp, page := f.get(t, c, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmation: status %d", resp.StatusCode)
	}
	var explained []string
	page.Find("#delete-explain li").Each(func(_ int, s *goquery.Selection) { explained = append(explained, s.Text()) })
	wantExplained := []string{nl("fulldossier.delete.explain.all"), nl("fulldossier.delete.explain.keep"), nl("fulldossier.delete.explain.final")}
	if diff := cmp.Diff(wantExplained, explained); diff != "" {
		t.Errorf("explanation (-want +got):\n%s", diff)
	}
	if got := textOf(page, "#employer-name"); got != f.withProduct.Name {
		t.Errorf("name to type = %q, want %q", got, f.withProduct.Name)
	}

	for name, typed := range map[string]string{
		"Empty":     "",
		"Lowercase": strings.ToLower(f.withProduct.Name),
		"Partial":   f.withProduct.Name[:5],
		"Other":     f.without.Name,
	} {
		t.Run("Wrong"+name, func(t *testing.T) {
			resp, page := f.postPage(t, c, path, url.Values{"confirm_name": {typed}})
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			if got, want := textOf(page, "#e-confirm_name"), nl("bundle.error.confirm_name"); got != want {
				t.Errorf("field error %q, want %q", got, want)
			}
			if got, _ := page.Find("#f-confirm_name").Attr("value"); got != typed {
				t.Errorf("typed name shown again as %q, want %q", got, typed)
			}
			if got := f.jobCounts(t); got != [3]int{} {
				t.Errorf("bundles, deletions, jobs = %v, want nothing", got)
			}
		})
	}

	wantRedirect(t, f.post(t, c, path, url.Values{"confirm_name": {"  " + f.withProduct.Name + " "}}), fdPath(f.withProduct.ID, ""))
	if got := f.jobCounts(t); got != [3]int{0, 1, 1} {
		t.Errorf("bundles, deletions, jobs = %v, want one deletion and its job", got)
	}
	if got := f.auditCount(t, audit.DossierDeletionRequested); got != 1 {
		t.Errorf("dossier.deletion_requested events = %d, want 1", got)
	}
	_, page = f.get(t, c, fdPath(f.withProduct.ID, ""))
	if got := page.Find(`#fulldossier-status[data-poll="true"] #deletions tr[data-status="pending"]`).Length(); got != 1 {
		t.Errorf("pending deletions on the screen = %d, want 1", got)
	}
	if got := f.post(t, c, path, url.Values{"confirm_name": {f.withProduct.Name}}).StatusCode; got != http.StatusConflict {
		t.Errorf("second deletion while the first is under way: status %d, want 409", got)
	}
	// Employer users never see deletions.
	_, page = f.get(t, f.login(t, hrEmail), fdPath(f.withProduct.ID, ""))
	if got := page.Find("#deletions").Length(); got != 0 {
		t.Errorf("deletions shown to an employer user: %d tables", got)
	}
}

// TestFullDossierRetry: a failed bundle can be started again by the user who asked for it,
// after a confirmation; a colleague of the same kind sees it without the retry, another kind
// does not see it at all, and a bundle that did not fail cannot be retried.
func TestFullDossierRetry(t *testing.T) {
	t.Parallel()
	f := newFDFixture(t, 5, false)
	owner := f.login(t, fdEmail("provider"))
	colleague := f.login(t, fdEmail("provider-no-delete"))
	wantRedirect(t, f.post(t, owner, fdPath(f.withProduct.ID, "/generate"), nil), fdPath(f.withProduct.ID, ""))
	var id uuid.UUID
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `UPDATE bundles SET status = 'failed', error = 'bundle.error.internal',
			finished_at = now() RETURNING id`).Scan(&id)
	})
	retry := fdPath(f.withProduct.ID, "/bundles/"+id.String()+"/retry")

	_, page := f.get(t, owner, fdPath(f.withProduct.ID, ""))
	if got, want := textOf(page, "#bundle-"+id.String()+" p.error"), nl("fulldossier.failed", nl("bundle.error.internal")); got != want {
		t.Errorf("failure shown as %q, want %q", got, want)
	}
	if got := page.Find(`#bundle-` + id.String() + ` a.retry[href="` + retry + `"]`).Length(); got != 1 {
		t.Errorf("retry links for the requester = %d, want 1", got)
	}
	_, page = f.get(t, colleague, fdPath(f.withProduct.ID, ""))
	if got := page.Find("#bundle-" + id.String()).Length(); got != 1 {
		t.Errorf("failed bundle shown to a colleague = %d, want 1", got)
	}
	if got := page.Find("a.retry").Length(); got != 0 {
		t.Errorf("retry links for a colleague = %d, want 0", got)
	}

	for name, tc := range map[string]struct {
		c    *http.Client
		path string
		want int
	}{
		"Colleague":     {colleague, retry, http.StatusForbidden},
		"OtherKind":     {f.login(t, hrEmail), retry, http.StatusNotFound},
		"OtherEmployer": {owner, fdPath(f.without.ID, "/bundles/"+id.String()+"/retry"), http.StatusNotFound},
		"UnknownBundle": {owner, fdPath(f.withProduct.ID, "/bundles/"+uuid.NewString()+"/retry"), http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := f.get(t, tc.c, tc.path)
			if post := f.post(t, tc.c, tc.path, nil).StatusCode; resp.StatusCode != tc.want || post != tc.want {
				t.Errorf("GET %d, POST %d; want %d", resp.StatusCode, post, tc.want)
			}
		})
	}
	if got := f.auditCount(t, audit.BundleRetried); got != 0 {
		t.Errorf("bundle.retried events after refusals = %d, want 0", got)
	}
	if got := f.auditCount(t, audit.FullDossierRefused); got != 4 {
		t.Errorf("full_dossier.refused events = %d, want one per refused POST: 4", got)
	}

	resp, page := f.get(t, owner, retry)
	if resp.StatusCode != http.StatusOK || page.Find(`form[action="`+retry+`"] button#confirm-generate`).Length() != 1 {
		t.Fatalf("retry confirmation: status %d, or no form posting to %s", resp.StatusCode, retry)
	}
	wantRedirect(t, f.post(t, owner, retry, nil), fdPath(f.withProduct.ID, ""))
	_, page = f.get(t, owner, fdPath(f.withProduct.ID, ""))
	if got := page.Find(`#bundle-` + id.String() + `[data-status="pending"]`).Length(); got != 1 {
		t.Errorf("retried bundle pending on the screen = %d, want 1", got)
	}
	if got := f.auditCount(t, audit.BundleRetried); got != 1 {
		t.Errorf("bundle.retried events = %d, want 1", got)
	}
	resp, _ = f.get(t, owner, retry)
	if post := f.post(t, owner, retry, nil).StatusCode; resp.StatusCode != http.StatusConflict || post != http.StatusConflict {
		t.Errorf("retry of a pending bundle: GET %d, POST %d; want 409", resp.StatusCode, post)
	}
}

// TestFullDossierCancelledOnJobsPage cancels a generation on /admin/jobs before a worker picks it
// up: River never runs it, so the jobs page ends the bundle as failed, the screen says why and
// offers a retry, and the requester may ask for a new one.
func TestFullDossierCancelledOnJobsPage(t *testing.T) {
	t.Parallel()
	f := newFDFixture(t, 5, false)
	owner := f.login(t, fdEmail("provider"))
	screen := fdPath(f.withProduct.ID, "")
	wantRedirect(t, f.post(t, owner, fdPath(f.withProduct.ID, "/generate"), nil), screen)
	var id uuid.UUID
	var jobID int64
	f.inTenant(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM bundles").Scan(&id)
	})
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT id FROM river_job WHERE kind = 'generate_bundle' AND args->>'bundle_id' = $1`,
		id.String()).Scan(&jobID); err != nil {
		t.Fatal(err)
	}

	admin := f.login(t, adminEmail)
	wantRedirect(t, f.post(t, admin, "/admin/jobs/"+strconv.FormatInt(jobID, 10)+"/cancel", nil), "/admin/jobs")
	_, page := f.get(t, owner, screen)
	if got, want := textOf(page, "#bundle-"+id.String()+"[data-status=\"failed\"] p.error"), nl("fulldossier.failed", nl("bundle.error.cancelled")); got != want {
		t.Errorf("cancelled bundle shown as %q, want %q", got, want)
	}
	if got := page.Find(`#bundle-` + id.String() + ` a.retry`).Length(); got != 1 {
		t.Errorf("retry links for the requester = %d, want 1", got)
	}
	if got := f.auditCount(t, audit.BundleFailed); got != 1 {
		t.Errorf("bundle.failed events = %d, want 1", got)
	}
	// The jobs page names the employer; retrying the cancelled job would do nothing (its bundle
	// has ended), so it is not offered.
	_, jobsPage := f.get(t, admin, "/admin/jobs")
	row := jobsPage.Find(`#jobs tr[data-job="` + strconv.FormatInt(jobID, 10) + `"]`)
	if got := strings.TrimSpace(row.Find("td.concerns").Text()); got != f.withProduct.Name {
		t.Errorf("the cancelled generation concerns %q, want %q", got, f.withProduct.Name)
	}
	if got := row.Find(`form[action$="/retry"]`).Length(); got != 0 {
		t.Errorf("retry offered on the cancelled generation")
	}
	wantRedirect(t, f.post(t, owner, fdPath(f.withProduct.ID, "/generate"), nil), screen)
	if got := f.jobCounts(t); got[0] != 2 {
		t.Errorf("bundles after a new request = %d, want 2", got[0])
	}
}
