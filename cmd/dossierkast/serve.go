package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"golang.org/x/crypto/ssh"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/server"
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

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	a, err := setup(ctx, "serve", args, getenv, stdout, stderr, nil)
	if err != nil {
		return err
	}
	defer a.close()
	cfg := a.cfg
	warnMissingStatistics(ctx, a)

	// Everything that can fail on bad configuration happens before River starts, so a failed
	// start leaves nothing running behind a closed pool.
	if cfg.MailFrom != "" {
		if _, err := netmail.ParseAddress(cfg.MailFrom); err != nil {
			return fmt.Errorf("MAIL_FROM: want an address such as Dossierkast <noreply@example.nl>, got %q", cfg.MailFrom)
		}
	}
	// Web requests have a pool of their own, as large as WEB_DB_CONNECTIONS: more connections
	// than PostgreSQL can serve at once only make every request in flight slower, while River
	// keeps a.pool for its listener and workers, so neither starves the other. Responses streamed
	// from a transaction (the audit CSV) use a.pool too (see server.Options.StreamPool).
	web := a.pool
	if cfg.Mode != config.ModeWorker {
		if web, err = database.OpenSized(ctx, a.appURL, a.setRole, cfg.WebDBConnections); err != nil {
			return err
		}
		defer web.Close()
	}
	sender, err := mail.NewSender(cfg.SMTPURL, cfg.MailFrom, web)
	if err != nil {
		return err
	}
	blobs, err := a.openBlobs(ctx)
	if err != nil {
		return err
	}
	defer blobs.Close()
	// The key that seals stored credentials is created on first run, so make run needs no set-up.
	keys, err := a.keyring()
	if err != nil {
		return err
	}

	workers := jobs.NewWorkers(jobs.Deps{Pool: a.pool, Blobs: blobs, PartSize: cfg.BundlePartSize, Log: a.log,
		Mail: sender, BaseURL: cfg.BaseURL, Keys: keys})
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(a.pool), jobs.Config(cfg.Mode, a.log, workers))
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}

	// The hosted SFTP server is a front door like the web server: it runs with MODE=all and
	// MODE=web, not in worker-only processes. Its files are rows and blobs, so any number of
	// processes serve the same folders, with the same host key from the database.
	var sftpLn net.Listener
	var sftpSrv *datastream.Server
	var sftpAddress, sftpFingerprint string
	if cfg.Mode != config.ModeWorker {
		hostKey, err := datastream.HostKey(ctx, web, keys)
		if err != nil {
			return err
		}
		if sftpLn, err = net.Listen("tcp", cfg.SFTPAddr); err != nil {
			return fmt.Errorf("SFTP_ADDR %s: %w", cfg.SFTPAddr, err)
		}
		defer sftpLn.Close()
		sftpSrv = datastream.NewServer(web, blobs, hostKey, a.log)
		sftpFingerprint = ssh.FingerprintSHA256(hostKey.PublicKey())
		_, port, _ := net.SplitHostPort(sftpLn.Addr().String())
		host := "localhost"
		if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		sftpAddress = "sftp://" + net.JoinHostPort(host, port)
	}

	var ln net.Listener
	if cfg.Mode != config.ModeWorker {
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
		}
		defer ln.Close() // a no-op once the server has taken it
		if _, port, _ := net.SplitHostPort(cfg.HTTPAddr); port == "0" {
			// HTTP_ADDR asked for any free port: report the one we got.
			_, got, _ := net.SplitHostPort(ln.Addr().String())
			cfg.BaseURL = strings.Replace(cfg.BaseURL, "localhost:0", "localhost:"+got, 1)
		}
	}

	if cfg.Mode != config.ModeWeb {
		// Not ctx: cancelling Start's context cancels running jobs at once. On SIGTERM, Stop below
		// lets them finish within the grace period first.
		if err := rc.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("river: %w", err)
		}
	}

	var srv *http.Server
	serveErr := make(chan error, 2)
	if sftpSrv != nil {
		go func() { serveErr <- sftpSrv.Serve(sftpLn) }()
		defer sftpSrv.Close()
	}
	if ln != nil {
		s := server.New(server.Options{Pool: web, StreamPool: a.pool, River: rc, Mail: sender, UsesSMTP: cfg.SMTPURL != "",
			Secure: cfg.Secure(), Logger: a.log, Metrics: server.NewMetrics(web), Blobs: blobs, MaxUploadSize: cfg.MaxUploadSize,
			TrustedProxies: cfg.TrustedProxies, Keys: keys, SFTPAddress: sftpAddress, SFTPFingerprint: sftpFingerprint})
		srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		go func() { serveErr <- srv.Serve(ln) }()
		fmt.Fprintf(stdout, "Dossierkast serves %s (mode %s)\n", cfg.BaseURL, cfg.Mode)
		fmt.Fprintf(stdout, "hosted SFTP server on %s, host key %s\n", sftpAddress, sftpFingerprint)
	} else {
		fmt.Fprintln(stdout, "Dossierkast runs background workers only")
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		// The web server failed: stop the workers too, then report it.
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
	return err
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

// statisticsMinRows is the size from which a table without planner statistics is worth a
// warning: below it, any plan is fast.
const statisticsMinRows = 10_000

// warnMissingStatistics logs the large tables the planner has no statistics for, with what to do.
func warnMissingStatistics(ctx context.Context, a *app) {
	tables, err := database.MissingStatistics(ctx, a.pool, statisticsMinRows)
	if err != nil {
		a.log.Warn("read planner statistics", "err", err)
		return
	}
	for _, t := range tables {
		a.log.Warn("table without planner statistics: lists may be slow until ANALYZE (or autovacuum) runs",
			"table", t.Table, "rows", t.Rows)
	}
}
