package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/i18n"
)

// TestErrorPath: every handler error goes through renderError, which answers with the right
// page, logs a refusal at info and a failure at error level with its cause, and writes nothing
// once the response has started.
func TestErrorPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fn       handler
		status   int
		body     string   // the exact body, when the response had started
		details  []string // message keys listed under the message, in this order
		level    string
		started  bool
		errCause string
	}{
		{name: "FieldsInFixedOrder", status: http.StatusUnprocessableEntity, level: "INFO", errCause: "invalid",
			fn: func(w http.ResponseWriter, r *http.Request) error {
				return apperr.Invalid(map[string]string{"until": "error.date", "from": "error.required", "employee": "error.choose"})
			},
			details: []string{"error.choose", "error.required", "error.date"}},
		{name: "Refused", status: http.StatusForbidden, level: "INFO", errCause: "forbidden",
			fn: func(w http.ResponseWriter, r *http.Request) error {
				return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
			}},
		{name: "Failed", status: http.StatusInternalServerError, level: "ERROR", errCause: "disk on fire",
			fn: func(w http.ResponseWriter, r *http.Request) error { return errors.New("disk on fire") }},
		{name: "FailedAfterStart", status: http.StatusOK, body: "naam;datum\n", level: "ERROR", started: true, errCause: "connection lost",
			fn: func(w http.ResponseWriter, r *http.Request) error {
				w.Write([]byte("naam;datum\n"))
				return errors.New("connection lost")
			}},
		{name: "RefusedAfterHeader", status: http.StatusPartialContent, body: "", level: "INFO", started: true, errCause: "not_found",
			fn: func(w http.ResponseWriter, r *http.Request) error {
				w.WriteHeader(http.StatusPartialContent)
				return apperr.New(apperr.ENOTFOUND, "error.not_found")
			}},
		{name: "PanicAfterStart", status: http.StatusOK, body: "begin", level: "ERROR", started: true, errCause: "panic: kapot",
			fn: func(w http.ResponseWriter, r *http.Request) error {
				w.Write([]byte("begin"))
				panic("kapot")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			s := &Server{log: slog.New(slog.NewJSONHandler(&log, nil))}
			rec := httptest.NewRecorder()
			s.observe(s.h(tt.fn)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.started {
				if got := rec.Body.String(); got != tt.body {
					t.Errorf("body %q, want only what the handler wrote, %q", got, tt.body)
				}
			} else {
				doc, err := goquery.NewDocumentFromReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				var got, want []string
				doc.Find("#error-details li").Each(func(_ int, li *goquery.Selection) { got = append(got, li.Text()) })
				for _, key := range tt.details {
					want = append(want, i18n.T(i18n.WithLang(t.Context(), "nl"), key))
				}
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("details %q, want %q", got, want)
				}
			}
			entry := logEntry(t, log.String(), tt.level)
			if entry == nil {
				t.Fatalf("no %s log entry for the error; log:\n%s", tt.level, log.String())
			}
			if cause, _ := entry["err"].(string); !strings.Contains(cause, tt.errCause) {
				t.Errorf("logged err %q, want it to name %q", cause, tt.errCause)
			}
			if started, _ := entry["response_started"].(bool); started != tt.started {
				t.Errorf("logged response_started %t, want %t", started, tt.started)
			}
		})
	}
}

// logEntry returns the first JSON log entry at level that carries an err, or nil.
func logEntry(t *testing.T, log, level string) map[string]any {
	t.Helper()
	for line := range strings.Lines(log) {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e["level"] == level && e["err"] != nil {
			return e
		}
	}
	return nil
}
