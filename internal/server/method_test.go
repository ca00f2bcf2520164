package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMethods: HEAD is answered like GET wherever GET is routed, without a body; a method an
// address has no route for is 405 with the methods it has in Allow.
func TestMethods(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	c := b.login(t, adminEmail)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodHead, "/healthz", http.StatusOK, ""},
		{http.MethodHead, "/employees", http.StatusOK, ""},
		{http.MethodHead, "/bestaat-niet", http.StatusNotFound, ""},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodDelete, "/employees", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{http.MethodPut, "/admin/outbox/test", http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, b.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", b.srv.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow {
				t.Errorf("status %d, Allow %q; want %d, %q", resp.StatusCode, resp.Header.Get("Allow"), tt.status, tt.allow)
			}
			if tt.method == http.MethodHead && len(body) > 0 {
				t.Errorf("HEAD answered with a body of %d bytes", len(body))
			}
		})
	}
}

// TestReadyzWarnsOfMissingStatistics: a large table the planner has no statistics for is named
// by /readyz, which still answers 200 (lists are slow, not wrong).
func TestReadyzWarnsOfMissingStatistics(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE bulk AS SELECT g AS n FROM generate_series(1, 20000) g"); err != nil {
		t.Fatal(err)
	}
	var autovacuum string
	if err := conn.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if autovacuum != "off" {
		t.Skip("autovacuum may analyse the table first")
	}
	var status int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, data := b.fetch(t, b.client(t), "/readyz", nil)
		if status, body = resp.StatusCode, string(data); strings.Contains(body, "bulk") {
			break
		}
	}
	if status != http.StatusOK || !strings.Contains(body, "warning: no planner statistics for bulk (20000 rows)") {
		t.Errorf("/readyz = %d %q, want 200 with a warning about bulk", status, body)
	}
}
