package server

import (
	"net/http"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/auth"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

const userPageSize = 50

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	f := org.UserFilter{Query: r.URL.Query().Get("q"), Offset: offsetOf(r), Limit: userPageSize}
	p := admin.UsersPage{Page: s.page(r, "user.list.title"), Query: f.Query}
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Users, p.Pager.Total, err = org.FindUsers(r.Context(), tx, f)
		return err
	})
	if err != nil {
		return err
	}
	keep := url.Values{}
	if f.Query != "" {
		keep.Set("q", f.Query)
	}
	p.Pager.Path, p.Pager.Query, p.Pager.Offset, p.Pager.Limit = "/admin/users", keep, f.Offset, f.Limit
	return s.render(w, r, http.StatusOK, admin.Users(p))
}

func (s *Server) newUser(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	return s.renderUserForm(w, r, http.StatusOK, nil, org.UserInput{Kind: access.KindProvider, Language: "nl"}, nil)
}

func (s *Server) editUser(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var u org.User
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		u, err = org.FindUserByID(r.Context(), tx, id)
		return err
	}); err != nil {
		return err
	}
	in := org.UserInput{Email: u.Email, Name: u.Name, Kind: u.Kind, RoleID: u.RoleID, ProviderID: u.ProviderID,
		EmployerIDs: u.EmployerIDs, Language: u.Language}
	return s.renderUserForm(w, r, http.StatusOK, &u, in, nil)
}

// renderUserForm shows the form of u (nil: a new user) with the values in and errs, the errors
// of a refused save.
func (s *Server) renderUserForm(w http.ResponseWriter, r *http.Request, status int, u *org.User, in org.UserInput, errs map[string]string) error {
	p := admin.UserFormPage{User: u, Action: "/admin/users", Input: in, Errors: errs}
	p.Page = s.page(r, "user.new")
	if u != nil {
		p.Action = "/admin/users/" + u.ID.String()
		p.Page = s.page(r, "user.edit", u.Name)
	}
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if p.Roles, err = org.FindRoles(r.Context(), tx); err != nil {
			return err
		}
		if p.Providers, err = org.FindProviders(r.Context(), tx); err != nil {
			return err
		}
		p.Employers, err = org.FindAllEmployers(r.Context(), tx)
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, status, admin.UserForm(p))
}

func userInputFromForm(r *http.Request) (org.UserInput, *form) {
	f := newForm(r)
	in := org.UserInput{
		Email:       f.str("email"),
		Name:        f.str("name"),
		Kind:        access.Kind(f.str("kind")),
		ProviderID:  f.optUUID("provider_id"),
		EmployerIDs: f.uuids("employer_ids"),
		Language:    f.str("language"),
	}
	if id := f.optUUID("role_id"); id != nil {
		in.RoleID = *id
	}
	return in, f
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	in, f := userInputFromForm(r)
	password := r.PostForm.Get("password")
	if len([]rune(password)) < auth.MinPasswordLength {
		f.errors["password"] = "user.error.password_short"
	}
	var u org.User
	err := f.err()
	if err == nil {
		var hash string
		if hash, err = auth.HashPassword(password); err != nil {
			return err
		}
		err = s.inTenant(r, func(tx pgx.Tx) (err error) {
			u, err = org.CreateUser(r.Context(), tx, editor(r), in, hash)
			return err
		})
	}
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderUserForm(w, r, status, nil, in, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/users/"+u.ID.String())
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	in, f := userInputFromForm(r)
	var before org.User
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		if before, err = org.FindUserByID(r.Context(), tx, id); err != nil {
			return err
		}
		if err := f.err(); err != nil {
			return err
		}
		_, err = org.UpdateUser(r.Context(), tx, editor(r), id, in)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderUserForm(w, r, status, &before, in, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/users/"+id.String())
}

func (s *Server) blockUser(w http.ResponseWriter, r *http.Request) error {
	return s.setUserStatus(w, r, org.StatusBlocked)
}

func (s *Server) unblockUser(w http.ResponseWriter, r *http.Request) error {
	return s.setUserStatus(w, r, org.StatusActive)
}

// setUserStatus blocks or unblocks a user (org.SetUserStatus refuses to block oneself).
func (s *Server) setUserStatus(w http.ResponseWriter, r *http.Request, status string) error {
	if err := access.Require(mustCurrent(r).Principal, access.UsersManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		return org.SetUserStatus(r.Context(), tx, editor(r), id, status)
	})
	if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/users/"+id.String())
}
