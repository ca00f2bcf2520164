package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/org"
	authpage "github.com/dossierkast/dossierkast/web/page/auth"
)

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request) error {
	if _, ok := currentOf(r); ok {
		return redirect(w, r, "/")
	}
	return s.render(w, r, http.StatusOK, authpage.Login(authpage.LoginPage{Page: s.page(r, "login.title")}))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	a := auth.Attempt{Email: email, Password: r.PostForm.Get("password"), Actor: actor(r)}
	if c, err := r.Cookie(auth.DeviceCookie); err == nil {
		a.Device = c.Value
	}
	id, device, err := auth.Login(r.Context(), s.pool, a)
	if err != nil {
		e, ok := apperr.As(err)
		if !ok || (e.Code != apperr.EINVALID && e.Code != apperr.ETOOMANY) {
			return err
		}
		p := authpage.LoginPage{Page: s.page(r, "login.title"), Email: email, Error: e.Message, Args: e.Args}
		status := http.StatusUnauthorized
		if e.Code == apperr.ETOOMANY {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", fmt.Sprint(e.Args...))
			logger(r).Info("log-in throttled", "ip", a.Actor.IP, "wait_seconds", e.Args[0])
		}
		return s.render(w, r, status, authpage.Login(p))
	}
	http.SetCookie(w, &http.Cookie{Name: auth.DeviceCookie, Value: device, Path: "/login", MaxAge: int(auth.DeviceLifetime.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	// A new token at log-in, so a token planted before log-in is worthless.
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	s.sessions.Put(r.Context(), "tenant_id", id.TenantID.String())
	s.sessions.Put(r.Context(), "user_id", id.UserID.String())
	return redirect(w, r, "/")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := auth.Logout(r.Context(), s.pool, mustCurrent(r).Tenant.ID, actor(r)); err != nil {
		return err
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	return redirect(w, r, "/login")
}

// setLanguage stores the user's choice of interface language and returns to the page he was on.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	lang := r.PostForm.Get("language")
	err := s.inTenant(r, func(tx pgx.Tx) error {
		return org.SetUserLanguage(r.Context(), tx, editor(r), lang)
	})
	if err != nil {
		return err
	}
	back := r.PostForm.Get("return")
	if !isLocalPath(back) {
		back = "/"
	}
	return redirect(w, r, back)
}

// isLocalPath reports whether p is a path on this site, not a way to another one. Browsers
// drop tabs and newlines and read a backslash as a slash, so "/\t/evil.example" would lead away:
// such characters are refused anywhere in p.
func isLocalPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == ""
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return apperr.New(apperr.ENOTFOUND, "error.not_found")
}

// methodNotAllowed answers a method the address has no route for with 405 and the methods it
// has in Allow (RFC 9110 §15.5.6).
func methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.Routes != nil {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			probe := m
			if m == http.MethodHead {
				probe = http.MethodGet // middleware.GetHead answers HEAD wherever GET is routed
			}
			if rc.Routes.Match(chi.NewRouteContext(), probe, r.URL.Path) {
				allow = append(allow, m)
			}
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return apperr.New(apperr.EMETHOD, "error.method")
}

func crossOriginRefused(w http.ResponseWriter, r *http.Request) error {
	return apperr.New(apperr.EFORBIDDEN, "error.cross_origin")
}
