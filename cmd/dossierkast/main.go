// Command dossierkast is the whole product in one binary: serve (web, workers), migrate, demo,
// tenant and user administration for operators.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/config"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/datastream/stream"
	"github.com/dossierkast/dossierkast/internal/demo"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
)

const usage = `usage: dossierkast <command> [flags]

commands:
  serve                     migrate, then run the web server and background workers
  migrate                   apply database migrations and exit
  demo [--employees N] [--force]
                            load the demo tenant (idempotent) and print its log-ins
  tenant create --name NAME create a tenant with the default roles; prints its id
  tenant list               print id and name of every tenant
  user create --tenant ID --email E --kind provider|employer|coach --role NAME
              [--name NAME] [--employer ID]... [--provider ID]
                            create a user; the password is read from standard input
  secrets rotate --new-key-file F
                            re-encrypt every stored credential under the key in F (created
                            when missing); then point SECRET_KEY_FILE at F
  datastreams catalogue [--markdown]
                            print the datastream catalogue (Markdown: docs/datastreams.md)

Every command takes the configuration flags; run "dossierkast serve --help" to list them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dossierkast:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	if (cmd == "tenant" || cmd == "user" || cmd == "secrets" || cmd == "datastreams") && len(rest) > 0 {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		a, err := setup(ctx, "migrate", rest, getenv, stdout, stderr, nil)
		if err != nil {
			return err
		}
		a.close()
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "tenant create":
		return tenantCreate(ctx, rest, getenv, stdout, stderr)
	case "tenant list":
		return tenantList(ctx, rest, getenv, stdout, stderr)
	case "user create":
		return userCreate(ctx, rest, getenv, stdin, stdout, stderr)
	case "secrets rotate":
		return secretsRotate(ctx, rest, getenv, stdout, stderr)
	case "datastreams catalogue":
		return datastreamsCatalogue(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
}

// app is what every command shares once configured: settings, logger, migrated database.
type app struct {
	cfg  config.Config
	log  *slog.Logger
	pool *pgxpool.Pool
	// appURL and setRole are how pool connects, for the web server's pool of its own.
	appURL  string
	setRole bool
	// ownerURL logs in as the schema's owner: migrations, ANALYZE.
	ownerURL string
}

func (a *app) close() { a.pool.Close() }

// openBlobs opens the document store at BLOB_URL (a local folder is created when missing).
func (a *app) openBlobs(ctx context.Context) (document.BlobStore, error) {
	blobs, err := document.OpenBlobStore(ctx, a.cfg.BlobURL)
	if err != nil {
		return nil, fmt.Errorf("BLOB_URL %s: %w", a.cfg.BlobURL, err)
	}
	return blobs, nil
}

// keyring opens SECRET_KEY_FILE, creating it with a new key on first run.
func (a *app) keyring() (*secret.Keyring, error) {
	k, err := secret.LoadKeyFile(a.cfg.SecretKeyFile, true)
	if err != nil {
		return nil, fmt.Errorf("SECRET_KEY_FILE %s: %w", a.cfg.SecretKeyFile, err)
	}
	return secret.NewKeyring(k), nil
}

// setup reads the configuration (extra registers a command's own flags), finds the database,
// migrates it and opens the application pool.
func setup(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer,
	extra func(*flagSet)) (*app, error) {
	cfg, err := parseConfig(name, args, getenv, stderr, extra)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, stderr)
	ownerURL := cfg.DatabaseURL
	if ownerURL == "" {
		srv, err := database.Locate(ctx, cfg.DataDir+"/postgres")
		if err != nil {
			return nil, err
		}
		if ownerURL, err = srv.DatabaseURL(ctx, "dossierkast"); err != nil {
			return nil, err
		}
		fmt.Fprintln(stdout, "database:", srv.How+", database dossierkast")
	} else {
		created, err := database.EnsureDatabase(ctx, ownerURL)
		if err != nil {
			return nil, err
		}
		how := "database: DATABASE_URL"
		if created {
			how += " (database created now)"
		}
		fmt.Fprintln(stdout, how)
	}
	// Applied migrations are routine; only warnings and errors of the migrators are shown.
	quiet := slog.New(newHandler(cfg, stderr, slog.LevelWarn))
	if _, err := database.Migrate(ctx, ownerURL, quiet); err != nil {
		return nil, err
	}
	appURL, setRole := ownerURL, true
	if cfg.AppDatabaseURL != "" {
		appURL, setRole = cfg.AppDatabaseURL, false
	}
	pool, err := database.Open(ctx, appURL, setRole)
	if err != nil {
		return nil, err
	}
	return &app{cfg: cfg, log: log, pool: pool, appURL: appURL, setRole: setRole, ownerURL: ownerURL}, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	return slog.New(newHandler(cfg, w, slog.LevelInfo))
}

func newHandler(cfg config.Config, w io.Writer, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var employees int
	var force bool
	a, err := setup(ctx, "demo", args, getenv, stdout, stderr, func(fs *flagSet) {
		fs.IntVar(&employees, "employees", 300, "number of demo employees")
		fs.BoolVar(&force, "force", false, "load even when the database holds tenants that are not demo tenants")
	})
	if err != nil {
		return err
	}
	defer a.close()
	blobs, err := a.openBlobs(ctx)
	if err != nil {
		return err
	}
	defer blobs.Close()
	keys, err := a.keyring()
	if err != nil {
		return err
	}
	res, err := demo.Load(ctx, a.pool, demo.Options{Employees: employees, Force: force, Out: stdout, Examples: true, Blobs: blobs, Keys: keys})
	if err != nil {
		return err
	}
	start := time.Now()
	if err := database.Analyze(ctx, a.ownerURL, org.SearchWordsTable); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "search index vacuumed and planner statistics gathered (ANALYZE) in %.1f s\n", time.Since(start).Seconds())
	printLogins(stdout, res)
	return nil
}

func printLogins(w io.Writer, res demo.Result) {
	fmt.Fprintln(w, "demo log-ins (password for all: "+demo.Password+"):")
	for _, l := range res.Logins {
		fmt.Fprintf(w, "  %-40s %-9s %s\n", l.Email, l.Kind, l.Role)
	}
}

func tenantCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name string
	a, err := setup(ctx, "tenant create", args, getenv, io.Discard, stderr, func(fs *flagSet) {
		fs.StringVar(&name, "name", "", "name of the new tenant")
	})
	if err != nil {
		return err
	}
	defer a.close()
	if strings.TrimSpace(name) == "" {
		return errors.New("tenant create: --name is required")
	}
	t, err := org.CreateTenant(ctx, a.pool, name, false)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, t.ID)
	return nil
}

func tenantList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	a, err := setup(ctx, "tenant list", args, getenv, io.Discard, stderr, nil)
	if err != nil {
		return err
	}
	defer a.close()
	tenants, err := org.FindTenants(ctx, a.pool)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		fmt.Fprintf(stdout, "%s\t%s\n", t.ID, t.Name)
	}
	return nil
}

func userCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var tenant, email, kind, role, name, provider string
	var employers []string
	a, err := setup(ctx, "user create", args, getenv, io.Discard, stderr, func(fs *flagSet) {
		fs.StringVar(&tenant, "tenant", "", "tenant id")
		fs.StringVar(&email, "email", "", "log-in e-mail address")
		fs.StringVar(&kind, "kind", "", "provider, employer or coach")
		fs.StringVar(&role, "role", "", "name of the user's role")
		fs.StringVar(&name, "name", "", "display name (default: the e-mail address)")
		fs.StringVar(&provider, "provider", "", "intervention provider id (coach users)")
		fs.Func("employer", "employer id (employer users; repeat for several)", func(v string) error {
			employers = append(employers, v)
			return nil
		})
	})
	if err != nil {
		return err
	}
	defer a.close()
	tenantID, err := uuid.Parse(tenant)
	if err != nil {
		return errors.New("user create: --tenant must be a tenant id")
	}
	if _, err := org.FindTenantByID(ctx, a.pool, tenantID); err != nil {
		return fmt.Errorf("user create: no tenant %s", tenantID)
	}
	in := org.UserInput{Email: email, Name: name, Kind: access.Kind(kind), Language: "nl"}
	if in.Name == "" {
		in.Name = email
	}
	for _, e := range employers {
		id, err := uuid.Parse(e)
		if err != nil {
			return fmt.Errorf("user create: --employer %q is not an id", e)
		}
		in.EmployerIDs = append(in.EmployerIDs, id)
	}
	if provider != "" {
		id, err := uuid.Parse(provider)
		if err != nil {
			return fmt.Errorf("user create: --provider %q is not an id", provider)
		}
		in.ProviderID = &id
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("user create: read password: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")
	if len([]rune(password)) < auth.MinPasswordLength {
		return fmt.Errorf("user create: the password on standard input must have at least %d characters", auth.MinPasswordLength)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	var u org.User
	err = database.InTenant(ctx, a.pool, tenantID, func(tx pgx.Tx) error {
		r, err := org.FindRoleByName(ctx, tx, role)
		if err != nil {
			return fmt.Errorf("no role %q in this tenant", role)
		}
		in.RoleID = r.ID
		u, err = org.CreateUser(ctx, tx, access.System(audit.Actor{UserAgent: "dossierkast user create"}), in, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("user create: %w", describe(err))
	}
	fmt.Fprintln(stdout, u.ID)
	return nil
}

// secretsRotate re-seals every stored credential under the key in --new-key-file (created when
// missing). The old key, SECRET_KEY_FILE, opens them until then; afterwards only the new one
// does, so every process must be pointed at the new file and the old one can be removed.
func secretsRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var newFile string
	a, err := setup(ctx, "secrets rotate", args, getenv, io.Discard, stderr, func(fs *flagSet) {
		fs.StringVar(&newFile, "new-key-file", "", "file with the new key (32 random bytes; created when missing)")
	})
	if err != nil {
		return err
	}
	defer a.close()
	if newFile == "" {
		return errors.New("secrets rotate: --new-key-file is required")
	}
	oldKey, err := secret.LoadKeyFile(a.cfg.SecretKeyFile, false)
	if err != nil {
		return fmt.Errorf("SECRET_KEY_FILE %s: %w", a.cfg.SecretKeyFile, err)
	}
	newKey, err := secret.LoadKeyFile(newFile, true)
	if err != nil {
		return fmt.Errorf("--new-key-file %s: %w", newFile, err)
	}
	if newKey.ID() == oldKey.ID() {
		return fmt.Errorf("secrets rotate: %s holds the same key as SECRET_KEY_FILE", newFile)
	}
	res, err := secret.Rotate(ctx, a.pool, secret.NewKeyring(oldKey), newKey)
	if err != nil {
		return fmt.Errorf("secrets rotate: %w", err)
	}
	fmt.Fprintf(stdout, "re-encrypted %d secrets of %d tenants and %d platform secrets under key %s\n",
		res.Secrets, res.Tenants, res.Platform, newKey.ID())
	fmt.Fprintf(stdout, "now set SECRET_KEY_FILE=%s for every process and restart them; %s can then be removed\n",
		newFile, a.cfg.SecretKeyFile)
	return nil
}

// datastreamsCatalogue prints the stream catalogue: with --markdown the documentation committed
// as docs/datastreams.md, otherwise one tab-separated line per column. It needs no database.
func datastreamsCatalogue(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("datastreams catalogue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	markdown := fs.Bool("markdown", false, "write the documentation in Markdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("datastreams catalogue: unexpected argument %q", fs.Arg(0))
	}
	if *markdown {
		return stream.WriteMarkdown(stdout)
	}
	w := bufio.NewWriter(stdout)
	fmt.Fprintln(w, "stream\tfile\tcolumn\tv1\ttype\tflags")
	for _, s := range stream.Catalogue {
		for _, f := range s.Files {
			for _, c := range f.Columns {
				var flags []string
				for _, fl := range []struct {
					on   bool
					name string
				}{{c.Mandatory, "mandatory"}, {c.Identifying, "identifying"}, {c.Medical, "medical"}, {c.Pseudonym, "pseudonym"}} {
					if fl.on {
						flags = append(flags, fl.name)
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, f.Name, c.Name, c.V1, c.Type, strings.Join(flags, ","))
			}
		}
	}
	return w.Flush()
}
