package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/home"
)

func (s *Server) showHome(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if access.SeesOnlyDelegated(c.Principal) {
		// The coach's start page is his clients.
		return redirect(w, r, "/my-clients")
	}
	p := home.HomePage{Page: s.page(r, "home.title")}
	err := s.inTenant(r, func(tx pgx.Tx) error {
		employers, err := org.FindEmployers(r.Context(), tx, c.Principal)
		if err != nil {
			return err
		}
		p.Employers = len(employers)
		if p.May.Employees {
			_, p.Employees, err = org.FindEmployees(r.Context(), tx, org.EmployeeFilter{Viewer: c.Principal, Limit: 1})
		}
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, home.Home(p))
}
