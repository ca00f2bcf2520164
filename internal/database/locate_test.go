package database

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartCluster starts a private cluster the way make run does when no server answers on
// 127.0.0.1:5432, on a port of its own, and connects to it.
func TestStartCluster(t *testing.T) {
	t.Parallel()
	if _, err := postgresBinDir(); err != nil {
		t.Skip("PostgreSQL's binaries are not installed:", err)
	}
	// As root the cluster belongs to the postgres user, who must be able to reach the folder.
	parent, err := os.MkdirTemp("", "dk-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o755)
	dir := filepath.Join(parent, "postgres")
	const port = 54391
	ctx := context.Background()
	t.Cleanup(func() {
		bin, _ := postgresBinDir()
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", dir, "-m", "immediate", "stop")
		if os.Geteuid() == 0 {
			cmd = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", dir, "-m", "immediate", "stop")
		}
		cmd.Run()
		os.RemoveAll(parent)
	})
	if err := startCluster(ctx, dir, port); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if !reachable(ctx, url) {
		t.Fatal("the started cluster does not answer")
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		t.Errorf("no cluster in %s: %v", dir, err)
	}
}

// TestEnsureDatabase: a DATABASE_URL that names a database the server does not have yet gets
// it created, as make run does for the default address; one that exists is left alone.
func TestEnsureDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = LocalServerURL
	}
	if !reachable(ctx, admin) {
		t.Skip("no PostgreSQL at", admin)
	}
	name := fmt.Sprintf("dk_ensure_%d", time.Now().UnixNano())
	url, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	for i, want := range []bool{true, false} {
		created, err := EnsureDatabase(ctx, url)
		if err != nil || created != want {
			t.Fatalf("call %d: created %t, %v; want %t", i+1, created, err, want)
		}
	}
	if !reachable(ctx, url) {
		t.Errorf("database %s cannot be reached after EnsureDatabase", name)
	}
}
