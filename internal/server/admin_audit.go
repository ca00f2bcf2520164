package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

const auditPageSize = 100

// auditFilter reads the filter from the query string; bad values become field errors.
func auditFilter(r *http.Request) (audit.Filter, url.Values, map[string]string) {
	q := r.URL.Query()
	keep := url.Values{}
	errs := map[string]string{}
	var f audit.Filter
	if v := q.Get("user"); v != "" {
		if id, err := uuid.Parse(v); err == nil {
			f.UserID = &id
			keep.Set("user", v)
		}
	}
	// The employee: by name or personnel number (the id of a link from elsewhere works too).
	if v := strings.TrimSpace(q.Get("employee")); v != "" {
		if id, err := uuid.Parse(v); err == nil {
			f.EmployeeID = &id
			keep.Set("employee", v)
		} else if access.SearchTooShort(v) {
			errs["employee"] = "audit.error.employee"
		} else {
			f.EmployeeSearch = access.SearchPatterns(v)
			keep.Set("employee", v)
		}
	}
	if v := q.Get("action"); v != "" {
		f.Action = v
		keep.Set("action", v)
	}
	day := func(name string, shift int) *time.Time {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		d, err := i18n.ParseDate(v)
		if err != nil {
			errs[name] = "error.date"
			return nil
		}
		keep.Set(name, v)
		t := time.Date(d.Year(), d.Month(), d.Day()+shift, 0, 0, 0, 0, i18n.Amsterdam)
		return &t
	}
	f.From, f.Until = day("from", 0), day("until", 1)
	return f, keep, errs
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.AuditView); err != nil {
		return err
	}
	f, keep, errs := auditFilter(r)
	f.Offset, f.Limit = offsetOf(r), auditPageSize
	q := r.URL.Query()
	p := admin.AuditPage{Page: s.page(r, "audit.title"), Employee: q.Get("employee"), From: q.Get("from"),
		Until: q.Get("until"), Errors: errs, CSVLink: "/admin/audit.csv?" + keep.Encode(), Query: auditQuery(keep, f.Offset)}
	for _, a := range audit.Actions {
		p.Actions = append(p.Actions, option(a, i18n.T(r.Context(), "action."+a), a == f.Action))
	}
	err := s.inTenant(r, func(tx pgx.Tx) error {
		users, _, err := org.FindUsers(r.Context(), tx, org.UserFilter{Limit: 1000})
		if err != nil {
			return err
		}
		for _, u := range users {
			p.Users = append(p.Users, option(u.ID.String(), u.Name, f.UserID != nil && *f.UserID == u.ID))
		}
		p.Events, p.Pager.Total, err = audit.FindEvents(r.Context(), tx, f)
		return err
	})
	if err != nil {
		return err
	}
	p.Pager = component.Pager{Path: "/admin/audit", Query: keep, Offset: f.Offset, Limit: f.Limit, Total: p.Pager.Total}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(w, r, status, admin.Audit(p))
}

// auditQuery is the list's filter and page, for the way back from an event.
func auditQuery(keep url.Values, offset int) string {
	q := url.Values{}
	for k, v := range keep {
		q[k] = v
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q.Encode()
}

// showAuditEvent shows one event in full: its subject and details in words, and the details as
// stored. ENOTFOUND for an unknown id or one of another tenant.
func (s *Server) showAuditEvent(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.AuditView); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	// The way back: the list as it was filtered; only the filter's own fields go into the link.
	_, keep, _ := auditFilter(r)
	p := admin.AuditEventPage{Page: s.page(r, "audit.event_title"), Back: "/admin/audit?" + auditQuery(keep, offsetOf(r))}
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Event, err = audit.FindEventByID(r.Context(), tx, id)
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, admin.AuditEvent(p))
}

// downloadAudit streams the filtered audit log as CSV, and records that it was exported.
func (s *Server) downloadAudit(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.AuditView); err != nil {
		return err
	}
	f, keep, errs := auditFilter(r)
	if len(errs) > 0 {
		return apperr.Invalid(errs)
	}
	ctx := r.Context()
	label := func(action string) string { return i18n.T(ctx, "action."+action) }
	header := []string{i18n.T(ctx, "audit.at"), i18n.T(ctx, "audit.user"), i18n.T(ctx, "audit.action"),
		i18n.T(ctx, "audit.employee"), i18n.T(ctx, "audit.employee_id"), i18n.T(ctx, "audit.subject"),
		i18n.T(ctx, "audit.ip"), i18n.T(ctx, "audit.user_agent"), i18n.T(ctx, "audit.details")}
	return s.inTenantStream(r, func(tx pgx.Tx) error {
		if err := audit.Write(ctx, tx, actor(r), audit.Event{Action: audit.AuditExported, Details: map[string]any{"filter": keep.Encode()}}); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="auditlog.csv"`)
		return audit.WriteCSV(ctx, tx, w, f, header, label, i18n.DateTime)
	})
}
