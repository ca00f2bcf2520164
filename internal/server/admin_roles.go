package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/component"
	"github.com/dossierkast/dossierkast/web/i18n"
	"github.com/dossierkast/dossierkast/web/page/admin"
)

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	return s.renderRoles(w, r, http.StatusOK, "", access.KindProvider, nil)
}

func (s *Server) renderRoles(w http.ResponseWriter, r *http.Request, status int, newName string, kind access.Kind, errs map[string]string) error {
	p := admin.RolesPage{
		Page:    s.page(r, "role.title"),
		NewName: component.Field{Name: "name", Label: "role.name", Value: newName, Error: errs["name"], Required: true},
		Errors:  errs,
	}
	for _, k := range access.Kinds {
		p.Kinds = append(p.Kinds, option(string(k), i18n.T(r.Context(), "kind."+string(k)), k == kind))
	}
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Roles, err = org.FindRoles(r.Context(), tx)
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
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if role, err = org.CreateRole(r.Context(), tx, role); err != nil {
			return err
		}
		return audit.Write(r.Context(), tx, actor(r), audit.Event{Action: audit.RoleCreated, SubjectType: "role",
			SubjectID: &role.ID, Details: map[string]any{"name": role.Name, "kind": role.Kind, "rights": role.Rights}})
	})
	if errs, ok := fieldErrors(err); ok {
		return s.renderRoles(w, r, http.StatusUnprocessableEntity, role.Name, role.Kind, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/roles#role-"+role.ID.String())
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
		before, err := org.FindRoleByID(r.Context(), tx, id)
		if err != nil {
			return err
		}
		if role, err = org.UpdateRole(r.Context(), tx, role); err != nil {
			return err
		}
		return audit.Write(r.Context(), tx, actor(r), audit.Event{Action: audit.RoleUpdated, SubjectType: "role", SubjectID: &id,
			Details: map[string]any{"before": map[string]any{"name": before.Name, "rights": before.Rights},
				"after": map[string]any{"name": role.Name, "rights": role.Rights}}})
	})
	if errs, ok := fieldErrors(err); ok {
		return s.renderRoles(w, r, http.StatusUnprocessableEntity, "", access.KindProvider, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/roles#role-"+id.String())
}
