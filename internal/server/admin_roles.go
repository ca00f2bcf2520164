package server

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	return s.renderRoles(w, r, http.StatusOK, "", access.KindProvider, nil)
}

// renderRoles shows the role editor; newName and kind are what the new-role form shows and errs
// the errors of a refused change.
func (s *Server) renderRoles(w http.ResponseWriter, r *http.Request, status int, newName string, kind access.Kind, errs map[string]string) error {
	p := admin.RolesPage{Page: s.page(r, "role.title"), NewName: newName, NewKind: kind, Errors: errs,
		Holdable: map[access.Kind][]access.Right{}}
	for _, k := range access.Kinds {
		p.Holdable[k] = access.Holdable(k)
	}
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if p.Roles, err = org.FindRoles(r.Context(), tx); err != nil {
			return err
		}
		categories, err := document.FindCategories(r.Context(), tx)
		if err != nil {
			return err
		}
		for _, c := range categories {
			if !c.IsSystem() {
				p.Categories = append(p.Categories, c)
			}
		}
		p.Matrix, err = access.FindMatrix(r.Context(), tx)
		return err
	}); err != nil {
		return err
	}
	return s.render(w, r, status, admin.Roles(p))
}

func rightsFromForm(r *http.Request) []access.Right {
	var rights []access.Right
	for _, v := range r.PostForm["rights"] {
		rights = append(rights, access.Right(v))
	}
	return rights
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	role := org.Role{Name: r.PostForm.Get("name"), Kind: access.Kind(r.PostForm.Get("kind")), Rights: rightsFromForm(r)}
	var created org.Role
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		created, err = org.CreateRole(r.Context(), tx, editor(r), role)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderRoles(w, r, status, role.Name, role.Kind, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/roles#role-"+created.ID.String())
}

func (s *Server) updateRole(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	role := org.Role{ID: id, Name: r.PostForm.Get("name"), Rights: rightsFromForm(r)}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := org.UpdateRole(r.Context(), tx, editor(r), role)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderRoles(w, r, status, "", access.KindProvider, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/roles#role-"+id.String())
}

// matrixFromForm reads a role's row of the matrix: fields c-<category id> = none, read or write.
func matrixFromForm(r *http.Request) (map[uuid.UUID]access.Level, error) {
	levels := map[uuid.UUID]access.Level{}
	for key, values := range r.PostForm {
		id, ok := strings.CutPrefix(key, "c-")
		if !ok {
			continue
		}
		categoryID, err := uuid.Parse(id)
		if err != nil || len(values) != 1 {
			return nil, apperr.New(apperr.EBADINPUT, "error.bad_form")
		}
		level := access.Level(values[0])
		if values[0] == "none" {
			level = access.LevelNone
		}
		if level == access.LevelNone && values[0] != "none" || !level.Valid() {
			return nil, apperr.New(apperr.EINVALID, "error.choose")
		}
		levels[categoryID] = level
	}
	return levels, nil
}

// updateMatrix saves one role's row of the authorisation matrix (access.SetRoleLevels audits
// the cells that changed).
func (s *Server) updateMatrix(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	levels, err := matrixFromForm(r)
	if err != nil {
		return err
	}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := access.SetRoleLevels(r.Context(), tx, editor(r), id, levels)
		return err
	})
	if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/roles#matrix-row-"+id.String())
}
