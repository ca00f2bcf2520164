package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/intervention"
	"github.com/dossierkast/dossierkast/web/page/coach"
)

// listClients is the coach's start page "Mijn cliënten": the employees delegated to him now.
// Other users have no clients of their own (EFORBIDDEN).
func (s *Server) listClients(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if err := access.CanListClients(c.Principal); err != nil {
		return err
	}
	p := coach.ClientsPage{Page: s.page(r, "clients.title")}
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Clients, err = intervention.FindClients(r.Context(), tx, c.Principal)
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, coach.Clients(p))
}
