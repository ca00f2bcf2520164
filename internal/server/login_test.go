package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

const sessionCookieName = "dossierkast_session"

// Every refusal looks the same, so the form does not tell which addresses have an account.
func TestLoginRefusalsLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	blocked := demoUser(t, b, "casemanager@demo.dossierkast.nl")
	b.inTenant(t, func(tx pgx.Tx) error {
		return org.SetUserStatus(context.Background(), tx, access.System(audit.Actor{}), blocked.ID, org.StatusBlocked)
	})
	want := nl("login.error.failed")
	tests := []struct {
		name            string
		email, password string
	}{
		{"WrongPassword", "beheerder@demo.dossierkast.nl", "not-the-password"},
		{"UnknownEmail", "nobody@demo.dossierkast.nl", demo.Password},
		{"BlockedUser", blocked.Email, demo.Password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := b.client(t)
			resp, doc := b.postPage(t, c, "/login", url.Values{"email": {tt.email}, "password": {tt.password}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status = %d, want %d", resp.StatusCode, http.StatusUnauthorized)
			}
			if got := textOf(doc, "#login-error"); got != want {
				t.Errorf("#login-error = %q, want %q", got, want)
			}
			if resp, _ := b.get(t, c, "/"); !redirectsTo(resp, "/login") {
				t.Errorf("after a refused log-in GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// A token the visitor held before logging in (or one planted by someone else) is worthless after
// log-in: the session gets a new token.
func TestLoginRenewsSessionToken(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)

	t.Run("FromAnonymous", func(t *testing.T) {
		t.Parallel()
		c := b.client(t)
		b.get(t, c, "/login")
		before := sessionToken(t, b, c)
		if before == "" {
			before = "planted"
			setSessionToken(t, b, c, before)
		}
		resp := b.post(t, c, "/login", url.Values{"email": {"beheerder@demo.dossierkast.nl"}, "password": {demo.Password}})
		if !redirectsTo(resp, "/") {
			t.Fatalf("log in: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookieName && (!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode) {
				t.Errorf("session cookie HttpOnly=%v SameSite=%v, want HttpOnly and Lax", ck.HttpOnly, ck.SameSite)
			}
		}
		after := sessionToken(t, b, c)
		if after == "" || after == before {
			t.Fatalf("session token after log-in = %q, want a new one (before: %q)", after, before)
		}
		if resp, _ := b.get(t, c, "/"); resp.StatusCode != http.StatusOK {
			t.Errorf("with the new token GET / = %d, want 200", resp.StatusCode)
		}
		if resp, _ := b.get(t, b.clientWithToken(t, before), "/"); !redirectsTo(resp, "/login") {
			t.Errorf("with the pre-login token GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("FromEarlierSession", func(t *testing.T) {
		t.Parallel()
		c := b.login(t, "casemanager@demo.dossierkast.nl")
		before := sessionToken(t, b, c)
		resp := b.post(t, c, "/login", url.Values{"email": {"bedrijfsarts@demo.dossierkast.nl"}, "password": {demo.Password}})
		if !redirectsTo(resp, "/") {
			t.Fatalf("log in again: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if after := sessionToken(t, b, c); after == "" || after == before {
			t.Fatalf("session token after log-in = %q, want a new one (before: %q)", after, before)
		}
		if resp, _ := b.get(t, b.clientWithToken(t, before), "/"); !redirectsTo(resp, "/login") {
			t.Errorf("with the earlier token GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// A form posted from another site is refused before it reaches a handler.
func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	tests := []struct {
		name    string
		path    string
		form    url.Values
		action  string // the audit action the request would have caused
		changed func(t *testing.T) bool
	}{
		{
			name: "Logout", path: "/logout", action: audit.Logout,
		},
		{
			name: "CreateRole", path: "/admin/roles", action: audit.RoleCreated,
			form: url.Values{"name": {"Van elders"}, "kind": {"provider"}, "rights": {"users.manage"}},
			changed: func(t *testing.T) bool {
				var n int
				b.inTenant(t, func(tx pgx.Tx) error {
					return tx.QueryRow(context.Background(), "SELECT count(*) FROM roles WHERE name = 'Van elders'").Scan(&n)
				})
				return n != 0
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := b.login(t, "beheerder@demo.dossierkast.nl")
			resp, doc := b.postCrossSite(t, c, tt.path, tt.form)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status = %d, want %d", resp.StatusCode, http.StatusForbidden)
			}
			if got, want := textOf(doc, "#error-message"), nl("error.cross_origin"); got != want {
				t.Errorf("#error-message = %q, want %q", got, want)
			}
			if n := b.auditCount(t, tt.action); n != 0 {
				t.Errorf("%s events = %d, want 0", tt.action, n)
			}
			if tt.changed != nil && tt.changed(t) {
				t.Error("the refused request changed data")
			}
			if resp, _ := b.get(t, c, "/"); resp.StatusCode != http.StatusOK {
				t.Errorf("session after the refused request: GET / = %d, want 200", resp.StatusCode)
			}
		})
	}

	// Another site cannot log a visitor in to an account of its choosing either.
	t.Run("Login", func(t *testing.T) {
		t.Parallel()
		u := demoUser(t, b, "casemanager@demo.dossierkast.nl")
		c := b.client(t)
		resp, _ := b.postCrossSite(t, c, "/login", url.Values{"email": {u.Email}, "password": {demo.Password}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status = %d, want %d", resp.StatusCode, http.StatusForbidden)
		}
		if resp, _ := b.get(t, c, "/"); !redirectsTo(resp, "/login") {
			t.Errorf("after the refused log-in GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, e := range auditEvents(t, b, audit.Filter{Action: audit.LoginSucceeded}) {
			if e.SubjectID != nil && *e.SubjectID == u.ID {
				t.Error("the refused log-in was recorded as a success")
			}
		}
	})
}

// After auth.FreeAttempts failures for one account the next attempt waits, even with the right
// password.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.client(t)
	email := "casemanager@demo.dossierkast.nl"
	for i := range auth.FreeAttempts {
		resp := b.post(t, c, "/login", url.Values{"email": {email}, "password": {"wrong-password"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want %d", i+1, resp.StatusCode, http.StatusUnauthorized)
		}
	}
	resp, doc := b.postPage(t, c, "/login", url.Values{"email": {email}, "password": {demo.Password}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password after %d failures: status %d, want %d", auth.FreeAttempts, resp.StatusCode, http.StatusTooManyRequests)
	}
	// The first delay is one second, so the wait shown rounds up to 1.
	if got, want := textOf(doc, "#login-error"), nl("login.error.throttled", 1); got != want {
		t.Errorf("#login-error = %q, want %q", got, want)
	}
	if n := b.auditCount(t, audit.LoginSucceeded); n != 0 {
		t.Errorf("login.succeeded events = %d, want 0", n)
	}
	if resp, _ := b.get(t, c, "/"); !redirectsTo(resp, "/login") {
		t.Errorf("after the throttled attempt GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, "casemanager@demo.dossierkast.nl")
	token := sessionToken(t, b, c)
	resp := b.post(t, c, "/logout", nil)
	if !redirectsTo(resp, "/login") {
		t.Fatalf("log out: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.get(t, b.clientWithToken(t, token), "/"); !redirectsTo(resp, "/login") {
		t.Errorf("with the old session token GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.get(t, c, "/employees"); !redirectsTo(resp, "/login") {
		t.Errorf("after log-out GET /employees = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestBlockedUserLosesSession(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, "casemanager@demo.dossierkast.nl")
	if resp, _ := b.get(t, c, "/employees"); resp.StatusCode != http.StatusOK {
		t.Fatalf("before blocking GET /employees = %d, want 200", resp.StatusCode)
	}
	token := sessionToken(t, b, c)
	u := demoUser(t, b, "casemanager@demo.dossierkast.nl")
	b.inTenant(t, func(tx pgx.Tx) error {
		return org.SetUserStatus(context.Background(), tx, access.System(audit.Actor{}), u.ID, org.StatusBlocked)
	})
	if resp, _ := b.get(t, c, "/employees"); !redirectsTo(resp, "/login") {
		t.Errorf("after blocking GET /employees = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Unblocking does not bring the old session back.
	b.inTenant(t, func(tx pgx.Tx) error {
		return org.SetUserStatus(context.Background(), tx, access.System(audit.Actor{}), u.ID, org.StatusActive)
	})
	if resp, _ := b.get(t, b.clientWithToken(t, token), "/"); !redirectsTo(resp, "/login") {
		t.Errorf("old session after unblocking: GET / = %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Helpers shared by login_test.go, rights_test.go, audit_test.go and forms_test.go.

// nl returns the Dutch catalogue text for key.
func nl(key string, args ...any) string { return i18n.Translate("nl", key, args...) }

// textOf returns the trimmed text of the elements selected.
func textOf(doc *goquery.Document, selector string) string {
	return strings.TrimSpace(doc.Find(selector).Text())
}

func redirectsTo(resp *http.Response, location string) bool {
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == location
}

// sessionToken returns the session cookie c holds for the test server, or "".
func sessionToken(t *testing.T, b *testBundle, c *http.Client) string {
	t.Helper()
	u, err := url.Parse(b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookieName {
			return ck.Value
		}
	}
	return ""
}

func setSessionToken(t *testing.T, b *testBundle, c *http.Client, token string) {
	t.Helper()
	u, err := url.Parse(b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: token, Path: "/"}})
}

// clientWithToken returns a fresh client holding only the session token.
func (b *testBundle) clientWithToken(t *testing.T, token string) *http.Client {
	t.Helper()
	c := b.client(t)
	setSessionToken(t, b, c, token)
	return c
}

// postPage submits a same-site form and returns the response with its body as a document.
func (b *testBundle) postPage(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	t.Helper()
	return b.sendForm(t, c, path, form, b.srv.URL, "same-origin")
}

// postCrossSite submits a form the way a page on another site would.
func (b *testBundle) postCrossSite(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	t.Helper()
	return b.sendForm(t, c, path, form, "https://evil.example", "cross-site")
}

func (b *testBundle) sendForm(t *testing.T, c *http.Client, path string, form url.Values, origin, site string) (*http.Response, *goquery.Document) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := c.Do(req)
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

// demoUser returns the demo tenant's user with that e-mail address.
func demoUser(t *testing.T, b *testBundle, email string) org.User {
	t.Helper()
	var found org.User
	b.inTenant(t, func(tx pgx.Tx) error {
		users, _, err := org.FindUsers(context.Background(), tx, org.UserFilter{Query: email, Limit: 10})
		for _, u := range users {
			if u.Email == email {
				found = u
			}
		}
		return err
	})
	if found.ID == uuid.Nil {
		t.Fatalf("no user %s", email)
	}
	return found
}
