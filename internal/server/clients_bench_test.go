package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/access/accesstest"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/casefile"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/server"
)

// Issue 17's speed figures: GET /my-clients (its first page of 50) for a coach with 500 running
// delegations in a tenant of 100,000 employees, 20 clients at once (p99 ≤ 50 ms), and GET
// /employees of the same coach (the same 500 employees through the same engine), with the
// plain employee list of the dataset's provider user as the baseline; and completing the
// confirm task (≤ 50 ms), with opening a trajectory alone, its largest step, as the baseline.
const (
	coachDelegations = 500
	coachConfirms    = 100
)

// coachBench is the tenant of BenchmarkMyClientsHTTP: the 100,000-employee dataset with a coach
// holding coachDelegations running delegations, confirm tasks ready for coachConfirms employees,
// and as many employees again without any intervention.
type coachBench struct {
	ds          accesstest.Dataset
	email       string // the coach's
	programme   uuid.UUID
	deployment  uuid.UUID // the deployment protocol
	deployTasks []casefile.Task
	employees   []uuid.UUID
}

func loadCoachBench(b testing.TB) coachBench {
	ctx := context.Background()
	ds := accesstest.Load(b)
	hash, err := auth.HashPassword(accesstest.Password)
	if err != nil {
		b.Fatal(err)
	}
	email := "coach-" + uuid.NewString()[:8] + "@example.nl"
	system := access.System(audit.Actor{})
	var deployTasks []casefile.Task
	var employees []uuid.UUID
	var programme, deployment uuid.UUID
	err = database.InTenant(ctx, ds.DB.Pool, ds.TenantID, func(tx pgx.Tx) error {
		if err := casefile.EnsureDefaultProtocols(ctx, tx); err != nil {
			return err
		}
		var guidance uuid.UUID
		steps := []struct {
			sql  string
			args []any
			into *uuid.UUID
		}{
			{`SELECT id FROM protocols WHERE kind = 'intervention_guidance' LIMIT 1`, nil, &guidance},
			{`SELECT id FROM protocols WHERE kind = 'intervention_deployment' LIMIT 1`, nil, &deployment},
			{`INSERT INTO intervention_providers (tenant_id, name) VALUES (app_tenant(), 'Bench Coaching') RETURNING id`, nil, nil},
			{`INSERT INTO programmes (tenant_id, provider_id, name) SELECT app_tenant(), id, 'Bench programma'
				FROM intervention_providers WHERE name = 'Bench Coaching' RETURNING id`, nil, &programme},
			{`INSERT INTO users (tenant_id, email, name, kind, role_id, provider_id, password_hash)
				SELECT app_tenant(), $1, 'Coach Bench', 'coach', r.id, v.id, $2 FROM roles r, intervention_providers v
				WHERE r.name = 'Coach' AND v.name = 'Bench Coaching' RETURNING id`, []any{email, hash}, nil},
			// 500 guidance trajectories with their tasks and delegations, spread over the tenant.
			{`WITH e AS (SELECT id, employer_id FROM employees ORDER BY hashint4(personnel_number::int) LIMIT $1),
				t AS (INSERT INTO trajectories (tenant_id, employee_id, employer_id, protocol_id, start_date, programme_id)
					SELECT app_tenant(), e.id, e.employer_id, $2, current_date, $3 FROM e RETURNING id, employee_id, employer_id),
				k AS (INSERT INTO tasks (tenant_id, trajectory_id, employee_id, employer_id, position, type, title, due_date)
					SELECT app_tenant(), t.id, t.employee_id, t.employer_id, pt.position, pt.type, pt.title, current_date + pt.due_after_days
					FROM t, protocol_tasks pt WHERE pt.protocol_id = $2)
				INSERT INTO dossier_delegations (tenant_id, user_id, employee_id, trajectory_id, valid_from, ended_at)
				SELECT app_tenant(), u.id, t.employee_id, t.id, now() - interval '1 day', now() + interval '90 days'
				FROM t, users u WHERE u.email = $4 RETURNING id`, []any{coachDelegations, &guidance, &programme, email}, nil},
		}
		for _, s := range steps {
			args := make([]any, len(s.args))
			for i, a := range s.args {
				if p, ok := a.(*uuid.UUID); ok {
					a = *p
				}
				args[i] = a
			}
			rows, err := tx.Query(ctx, s.sql, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", s.sql, err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			if err != nil {
				return fmt.Errorf("%s: %w", s.sql, err)
			}
			if s.into != nil && len(ids) > 0 {
				*s.into = ids[0]
			}
		}
		if err := intervention.SetGuidanceProtocol(ctx, tx, system, &guidance); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM employees e WHERE NOT EXISTS (SELECT 1 FROM dossier_delegations d WHERE d.employee_id = e.id)
			ORDER BY personnel_number DESC LIMIT $1`, 2*coachConfirms)
		if err != nil {
			return err
		}
		employees, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		for _, e := range employees[:coachConfirms] {
			_, tasks, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: e, ProtocolID: deployment})
			if err != nil {
				return err
			}
			for _, k := range tasks {
				if k.Type == casefile.TaskDeployIntervention {
					deployTasks = append(deployTasks, k)
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := database.Analyze(ctx, ds.DB.OwnerURL); err != nil {
		b.Fatal(err)
	}
	return coachBench{ds: ds, email: email, programme: programme, deployment: deployment, deployTasks: deployTasks, employees: employees}
}

func BenchmarkMyClientsHTTP(b *testing.B) {
	ctx := context.Background()
	cb := loadCoachBench(b)
	ds, email, programme, deployment, deployTasks, employees := cb.ds, cb.email, cb.programme, cb.deployment, cb.deployTasks, cb.employees
	system := access.System(audit.Actor{})

	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(ds.DB.Pool), &river.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
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
	transport := &http.Transport{MaxIdleConnsPerHost: httpClients * 2}
	b.Cleanup(transport.CloseIdleConnections)
	clients := make([]*http.Client, httpClients)
	viewers := make([]*http.Client, httpClients)
	for i := range clients {
		clients[i] = benchLogin(b, srv, transport, email, accesstest.Password)
		viewers[i] = benchLogin(b, srv, transport, ds.Email, accesstest.Password)
	}
	get := func(c *http.Client, path string) ([]byte, error) { return benchGet(c, srv.URL+path) }
	body, err := get(clients[0], "/my-clients")
	if err != nil {
		b.Fatal(err)
	}
	// The first of ten pages, and a link to the next.
	if n := strings.Count(string(body), "data-employee="); n != coachDelegations/10 || !strings.Contains(string(body), `rel="next"`) {
		b.Fatalf("/my-clients lists %d clients, want the first %d of %d with a next page", n, coachDelegations/10, coachDelegations)
	}

	concurrent := func(b *testing.B, clients []*http.Client, path string) {
		var lat accesstest.Latencies
		var elapsed time.Duration
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
						t := time.Now()
						_, err := get(c, path)
						lat[i] = time.Since(t)
						if err != nil {
							failed.Do(func() { b.Error(err) })
						}
					}
				})
			}
			wg.Wait()
			elapsed = time.Since(start)
		}
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
		b.ReportMetric(float64(httpRequests)/elapsed.Seconds(), "req/s")
	}
	b.Run("MyClientsConcurrent20", func(b *testing.B) { concurrent(b, clients, "/my-clients") })
	b.Run("CoachEmployeeListConcurrent20", func(b *testing.B) { concurrent(b, clients, "/employees") })
	// The baseline: the plain employee list of the dataset's provider user (BenchmarkEmployeeListHTTP).
	b.Run("BaselineEmployeeListConcurrent20", func(b *testing.B) { concurrent(b, viewers, "/employees") })

	// The confirm task, one transaction each, as a case manager's request runs it; the baseline
	// opens a guidance trajectory alone for other employees.
	b.Run("ConfirmTask", func(b *testing.B) {
		var lat accesstest.Latencies
		for range b.N {
			lat = lat[:0]
			for _, k := range deployTasks {
				start := time.Now()
				err := database.InTenant(ctx, web, ds.TenantID, func(tx pgx.Tx) error {
					_, err := intervention.ConfirmDeployment(ctx, tx, system, k.EmployeeID, k.ID, &programme)
					return err
				})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
	})
	b.Run("BaselineOpenTrajectory", func(b *testing.B) {
		var lat accesstest.Latencies
		for range b.N {
			lat = lat[:0]
			for _, e := range employees[coachConfirms:] {
				start := time.Now()
				err := database.InTenant(ctx, web, ds.TenantID, func(tx pgx.Tx) error {
					_, _, err := casefile.OpenTrajectory(ctx, tx, system, casefile.TrajectoryStart{EmployeeID: e, ProtocolID: deployment})
					return err
				})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(lat.Mean().Nanoseconds()), "ns/op")
		lat.Report(b, "")
	})
}
