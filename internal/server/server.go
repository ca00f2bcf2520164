// Package server is Dossierkast's HTTP layer: routes, middleware and thin handlers that parse a
// request, ask the access engine, call a capability and render a page.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"

	"github.com/a-h/templ"
	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/jobs"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/internal/secret"
	"github.com/dossierkast/dossierkast/web/layout"
	"github.com/dossierkast/dossierkast/web/page/errorpage"
)

// Server holds what handlers need.
type Server struct {
	pool       *pgxpool.Pool
	streamPool *pgxpool.Pool
	sessions   *scs.SessionManager
	river      *river.Client[pgx.Tx]
	mail       mail.Sender
	usesSMTP   bool
	log        *slog.Logger
	metrics    *Metrics
	docs       *document.Service
	jobs       jobs.Admin
	secure     bool
	proxies    []netip.Prefix
	// Datastreams: the key that seals account secrets, and the hosted SFTP server as an account
	// page shows it.
	keys                         *secret.Keyring
	sftpAddress, sftpFingerprint string
	blobs                        document.BlobStore
}

// Options configures a Server.
type Options struct {
	// Pool serves the requests' transactions and the sessions.
	Pool *pgxpool.Pool
	// StreamPool serves the transactions a response is streamed from (the audit CSV; nil:
	// Pool). Such a transaction holds its connection for as long as the client takes to read,
	// and scs saves a changed session when the response starts: from Pool, that request would
	// wait for a second connection of the pool it holds one of, and a few of them at once would
	// stop every request.
	StreamPool *pgxpool.Pool
	River      *river.Client[pgx.Tx] // may be an insert-only client
	Mail       mail.Sender
	UsesSMTP   bool
	Secure     bool // served over HTTPS: Secure cookies
	Logger     *slog.Logger
	Metrics    *Metrics
	// Blobs holds the documents' bytes; MaxUploadSize bounds an upload (0: document.DefaultMaxSize).
	Blobs         document.BlobStore
	MaxUploadSize int64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client; from any
	// other peer the header is ignored.
	TrustedProxies []netip.Prefix
	// Keys seals the secrets of datastream accounts (nil: a key of this process only, for tests
	// that store none they read back after a restart). SFTPAddress and SFTPFingerprint describe
	// the hosted SFTP server on the account pages.
	Keys                         *secret.Keyring
	SFTPAddress, SFTPFingerprint string
}

// New returns a Server.
func New(o Options) *Server {
	if o.StreamPool == nil {
		o.StreamPool = o.Pool
	}
	if o.Keys == nil {
		o.Keys = secret.NewKeyring(secret.GenerateKey())
	}
	return &Server{
		pool:       o.Pool,
		streamPool: o.StreamPool,
		sessions:   auth.NewSessions(o.Pool, o.Secure),
		river:      o.River,
		mail:       o.Mail,
		usesSMTP:   o.UsesSMTP,
		log:        o.Logger,
		metrics:    o.Metrics,
		docs:       document.NewService(o.Blobs, o.MaxUploadSize, o.Logger),
		jobs:       jobs.Admin{River: o.River, Pool: o.Pool, Blobs: o.Blobs},
		secure:     o.Secure,
		proxies:    o.TrustedProxies,

		keys:            o.Keys,
		sftpAddress:     o.SFTPAddress,
		sftpFingerprint: o.SFTPFingerprint,
		blobs:           o.Blobs,
	}
}

// current is the logged-in user of a request.
type current struct {
	User      org.User
	Tenant    org.Tenant
	Principal access.Principal
}

type currentKey struct{}

func currentOf(r *http.Request) (current, bool) {
	c, ok := r.Context().Value(currentKey{}).(current)
	return c, ok
}

// mustCurrent returns the logged-in user; routes that call it sit behind requireLogin.
func mustCurrent(r *http.Request) current {
	c, _ := currentOf(r)
	return c
}

// inTenant runs fn in a transaction of the logged-in user's tenant. fn must not write the
// response: a response streamed from a transaction uses inTenantStream.
func (s *Server) inTenant(r *http.Request, fn func(tx pgx.Tx) error) error {
	return database.InTenant(r.Context(), s.pool, mustCurrent(r).Tenant.ID, fn)
}

// inTenantStream is inTenant for a response written while fn runs, on the stream pool.
func (s *Server) inTenantStream(r *http.Request, fn func(tx pgx.Tx) error) error {
	return database.InTenant(r.Context(), s.streamPool, mustCurrent(r).Tenant.ID, fn)
}

// actor describes the requester for the audit log.
func actor(r *http.Request) audit.Actor {
	a := audit.Actor{IP: clientIP(r), UserAgent: r.UserAgent()}
	if c, ok := currentOf(r); ok {
		id := c.User.ID
		a.UserID = &id
	}
	return a
}

// editor is the logged-in user as the acting user of a change.
func editor(r *http.Request) access.Editor {
	return access.Editor{Principal: mustCurrent(r).Principal, Actor: actor(r)}
}

// auditRefusal records a refused attempt in its own transaction (the refused one rolled back).
// The refusal is answered whether or not this succeeds; a failure is logged.
func (s *Server) auditRefusal(r *http.Request, e audit.Event) {
	err := s.inTenant(r, func(tx pgx.Tx) error { return audit.Write(r.Context(), tx, actor(r), e) })
	if err != nil {
		logger(r).Error("audit refusal", "action", e.Action, "err", err)
	}
}

