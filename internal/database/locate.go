package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// LocalServerURL is the PostgreSQL a developer machine is expected to run.
const LocalServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// embeddedPort is where the private cluster under var/postgres listens.
const embeddedPort = 54329

// Server is a PostgreSQL server found or started by Locate.
type Server struct {
	// AdminURL connects to the server's maintenance database as a superuser or owner.
	AdminURL string
	// How says which server this is, for the start-up line.
	How string
}

// Locate finds the PostgreSQL server to use when no DATABASE_URL is given: the local server on
// 127.0.0.1:5432, else a private cluster under dataDir started from the installed binaries.
func Locate(ctx context.Context, dataDir string) (Server, error) {
	if reachable(ctx, LocalServerURL) {
		return Server{AdminURL: LocalServerURL, How: "local PostgreSQL on 127.0.0.1:5432"}, nil
	}
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", embeddedPort)
	if reachable(ctx, admin) {
		return Server{AdminURL: admin, How: "private cluster in " + dataDir}, nil
	}
	if err := startCluster(ctx, dataDir, embeddedPort); err != nil {
		return Server{}, fmt.Errorf("no PostgreSQL on 127.0.0.1:5432 and no private cluster: %w", err)
	}
	return Server{AdminURL: admin, How: "private cluster in " + dataDir + " (started now)"}, nil
}

// DatabaseURL returns the URL of database name on the server, creating the database if missing.
func (s Server) DatabaseURL(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.AdminURL)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", s.How, err)
	}
	defer conn.Close(ctx)
	if err := createDatabase(ctx, conn, name); err != nil {
		return "", err
	}
	return WithDatabase(s.AdminURL, name)
}

// EnsureDatabase creates the database rawURL names when its server answers that it does not
// exist, through the server's maintenance database "postgres" with rawURL's log-in, and
// reports whether it did. A log-in that may not create databases gets an error that says
// which database is missing.
func EnsureDatabase(ctx context.Context, rawURL string) (bool, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return false, fmt.Errorf("DATABASE_URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		conn.Close(ctx)
		return false, nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return false, fmt.Errorf("connect: %w", err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("database %s does not exist, and the server's maintenance database cannot be reached to create it: %w", name, err)
	}
	defer admin.Close(ctx)
	if err := createDatabase(ctx, admin, name); err != nil {
		return false, fmt.Errorf("database %s does not exist: %w", name, err)
	}
	return true, nil
}

// createDatabase creates database name on conn's server unless it exists; a process that
// created it at the same moment is no error.
func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	exists := func() (bool, error) {
		var found bool
		err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&found)
		return found, err
	}
	if found, err := exists(); err != nil || found {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		if again, _ := exists(); !again {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

// WithDatabase returns rawURL with its database name replaced.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func reachable(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// startCluster initialises (once) and starts a cluster in dataDir. initdb refuses to run as
// root, so as root the cluster belongs to the postgres system user.
func startCluster(ctx context.Context, dataDir string, port int) error {
	bin, err := postgresBinDir()
	if err != nil {
		return err
	}
	dataDir, err = filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return errors.New("running as root and there is no postgres system user to own the cluster")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", name, err, out)
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		if err := run("initdb", "-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dataDir)
	return run("pg_ctl", "-D", dataDir, "-o", opts, "-l", filepath.Join(dataDir, "server.log"), "-w", "start")
}

func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's initdb and pg_ctl are not installed")
}
