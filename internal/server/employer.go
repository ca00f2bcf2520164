package server

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/document"
	"github.com/dossierkast/dossierkast/internal/org"
	"github.com/dossierkast/dossierkast/web/page/employer"
)

func (s *Server) listEmployers(w http.ResponseWriter, r *http.Request) error {
	c := mustCurrent(r)
	p := employer.ListPage{Page: s.page(r, "employer.list.title"), CanManage: access.ManageOrganisation(c.Principal) == nil}
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Employers, err = org.FindEmployers(r.Context(), tx, c.Principal)
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, employer.List(p))
}

func (s *Server) showEmployer(w http.ResponseWriter, r *http.Request) error {
	return s.renderEmployer(w, r, http.StatusOK, employerForms{})
}

// employerForms carries a refused form back to the employer page.
type employerForms struct {
	DeptName  string            // the name of a refused new department
	DeptError string            // its error
	Upload    map[string]string // the errors of a refused upload
}

// renderEmployer shows an employer's page, with the employer dossier's documents for users with
// employer_dossier.view.
func (s *Server) renderEmployer(w http.ResponseWriter, r *http.Request, status int, forms employerForms) error {
	c := mustCurrent(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p := employer.ShowPage{
		CanManage:          access.CanManageEmployer(c.Principal, id) == nil,
		CanEmployees:       access.CanListEmployees(c.Principal) == nil,
		CanReadDossier:     access.CanReadEmployerDossier(c.Principal, id) == nil,
		NewDepartment:      forms.DeptName,
		NewDepartmentError: forms.DeptError,
	}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		if err := access.CanSeeEmployer(c.Principal, id); err != nil {
			return err
		}
		if p.Employer, err = org.FindEmployerByID(r.Context(), tx, id); err != nil {
			return err
		}
		if p.Departments, err = org.FindDepartments(r.Context(), tx, id); err != nil {
			return err
		}
		var counts map[uuid.UUID]int
		if p.Employer.EmployeeCount, counts, err = org.EmployeeCounts(r.Context(), tx, c.Principal, id); err != nil {
			return err
		}
		for i, d := range p.Departments {
			p.Departments[i].EmployeeCount = counts[d.ID]
		}
		if !p.CanReadDossier {
			return nil
		}
		docs, err := s.dossierDocuments(r.Context(), tx, c.Principal, document.DossierEmployer, id, forms.Upload)
		p.Documents = &docs
		return err
	})
	if err != nil {
		return err
	}
	p.Page = s.page(r, "employer.title", p.Employer.Name)
	return s.render(w, r, status, employer.Show(p))
}

func (s *Server) newEmployer(w http.ResponseWriter, r *http.Request) error {
	if err := access.ManageOrganisation(mustCurrent(r).Principal); err != nil {
		return err
	}
	return s.renderEmployerForm(w, r, http.StatusOK, org.Employer{}, nil)
}

func (s *Server) editEmployer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := access.CanManageEmployer(mustCurrent(r).Principal, id); err != nil {
		return err
	}
	var e org.Employer
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		e, err = org.FindEmployerByID(r.Context(), tx, id)
		return err
	}); err != nil {
		return err
	}
	return s.renderEmployerForm(w, r, http.StatusOK, e, nil)
}

// renderEmployerForm shows the form of e (ID Nil: a new employer) with errs, the errors of a
// refused save.
func (s *Server) renderEmployerForm(w http.ResponseWriter, r *http.Request, status int, e org.Employer, errs map[string]string) error {
	p := employer.FormPage{Action: "/employers", Employer: e, Errors: errs}
	title := "employer.new"
	if e.ID != uuid.Nil {
		p.Action, title = "/employers/"+e.ID.String(), "employer.edit"
	}
	p.Page = s.page(r, title)
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Groups, err = org.FindEmployerGroups(r.Context(), tx)
		return err
	})
	if err != nil {
		return err
	}
	return s.render(w, r, status, employer.Form(p))
}

func employerFromForm(r *http.Request, id uuid.UUID) (org.Employer, *form) {
	f := newForm(r)
	return org.Employer{
		ID:             id,
		Name:           f.str("name"),
		EmployerNumber: f.str("employer_number"),
		GroupID:        f.optUUID("group_id"),
		Products:       r.PostForm["products"],
	}, f
}

func (s *Server) createEmployer(w http.ResponseWriter, r *http.Request) error {
	return s.saveEmployer(w, r, uuid.Nil)
}

func (s *Server) updateEmployer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.saveEmployer(w, r, id)
}

// saveEmployer creates (id is Nil) or updates an employer.
func (s *Server) saveEmployer(w http.ResponseWriter, r *http.Request, id uuid.UUID) error {
	p := mustCurrent(r).Principal
	allowed := access.ManageOrganisation(p)
	if id != uuid.Nil {
		allowed = access.CanManageEmployer(p, id)
	}
	if allowed != nil {
		return allowed
	}
	if err := parseForm(r); err != nil {
		return err
	}
	e, f := employerFromForm(r, id)
	var saved org.Employer
	err := f.err()
	if err == nil {
		err = s.inTenant(r, func(tx pgx.Tx) (err error) {
			if id == uuid.Nil {
				saved, err = org.CreateEmployer(r.Context(), tx, editor(r), e)
			} else {
				saved, err = org.UpdateEmployer(r.Context(), tx, editor(r), e)
			}
			return err
		})
	}
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderEmployerForm(w, r, status, e, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+saved.ID.String())
}

func (s *Server) createDepartment(w http.ResponseWriter, r *http.Request) error {
	employerID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := access.CanManageEmployer(mustCurrent(r).Principal, employerID); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	d := org.Department{EmployerID: employerID, Name: r.PostForm.Get("name")}
	err = s.inTenant(r, func(tx pgx.Tx) error {
		_, err := org.CreateDepartment(r.Context(), tx, editor(r), d)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		msg := errs["name"]
		if msg == "" {
			msg = errs[""]
		}
		return s.renderEmployer(w, r, status, employerForms{DeptName: d.Name, DeptError: msg})
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+employerID.String())
}

func (s *Server) editDepartment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d org.Department
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		if d, err = org.FindDepartmentByID(r.Context(), tx, id); err != nil {
			return err
		}
		return access.CanManageEmployer(mustCurrent(r).Principal, d.EmployerID)
	}); err != nil {
		return err
	}
	return s.renderDepartmentForm(w, r, http.StatusOK, d, nil)
}

func (s *Server) renderDepartmentForm(w http.ResponseWriter, r *http.Request, status int, d org.Department, errs map[string]string) error {
	return s.render(w, r, status, employer.DepartmentForm(employer.DepartmentPage{
		Page: s.page(r, "department.edit"), Action: "/departments/" + d.ID.String(), Department: d, Errors: errs}))
}

func (s *Server) updateDepartment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	var d org.Department
	err = s.inTenant(r, func(tx pgx.Tx) error {
		// The department is read for the form shown again when the change is refused.
		if d, err = org.FindDepartmentByID(r.Context(), tx, id); err != nil {
			return err
		}
		d.Name, d.Code = r.PostForm.Get("name"), r.PostForm.Get("code")
		_, err := org.UpdateDepartment(r.Context(), tx, editor(r), d)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDepartmentForm(w, r, status, d, errs)
	} else if err != nil {
		return err
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/employers/"+d.EmployerID.String())
}
