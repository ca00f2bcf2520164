package server_test

import (
	"io"
	"net/http"
	"testing"
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
