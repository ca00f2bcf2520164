package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/database/dbtest"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
)

// These tests boot the whole binary through run, the way main does, against a database of
// their own: configuration from a getenv function, output to buffers, SIGTERM as a cancelled
// context.

// syncBuffer is a bytes.Buffer that a running command writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// keyFiles holds the SECRET_KEY_FILE of each test database: every process on one database
// shares one key, as in production (the hosted SFTP server's host key is sealed with it).
var keyFiles sync.Map

// testEnv is the environment of a command on db: any free port, files under a temporary
// folder, text logs. over replaces or adds variables.
func testEnv(t *testing.T, db dbtest.DB, over map[string]string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	keyFile, _ := keyFiles.LoadOrStore(db.OwnerURL, filepath.Join(dir, "secret.key"))
	env := map[string]string{
		"DATABASE_URL":    db.OwnerURL,
		"HTTP_ADDR":       "127.0.0.1:0",
		"SFTP_ADDR":       "127.0.0.1:0",
		"DATA_DIR":        dir,
		"BLOB_URL":        "file://" + filepath.ToSlash(filepath.Join(dir, "blobs")),
		"SECRET_KEY_FILE": keyFile.(string),
		"LOG_FORMAT":      "text",
	}
	for k, v := range over {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// runCommand runs one command to completion and returns what it printed on standard output.
func runCommand(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	err := run(ctx, args, getenv, strings.NewReader(stdin), &stdout, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after a minute; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stdout.String(), err
}

// process is a serve command running in a goroutine.
type process struct {
	name           string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan struct{} // closed when run has returned; err is then set
	err            error
	base           string // http://127.0.0.1:port of the web server; empty for MODE=worker
}

var servesRE = regexp.MustCompile(`Dossierkast serves (\S+) `)

// startServe starts "dossierkast serve" and returns once it has printed that it serves. The
// process is stopped at the end of the test if the test has not stopped it.
func startServe(t *testing.T, name string, getenv func(string) string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = run(ctx, []string{"serve"}, getenv, strings.NewReader(""), p.stdout, p.stderr)
	}()
	t.Cleanup(func() {
		if err := p.stop(shutdownGrace + 5*time.Second); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, p.stdout, name, p.stderr)
		}
	})

	deadline := time.After(30 * time.Second)
	for {
		if m := servesRE.FindStringSubmatch(p.stdout.String()); m != nil {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatalf("%s: printed URL %q: %v", name, m[1], err)
			}
			p.base = "http://127.0.0.1:" + u.Port()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("%s: run returned before serving: %v\nstderr:\n%s", name, p.err, p.stderr)
		case <-deadline:
			t.Fatalf("%s: not serving after 30s; stdout:\n%s", name, p.stdout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop cancels the process's context, as SIGTERM does, and returns run's error, or an error
// when run has not returned within timeout.
func (p *process) stop(timeout time.Duration) error {
	p.cancel()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("run did not return within %s of cancellation", timeout)
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get fetches path from the process's web server.
func (p *process) get(path string) (int, string, error) {
	resp, err := httpClient.Get(p.base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitFor polls cond until it holds, failing the test after timeout with the last state.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last: %s", timeout, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ownerPool connects to db as its owner (a superuser), to look at River's tables directly.
func ownerPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestServeAndShutdown(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	p := startServe(t, "serve", testEnv(t, db, nil))

	waitFor(t, 20*time.Second, "/healthz and /readyz", func() (bool, string) {
		hs, hb, err := p.get("/healthz")
		if err != nil || hs != http.StatusOK {
			return false, fmt.Sprintf("/healthz: %d %q %v", hs, hb, err)
		}
		rs, rb, err := p.get("/readyz")
		if err != nil || rs != http.StatusOK || strings.TrimSpace(rb) != "ready" {
			return false, fmt.Sprintf("/readyz: %d %q %v", rs, rb, err)
		}
		return true, ""
	})
	// Job counts come from river_job, which holds a row once the workers have enqueued the
	// sessions cleanup that runs at start.
	waitFor(t, 20*time.Second, "/metrics with request latency and job counts", func() (bool, string) {
		status, body, err := p.get("/metrics")
		if err != nil || status != http.StatusOK {
			return false, fmt.Sprintf("%d %v", status, err)
		}
		var missing []string
		for _, name := range []string{"dossierkast_http_request_duration_seconds", `dossierkast_river_jobs{kind="cleanup_sessions"`} {
			if !strings.Contains(body, name) {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0, "missing " + strings.Join(missing, ", ")
	})

	start := time.Now()
	if err := p.stop(shutdownGrace); err != nil {
		t.Fatalf("run after cancellation = %v, want nil", err)
	}
	t.Logf("shut down in %s", time.Since(start).Round(time.Millisecond))
	if _, _, err := p.get("/healthz"); err == nil {
		t.Error("the web server still answers after run returned")
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown logged; stderr:\n%s", p.stderr)
	}
}

func TestLeaderElectionRunsPeriodicJobOnce(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	owner := ownerPool(t, db.OwnerURL)
	ctx := context.Background()

	type jobCounts struct{ periodic, periodicDone int }
	counts := func() (jobCounts, error) {
		var c jobCounts
		err := owner.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'completed')
			FROM river_job WHERE kind = 'cleanup_sessions' AND metadata @> '{"periodic": true}'`).Scan(&c.periodic, &c.periodicDone)
		return c, err
	}
	probeState := func(id int64) string {
		var state string
		if err := owner.QueryRow(ctx, "SELECT state::text FROM river_job WHERE id = $1", id).Scan(&state); err != nil {
			t.Fatalf("probe job: %v", err)
		}
		return state
	}

	// A web-only process first, alone: it must neither work a waiting job nor enqueue the
	// periodic one, because its River client has no queues and is never started.
	web := startServe(t, "web", testEnv(t, db, map[string]string{"MODE": "web"}))
	waitFor(t, 20*time.Second, "web process ready", func() (bool, string) {
		status, body, err := web.get("/readyz")
		return err == nil && status == http.StatusOK, fmt.Sprintf("%d %q %v", status, body, err)
	})
	var probe int64
	if err := owner.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue) VALUES ('cleanup_sessions', '{}', 'default')
		RETURNING id`).Scan(&probe); err != nil {
		t.Fatal(err)
	}
	// River polls for jobs every second; three polls' worth is ample for a worker to take it.
	time.Sleep(3 * time.Second)
	if got := probeState(probe); got != "available" {
		t.Errorf("with only a web process running, the probe job is %s, want available", got)
	}
	if c, err := counts(); err != nil || c.periodic != 0 {
		t.Errorf("with only a web process running, periodic cleanup_sessions jobs = %d (%v), want 0", c.periodic, err)
	}
	if strings.Contains(web.stderr.String(), "River client started") {
		t.Errorf("the web process started River's workers; stderr:\n%s", web.stderr)
	}

	// Two full processes on the same database: both work jobs, one of them leads and enqueues
	// the periodic cleanup.
	a := startServe(t, "all-1", testEnv(t, db, nil))
	b := startServe(t, "all-2", testEnv(t, db, nil))
	waitFor(t, 20*time.Second, "probe job worked and periodic cleanup completed", func() (bool, string) {
		c, err := counts()
		state := probeState(probe)
		return err == nil && c.periodicDone >= 1 && state == "completed",
			fmt.Sprintf("probe %s, periodic %+v, err %v", state, c, err)
	})
	// Give the second elector time for another attempt (River retries election every ~5s but a
	// held leadership blocks it); a second leader would enqueue a second RunOnStart job.
	time.Sleep(3 * time.Second)
	if c, err := counts(); err != nil || c.periodic != 1 {
		t.Errorf("periodic cleanup_sessions jobs = %d (%v), want exactly 1", c.periodic, err)
	}
	for _, p := range []*process{a, b} {
		if !strings.Contains(p.stderr.String(), "River client started") {
			t.Errorf("%s did not start River's workers", p.name)
		}
	}
	if strings.Contains(web.stderr.String(), "River client started") {
		t.Error("the web process started River's workers")
	}

	for _, p := range []*process{web, a, b} {
		if err := p.stop(shutdownGrace); err != nil {
			t.Errorf("%s: run after cancellation = %v, want nil", p.name, err)
		}
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	adminURL, err := database.WithDatabase(db.OwnerURL, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := "dk_test_migrate_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	url, err := database.WithDatabase(adminURL, name)
	if err != nil {
		t.Fatal(err)
	}

	const n = 4
	getenv := testEnv(t, dbtest.DB{OwnerURL: url}, nil)
	errs := make([]error, n)
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			var stdout, stderr syncBuffer
			errs[i] = run(ctx, []string{"migrate"}, getenv, strings.NewReader(""), &stdout, &stderr)
			outs[i] = stdout.String()
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("migrate %d: %v", i, errs[i])
		} else if !strings.Contains(outs[i], "migrations applied") {
			t.Errorf("migrate %d printed %q, want it to say the migrations were applied", i, outs[i])
		}
	}

	pool := ownerPool(t, url)
	var version, applied int64
	if err := pool.QueryRow(ctx, "SELECT max(version_id), count(*) FILTER (WHERE version_id > 0) FROM goose_db_version WHERE is_applied").
		Scan(&version, &applied); err != nil {
		t.Fatal(err)
	}
	if want := database.LatestVersion(); version != want {
		t.Errorf("schema version = %d, want %d", version, want)
	}
	var distinct int64
	if err := pool.QueryRow(ctx, "SELECT count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct {
		t.Errorf("goose_db_version holds %d applied rows for %d versions: a migration ran twice", applied, distinct)
	}
	if _, err := pool.Exec(ctx, "SELECT 1 FROM river_job LIMIT 1"); err != nil {
		t.Errorf("River's tables: %v", err)
	}
}

// wantOneLineError fails unless err is an error of one line that contains every one of words.
func wantOneLineError(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one naming %q", what, words)
		return
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("%s: error has several lines: %q", what, msg)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: error %q does not name %q", what, msg, w)
		}
	}
}

func TestTenantAndUserCommands(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	getenv := testEnv(t, db, nil)
	ctx := context.Background()

	out, err := runCommand(t, getenv, "", "tenant", "create", "--name", "Arbo Noord")
	if err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	tenantID, err := uuid.Parse(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("tenant create printed %q, want a tenant id", out)
	}

	out, err = runCommand(t, getenv, "", "tenant", "list")
	if err != nil {
		t.Fatalf("tenant list: %v", err)
	}
	if want := tenantID.String() + "\tArbo Noord\n"; !strings.Contains(out, want) {
		t.Errorf("tenant list printed %q, want a line %q", out, want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		id, _, ok := strings.Cut(line, "\t")
		if _, err := uuid.Parse(id); !ok || err != nil {
			t.Errorf("tenant list line %q is not id<TAB>name", line)
		}
	}

	const password = "correct horse battery"
	out, err = runCommand(t, getenv, password+"\n", "user", "create", "--tenant", tenantID.String(),
		"--email", "a@b.nl", "--kind", "provider", "--role", "Beheerder")
	if err != nil {
		t.Fatalf("user create: %v", err)
	}
	userID, err := uuid.Parse(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("user create printed %q, want a user id", out)
	}
	id, _, err := auth.Login(ctx, db.Pool, auth.Attempt{Email: "a@b.nl", Password: password, Actor: audit.Actor{IP: "127.0.0.1", UserAgent: "main_test"}})
	if err != nil {
		t.Fatalf("log in as the new user: %v", err)
	}
	if id.UserID != userID || id.TenantID != tenantID {
		t.Errorf("log-in identity = %+v, want user %s in tenant %s", id, userID, tenantID)
	}

	t.Run("Errors", func(t *testing.T) {
		user := func(stdin string, args ...string) error {
			_, err := runCommand(t, getenv, stdin, append([]string{"user", "create"}, args...)...)
			return err
		}
		tid := tenantID.String()
		wantOneLineError(t, "unknown role", user(password,
			"--tenant", tid, "--email", "c@b.nl", "--kind", "provider", "--role", "Directeur"), "role", "Directeur")
		wantOneLineError(t, "employer user without --employer", user(password,
			"--tenant", tid, "--email", "d@b.nl", "--kind", "employer", "--role", "HR-medewerker"), "employer")
		wantOneLineError(t, "short password", user("kort\n",
			"--tenant", tid, "--email", "e@b.nl", "--kind", "provider", "--role", "Beheerder"), "password", "12")
		wantOneLineError(t, "no password", user("",
			"--tenant", tid, "--email", "e@b.nl", "--kind", "provider", "--role", "Beheerder"), "password")
		wantOneLineError(t, "bad --tenant", user(password,
			"--tenant", "Arbo Noord", "--email", "f@b.nl", "--kind", "provider", "--role", "Beheerder"), "--tenant")
		wantOneLineError(t, "unknown tenant", user(password,
			"--tenant", uuid.NewString(), "--email", "f@b.nl", "--kind", "provider", "--role", "Beheerder"), "tenant")
		wantOneLineError(t, "duplicate e-mail address", user(password,
			"--tenant", tid, "--email", "a@b.nl", "--kind", "provider", "--role", "Beheerder"), "already exists")

		_, err := runCommand(t, getenv, "", "tenant", "create")
		wantOneLineError(t, "tenant create without --name", err, "--name")
		_, err = runCommand(t, getenv, "", "tenant", "remove")
		wantOneLineError(t, "unknown subcommand", err, "tenant remove")

		// None of the refused users exists.
		var n int
		err = database.InTenant(ctx, db.Pool, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n)
		})
		if err != nil || n != 1 {
			t.Errorf("users in the tenant = %d (%v), want 1", n, err)
		}
	})
}

func TestBadConfigurationFailsWithOneLine(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		words []string
	}{
		{"HTTPAddrWithoutHost", map[string]string{"HTTP_ADDR": "8080"}, nil, []string{"HTTP_ADDR", "8080"}},
		{"HTTPAddrFlag", nil, []string{"--http-addr", "8080"}, []string{"HTTP_ADDR"}},
		{"LogFormat", map[string]string{"LOG_FORMAT": "xml"}, nil, []string{"LOG_FORMAT", "xml"}},
		{"BundlePartSize", map[string]string{"BUNDLE_PART_SIZE": "huge"}, nil, []string{"BUNDLE_PART_SIZE", "huge"}},
		{"BundlePartSizeTooSmall", map[string]string{"BUNDLE_PART_SIZE": "1KiB"}, nil, []string{"BUNDLE_PART_SIZE"}},
		{"Mode", map[string]string{"MODE": "both"}, nil, []string{"MODE", "both"}},
		{"WebDBConnections", map[string]string{"WEB_DB_CONNECTIONS": "none"}, nil, []string{"WEB_DB_CONNECTIONS", "none"}},
		{"BlobURL", map[string]string{"BLOB_URL": "ftp://files"}, nil, []string{"BLOB_URL"}},
		{"SMTPURL", map[string]string{"SMTP_URL": "mail.example.nl"}, nil, []string{"SMTP_URL"}},
		{"BaseURL", map[string]string{"BASE_URL": "/dossierkast"}, nil, []string{"BASE_URL"}},
		{"DatabaseURL", map[string]string{"DATABASE_URL": "mysql://db/dossierkast"}, nil, []string{"DATABASE_URL"}},
		{"MailFrom", map[string]string{"MAIL_FROM": "not an address"}, nil, []string{"MAIL_FROM"}},
		{"Several", map[string]string{"HTTP_ADDR": "8080", "LOG_FORMAT": "xml"}, nil, []string{"HTTP_ADDR", "LOG_FORMAT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// serve, so that a setting that slips through shows as a server that starts: the
			// context then ends it and run returns nil, which fails the test.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr syncBuffer
			err := run(ctx, append([]string{"serve"}, tc.args...), testEnv(t, db, tc.env), strings.NewReader(""), &stdout, &stderr)
			wantOneLineError(t, "serve", err, tc.words...)
			if strings.Contains(stdout.String(), "serves") {
				t.Errorf("the server started; stdout:\n%s", stdout.String())
			}
		})
	}
}

func TestDemoCommand(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	getenv := testEnv(t, db, nil)

	for i := range 2 {
		out, err := runCommand(t, getenv, "", "demo", "--employees", "50")
		if err != nil {
			t.Fatalf("demo run %d: %v", i+1, err)
		}
		for _, want := range []string{"beheerder@demo.dossierkast.nl", "coach@demo.dossierkast.nl", demo.Password} {
			if !strings.Contains(out, want) {
				t.Errorf("demo run %d did not print %q; output:\n%s", i+1, want, out)
			}
		}
	}
	var employees int
	err := database.InTenant(context.Background(), db.Pool, demoTenantID(t, db), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT count(*) FROM employees").Scan(&employees)
	})
	if err != nil || employees != 50 {
		t.Errorf("demo employees after two runs = %d (%v), want 50", employees, err)
	}
	// The load ends with ANALYZE; its statistics reach pg_stat a moment later.
	analysed := false
	for deadline := time.Now().Add(10 * time.Second); !analysed && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		err := db.Pool.QueryRow(context.Background(), `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables
			WHERE relname = 'employees'`).Scan(&analysed)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !analysed {
		t.Error("the demo load left employees without planner statistics")
	}

	if _, err := runCommand(t, getenv, "", "tenant", "create", "--name", "Arbo Noord"); err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	_, err = runCommand(t, getenv, "", "demo", "--employees", "50")
	wantOneLineError(t, "demo next to a real tenant", err, "Arbo Noord", "--force")
	out, err := runCommand(t, getenv, "", "demo", "--employees", "50", "--force")
	if err != nil {
		t.Fatalf("demo --force: %v", err)
	}
	if !strings.Contains(out, "beheerder@demo.dossierkast.nl") {
		t.Errorf("demo --force did not print the log-ins; output:\n%s", out)
	}
}

// demoTenantID finds the demo tenant as the owner (tenants carry no row-level security for
// the owner).
func demoTenantID(t *testing.T, db dbtest.DB) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := ownerPool(t, db.OwnerURL).QueryRow(context.Background(),
		"SELECT id FROM tenants WHERE is_demo AND name = $1", demo.TenantName).Scan(&id); err != nil {
		t.Fatalf("demo tenant: %v", err)
	}
	return id
}

// TestAppDatabaseURL: an operator may give the application its own log-in, a member of the
// application role; migrations still run as DATABASE_URL's owner, and the demo then loads
// through the log-in, under row-level security.
func TestAppDatabaseURL(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	owner := ownerPool(t, db.OwnerURL)
	login := "dk_login_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := owner.Exec(context.Background(), "CREATE ROLE "+login+" LOGIN IN ROLE "+database.AppRole); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Exec(context.Background(), "DROP OWNED BY "+login+"; DROP ROLE "+login) })
	u, err := url.Parse(db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(login)
	getenv := testEnv(t, db, map[string]string{"APP_DATABASE_URL": u.String()})
	if _, err := runCommand(t, getenv, "", "demo", "--employees", "20"); err != nil {
		t.Fatalf("demo through the application's own log-in: %v", err)
	}
	var employees int
	if err := owner.QueryRow(context.Background(), "SELECT count(*) FROM employees").Scan(&employees); err != nil || employees != 20 {
		t.Errorf("employees = %d (%v), want 20", employees, err)
	}
}

// TestDatastreamsCatalogueCommand: the command writes the committed documentation and needs no
// database.
func TestDatastreamsCatalogueCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr, want bytes.Buffer
	err := run(context.Background(), []string{"datastreams", "catalogue", "--markdown"}, func(string) string { return "" },
		strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("datastreams catalogue --markdown: %v; stderr %s", err, stderr.String())
	}
	if err := stream.WriteMarkdown(&want); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != want.String() {
		t.Errorf("datastreams catalogue --markdown printed %d bytes, not the catalogue's documentation (%d bytes)", stdout.Len(), want.Len())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"datastreams", "catalogue"}, func(string) string { return "" },
		strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "werknemers\twerknemers\tbsn\tBSN\ttext\tidentifying\n") {
		t.Errorf("datastreams catalogue: no line for werknemers.bsn in\n%s", stdout.String())
	}
}
