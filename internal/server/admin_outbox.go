package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/internal/mail"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

const outboxPageSize = 20

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) error {
	return s.renderOutbox(w, r, http.StatusOK, mustCurrent(r).User.Email, "")
}

func (s *Server) renderOutbox(w http.ResponseWriter, r *http.Request, status int, to, toErr string) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	p := admin.OutboxPage{Page: s.page(r, "outbox.title"), UsesSMTP: s.usesSMTP, To: to, ToError: toErr}
	p.Pager.Offset, p.Pager.Limit, p.Pager.Path = offsetOf(r), outboxPageSize, "/admin/outbox"
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Messages, p.Pager.Total, err = mail.FindOutbox(r.Context(), tx, p.Pager.Offset, p.Pager.Limit)
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, status, admin.Outbox(p))
}

// sendTestMail sends a short message so an administrator can check the mail set-up.
func (s *Server) sendTestMail(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if err := access.Require(c.Principal, access.UsersManage); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	to := r.PostForm.Get("to")
	msg := mail.Message{To: []string{to}, Subject: i18n.T(r.Context(), "outbox.test_subject"),
		Body: i18n.T(r.Context(), "outbox.test_body", c.User.Name, c.Tenant.Name)}
	if err := s.mail.Send(r.Context(), c.Tenant.ID, msg); err != nil {
		if errs, status, ok := formErrors(r, err); ok {
			msg := errs["to"]
			if msg == "" {
				msg = "error.email"
			}
			return s.renderOutbox(w, r, status, to, msg)
		}
		return err
	}
	if s.usesSMTP {
		s.flash(r, "outbox.sent")
	} else {
		s.flash(r, "outbox.kept")
	}
	return redirect(w, r, "/admin/outbox")
}
