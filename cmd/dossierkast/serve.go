package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/server"
	"github.com/dossierkast/dossierkast/web/i18n"
)

type flagSet = flag.FlagSet

// shutdownGrace is how long running requests and jobs get to finish on SIGTERM before their
// contexts are cancelled.
const shutdownGrace = 25 * time.Second

func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flagSet)) (config.Config, error) {
	cfg, rest, err := config.Load(name, args, getenv, stderr, extra)
	if err != nil {
		return config.Config{}, err
	}
	if len(rest) > 0 {
		return config.Config{}, fmt.Errorf("%s: unexpected argument %q", name, rest[0])
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	a, err := setup(ctx, "serve", args, getenv, stdout, stderr, nil)
	if err != nil {
		return err
	}
	defer a.close()
	cfg := a.cfg

	workers := river.NewWorkers()
	river.AddWorker(workers, &auth.CleanupSessionsWorker{Pool: a.pool})
	rcfg := &river.Config{Logger: a.log, Workers: workers}
	if cfg.Mode != config.ModeWeb {
		rcfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
		rcfg.PeriodicJobs = []*river.PeriodicJob{auth.CleanupSessionsPeriodic()}
	}
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(a.pool), rcfg)
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	if cfg.Mode != config.ModeWeb {
		if err := rc.Start(ctx); err != nil {
			return fmt.Errorf("river: %w", err)
		}
	}

	sender, err := mail.NewSender(cfg.SMTPURL, cfg.MailFrom, a.pool)
	if err != nil {
		return err
	}

	var srv *http.Server
	serveErr := make(chan error, 1)
	if cfg.Mode != config.ModeWorker {
		s := server.New(server.Options{Pool: a.pool, River: rc, Mail: sender, UsesSMTP: cfg.SMTPURL != "",
			Secure: cfg.Secure(), Logger: a.log, Metrics: server.NewMetrics(a.pool)})
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
		}
		srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		go func() { serveErr <- srv.Serve(ln) }()
		fmt.Fprintf(stdout, "Dossierkast serves %s (mode %s)\n", cfg.BaseURL, cfg.Mode)
	} else {
		fmt.Fprintln(stdout, "Dossierkast runs background workers only")
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	a.log.Info("shutting down", "grace", shutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if srv != nil {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			a.log.Warn("http shutdown", "err", err)
		}
	}
	if cfg.Mode != config.ModeWeb {
		// Let running jobs finish within the grace period; cancel what is still running after it.
		// Cancelled jobs go back to available without using an attempt.
		if err := rc.Stop(shutdownCtx); err != nil {
			hard, cancelHard := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancelHard()
			if err := rc.StopAndCancel(hard); err != nil {
				a.log.Warn("river shutdown", "err", err)
			}
		}
	}
	return nil
}

// describe turns a domain error into a line for an operator at a terminal.
func describe(err error) error {
	e, ok := apperr.As(err)
	if !ok {
		return err
	}
	msg := i18n.Translate("en", e.Message, e.Args...)
	var fields []string
	for name, key := range e.Fields {
		fields = append(fields, name+": "+i18n.Translate("en", key))
	}
	if len(fields) > 0 {
		msg += " (" + strings.Join(fields, "; ") + ")"
	}
	return errors.New(msg)
}
