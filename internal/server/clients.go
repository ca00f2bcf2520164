package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/web/page/coach"
)

// clientPageSize is how many clients one page of "Mijn cliënten" shows.
const clientPageSize = 50

// listClients is the coach's start page "Mijn cliënten": a page of the employees delegated to
// him now, by name. Other users have no clients of their own (EFORBIDDEN).
func (s *Server) listClients(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if err := access.CanListClients(c.Principal); err != nil {
		return err
	}
	p := coach.ClientsPage{Page: s.page(r, "clients.title")}
	p.Pager.Path, p.Pager.Offset, p.Pager.Limit = "/my-clients", offsetOf(r), clientPageSize
	err := s.inTenant(r, func(tx pgx.Tx) error {
		page, err := intervention.FindClients(r.Context(), tx, c.Principal, p.Pager.Offset, p.Pager.Limit)
		p.Clients, p.Pager.Total = page.Clients, page.Total
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, coach.Clients(p))
}
