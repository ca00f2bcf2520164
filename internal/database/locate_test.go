package database

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