// page returns the shell data for a page titled with message key title.
func (s *Server) page(r *http.Request, title string, args ...any) layout.Page {
	p := layout.Page{Title: title, TitleArgs: args, Path: r.URL.Path, Return: r.URL.Path}
	if r.Method == http.MethodGet {
		p.Return = r.URL.RequestURI()
	}
	if r.Context().Value(sessionKey{}) != nil {
		p.Flash = s.sessions.PopString(r.Context(), "flash")
	}
	if c, ok := currentOf(r); ok {
		u := c.User
		p.User = &u
		p.TenantName = c.Tenant.Name
		p.May = mayOf(c.Principal)
	}
	return p
}

// mayOf is what the interface offers p: each link is shown when the rule of the route it leads
// to lets him through.
func mayOf(p access.Principal) layout.May {
	ok := func(err error) bool { return err == nil }
	return layout.May{
		MyClients:    access.SeesOnlyDelegated(p),
		Employees:    ok(access.CanListEmployees(p)),
		Users:        ok(access.Require(p, access.UsersManage)),
		ManageAccess: ok(access.Require(p, access.AccessManage)),
		Roles:        ok(access.Require(p, access.RolesManage)),
		Programmes:   ok(access.Require(p, access.InterventionsManage)),
		Audit:        ok(access.Require(p, access.AuditView)),
		Jobs:         ok(access.CanListJobs(p)),
		Outbox:       ok(access.Require(p, access.UsersManage)),
		Datastreams:  ok(access.CanManageDatastreams(p)),
	}
}

// flash sets a one-time notice for the next page.
func (s *Server) flash(r *http.Request, key string) { s.sessions.Put(r.Context(), "flash", key) }

// render writes a page with status, rendered into a buffer first so a template error becomes a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// redirect answers a successful POST with 303 to the page that shows the result.
func redirect(w http.ResponseWriter, r *http.Request, url string) error {
	http.Redirect(w, r, url, http.StatusSeeOther)
	return nil
}

// handler is a route's function; its error becomes a status page.
type handler func(w http.ResponseWriter, r *http.Request) error

// h adapts a handler to net/http, mapping its error to a page once.
func (s *Server) h(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.renderError(w, r, err)
		}
	}
}

var statusOf = map[apperr.Code]int{
	apperr.ENOTFOUND:  http.StatusNotFound,
	apperr.EFORBIDDEN: http.StatusForbidden,
	apperr.EINVALID:   http.StatusUnprocessableEntity,
	apperr.EBADINPUT:  http.StatusBadRequest,
	apperr.EMETHOD:    http.StatusMethodNotAllowed,
	apperr.ECONFLICT:  http.StatusConflict,
	apperr.EGONE:      http.StatusGone,
	apperr.ETOOLARGE:  http.StatusRequestEntityTooLarge,
	apperr.ETOOMANY:   http.StatusTooManyRequests,
}

// renderError answers a request that failed: the user's own mistakes (4xx) with their message
// and the messages of the form's fields, logged at info level with their cause; anything else
// as a generic 500 with the detail logged as an error. A client that went away gets nothing.
// Once a response has started (a download, a CSV) nothing more is written: the error is only
// logged, and the client sees a cut-off body.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		err = fmt.Errorf("%w: %w", apperr.New(apperr.ETOOLARGE, "error.too_large"), err)
	}
	p := errorpage.ErrorPage{Status: http.StatusInternalServerError, Message: "error.internal"}
	if e, ok := apperr.As(err); ok && e.Code != apperr.EINTERNAL {
		p.Status, p.Message, p.Args, p.Details = statusOf[e.Code], e.Message, e.Args, fieldMessages(e.Fields)
	}
	started := responseStarted(r)
	switch {
	case p.Status >= 500 && errors.Is(err, context.Canceled):
		return
	case p.Status >= 500:
		logger(r).Error("request failed", "status", p.Status, "response_started", started, "err", err)
	default:
		logger(r).Info("request refused", "status", p.Status, "response_started", started, "err", err)
	}
	if started {
		return
	}
	p.Page = s.page(r, "error.title."+itoa(p.Status))
	if p.Status < 500 && r.Method == http.MethodPost {
		p.Back = backTo(r)
	}
	if rerr := s.render(w, r, p.Status, errorpage.Error(p)); rerr != nil {
		logger(r).Error("render error page", "err", rerr)
		http.Error(w, i18n.T(r.Context(), "error.internal"), http.StatusInternalServerError)
	}
}

// backTo is the page of this site a request was sent from (its Referer), for the error page's
// way back to the form; "" when the Referer is missing or leads elsewhere.
func backTo(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host || !isLocalPath(ref.RequestURI()) {
		return ""
	}
	return ref.RequestURI()
}

// fieldMessages returns the message keys of a form's field errors in the order of the fields'
// names, so a page lists them the same way every time.
func fieldMessages(fields map[string]string) []string {
	var msgs []string
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		msgs = append(msgs, fields[name])
	}
	return msgs
}

// pathID reads a UUID path parameter; anything else is a resource that does not exist.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(chiParam(r, name))
	if err != nil {
		return uuid.Nil, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	return id, nil
}
