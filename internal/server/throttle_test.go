package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/server"
)

// withTrustedProxies makes the server believe X-Forwarded-For from these peers.
func withTrustedProxies(prefixes ...string) harnessOption {
	return func(o *server.Options) {
		for _, p := range prefixes {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p))
		}
	}
}

// loginFrom posts the log-in form with forwardedFor in X-Forwarded-For ("" for none).
func (b *testBundle) loginFrom(t *testing.T, c *http.Client, forwardedFor, email, password string) *http.Response {
	t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// wantThrottled checks a 429 that says how long to wait in Retry-After.
func wantThrottled(t *testing.T, resp *http.Response, what string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("%s: status %d, want 429", what, resp.StatusCode)
		return
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: Retry-After %q, want a number of seconds", what, resp.Header.Get("Retry-After"))
	}
}

// TestLoginThrottleRules: failures slow down their own account and address pair; an address is
// slowed as a whole only after failures on many distinct accounts, and never for an account on
// a browser where it logged in before. The test's requests come through a trusted proxy, so
// X-Forwarded-For gives each its client address.
func TestLoginThrottleRules(t *testing.T) {
	t.Parallel()
	b := setup(t, 5, withTrustedProxies("127.0.0.1/32"))
	const (
		admin = "beheerder@demo.dossierkast.nl"
		cm    = "casemanager@demo.dossierkast.nl"
		hr    = "hr@demo.dossierkast.nl"
	)

	t.Run("OtherAccountsFailures", func(t *testing.T) {
		const office = "203.0.113.10"
		c := b.client(t)
		for range auth.FreeAttempts + 1 {
			b.loginFrom(t, c, office, cm, "wrong-password")
		}
		if resp := b.loginFrom(t, b.client(t), office, admin, demo.Password); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the administrator from the same address: status %d, want 303", resp.StatusCode)
		}
	})

	t.Run("PairSlowDown", func(t *testing.T) {
		const home, elsewhere = "203.0.113.20", "198.51.100.20"
		c := b.client(t)
		for range auth.FreeAttempts {
			if resp := b.loginFrom(t, c, home, hr, "wrong-password"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure: status %d, want 401", resp.StatusCode)
			}
		}
		wantThrottled(t, b.loginFrom(t, c, home, hr, demo.Password), "the same account from the same address")
		if resp := b.loginFrom(t, b.client(t), elsewhere, hr, demo.Password); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the same account from another address: status %d, want 303", resp.StatusCode)
		}
		var n int
		var ip, reason string
		b.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT count(*), min(ip), min(details->>'reason') FROM audit_events
				WHERE action = $1 AND subject_id = (SELECT id FROM users WHERE email = $2)`, audit.LoginThrottled, hr).Scan(&n, &ip, &reason)
		})
		if n != 1 || ip != home || reason != "pair" {
			t.Errorf("login.throttled events = %d (ip %q, reason %q), want 1 from %s for the pair", n, ip, reason, home)
		}
	})

	t.Run("Spraying", func(t *testing.T) {
		const sprayer = "203.0.113.30"
		known := b.client(t)
		if resp := b.loginFrom(t, known, "198.51.100.30", admin, demo.Password); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first log-in on the known browser: status %d", resp.StatusCode)
		}
		c := b.client(t)
		for i := range auth.SprayAccounts {
			if resp := b.loginFrom(t, c, sprayer, fmt.Sprintf("gok%d@demo.dossierkast.nl", i), "Welkom01!"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("spray %d: status %d, want 401", i, resp.StatusCode)
			}
		}
		wantThrottled(t, b.loginFrom(t, c, sprayer, "nog-een@demo.dossierkast.nl", "Welkom01!"), "the sprayer's next account")
		wantThrottled(t, b.loginFrom(t, b.client(t), sprayer, admin, demo.Password), "a browser new to the account")
		if resp := b.loginFrom(t, known, sprayer, admin, demo.Password); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the administrator on a browser he logged in on before: status %d, want 303", resp.StatusCode)
		}
	})

	t.Run("ForwardedForBehindTrustedProxy", func(t *testing.T) {
		c := b.client(t)
		b.loginFrom(t, c, "192.0.2.99, 203.0.113.40", "leidinggevende@demo.dossierkast.nl", "wrong-password")
		var ip string
		b.inTenant(t, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT ip FROM audit_events WHERE action = $1
				AND subject_id = (SELECT id FROM users WHERE email = 'leidinggevende@demo.dossierkast.nl')`, audit.LoginFailed).Scan(&ip)
		})
		if ip != "203.0.113.40" {
			t.Errorf("audited address %q, want the one the proxy saw, 203.0.113.40", ip)
		}
	})
}

// TestLoginIgnoresForgedForwardedFor: without a trusted proxy, X-Forwarded-For is the client's
// own writing; a new address in it each time does not escape the pair's slow-down.
func TestLoginIgnoresForgedForwardedFor(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	email := "casemanager@demo.dossierkast.nl"
	c := b.client(t)
	for i := range auth.FreeAttempts {
		b.loginFrom(t, c, fmt.Sprintf("198.51.100.%d", i+1), email, "wrong-password")
	}
	wantThrottled(t, b.loginFrom(t, c, "198.51.100.200", email, demo.Password), "a forged new address")
}
