package server

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

// accessPageSize is how many rows each column of the links screen shows.
const accessPageSize = 25

func accessPath(userID uuid.UUID) string { return "/admin/users/" + userID.String() + "/access" }

// showAccess shows a user's links and blacklist (DESIGN.md §4): right access.manage.
func (s *Server) showAccess(w http.ResponseWriter, r *http.Request) error {
	if err := access.CanManageLinks(mustCurrent(r).Principal); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderAccess(w, r, http.StatusOK, id, admin.AccessStateOf(r.URL.Query()), nil)
}

// renderAccess renders the links screen of user id with state; warning, when set, is a refused
// change to explain (status 422).
func (s *Server) renderAccess(w http.ResponseWriter, r *http.Request, status int, id uuid.UUID, state admin.AccessState, warning *apperr.Error) error {
	c := mustCurrent(r)
	ctx := r.Context()
	p := admin.AccessPage{Action: accessPath(id), State: state}
	if warning != nil {
		p.Warning, p.WarningArgs = warning.Message, warning.Args
	}
	filter := func(query string) access.LinkFilter {
		return access.LinkFilter{Editor: c.Principal, UserID: id, Query: query, Limit: accessPageSize}
	}
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if p.User, err = org.FindUserByID(ctx, tx, id); err != nil {
			return err
		}
		p.SeesAll = access.LinksAddNothing(p.User.Rights)
		p.CanLink = access.Linkable(p.User.Kind)
		p.SearchTooShort = state.CandidateQuery != "" && access.SearchTooShort(state.CandidateQuery)

		f := filter(state.DepartmentQuery)
		if p.Departments, p.DepartmentPager.Total, p.State.DepartmentOffset, err = pageOf(ctx, tx, access.FindLinkedDepartments, f, state.DepartmentOffset); err != nil {
			return err
		}
		f = filter(state.EmployeeQuery)
		if p.Employees, p.EmployeePager.Total, p.State.EmployeeOffset, err = pageOf(ctx, tx, access.FindLinkedEmployees, f, state.EmployeeOffset); err != nil {
			return err
		}
		f = filter(state.BlacklistQuery)
		if p.Blacklist, p.BlacklistPager.Total, p.State.BlacklistOffset, err = pageOf(ctx, tx, access.FindBlacklist, f, state.BlacklistOffset); err != nil {
			return err
		}
		f = filter(state.CandidateQuery)
		if p.Candidates, p.CandidatePager.Total, p.State.CandidateOffset, err = pageOf(ctx, tx, access.FindEmployeeCandidates, f, state.CandidateOffset); err != nil {
			return err
		}
		departments, err := access.FindDepartmentCandidates(ctx, tx, c.Principal, id)
		for _, d := range departments {
			p.DepartmentOptions = append(p.DepartmentOptions, option(d.ID.String(), d.EmployerName+" · "+d.Name, false))
		}
		return err
	})
	if err != nil {
		return err
	}
	pager := func(pg *component.Pager, offset int, offsetParam, anchor string) {
		pg.Path, pg.Query, pg.Offset, pg.Limit = p.Action, p.State.Values(offsetParam), offset, accessPageSize
		pg.OffsetParam, pg.Anchor = offsetParam, anchor
	}
	pager(&p.DepartmentPager, p.State.DepartmentOffset, admin.ParamDepartmentOffset, "departments")
	pager(&p.EmployeePager, p.State.EmployeeOffset, admin.ParamEmployeeOffset, "employees")
	pager(&p.BlacklistPager, p.State.BlacklistOffset, admin.ParamBlacklistOffset, "blacklist")
	pager(&p.CandidatePager, p.State.CandidateOffset, admin.ParamCandidateOffset, "candidates")
	p.Page = s.page(r, "user.access.title", p.User.Name)
	return s.render(w, r, status, admin.Access(p))
}

// pageOf reads the page of a column at offset; when rows were removed and the offset now lies
// past the end, it reads the last page instead. It returns the rows, the total and the offset used.
func pageOf[T any](ctx context.Context, tx pgx.Tx, find func(context.Context, pgx.Tx, access.LinkFilter) ([]T, int, error),
	f access.LinkFilter, offset int) ([]T, int, int, error) {
	f.Offset = offset
	list, total, err := find(ctx, tx, f)
	if err == nil && len(list) == 0 && offset > 0 && total > 0 {
		f.Offset = (total - 1) / f.Limit * f.Limit
		list, total, err = find(ctx, tx, f)
	}
	return list, total, f.Offset, err
}

// changeAccess applies one change from the links screen, named by the form's op, and goes back
// to the screen as it was (303). A change the rules refuse shows the screen again with the
// reason (422).
func (s *Server) changeAccess(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	if err := access.CanManageLinks(c.Principal); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	state := admin.AccessStateOf(r.PostForm)
	f := newForm(r)
	op := f.str("op")
	ed := editor(r)
	anchor := "employees"
	err = s.inTenant(r, func(tx pgx.Tx) error {
		ctx := r.Context()
		if _, err := org.FindUserByID(ctx, tx, id); err != nil {
			return err
		}
		switch op {
		case "link_department", "unlink_department":
			anchor = "departments"
			dep := f.optUUID("department_id")
			if dep == nil {
				return apperr.New(apperr.EINVALID, "user.access.error.choose_department")
			}
			if op == "link_department" {
				return access.LinkDepartment(ctx, tx, ed, id, *dep)
			}
			return access.UnlinkDepartment(ctx, tx, ed, id, *dep)
		}
		emp := f.optUUID("employee_id")
		if emp == nil {
			return apperr.New(apperr.EBADINPUT, "error.bad_form")
		}
		reason := r.PostForm.Get("reason")
		switch op {
		case "link_employee":
			return access.LinkEmployee(ctx, tx, ed, id, *emp)
		case "unlink_employee":
			return access.UnlinkEmployee(ctx, tx, ed, id, *emp)
		case "blacklist":
			anchor = "blacklist"
			return access.BlacklistEmployee(ctx, tx, ed, id, *emp, reason)
		case "unblacklist":
			anchor = "blacklist"
			return access.UnblacklistEmployee(ctx, tx, ed, id, *emp)
		case "move_to_blacklist":
			anchor = "blacklist"
			return access.MoveEmployee(ctx, tx, ed, id, *emp, access.ColumnBlacklisted, reason)
		case "move_to_linked":
			return access.MoveEmployee(ctx, tx, ed, id, *emp, access.ColumnLinked, "")
		}
		return apperr.New(apperr.EBADINPUT, "error.bad_form")
	})
	if e, ok := apperr.As(err); ok && e.Code == apperr.EINVALID {
		return s.renderAccess(w, r, http.StatusUnprocessableEntity, id, state, e)
	}
	if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	to := accessPath(id)
	if q := state.Values().Encode(); q != "" {
		to += "?" + q
	}
	return redirect(w, r, to+"#"+anchor)
}
