package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/server"
)

// TestStreamOutsideRequestPool: the audit CSV is written inside its transaction, and the first
// request after logging in changes the session (its last activity), which scs saves in the
// requests' pool when the response starts. From that pool the export would wait for a second
// connection while holding one; on a one-connection pool, for ever. serve streams from a pool of
// its own, and so does this test, which also asks for a page while the export's transaction is
// open.
func TestStreamOutsideRequestPool(t *testing.T) {
	t.Parallel()
	b := setup(t, 5, func(o *server.Options) {
		web, err := database.OpenSized(context.Background(), o.Pool.Config().ConnString(), true, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(web.Close)
		o.StreamPool, o.Pool = o.Pool, web
	})
	admin := b.login(t, "beheerder@demo.dossierkast.nl")
	admin.Timeout = 30 * time.Second
	resp, err := admin.Get(b.srv.URL + "/admin/audit.csv")
	if err != nil {
		t.Fatalf("audit CSV on a one-connection pool: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit CSV: status %d, want 200", resp.StatusCode)
	}
	// The export's response has started; its transaction may still be open. Other requests go on.
	other := b.login(t, "hr@demo.dossierkast.nl")
	other.Timeout = 30 * time.Second
	if resp, err := other.Get(b.srv.URL + "/employees"); err != nil {
		t.Fatalf("employee list during an export: %v", err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Fatalf("employee list during an export: status %d, want 200", resp.StatusCode)
	}
}
