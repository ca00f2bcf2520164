package server

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/i18n"
	"github.com/dossierkast/dossierkast/web/page/admin"
	"github.com/dossierkast/dossierkast/web/page/confirm"
)

func (s *Server) listCategories(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	return s.renderCategories(w, r, http.StatusOK, document.Category{Dossier: document.DossierEmployee}, nil)
}

// renderCategories shows the category administration; draft is the new category being made and
// errs the errors of a refused change.
func (s *Server) renderCategories(w http.ResponseWriter, r *http.Request, status int, draft document.Category, errs map[string]string) error {
	p := admin.CategoriesPage{Page: s.page(r, "category.title"), New: draft, Errors: errs}
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if p.Categories, err = document.FindCategories(r.Context(), tx); err != nil {
			return err
		}
		p.Counts, err = document.CountByCategory(r.Context(), tx)
		return err
	}); err != nil {
		return err
	}
	return s.render(w, r, status, admin.Categories(p))
}

func (s *Server) createCategory(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	c := document.Category{Name: r.PostForm.Get("name"), Dossier: document.Dossier(r.PostForm.Get("dossier")),
		Medical: r.PostForm.Get("medical") != ""}
	draft := c
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		c, err = document.CreateCategory(r.Context(), tx, editor(r), c)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderCategories(w, r, status, draft, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/categories#category-"+c.ID.String())
}

func (s *Server) updateCategory(w http.ResponseWriter, r *http.Request) error {
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
	u := document.CategoryUpdate{Name: r.PostForm.Get("name"), Medical: r.PostForm.Get("medical") != ""}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := document.UpdateCategory(r.Context(), tx, editor(r), id, u)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderCategories(w, r, status, document.Category{Dossier: document.DossierEmployee}, summaryOnly(errs))
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/categories#category-"+id.String())
}

// confirmDeleteCategory asks to confirm deleting a category, like every other deletion: its
// form posts to the same address. ENOTFOUND for an unknown or system category.
func (s *Server) confirmDeleteCategory(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var c document.Category
	var docs int
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if c, err = document.FindCategoryByID(r.Context(), tx, id); err != nil {
			return err
		}
		counts, err := document.CountByCategory(r.Context(), tx)
		docs = counts[id]
		return err
	})
	if err != nil {
		return err
	}
	if c.IsSystem() {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	p := confirm.DeletePage{Page: s.page(r, "category.delete_title"), Explain: "category.delete_explain",
		Action: "/admin/categories/" + id.String() + "/delete", Back: "/admin/categories#category-" + id.String(),
		Details: []confirm.Detail{{Label: "category.name", Value: c.Name},
			{Label: "category.dossier", Value: i18n.T(r.Context(), "category.dossier."+string(c.Dossier))},
			{Label: "category.documents", Value: i18n.Number(docs)}}}
	p.TitleArgs = []any{c.Name}
	return s.render(w, r, http.StatusOK, confirm.Delete(p))
}

func (s *Server) deleteCategory(w http.ResponseWriter, r *http.Request) error {
	if err := access.Require(mustCurrent(r).Principal, access.RolesManage); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		return document.DeleteCategory(r.Context(), tx, editor(r), id)
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderCategories(w, r, status, document.Category{Dossier: document.DossierEmployee}, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "category.flash.deleted")
	return redirect(w, r, "/admin/categories")
}

// summaryOnly moves a row's field errors into the summary, since the page's fields belong to the
// new-category form.
func summaryOnly(errs map[string]string) map[string]string {
	for _, msg := range errs {
		return map[string]string{"": msg}
	}
	return errs
}
