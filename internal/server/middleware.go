package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
)

type loggerKey struct{}

// sessionKey marks a request whose session is loaded, so pages may read flash messages.
type sessionKey struct{}

// logger returns the request's logger, which carries its request id.
func logger(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func chiParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

func itoa(n int) string { return strconv.Itoa(n) }

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

type statusWriterKey struct{}

// responseStarted reports whether the response to r has begun (status or body written), after
// which no error page can replace it.
func responseStarted(r *http.Request) bool {
	sw, ok := r.Context().Value(statusWriterKey{}).(*statusWriter)
	return ok && sw.status != 0
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides every method of a writer but Write, so io.Copy does not call back into a
// ReadFrom.
type writerOnly struct{ io.Writer }

// sendfileWriter lets a copy of a file into a response reach net/http's ReadFrom, and so
// sendfile(2), through middleware writers that have only Write (the session manager's). Those
// act on the status and headers, which go through all of them first as for a Write; the body's
// bytes then go to the innermost writer with a ReadFrom. Only for responses whose bodies no
// middleware changes.
type sendfileWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

func (w *sendfileWriter) WriteHeader(code int) {
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *sendfileWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

func (w *sendfileWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	for inner := w.ResponseWriter; ; {
		if rf, ok := inner.(io.ReaderFrom); ok {
			return rf.ReadFrom(r)
		}
		u, ok := inner.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return io.Copy(writerOnly{w.ResponseWriter}, r)
		}
		inner = u.Unwrap()
	}
}

func (w *sendfileWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id and a logger, turns a panic into a 500 page, logs the
// request and records its latency by route pattern and status.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		l := s.log.With("request_id", id)
		sw := &statusWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), loggerKey{}, l)
		ctx = context.WithValue(ctx, clientKey{}, s.clientAddr(r))
		r = r.WithContext(context.WithValue(ctx, statusWriterKey{}, sw))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.renderError(sw, r, fmt.Errorf("panic: %v", v))
			}
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			if s.metrics != nil {
				s.metrics.observeRequest(route, r.Method, status, elapsed)
			}
			l.Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "status", status,
				"duration_ms", elapsed.Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// securityHeaders sends a strict policy: no inline script, no framing, no sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r)
	})
}

// maxFormBytes bounds request bodies of ordinary forms.
const maxFormBytes = 1 << 20

// rawBodyKey keeps the unlimited request body, for routes with a limit of their own (uploads).
type rawBodyKey struct{}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, r.Body))
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// limitBodyTo replaces limitBody's limit for one route with n bytes.
func limitBodyTo(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser); ok {
				r.Body = raw
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// loadUser puts the session's user, his tenant and language in the request context. A user
// blocked since he logged in loses his session at once.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), sessionKey{}, true)
		r = r.WithContext(ctx)
		tenantID, _ := uuid.Parse(s.sessions.GetString(ctx, "tenant_id"))
		userID, _ := uuid.Parse(s.sessions.GetString(ctx, "user_id"))
		if tenantID == uuid.Nil || userID == uuid.Nil {
			next.ServeHTTP(w, r)
			return
		}
		if !auth.Active(ctx, s.sessions, time.Now()) {
			s.sessions.Destroy(ctx)
			next.ServeHTTP(w, r)
			return
		}
		var c current
		var err error
		c.Tenant, c.User, c.Principal, err = org.LoadSession(ctx, s.pool, tenantID, userID)
		if apperr.CodeOf(err) == apperr.ENOTFOUND || (err == nil && c.User.Status != org.StatusActive) {
			s.sessions.Destroy(ctx)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		ctx = context.WithValue(ctx, currentKey{}, c)
		ctx = i18n.WithLang(ctx, c.User.Language)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireLogin sends visitors without a session to the log-in page.
func requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := currentOf(r); !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type clientKey struct{}

// clientIP is the address of the client that sent r, as observe read it (see clientAddr).
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientKey{}).(string); ok {
		return ip
	}
	return peerHost(r)
}

// clientAddr finds the client's address: the peer's, unless the peer is a trusted proxy; then
// X-Forwarded-For is read from the right, past the trusted proxies, to the first address that
// is not one (the one a trusted proxy saw). Anything left of it may have been written by the
// client and is not believed.
func (s *Server) clientAddr(r *http.Request) string {
	peer := peerHost(r)
	addr, err := netip.ParseAddr(peer)
	if err != nil || !s.trusted(addr) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = hop.Unmap()
		if !s.trusted(addr) {
			break
		}
	}
	return addr.String()
}

func (s *Server) trusted(addr netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

func peerHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// parseForm reads a form body; too large is 413, malformed is 400.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return apperr.New(apperr.ETOOLARGE, "error.too_large")
		}
		return apperr.New(apperr.EBADINPUT, "error.bad_form")
	}
	return nil
}
