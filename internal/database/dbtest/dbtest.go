// Package dbtest gives each test a fresh, migrated PostgreSQL database of its own, cloned from a
// template that is migrated once per set of migrations, and dropped when the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/migrations"
)

// DB is one test's database.
type DB struct {
	// Pool works as the application role, subject to row-level security.
	Pool *pgxpool.Pool
	// OwnerURL logs in as the owner (a superuser here), for what operators do.
	OwnerURL string
}

var (
	setupOnce sync.Once
	adminURL  string
	template  string
	setupErr  error
)

// New returns a fresh migrated database for t, dropped at the end of the test. It uses
// TEST_DATABASE_URL's server when set, otherwise the server that make run would use.
func New(t testing.TB) DB {
	t.Helper()
	ctx := context.Background()
	setupOnce.Do(func() { adminURL, template, setupErr = setup(ctx) })
	if setupErr != nil {
		t.Fatalf("test database: %v", setupErr)
	}
	name := "dk_test_" + randomHex(8)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	url, err := database.WithDatabase(adminURL, name)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.Open(ctx, url, true)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return DB{Pool: pool, OwnerURL: url}
}

// setup finds the server and makes sure the template for the current migrations exists. The
// template is built under a temporary name and renamed when complete, under an advisory lock,
// so parallel test processes build it once and never clone a half-migrated one.
func setup(ctx context.Context) (string, string, error) {
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", "", err
		}
		srv, err := database.Locate(ctx, filepath.Join(root, "var", "postgres"))
		if err != nil {
			return "", "", err
		}
		admin = srv.AdminURL
	}
	name := "dk_tmpl_" + schemaHash()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7453120002)"); err != nil {
		return "", "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(7453120002)")
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", "", err
	}
	if exists {
		return admin, name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", "", err
	}
	url, err := database.WithDatabase(admin, building)
	if err != nil {
		return "", "", err
	}
	if _, err := database.Migrate(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return "", "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", "", err
	}
	return admin, name, nil
}

// schemaHash identifies the schema a template holds: our migrations and River's version.
func schemaHash() string {
	h := sha256.New()
	fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/riverqueue/river" {
				h.Write([]byte(m.Version))
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// moduleRoot is the folder holding go.mod: tests run in their package's folder, but the private
// cluster lives under the repository's var/, where make run puts it too.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's folder")
		}
		dir = parent
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
