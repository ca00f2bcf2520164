package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/access/accesstest"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/server"
)

// The employee list over HTTP (issue 3's "Speed"): a tenant of 100,000 employees (or
// ACCESS_EMPLOYEES), a user who sees about 19% of them, and 20 logged-in clients asking GET
// /employees at once. The figures
// come from the benchmark's own loops; b.N does not matter (make bench runs it once).
const (
	httpClients    = 20
	httpRequests   = 1_000
	httpSequential = 200
)

func BenchmarkEmployeeListHTTP(b *testing.B) {
	ctx := context.Background()
	ds := accesstest.Load(b)
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(ds.DB.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	// The web server's own pool, sized as serve sizes it (WEB_DB_CONNECTIONS, by default the
	// processors Go uses); streamed responses use the other pool, as in serve.
	cfg, _, err := config.Load("serve", nil, os.Getenv, io.Discard, nil)
	if err != nil {
		b.Fatal(err)
	}
	web, err := database.OpenSized(ctx, ds.DB.OwnerURL, true, cfg.WebDBConnections)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(web.Close)
	sender, err := mail.NewSender("", "", web)
	if err != nil {
		b.Fatal(err)
	}
	s := server.New(server.Options{Pool: web, StreamPool: ds.DB.Pool, River: rc, Mail: sender,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: server.NewMetrics(web)})
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)

	// Every client logs in once (a session of its own) and keeps its connections open.
	transport := &http.Transport{MaxIdleConnsPerHost: httpClients * 2}
	b.Cleanup(transport.CloseIdleConnections)
	clients := make([]*http.Client, httpClients)
	for i := range clients {
		clients[i] = benchLogin(b, srv, transport, ds.Email, accesstest.Password)
	}

	// list asks for the first page and returns its body. The clients share the machine with
	// the server, so the timed loops only read the page; it is parsed once per client first.
	get := func(c *http.Client, path string) ([]byte, error) { return benchGet(c, srv.URL+path) }
	list := func(c *http.Client) ([]byte, error) { return get(c, "/employees") }
	for _, c := range clients {
		body, err := list(c)
		if err != nil {
			b.Fatal(err)
		}
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if n := doc.Find("#employees tbody tr").Length(); n != 50 {
			b.Fatalf("GET /employees: %d rows, want 50", n)
		}
	}

	// Processor time per request, of this process (server and clients) and of PostgreSQL.
	owner, err := pgx.Connect(ctx, ds.DB.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { owner.Close(ctx) })
	readCPU := func() accesstest.CPU {
		c, err := accesstest.ReadCPU(ctx, owner)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}

	b.Run("Sequential", func(b *testing.B) {
		var lat accesstest.Latencies
		before := readCPU()
		for range b.N {
			lat = lat[:0]
			for range httpSequential {
				start := time.Now()
				if _, err := list(clients[0]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
		}
		readCPU().ReportPerOp(b, before, b.N*httpSequential)
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
	})

	// concurrent asks for path httpRequests times from the httpClients clients at once.
	concurrent := func(b *testing.B, path string) {
		var lat accesstest.Latencies
		var elapsed time.Duration
		before := readCPU()
		for range b.N {
			lat = make(accesstest.Latencies, httpRequests)
			next := make(chan int, httpRequests)
			for i := range httpRequests {
				next <- i
			}
			close(next)
			var wg sync.WaitGroup
			var failed sync.Once
			start := time.Now()
			for _, c := range clients {
				wg.Go(func() {
					for i := range next {
						s := time.Now()
						_, err := get(c, path)
						lat[i] = time.Since(s)
						if err != nil {
							failed.Do(func() { b.Error(err) })
						}
					}
				})
			}
			wg.Wait()
			elapsed = time.Since(start)
		}
		readCPU().ReportPerOp(b, before, b.N*httpRequests)
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
		b.ReportMetric(float64(httpRequests)/elapsed.Seconds(), "req/s")
	}
	b.Run("Concurrent20", func(b *testing.B) { concurrent(b, "/employees") })

	// A search by the tenant's most common last name, as a person looks someone up (issue
	// 14.7): at 100,000 employees it starts about 2,100 employees' words, of whom the user sees
	// about 400.
	var name string
	err = owner.QueryRow(ctx, `SELECT split_part(last_name, '-', 1) FROM employees GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`).Scan(&name)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Search20", func(b *testing.B) { concurrent(b, "/employees?q="+url.QueryEscape(name)) })

	b.Run("Plans", func(b *testing.B) {
		// The plans of what GET /employees, GET /employees?q= and GET /employees/{id} ask: the
		// user's facts, the count, the page, the search and can_see. Summaries in the log; whole plans on standard output (the
		// benchmark log keeps only ten lines).
		b.Logf("dataset: %d employees in %d departments, the user sees %d; loaded in %v; web database pool of %d connections",
			ds.Employees, accesstest.Departments, ds.Visible, ds.LoadTime.Round(time.Millisecond), web.Config().MaxConns)
		for range b.N {
			var p access.Principal
			plans, err := accesstest.Plans(ctx, ds.DB.OwnerURL, ds.TenantID, 10, []string{"visible_", "access_facts", "can_see_employee"},
				func(tx pgx.Tx) (err error) {
					if _, _, p, err = org.LoadSession(ctx, tx, ds.TenantID, ds.UserID); err != nil {
						return err
					}
					if _, _, err := org.FindEmployees(ctx, tx, org.EmployeeFilter{Viewer: p, Limit: 50}); err != nil {
						return err
					}
					if _, _, err := org.FindEmployees(ctx, tx, org.EmployeeFilter{Viewer: p, Query: name, Limit: 50}); err != nil {
						return err
					}
					return access.CanSeeEmployee(ctx, tx, p, ds.ViaDepartment[0])
				})
			if err != nil {
				b.Fatal(err)
			}
			for _, pl := range plans {
				b.Log(pl.Summary())
				fmt.Printf("\n=== plan (BenchmarkEmployeeListHTTP)\n%s\n", pl)
			}
		}
		b.ReportMetric(0, "ns/op")
	})
}

// benchLogin returns a client of transport (nil: the default) that has logged in to srv as
// email, with a session of its own, and does not follow redirects.
func benchLogin(b *testing.B, srv *httptest.Server, transport http.RoundTripper, email, password string) *http.Client {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"email": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("log in: status %d", resp.StatusCode)
	}
	return c
}

// benchGet fetches u with c and returns the body; a status other than 200 is an error.
func benchGet(c *http.Client, u string) ([]byte, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return body, err
}
